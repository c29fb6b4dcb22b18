"""API key services: created per shop, found by token, revoked only within their shop."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.portal.api.conftest import issue_key
from urakata.platform import apikeys
from urakata.platform.apikeys import ApiKey
from urakata.platform.audit import Actor, user_actor
from urakata.platform.tenancy import NotFound, Tenant

SYSTEM = Actor.system("test")


def test_a_new_key_is_stored_as_a_hash_and_its_token_names_its_prefix(db, world):
    with db.platform_session() as s:
        key, token = apikeys.create_api_key(s, world.shop_a.id, "  ＡＰＩ連携１ ", actor=SYSTEM)
        assert key.name == "API連携1"  # NFKC and trimmed
        assert apikeys.parse_prefix(token) == key.prefix
        assert key.token_hash == apikeys.hash_token(token) and token not in key.token_hash


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_key_needs_a_name_of_1_to_100_characters(db, world, name):
    with db.platform_session() as s, pytest.raises(apikeys.InvalidApiKeyData) as caught:
        apikeys.create_api_key(s, world.shop_a.id, name, actor=SYSTEM)
    assert caught.value.field == "name"


def test_each_shop_lists_only_its_own_keys(db, world):
    a = issue_key(db, world.shop_a, "A")
    b = issue_key(db, world.shop_b, "B")
    with db.platform_session() as s:
        assert [k.id for k in apikeys.list_api_keys(s, world.shop_a.id)] == [a.id]
        assert [k.id for k in apikeys.list_api_keys(s, world.shop_b.id)] == [b.id]


def test_another_shops_key_cannot_be_revoked_and_looks_missing(db, world, key_a):
    with db.platform_session() as s:
        with pytest.raises(NotFound):
            apikeys.revoke_api_key(
                s, world.shop_b.id, key_a.id, actor=user_actor(world.shop_admin_b)
            )
        with pytest.raises(NotFound):
            apikeys.revoke_api_key(
                s, world.shop_a.id, uuid.uuid4(), actor=user_actor(world.shop_admin_a)
            )
    with db.platform_session() as s:
        assert s.get(ApiKey, key_a.id).revoked_at is None
        assert apikeys.authenticate_token(s, key_a.token).id == key_a.id


def test_revoking_records_who_and_a_second_revoke_changes_nothing(db, world, key_a):
    with db.platform_session() as s:
        first = apikeys.revoke_api_key(
            s, world.shop_a.id, key_a.id, actor=user_actor(world.shop_admin_a)
        )
        revoked_at = first.revoked_at
        again = apikeys.revoke_api_key(s, world.shop_a.id, key_a.id, actor=SYSTEM)
        assert again.revoked_at == revoked_at and again.revoked_by == world.shop_admin_a.id
        assert apikeys.authenticate_token(s, key_a.token) is None


def test_authenticate_token_returns_the_key_with_its_shop(db, world, key_a, key_b):
    with db.platform_session() as s:
        found = apikeys.authenticate_token(s, key_a.token)
        assert found.id == key_a.id and found.shop.slug == "shop-a"
        assert apikeys.authenticate_token(s, key_b.token).shop.slug == "shop-b"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "uk_short_secret", "uk_000000000000_nosuchkey", "Bearer uk_"],
)
def test_authenticate_token_refuses_garbage(db, world, key_a, token):
    with db.platform_session() as s:
        assert apikeys.authenticate_token(s, token) is None


def test_a_known_prefix_with_a_wrong_secret_is_refused(db, world, key_a):
    forged = f"uk_{key_a.prefix}_{'A' * 43}"
    with db.platform_session() as s:
        assert apikeys.authenticate_token(s, forged) is None


def test_a_suspended_shops_keys_are_refused(db, world, key_a, key_b):
    with db.platform_session() as s:
        s.get(Tenant, world.shop_a.id).status = "suspended"
    with db.platform_session() as s:
        assert apikeys.authenticate_token(s, key_a.token) is None
        assert apikeys.authenticate_token(s, key_b.token) is not None


def _last_used(db, key_id):
    with db.platform_session() as s:
        return s.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))


def _set_last_used_ago(db, key_id, ago: timedelta):
    with db.platform_session() as s:
        s.execute(
            text("UPDATE api_key SET last_used_at = now() - :ago WHERE id = :id"),
            {"ago": ago, "id": key_id},
        )


def test_last_used_is_written_at_most_once_a_minute(db, world, key_a, key_b):
    with db.platform_session() as s:
        assert apikeys.touch_last_used(s, key_a.id) is True
        now = s.scalar(text("SELECT now()"))
    assert _last_used(db, key_a.id) == now
    assert _last_used(db, key_b.id) is None  # the other shop's key is untouched

    _set_last_used_ago(db, key_a.id, timedelta(seconds=30))
    recent = _last_used(db, key_a.id)
    with db.platform_session() as s:
        assert apikeys.touch_last_used(s, key_a.id) is False
    assert _last_used(db, key_a.id) == recent

    _set_last_used_ago(db, key_a.id, timedelta(minutes=2))
    with db.platform_session() as s:
        assert apikeys.touch_last_used(s, key_a.id) is True
    assert _last_used(db, key_a.id) == now
