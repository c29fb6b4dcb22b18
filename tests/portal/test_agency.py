"""Agency admin: onboarding shops, inviting staff, assigning operators."""

from __future__ import annotations

import re

from sqlalchemy import select

from urakata.platform.identity import Membership, Role, get_user_by_email
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.models import ShopSettings

ONBOARD = {
    "name": "さくら文具",
    "slug": "sakura-bungu",
    "timezone": "Asia/Tokyo",
    "admin_name": "桜井 明",
    "admin_email": "owner@sakura.example",
}


def test_agency_admin_onboards_a_shop_and_its_admin_gets_a_welcome_mail(
    portal, world, db, mailbox, spine
):
    portal.login(world.agency_admin)
    response = portal.post_form("/agency/shops/new", ONBOARD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/s/sakura-bungu/"
    with db.platform_session() as s:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == "sakura-bungu"))
        admin = get_user_by_email(s, "owner@sakura.example")
        roles = [(m.role, m.shop_id) for m in admin.memberships]
    assert roles == [("shop_admin", tenant.id)]
    with db.tenant_session(tenant.id) as s:
        assert s.get(ShopSettings, tenant.id).sender_name == "さくら文具"
    with db.tenant_session(world.shop_a.id) as s:
        assert s.get(ShopSettings, tenant.id) is None  # the new shop's row is not shop A's
    assert mailbox == []  # nothing is sent from the request
    spine.run()
    welcome = [m for m in mailbox if m["To"] == "owner@sakura.example"]
    assert len(welcome) == 1
    assert "さくら文具" in welcome[0].get_content()
    assert re.search(r"/password/reset/\S+", welcome[0].get_content())


def test_onboarding_errors_name_the_field(portal, world):
    portal.login(world.agency_admin)
    bad_slug = portal.post_form("/agency/shops/new", {**ONBOARD, "slug": "Sakura Bungu"})
    taken = portal.post_form("/agency/shops/new", {**ONBOARD, "slug": world.shop_a.slug})
    bad_tz = portal.post_form("/agency/shops/new", {**ONBOARD, "timezone": "Mars/Olympus"})
    assert (bad_slug.status_code, taken.status_code, bad_tz.status_code) == (422, 422, 422)
    assert 'id="slug-error"' in bad_slug.get_data(as_text=True)
    assert 'id="slug-error"' in taken.get_data(as_text=True)
    assert 'id="timezone-error"' in bad_tz.get_data(as_text=True)


def test_only_agency_admins_onboard_or_invite(portal, world):
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/shops/new").status_code == 403
    assert portal.get("/agency/staff").status_code == 403
    assert portal.get("/agency/shops").status_code == 403


def test_inviting_an_operator_for_a_shop(portal, world, db, mailbox, spine):
    portal.login(world.agency_admin)
    response = portal.post_form(
        "/agency/staff",
        {
            "display_name": "山本 花",
            "email": "op.yamamoto@agency.example",
            "role": "operator",
            "shop": str(world.shop_b.id),
        },
    )
    assert response.status_code == 302
    with db.platform_session() as s:
        user = get_user_by_email(s, "op.yamamoto@agency.example")
        assert [(m.role, m.shop_id) for m in user.memberships] == [("operator", world.shop_b.id)]
    spine.run()
    assert any(m["To"] == "op.yamamoto@agency.example" for m in mailbox)


def test_an_operator_needs_a_shop(portal, world):
    portal.login(world.agency_admin)
    response = portal.post_form(
        "/agency/staff",
        {"display_name": "X", "email": "x@agency.example", "role": "operator", "shop": ""},
    )
    assert response.status_code == 422
    assert 'id="shop-error"' in response.get_data(as_text=True)


def test_assigning_an_operator_opens_the_shop_to_them(app, db, world):
    from tests.portal_client import PortalClient

    admin = PortalClient(app, db)
    admin.login(world.agency_admin)
    operator = PortalClient(app, db)
    operator.login(world.operator_b)
    assert operator.get(f"/s/{world.shop_a.slug}/").status_code == 404

    page = admin.get(f"/s/{world.shop_a.slug}/operators").get_data(as_text=True)
    assert world.operator_b.email in page  # offered for assignment
    response = admin.post_form(
        f"/s/{world.shop_a.slug}/operators", {"operator": str(world.operator_b.id)}
    )
    assert response.status_code == 302
    assert operator.get(f"/s/{world.shop_a.slug}/").status_code == 200
    home = operator.get("/agency/home").get_data(as_text=True)
    assert world.shop_a.name in home and world.shop_b.name in home

    removed = admin.post_form(
        f"/s/{world.shop_a.slug}/operators/{world.operator_b.id}/remove",
        form_url=f"/s/{world.shop_a.slug}/operators",
    )
    assert removed.status_code == 302
    assert operator.get(f"/s/{world.shop_a.slug}/").status_code == 404
    with db.platform_session() as s:
        left = s.scalars(select(Membership).where(Membership.user_id == world.operator_b.id))
        assert [(m.role, m.shop_id) for m in left] == [(Role.operator.value, world.shop_b.id)]


def test_operators_see_only_their_shops(portal, world):
    portal.login(world.operator_a)
    home = portal.get("/agency/home").get_data(as_text=True)
    assert world.shop_a.name in home and world.shop_b.name not in home
    assert portal.get(f"/s/{world.shop_b.slug}/").status_code == 404
    assert portal.get(f"/s/{world.shop_a.slug}/operators").status_code == 403


def test_a_suspended_shop_is_closed_to_its_users_but_not_to_agency_admins(app, db, world):
    from tests.portal_client import PortalClient

    with db.platform_session() as s:
        s.get(Tenant, world.shop_a.id).status = "suspended"
    shop_user = PortalClient(app, db)
    shop_user.login(world.shop_admin_a)
    assert shop_user.get(f"/s/{world.shop_a.slug}/").status_code == 404
    admin = PortalClient(app, db)
    admin.login(world.agency_admin)
    assert admin.get(f"/s/{world.shop_a.slug}/").status_code == 200


def test_auditor_home_lists_every_shop_for_an_agency_wide_auditor(portal, world):
    portal.login(world.auditor)
    page = portal.get("/audit/").get_data(as_text=True)
    assert world.shop_a.name in page and world.shop_b.name in page
