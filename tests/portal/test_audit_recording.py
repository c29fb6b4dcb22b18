"""What the portal writes into the ledger: who, what, which chain, request id and IP."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import PASSWORD
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.db import Database


def _chain(db: Database, chain_id) -> list[AuditEvent]:
    with db.tenant_session(chain_id) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_a_shop_users_login_goes_to_their_shops_chain_with_request_id_and_ip(portal, world, db):
    response = portal.post_form("/login", {"email": world.shop_admin_a.email, "password": PASSWORD})
    event = _chain(db, world.shop_a.id)[-1]
    body = event.payload
    assert (event.action, event.actor_id) == ("auth.login.succeeded", str(world.shop_admin_a.id))
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["ip"] == "127.0.0.1"
    assert all(e.action != "auth.login.succeeded" for e in _chain(db, world.shop_b.id))


def test_a_failed_login_for_an_unknown_address_keeps_the_address_out_of_the_ledger(portal, db):
    portal.post_form("/login", {"email": "stranger@shops.example", "password": "wrong!"})
    event = _chain(db, AGENCY_CHAIN_ID)[-1]
    assert event.action == "auth.login.failed"
    assert b"stranger" not in event.body
    assert set(event.payload["data"]["email"]) == {"hmac"}


def test_a_wrong_password_is_recorded_for_that_user(portal, world, db):
    portal.post_form("/login", {"email": world.shop_admin_b.email, "password": "wrong!"})
    event = _chain(db, world.shop_b.id)[-1]
    assert (event.action, event.object_id) == ("auth.login.failed", str(world.shop_admin_b.id))


def test_agency_actions_about_a_shop_go_to_that_shops_chain(portal, world, db):
    portal.login(world.agency_admin)
    portal.post_form(f"/s/{world.shop_a.slug}/operators", {"operator": str(world.operator_b.id)})
    event = _chain(db, world.shop_a.id)[-1]
    assert (event.action, event.object_id) == ("operator.assigned", str(world.operator_b.id))
    assert event.actor_id == str(world.agency_admin.id)
    assert all(e.action != "operator.assigned" for e in _chain(db, world.shop_b.id))


def test_onboarding_opens_the_new_shops_chain(portal, world, db):
    portal.login(world.agency_admin)
    portal.post_form(
        "/agency/shops/new",
        {
            "name": "ゆず商店",
            "slug": "yuzu",
            "timezone": "Asia/Tokyo",
            "admin_name": "柚木 直",
            "admin_email": "owner@yuzu.example",
        },
    )
    with db.platform_session() as s:
        from urakata.platform.tenancy import get_tenant_by_slug

        shop = get_tenant_by_slug(s, "yuzu")
    actions = [e.action for e in _chain(db, shop.id)]
    assert actions == ["shop.onboarded", "user.role_granted", "auth.password_link.issued"]


def test_password_changes_are_recorded(portal, world, db):
    portal.login(world.shop_admin_a)
    new = "another long passphrase 2026"
    portal.post_form("/account", {"current": PASSWORD, "password": new, "confirm": new})
    event = _chain(db, world.shop_a.id)[-1]
    assert event.action == "auth.password.set" and event.payload["data"] == {"how": "changed"}


def test_the_dashboard_shows_the_shops_history_and_only_its_own(portal, world):
    portal.login(world.shop_admin_a)
    page = portal.get(f"/s/{world.shop_a.slug}/").get_data(as_text=True)
    assert 'data-action="shop.onboarded"' in page
    assert world.shop_b.slug not in page
