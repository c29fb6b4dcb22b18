"""Two shops with bins and JAN-coded catalogs: what an inbound test receives against."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.tenants.stock.conftest import ADMIN, BINS_A, BINS_B, OPERATOR, _bins
from urakata.platform.audit import Actor, AuditEvent
from urakata.platform.locations import Location
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.services import create_product
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.models import StockLevel, StockMovement

SHOP = Actor(type="user", id="shop-1", label="店長 山田", request_id="r2")
JAN_CUP, JAN_POT, JAN_TEA, JAN_B_ONLY = (
    "4900000000016",
    "4900000000023",
    "4900000000030",
    "4500000000018",
)

PRODUCTS_A = (
    {"sku": "CUP-1", "name": "有田焼 湯呑み", "price_yen": 3300, "jan": JAN_CUP},
    {"sku": "POT-1", "name": "常滑焼 急須", "price_yen": 5500, "jan": JAN_POT},
    {
        "sku": "TEA-100",
        "name": "深蒸し煎茶 100g",
        "price_yen": 1080,
        "tax_rate": 8,
        "lot_tracked": True,
        "jan": JAN_TEA,
    },
    {"sku": "TOWEL-1", "name": "今治タオル (バーコードなし)", "price_yen": 1650},
)
PRODUCTS_B = (
    {"sku": "CUP-1", "name": "湯呑み (B)", "price_yen": 900, "jan": "4900000000092"},
    {"sku": "B-ONLY", "name": "Bだけの商品", "price_yen": 500, "jan": JAN_B_ONLY},
)


@dataclass
class Shop:
    tenant: Tenant
    products: dict[str, int]

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id


def _shop(db, tenant, bins, products) -> Shop:
    codes = _bins(db, bins)
    with db.tenant_session(tenant.id) as s:
        assign_bins(s, actor=ADMIN, codes=codes)
        made = {
            d["sku"]: create_product(s, actor=ADMIN, data={"status": "active", **d}).id
            for d in products
        }
    return Shop(tenant, made)


@pytest.fixture
def shops(db, world) -> tuple[Shop, Shop]:
    return _shop(db, world.shop_a, BINS_A, PRODUCTS_A), _shop(db, world.shop_b, BINS_B, PRODUCTS_B)


@pytest.fixture
def shop_a(shops) -> Shop:
    return shops[0]


@pytest.fixture
def shop_b(shops) -> Shop:
    return shops[1]


def set_settings(db, shop: Shop, **changes) -> None:
    with db.tenant_session(shop.id) as s:
        current = get_settings(s)
        update_settings(s, actor=ADMIN, expected_version=current.version, changes=changes)


def levels(db, shop: Shop, sku: str | None = None) -> dict[tuple[str, str], int]:
    with db.tenant_session(shop.id) as s:
        stmt = select(Location.code, StockLevel.lot_no, StockLevel.on_hand).join(
            Location, Location.id == StockLevel.location_id
        )
        if sku:
            stmt = stmt.where(StockLevel.product_id == shop.products[sku])
        return {(r.code, r.lot_no): r.on_hand for r in s.execute(stmt) if r.on_hand}


def movements(db, shop: Shop) -> list[tuple[str, int, str]]:
    with db.tenant_session(shop.id) as s:
        rows = s.scalars(select(StockMovement).order_by(StockMovement.id))
        return [(m.kind, m.on_hand_delta, m.reference_id) for m in rows]


def actions(db, shop: Shop) -> list[str]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


__all__ = ["ADMIN", "OPERATOR", "SHOP"]
