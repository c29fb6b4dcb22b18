"""API test helpers: keys made through the service (the portal flow has its own tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from urakata.platform import apikeys
from urakata.platform.audit import Actor
from urakata.platform.tenancy import Tenant


@dataclass(frozen=True)
class IssuedKey:
    id: uuid.UUID
    prefix: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def issue_key(db, shop: Tenant, name: str = "受注連携") -> IssuedKey:
    with db.platform_session() as session:
        key, token = apikeys.create_api_key(session, shop.id, name, actor=Actor.system("test"))
        return IssuedKey(key.id, key.prefix, token)


@pytest.fixture
def key_a(db, world) -> IssuedKey:
    return issue_key(db, world.shop_a)


@pytest.fixture
def key_b(db, world) -> IssuedKey:
    return issue_key(db, world.shop_b)
