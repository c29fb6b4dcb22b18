"""Retention after shipping: an order whose parcels all left N days ago loses its
personal data, and so do its shipments' copies and the packing slips that printed them;
the ledger records it and still verifies; the other shop's parcels are untouched."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from tests.tenants.shipping.conftest import (  # noqa: F401 - fixtures used below
    PACKER,
    labelled,
    shipment,
    shop_a,
    shop_b,
    shops,
    stocked,
)
from urakata.platform import audit, retention
from urakata.platform.audit import AuditEvent
from urakata.platform.db import utcnow
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping import documents, handover
from urakata.tenants.shipping.models import SlipDocument


def _shipped(db, shop, n):
    """An order packed, numbered, its wave's slips rendered, handed over: (shipment, order)."""
    shipment_id, _number = labelled(db, shop, ("CUP-1", 1), n=n)
    with db.tenant_session(shop.id) as s:
        parcel = fulfilment.get_shipment(s, shipment_id)
        slips = documents.request_wave_slips(s, actor=PACKER, wave_id=parcel.wave_id)
        documents.render_wave_slips(s, actor=PACKER, document_id=slips.id)
        handover.hand_over(s, actor=PACKER, carrier="yamato", key=uuid.uuid4().hex,
                           shipment_ids=[shipment_id])  # fmt: skip
        return shipment_id, parcel.order_id


def _slips(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(SlipDocument))


def _erase(db, shop, now):
    with db.tenant_session(shop.id) as s:
        return retention.erase_due_orders(s, PACKER, now)


def test_the_shipment_fields_named_here_are_its_personal_fields():
    from urakata.tenants.fulfilment.models import Shipment

    columns = {c.name for c in Shipment.__table__.columns}
    assert set(retention.SHIPMENT_PERSONAL_FIELDS) <= columns
    personal = {c for c in columns if c.startswith("ship_")} - {
        "ship_prefecture", "ship_by_at", "ship_by_date"}  # fmt: skip
    assert personal | {"noshi", "gift_message"} <= set(retention.SHIPMENT_PERSONAL_FIELDS)


def test_a_shipped_order_is_erased_with_its_parcels_and_slips(db, stocked):  # noqa: F811
    first, second = stocked
    parcel_a, order_a = _shipped(db, first, 1)
    parcel_b, _order_b = _shipped(db, second, 2)
    for shop in stocked:
        with db.tenant_session(shop.id) as s:
            retention.set_policy(s, PACKER, 30)
    assert _slips(db, first) == 1 and _slips(db, second) == 1

    assert _erase(db, first, utcnow() + timedelta(days=29)) == 0  # not yet
    assert _erase(db, first, utcnow() + timedelta(days=31)) == 1
    with db.tenant_session(first.id) as s:
        order = s.get(Order, (first.id, order_a))
        assert order.customer_name == retention.ERASED and order.ship_street == ""
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == retention.ERASED_ACTION)
        ).one()
    erased = shipment(db, first, parcel_a)
    assert erased.ship_name == retention.ERASED
    assert (erased.ship_street, erased.ship_phone, erased.ship_postal_code) == ("", "", "")
    assert erased.status == "shipped" and erased.shipped_at is not None  # facts stay
    assert _slips(db, first) == 0
    data = event.payload["data"]
    assert data["reason"] == "shipped" and data["shipments"] == [parcel_a]
    assert "ship_street" in data["shipment_fields"] and "山田" not in str(event.payload)

    # The second shop's parcel left at the same time but is its own: untouched until B erases it.
    other = shipment(db, second, parcel_b)
    assert other.ship_name != retention.ERASED and _slips(db, second) == 1
    assert _erase(db, first, utcnow() + timedelta(days=90)) == 0  # idempotent
    for shop in stocked:
        assert audit.verify_chain(db, shop.id).ok
