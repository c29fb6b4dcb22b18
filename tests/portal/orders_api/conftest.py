"""The order API's tests: both shops with a small catalog, a key each, an order body."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.portal.api.conftest import issue_key
from tests.tenants.orders.conftest import PRODUCTS as SAMPLE_PRODUCTS
from tests.tenants.orders.conftest import order_body  # noqa: F401 - the tests' sample order
from urakata.platform.audit import Actor, AuditEvent
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders.models import IdempotencyKey, Order

CATALOG_ACTOR = Actor(type="user", id="op-1", label="受注担当 佐藤", request_id="r1")
PRODUCTS = SAMPLE_PRODUCTS[:2]  # on sale in both shops


def add_catalog(db, shop) -> None:
    with db.tenant_session(shop.id) as s:
        for data in PRODUCTS:
            create_product(s, actor=CATALOG_ACTOR, data={"status": "active", **data})


def footprint(db, shop) -> tuple[int, int, int]:
    """What an order request can leave behind: orders, idempotency keys, ledger events."""
    with db.tenant_session(shop.id) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (Order, IdempotencyKey, AuditEvent)
        )


@pytest.fixture
def catalog(db, world):
    """Both shops sell the same SKUs (each its own rows)."""
    add_catalog(db, world.shop_a)
    add_catalog(db, world.shop_b)


@pytest.fixture
def key_a(db, world, catalog):
    return issue_key(db, world.shop_a, "受注連携")


@pytest.fixture
def key_b(db, world, catalog):
    return issue_key(db, world.shop_b)
