"""GET /api/v1/shop: a key reads its own shop, never another; auth failures are JSON 401s."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select, text

from tests.portal.api.conftest import IssuedKey
from urakata.platform.apikeys import ApiKey
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.services import get_settings


def _assert_json_401(response, *, invalid_token: bool):
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == 401 and body["status"] == "Unauthorized" and body["message"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="urakata-api"')
    assert ('error="invalid_token"' in challenge) is invalid_token


def test_each_key_reads_its_own_shop(client, db, world, key_a, key_b):
    with db.tenant_session(world.shop_b.id) as s:
        settings = get_settings(s)
        settings.same_day_cutoff = time(15, 30)
        settings.split_policy = "split_allowed"
        settings.sasage_turnaround_days = 9

    response = client.get("/api/v1/shop", headers=key_a.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "slug": "shop-a",
        "name": "あかり雑貨",
        "timezone": "Asia/Tokyo",
        "status": "active",
        "same_day_cutoff": "14:00",
        "split_policy": "ship_complete",
        "sasage_turnaround_days": 5,
    }
    # Shop B's key sees shop B's settings, and shop A's answer above held none of them.
    body_b = client.get("/api/v1/shop", headers=key_b.headers).get_json()
    assert (body_b["slug"], body_b["same_day_cutoff"], body_b["split_policy"]) == (
        "shop-b",
        "15:30",
        "split_allowed",
    )
    assert body_b["sasage_turnaround_days"] == 9


def test_a_missing_token_is_a_json_401(client, world, key_a):
    _assert_json_401(client.get("/api/v1/shop"), invalid_token=False)
    _assert_json_401(
        client.get("/api/v1/shop", headers={"Authorization": f"Basic {key_a.token}"}),
        invalid_token=False,
    )


def test_garbage_and_forged_tokens_are_json_401s(client, world, key_a):
    for token in ("garbage", "uk_nope", f"uk_{key_a.prefix}_{'A' * 43}", key_a.token + "x"):
        response = client.get("/api/v1/shop", headers={"Authorization": f"Bearer {token}"})
        _assert_json_401(response, invalid_token=True)


def test_the_bearer_scheme_name_is_case_insensitive(client, world, key_a):
    response = client.get("/api/v1/shop", headers={"Authorization": f"bearer {key_a.token}"})
    assert response.status_code == 200


def test_a_revoked_key_is_refused_and_the_other_shops_key_still_works(
    client, db, world, key_a, key_b
):
    with db.platform_session() as s:
        s.get(ApiKey, key_a.id).revoked_at = s.get(Tenant, world.shop_a.id).created_at
    _assert_json_401(client.get("/api/v1/shop", headers=key_a.headers), invalid_token=True)
    assert client.get("/api/v1/shop", headers=key_b.headers).status_code == 200


def test_a_suspended_shops_key_is_refused(client, db, world, key_a, key_b):
    with db.platform_session() as s:
        s.get(Tenant, world.shop_a.id).status = "suspended"
    _assert_json_401(client.get("/api/v1/shop", headers=key_a.headers), invalid_token=True)
    assert client.get("/api/v1/shop", headers=key_b.headers).get_json()["slug"] == "shop-b"


def test_a_portal_login_is_no_api_credential(portal, world):
    portal.login(world.shop_admin_a)
    _assert_json_401(portal.get("/api/v1/shop"), invalid_token=False)


def test_an_unknown_query_parameter_is_a_422_naming_it(client, world, key_a):
    response = client.get("/api/v1/shop?shop=shop-b&limit=5", headers=key_a.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == 422
    assert set(body["errors"]["query"]) == {"shop", "limit"}
    assert body["errors"]["query"]["shop"] == ["Unknown field."]


def _last_used(db, key: IssuedKey):
    with db.platform_session() as s:
        return s.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key.id))


def _used_ago(db, key: IssuedKey, seconds: int):
    with db.platform_session() as s:
        s.execute(
            text(
                "UPDATE api_key SET last_used_at = now() - make_interval(secs => :s) WHERE id = :id"
            ),
            {"s": seconds, "id": key.id},
        )
        return s.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key.id))


def test_a_call_records_when_the_key_was_last_used(client, db, world, key_a, key_b):
    assert _last_used(db, key_a) is None
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 200
    first = _last_used(db, key_a)
    assert first is not None
    assert _last_used(db, key_b) is None  # the other shop's key was not touched

    # Within the minute a call writes nothing ...
    recent = _used_ago(db, key_a, 30)
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 200
    assert _last_used(db, key_a) == recent
    # ... after it, the next call records the use again.
    _used_ago(db, key_a, 120)
    assert client.get("/api/v1/shop", headers=key_a.headers).status_code == 200
    assert _last_used(db, key_a) == first


def test_a_refused_call_records_no_use(client, db, world, key_a):
    with db.platform_session() as s:
        s.get(Tenant, world.shop_a.id).status = "suspended"
    client.get("/api/v1/shop", headers=key_a.headers)
    assert _last_used(db, key_a) is None
