"""A world for fulfilment: both shops with bins, a catalog with JANs (one lot-tracked tea,
one frozen item) and helpers from allocated order to scanned shipment."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.tenants.stock.conftest import (
    ADMIN,
    BINS_A,
    BINS_B,
    OPERATOR,
    Shop,
    _bins,
    line,
    put_away,
    set_policy,
    soon,
)
from urakata.platform.audit import AuditEvent
from urakata.tenants.catalog.services import create_product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders import services as orders
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins

__all__ = ["OPERATOR", "line", "put_away", "set_policy", "soon"]

JAN = {
    "TEA-100": "4569951116179",
    "CUP-1": "4901234567894",
    "POT-1": "4900000000016",
    "ICE-1": "4580000000027",
}
STRANGER_JAN = "4512345678906"  # shop B's own item
PRODUCTS = (
    {
        "sku": "TEA-100",
        "name": "深蒸し煎茶 100g",
        "price_yen": 1080,
        "tax_rate": 8,
        "lot_tracked": True,
        "weight_g": 120,
    },
    {"sku": "CUP-1", "name": "有田焼 湯呑み", "price_yen": 3300, "tax_rate": 10, "weight_g": 300},
    {"sku": "POT-1", "name": "常滑焼 急須", "price_yen": 5500, "tax_rate": 10},
    {
        "sku": "ICE-1",
        "name": "抹茶アイス 6個入",
        "price_yen": 2400,
        "tax_rate": 8,
        "temperature_zone": "frozen",
        "weight_g": 600,
    },
)


def _shop(db, tenant, specs, extra=()) -> Shop:
    codes = _bins(db, specs)
    with db.tenant_session(tenant.id) as s:
        assign_bins(s, actor=ADMIN, codes=codes)
        products = {}
        for d in (*PRODUCTS, *extra):
            data = {"status": "active", "jan": JAN.get(d["sku"]), **d}
            products[d["sku"]] = create_product(s, actor=ADMIN, data=data).id
    return Shop(tenant, products)


@pytest.fixture
def shops(db, world) -> tuple[Shop, Shop]:
    a = _shop(db, world.shop_a, BINS_A)
    b_products = (
        {"sku": "MISO-1", "name": "白味噌", "price_yen": 800, "tax_rate": 8, "jan": STRANGER_JAN},
    )
    b = _shop(db, world.shop_b, BINS_B, b_products)
    return a, b


@pytest.fixture
def shop_a(shops) -> Shop:
    return shops[0]


@pytest.fixture
def shop_b(shops) -> Shop:
    return shops[1]


def order_body(*lines: tuple[str, int], number: str | None = None, **more) -> dict:
    number = number or f"#{uuid.uuid4().hex[:8]}"
    return {
        "external_id": number,
        "customer": {"name": "山田 太郎", "email": f"{number[1:]}@example.jp"},
        "ship_to": {
            "name": "山田 太郎",
            "postal_code": "100-0001",
            "prefecture": "東京都",
            "city": "千代田区",
            "street": "千代田1-1",
            "phone": "090-1234-5678",
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price_yen": 1000} for sku, q in lines],
        "payment_method": "card",
        "payment_status": "authorized",
        **more,
    }


def allocated(db, shop: Shop, *lines: tuple[str, int], **more) -> int:
    """An order of ``lines``, released and allocated; its id."""
    with db.tenant_session(shop.id) as s:
        taken = orders.intake(s, actor=OPERATOR, data=order_body(*lines, **more), channel="api")
        order_id = taken.id
        assert taken.status == "released", taken.holds
    with db.tenant_session(shop.id) as s:
        outcome = allocate_order(s, actor=OPERATOR, order_id=order_id)
        assert outcome.complete
    return order_id


def instructed(db, shop: Shop, *lines, **more) -> list[int]:
    order_id = allocated(db, shop, *lines, **more)
    with db.tenant_session(shop.id) as s:
        return [x.id for x in fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)]


def waved(db, shop: Shop, shipment_ids: list[int], key: str | None = None) -> int:
    with db.tenant_session(shop.id) as s:
        wave, _ = fulfilment.create_wave(
            s, actor=OPERATOR, shipment_ids=shipment_ids, request_key=key or uuid.uuid4().hex
        )
        return wave.id


def scan(db, shop: Shop, shipment_id: int, code: str, lot_no: str = "", key: str | None = None):
    with db.tenant_session(shop.id) as s:
        result = fulfilment.scan(
            s,
            actor=OPERATOR,
            shipment_id=shipment_id,
            code=code,
            lot_no=lot_no,
            scan_key=key or uuid.uuid4().hex,
        )
        return result.outcome, str(result.message), result.inspected


def shipment(db, shop: Shop, shipment_id: int):
    with db.tenant_session(shop.id) as s:
        found = fulfilment.get_shipment(s, shipment_id)
        _ = found.lines
        s.expunge_all()
        return found


def order_status(db, shop: Shop, order_id: int) -> str:
    with db.tenant_session(shop.id) as s:
        return orders.get_order(s, order_id).status


def actions(db, shop: Shop) -> list[str]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
