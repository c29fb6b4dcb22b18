"""Shared pieces of the order tests: a catalog per shop, a frozen clock, an order body."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders import services

TOKYO = ZoneInfo("Asia/Tokyo")
OPERATOR = Actor(type="user", id="op-1", label="受注担当 佐藤", request_id="r1")

PRODUCTS = (
    {"sku": "TEA-001", "name": "静岡 深蒸し煎茶 100g", "price_yen": 1080, "tax_rate": 8},
    {"sku": "CUP-001", "name": "有田焼 湯呑み", "price_yen": 1100, "tax_rate": 10},
    {"sku": "OLD-001", "name": "旧パッケージ", "price_yen": 500, "status": "discontinued"},
    {"sku": "NEW-001", "name": "新商品(準備中)", "price_yen": 700, "status": "draft"},
)

ORDER = {
    "external_id": "#1001",
    "ordered_at": "2026-06-01T10:00:00+09:00",
    "customer": {
        "name": "山田 太郎",
        "kana": "ヤマダ タロウ",
        "email": "taro@example.jp",
        "phone": "090-1234-5678",
    },
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


def tokyo(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def add_products(db, shop) -> None:
    with db.tenant_session(shop.id) as s:
        for data in PRODUCTS:
            create_product(s, actor=OPERATOR, data={"status": "active", **data})


@pytest.fixture
def shop(db, world):
    """Shop A with a catalog; shop B gets the same catalog (its own rows)."""
    add_products(db, world.shop_a)
    add_products(db, world.shop_b)
    return world.shop_a


class Clock:
    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.now = tokyo(2026, 6, 1, 10, 0)  # a Monday morning
        monkeypatch.setattr(services, "utcnow", lambda: self.now)

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def take(db, shop, body=None, **kwargs):
    with db.tenant_session(shop.id) as s:
        return services.intake(s, actor=OPERATOR, data=body or order_body(), **kwargs)


def actions(db, shop, order_id) -> list[str]:
    """The ledger's actions about one order, oldest first."""
    with db.tenant_session(shop.id) as s:
        events = audit.history(s, object_type="order", object_id=order_id, limit=200)
        return [e.action for e in reversed(events)]


def reload(db, shop, order_id):
    with db.tenant_session(shop.id) as s:
        order = services.get_order(s, order_id)
        _ = order.lines
        return order
