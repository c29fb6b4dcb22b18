"""API key pages: a shop admin creates and revokes their shop's keys; nobody else can."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests import factories
from tests.portal.api.conftest import issue_key
from urakata.platform.apikeys import ApiKey
from urakata.platform.identity import Role

TOKEN_RE = re.compile(r'data-testid="api-key-token">(uk_[0-9a-f]{12}_[A-Za-z0-9_-]+)<')


def _create_via_portal(portal, shop_slug: str, name: str):
    url = f"/s/{shop_slug}/api-keys"
    return portal.post_form(url, {"name": name})


def _keys_of(db, shop) -> list[ApiKey]:
    with db.platform_session() as s:
        return list(s.scalars(select(ApiKey).where(ApiKey.shop_id == shop.id)))


def test_shop_admin_creates_a_key_sees_it_once_and_it_reads_their_shop(portal, db, world):
    portal.login(world.shop_admin_a)
    response = _create_via_portal(portal, "shop-a", "受注システム連携")
    assert response.status_code == 200  # rendered directly: no redirect carries the token
    assert "no-store" in response.headers["Cache-Control"]
    token = TOKEN_RE.search(response.get_data(as_text=True)).group(1)

    (key,) = _keys_of(db, world.shop_a)
    assert (key.name, key.created_by) == ("受注システム連携", world.shop_admin_a.id)
    assert _keys_of(db, world.shop_b) == []

    # The token is not in the cookie session, and the list page never shows it again.
    with portal.client.session_transaction() as session:
        assert token not in repr(dict(session))
    page = portal.get("/s/shop-a/api-keys").get_data(as_text=True)
    assert token not in page and f"uk_{key.prefix}_" in page and "受注システム連携" in page

    api = portal.app.test_client().get("/api/v1/shop", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.get_json()["slug"] == "shop-a"


def test_the_other_shops_admin_does_not_see_the_key(portal, db, world):
    key = issue_key(db, world.shop_a, "A社の鍵")
    portal.login(world.shop_admin_b)
    page = portal.get("/s/shop-b/api-keys")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert key.prefix not in html and "A社の鍵" not in html
    assert portal.get("/s/shop-a/api-keys").status_code == 404


def test_a_key_needs_a_name(portal, db, world):
    portal.login(world.shop_admin_a)
    response = _create_via_portal(portal, "shop-a", "   ")
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    response = _create_via_portal(portal, "shop-a", "x" * 101)
    assert response.status_code == 422
    assert _keys_of(db, world.shop_a) == []


def test_creating_a_key_needs_the_csrf_token(portal, db, world):
    portal.login(world.shop_admin_a)
    response = portal.client.post("/s/shop-a/api-keys", data={"name": "no token"})
    assert response.status_code == 400
    assert _keys_of(db, world.shop_a) == []


def test_shop_admin_revokes_a_key_and_the_api_refuses_it(portal, client, db, world):
    key_a = issue_key(db, world.shop_a)
    key_b = issue_key(db, world.shop_b)
    portal.login(world.shop_admin_a)
    response = portal.post_form(
        f"/s/shop-a/api-keys/{key_a.id}/revoke", form_url="/s/shop-a/api-keys"
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/s/shop-a/api-keys")
    page = portal.get("/s/shop-a/api-keys").get_data(as_text=True)
    assert f'data-testid="revoke-{key_a.prefix}"' not in page

    with db.platform_session() as s:
        assert s.get(ApiKey, key_a.id).revoked_by == world.shop_admin_a.id
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 401
    assert client.get("/api/v1/shop", headers=key_b.headers).status_code == 200


def test_revoking_another_shops_key_is_404_and_the_key_still_works(portal, client, db, world):
    key_a = issue_key(db, world.shop_a)
    portal.login(world.shop_admin_b)
    # Through the shop B admin's own shop: the key is not shop B's.
    response = portal.post_form(
        f"/s/shop-b/api-keys/{key_a.id}/revoke", form_url="/s/shop-b/api-keys"
    )
    assert response.status_code == 404 and response.mimetype == "text/html"
    # Through shop A's URL: shop B's admin cannot reach shop A at all.
    response = portal.post_form(
        f"/s/shop-a/api-keys/{key_a.id}/revoke", form_url="/s/shop-b/api-keys"
    )
    assert response.status_code == 404

    with db.platform_session() as s:
        assert s.get(ApiKey, key_a.id).revoked_at is None
    assert client.get("/api/v1/shop", headers=key_a.headers).get_json()["slug"] == "shop-a"


def test_revoking_needs_the_csrf_token(portal, client, db, world):
    key_a = issue_key(db, world.shop_a)
    portal.login(world.shop_admin_a)
    assert portal.client.post(f"/s/shop-a/api-keys/{key_a.id}/revoke").status_code == 400
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 200


@pytest.mark.parametrize("who", ["shop_staff", "operator_a", "agency_admin", "auditor"])
def test_only_shop_admins_manage_keys(portal, client, db, world, who):
    user = (
        factories.make_user(db, Role.shop_staff, world.shop_a)
        if who == "shop_staff"
        else getattr(world, who)
    )
    key_a = issue_key(db, world.shop_a)
    portal.login(user)
    assert portal.get("/s/shop-a/api-keys").status_code == 403
    # The dashboard offers no link to the page; the revoke form is refused the same way.
    dashboard = portal.get("/s/shop-a/").get_data(as_text=True)
    assert "/s/shop-a/api-keys" not in dashboard
    response = portal.post_form(f"/s/shop-a/api-keys/{key_a.id}/revoke", form_url="/s/shop-a/")
    assert response.status_code == 403
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 200


def test_operator_of_the_other_shop_gets_404(portal, db, world):
    key_a = issue_key(db, world.shop_a)
    portal.login(world.operator_b)
    assert portal.get("/s/shop-a/api-keys").status_code == 404
    response = portal.post_form(f"/s/shop-a/api-keys/{key_a.id}/revoke", form_url="/account")
    assert response.status_code == 404


def test_the_dashboard_links_the_page_for_the_shop_admin(portal, world):
    portal.login(world.shop_admin_a)
    dashboard = portal.get("/s/shop-a/").get_data(as_text=True)
    assert 'href="/s/shop-a/api-keys"' in dashboard
