"""An address corrected after the shipping instructions reaches the parcels still in the
warehouse, or is refused when a label with the old one exists or the order has left."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.shipping.conftest import (
    PACKER,
    inspected,
    instructed,
    labelled,
    shipment,
)
from urakata.platform.audit import AuditEvent
from urakata.platform.tenancy import NotFound
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders.services import (
    IllegalTransition,
    OrderInvalid,
    edit_address,
    get_order,
)
from urakata.tenants.shipping import handover

NEW = {"name": "鈴木 一郎", "postal_code": "530-0001", "prefecture": "27", "city": "大阪市北区",
       "street": "梅田1-1-1", "building": "梅田ビル 3F", "phone": "06-1234-5678"}  # fmt: skip


def _order_of(db, shop, shipment_id: int):
    with db.tenant_session(shop.id) as s:
        found = fulfilment.get_shipment(s, shipment_id)
        order = get_order(s, found.order_id)
        return order.id, order.version


def _edit(db, shop, order_id: int, version: int, **fields):
    with db.tenant_session(shop.id) as s:
        return edit_address(s, actor=PACKER, order_id=order_id,
                            data={"version": version, **fields})  # fmt: skip


def _events(db, shop, object_type: str, object_id: int) -> list[AuditEvent]:
    with db.tenant_session(shop.id) as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.seq)
        ).all()
        s.expunge_all()
        return rows


def test_a_new_address_reaches_an_instructed_parcel_with_its_own_event(db, stocked):
    first, second = stocked
    [shipment_id] = instructed(db, first, ("CUP-1", 1))
    [other_id] = instructed(db, second, ("CUP-1", 1))
    order_id, version = _order_of(db, first, shipment_id)
    _edit(db, first, order_id, version, **NEW)
    parcel = shipment(db, first, shipment_id)
    assert (parcel.ship_name, parcel.ship_postal_code, parcel.ship_prefecture,
            parcel.ship_city, parcel.ship_building, parcel.ship_phone) == (
        "鈴木 一郎", "5300001", "27", "大阪市北区", "梅田ビル 3F", "0612345678")  # fmt: skip
    [event] = [e for e in _events(db, first, "shipment", shipment_id)
               if e.action == "shipment.address_changed"]  # fmt: skip
    assert event.actor_id == PACKER.id and event.payload["data"]["order"] == order_id
    assert event.payload["changes"]["city"][1] == "大阪市北区"
    # The other shop's parcel keeps its address, and its order is not reachable from here.
    assert shipment(db, second, other_id).ship_name != "鈴木 一郎"
    other_order, other_version = _order_of(db, second, other_id)
    with pytest.raises(NotFound):
        _edit(db, first, other_order, other_version, name="他店 太郎")


def test_an_inspected_parcel_takes_the_address_too(db, stocked):
    first, _second = stocked
    shipment_id = inspected(db, first, ("CUP-1", 1))
    order_id, version = _order_of(db, first, shipment_id)
    _edit(db, first, order_id, version, building="新館 5F")
    assert shipment(db, first, shipment_id).ship_building == "新館 5F"


def test_a_parcel_with_its_label_refuses_the_change_and_nothing_moves(db, stocked):
    first, _second = stocked
    shipment_id, tracking_no = labelled(db, first, ("CUP-1", 1))
    order_id, version = _order_of(db, first, shipment_id)
    before = shipment(db, first, shipment_id).ship_street
    with pytest.raises(IllegalTransition) as refused:
        _edit(db, first, order_id, version, street="別の番地 9-9")
    assert tracking_no in str(refused.value) and f"SH{shipment_id:010d}" in str(refused.value)
    assert shipment(db, first, shipment_id).ship_street == before
    with db.tenant_session(first.id) as s:
        assert get_order(s, order_id).ship_street == before


def test_an_address_the_parcel_cannot_ship_to_is_refused_by_field(db, stocked):
    first, _second = stocked
    [shipment_id] = instructed(db, first, ("CUP-1", 1))
    order_id, version = _order_of(db, first, shipment_id)
    with pytest.raises(OrderInvalid) as refused:
        _edit(db, first, order_id, version, postal_code="123-4567")
    assert "postal_code" in refused.value.errors
    with db.tenant_session(first.id) as s:
        order = get_order(s, order_id)
        assert order.status == "instructed" and order.ship_postal_code != "1234567"
    assert shipment(db, first, shipment_id).ship_postal_code != "1234567"


def test_a_shipped_orders_address_stays_as_it_left(db, stocked):
    first, _second = stocked
    shipment_id, _number = labelled(db, first, ("CUP-1", 1))
    with db.tenant_session(first.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-readdress")
    order_id, version = _order_of(db, first, shipment_id)
    with pytest.raises(IllegalTransition, match="shipped"):
        _edit(db, first, order_id, version, street="別の番地 9-9")
