"""Shared pieces of the stock tests: a catalog and bins in both shops, receipts, orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from urakata.platform.audit import Actor, AuditEvent
from urakata.platform.locations import create_locations
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders import services as orders
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.models import StockLevel, StockMovement
from urakata.tenants.stock.receipts import receive

OPERATOR = Actor(type="user", id="op-1", label="倉庫担当 鈴木", request_id="r1")
ADMIN = Actor(type="user", id="admin-1", label="管理 花子", request_id="r0")

PRODUCTS = (
    {
        "sku": "TEA-100",
        "name": "深蒸し煎茶 100g",
        "price_yen": 1080,
        "tax_rate": 8,
        "lot_tracked": True,
        "case_quantity": 40,
    },
    {"sku": "CUP-1", "name": "有田焼 湯呑み", "price_yen": 3300, "tax_rate": 10},
    {"sku": "POT-1", "name": "常滑焼 急須", "price_yen": 5500, "tax_rate": 10},
)
# (zone, aisle, shelf, bin, kind): shop A's bins, then shop B's
BINS_A = (
    ("A", "01", "01", "1-2", "pick_face"),
    ("R", "01", "01", "1-2", "reserve"),
    ("D", "01", "01", "1", "damaged"),
)
BINS_B = (("B", "01", "01", "1", "pick_face"), ("B", "09", "01", "1", "reserve"))
PICK_1, PICK_2, RESERVE_1, RESERVE_2, DAMAGED = (
    "A-01-01-1",
    "A-01-01-2",
    "R-01-01-1",
    "R-01-01-2",
    "D-01-01-1",
)
B_PICK, B_RESERVE = "B-01-01-1", "B-09-01-1"


@dataclass
class Shop:
    tenant: Tenant
    products: dict[str, int]  # sku -> product id

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id


def _bins(db, specs) -> list[str]:
    codes = []
    with db.platform_session() as s:
        for zone, aisle, shelf, bin_, kind in specs:
            made = create_locations(
                s,
                actor=ADMIN,
                data={"zone": zone, "aisle": aisle, "shelf": shelf, "bin": bin_, "kind": kind},
            )
            codes += [m.code for m in made]
    return codes


def _shop(db, tenant, specs) -> Shop:
    codes = _bins(db, specs)
    with db.tenant_session(tenant.id) as s:
        assign_bins(s, actor=ADMIN, codes=codes)
        products = {
            d["sku"]: create_product(s, actor=ADMIN, data={"status": "active", **d}).id
            for d in PRODUCTS
        }
    return Shop(tenant, products)


@pytest.fixture
def shops(db, world) -> tuple[Shop, Shop]:
    """Shop A with five bins (two pick faces, two reserve, one damaged) and shop B with
    two; the same catalog in each (their own rows)."""
    return _shop(db, world.shop_a, BINS_A), _shop(db, world.shop_b, BINS_B)


@pytest.fixture
def shop_a(shops) -> Shop:
    return shops[0]


@pytest.fixture
def shop_b(shops) -> Shop:
    return shops[1]


def soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def line(sku: str, quantity: int, location: str, lot_no: str = "", best_before=None, **more):
    data = {"sku": sku, "quantity": quantity, "location": location, "lot_no": lot_no, **more}
    if best_before is not None:
        data["best_before"] = best_before
    return data


def put_away(db, shop: Shop, *lines, key: str | None = None, reference: str = "IN-1"):
    with db.tenant_session(shop.id) as s:
        data = {
            "key": key or f"receipt-{uuid.uuid4()}",
            "reference": reference,
            "lines": list(lines),
        }
        return receive(s, actor=OPERATOR, data=data)


def set_policy(db, shop: Shop, **changes) -> None:
    with db.tenant_session(shop.id) as s:
        current = get_settings(s)
        update_settings(s, actor=ADMIN, expected_version=current.version, changes=changes)


def order(db, shop: Shop, *lines: tuple[str, int], number: str | None = None, paid=True):
    """A released (card, authorised) order of ``lines`` (sku, quantity)."""
    number = number or f"#{uuid.uuid4().hex[:8]}"
    body = {
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
        "payment_status": "authorized" if paid else "unpaid",
    }
    with db.tenant_session(shop.id) as s:
        return orders.intake(s, actor=OPERATOR, data=body, channel="api")


def reload(db, shop: Shop, order_id: int):
    with db.tenant_session(shop.id) as s:
        found = orders.get_order(s, order_id)
        _ = found.lines
        s.expunge(found)
        return found


def levels(db, shop: Shop, sku: str | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    """{(bin, lot): (on_hand, allocated)} of the shop (one SKU's, when given)."""
    from urakata.platform.locations import Location

    with db.tenant_session(shop.id) as s:
        stmt = select(
            Location.code, StockLevel.lot_no, StockLevel.on_hand, StockLevel.allocated
        ).join(Location, Location.id == StockLevel.location_id)
        if sku:
            stmt = stmt.where(StockLevel.product_id == shop.products[sku])
        return {(r.code, r.lot_no): (r.on_hand, r.allocated) for r in s.execute(stmt)}


def movement_count(db, shop: Shop) -> int:
    with db.tenant_session(shop.id) as s:
        return len(s.scalars(select(StockMovement.id)).all())


def actions(db, shop: Shop) -> list[str]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
