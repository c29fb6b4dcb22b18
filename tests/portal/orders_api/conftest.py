"""The order API's tests: both shops with a small catalog, a key each, an order body."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from tests.portal.api.conftest import issue_key
from urakata.platform.audit import Actor, AuditEvent
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders.models import IdempotencyKey, Order

CATALOG_ACTOR = Actor(type="user", id="op-1", label="受注担当 佐藤", request_id="r1")
PRODUCTS = (
    {"sku": "TEA-001", "name": "静岡 深蒸し煎茶 100g", "price_yen": 1080, "tax_rate": 8},
    {"sku": "CUP-001", "name": "有田焼 湯呑み", "price_yen": 1100, "tax_rate": 10},
)

ORDER = {
    "external_id": "#1001",
    "ordered_at": "2026-06-01T10:00:00+09:00",
    "customer": {"name": "山田 太郎", "kana": "ヤマダ タロウ", "email": "taro@example.jp"},
    "ship_to": {
        "name": "山田 太郎",
        "postal_code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "street": "千代田1-1",
        "phone": "090-1234-5678",
    },
    "lines": [
        {"sku": "TEA-001", "quantity": 2, "unit_price_yen": 1080},
        {"sku": "CUP-001", "quantity": 1, "unit_price_yen": 1100},
    ],
    "payment_method": "card",
    "payment_status": "authorized",
}


def order_body(**changes) -> dict:
    """The sample order with top-level changes; ``ship_to`` / ``customer`` dicts merge."""
    body = copy.deepcopy(ORDER)
    for key, value in changes.items():
        if key in ("ship_to", "customer"):
            body[key].update(value)
        else:
            body[key] = value
    return body


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
