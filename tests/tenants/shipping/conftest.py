"""A world for shipping: fulfilment's two shops with stock, and helpers from an order to
an inspected (scanned) shipment, a packed one, one with a tracking number."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.tenants.fulfilment.conftest import (  # noqa: F401 - fixtures used by the tests
    JAN,
    OPERATOR,
    actions,
    allocated,
    instructed,
    order_status,
    shipment,
    shop_a,
    shop_b,
    shops,
    waved,
)
from tests.tenants.fulfilment.conftest import scan as scan_code
from tests.tenants.stock.conftest import ADMIN, B_PICK, PICK_1, PICK_2, line, put_away
from urakata.platform.audit import Actor
from urakata.tenants.shipping import packing, tracking
from urakata.tenants.shipping.models import ShipmentPackage
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.models import StockMovement

PACKER = Actor(type="user", id="packer-1", label="梱包担当 佐藤", request_id="rp")
SENDER = {
    "sender_name": "あかり雑貨 物流センター",
    "sender_postal_code": "150-0001",
    "sender_address": "東京都渋谷区神宮前1-2-3",
    "sender_phone": "03-1234-5678",
    "sender_email": "shop@akari.example",
    "b2_customer_code": "012345678901",
    "b2_freight_code": "01",
}


# Valid 12-digit numbers (check digit = first eleven mod 7).
def number(n: int) -> str:
    first = f"{44441375870 + n:011d}"
    return first + str(int(first) % 7)


@pytest.fixture
def stocked(db, shops):  # noqa: F811 - the fixture imported above
    """Pieces in shop A's pick faces and shop B's (their own catalog rows)."""
    first, second = shops
    put_away(db, first, line("CUP-1", 40, PICK_1), line("POT-1", 10, PICK_2),
             line("ICE-1", 10, PICK_1))  # fmt: skip
    put_away(db, second, line("CUP-1", 10, B_PICK))
    for shop in (first, second):
        with db.tenant_session(shop.id) as s:
            current = get_settings(s)
            update_settings(s, actor=ADMIN, expected_version=current.version, changes=SENDER)
    return first, second


def inspected(db, shop, *lines, **more) -> int:
    """An order of ``lines`` (sku, quantity) instructed, waved and scanned whole: the
    inspected shipment's id (one shipment)."""
    [shipment_id] = instructed(db, shop, *lines, **more)
    waved(db, shop, [shipment_id])
    for sku, quantity in lines:
        for _ in range(quantity):
            outcome, message, _done = scan_code(db, shop, shipment_id, JAN[sku])
            assert outcome == "ok", message
    return shipment_id


def packed(db, shop, *lines, box_size=None, weight_g=None, **more) -> int:
    shipment_id = inspected(db, shop, *lines, **more)
    with db.tenant_session(shop.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key=uuid.uuid4().hex,
                              box_size=box_size, weight_g=weight_g)  # fmt: skip
    return shipment_id


def labelled(db, shop, *lines, n: int = 0, **more) -> tuple[int, str]:
    shipment_id = packed(db, shop, *lines, **more)
    with db.tenant_session(shop.id) as s:
        tracking.set_tracking(s, actor=PACKER, shipment_id=shipment_id, number=number(n))
    return shipment_id, number(n)


def package(db, shop, shipment_id) -> ShipmentPackage | None:
    with db.tenant_session(shop.id) as s:
        found = s.scalar(select(ShipmentPackage).where(ShipmentPackage.shipment_id == shipment_id))
        s.expunge_all()
        return found


def movements(db, shop, order_id: int) -> list[tuple[str, int, int]]:
    """(kind, on_hand_delta, allocated_delta) of the order's stock movements, in order."""
    with db.tenant_session(shop.id) as s:
        rows = s.execute(
            select(StockMovement.kind, StockMovement.on_hand_delta, StockMovement.allocated_delta)
            .where(StockMovement.reference_type == "order",
                   StockMovement.reference_id == str(order_id))
            .order_by(StockMovement.id)
        ).all()  # fmt: skip
        return [tuple(r) for r in rows]
