"""A cancelled order in a wave (removed, its stock released; a put-back task when already
picked) and a short pick (a stock discrepancy; the shipment goes back to allocation);
packing and shipping moves for the next capability."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.fulfilment.conftest import (
    JAN,
    OPERATOR,
    actions,
    instructed,
    line,
    order_status,
    put_away,
    scan,
    shipment,
    waved,
)
from tests.tenants.stock.conftest import PICK_1, PICK_2, levels
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import PickShortage, PutBackTask, Wave
from urakata.tenants.orders import services as orders
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.ledger import ALLOCATE_JOB
from urakata.tenants.stock.models import StockMovement
from urakata.tenants.stock.reconciliation import reconcile


def _cancel(db, shop, order_id):
    with db.tenant_session(shop.id) as s:
        orders.cancel(s, actor=OPERATOR, order_id=order_id, version=None, reason="お客様都合")


def _withdraw(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return fulfilment.withdraw_cancelled(s, actor=OPERATOR)


def _put_backs(db, shop):
    with db.tenant_session(shop.id) as s:
        return [
            (t.sku, t.bin_code, t.quantity, t.restock, t.status)
            for t in s.scalars(select(PutBackTask).order_by(PutBackTask.id))
        ]


def _wave(db, shop, wave_id):
    with db.tenant_session(shop.id) as s:
        w = s.get(Wave, (shop.id, wave_id))
        return w.status, w.shipment_count, w.unit_count


def test_a_cancelled_order_not_yet_picked_leaves_its_wave_and_its_stock_is_free(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    keep, gone = (instructed(db, shop_a, ("CUP-1", 1))[0] for _ in range(2))
    wave_id = waved(db, shop_a, [keep, gone])
    order_id = shipment(db, shop_a, gone).order_id
    _cancel(db, shop_a, order_id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (5, 1)}  # released by the cancel
    assert _withdraw(db, shop_a) == 1
    assert _withdraw(db, shop_a) == 0  # once
    assert shipment(db, shop_a, gone).status == "cancelled"
    assert _wave(db, shop_a, wave_id) == ("open", 1, 1)
    assert _put_backs(db, shop_a) == []
    assert "shipment.cancelled" in actions(db, shop_a)


def test_scanning_a_shipment_whose_order_was_cancelled_refuses_and_asks_to_put_back(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    (sid,) = instructed(db, shop_a, ("CUP-1", 2))
    wave_id = waved(db, shop_a, [sid])
    assert scan(db, shop_a, sid, JAN["CUP-1"])[0] == "ok"
    _cancel(db, shop_a, shipment(db, shop_a, sid).order_id)
    outcome, message, _ = scan(db, shop_a, sid, JAN["CUP-1"])
    assert outcome == "order_cancelled" and "cancelled" in message
    assert shipment(db, shop_a, sid).status == "cancelled"
    # the picked piece never left the bin's level: carried back, no movement
    assert _put_backs(db, shop_a) == [("CUP-1", PICK_1, 1, False, "open")]
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (5, 0)}
    assert _wave(db, shop_a, wave_id)[0] == "cancelled"
    with db.tenant_session(shop_a.id) as s:
        (task,) = fulfilment.list_put_backs(s)
        fulfilment.complete_put_back(s, actor=OPERATOR, task_id=task.id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (5, 0)}


def test_an_order_cancelled_after_inspection_gets_a_restocking_put_back(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    (sid,) = instructed(db, shop_a, ("CUP-1", 2))
    waved(db, shop_a, [sid])
    scan(db, shop_a, sid, JAN["CUP-1"])
    scan(db, shop_a, sid, JAN["CUP-1"])
    order_id = shipment(db, shop_a, sid).order_id
    assert order_status(db, shop_a, order_id) == "inspected"
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (3, 0)}
    with db.tenant_session(shop_a.id) as s:
        fulfilment.cancel_order(s, actor=OPERATOR, order_id=order_id, version=None, reason="x")
    assert _put_backs(db, shop_a) == [("CUP-1", PICK_1, 2, True, "open")]
    with db.tenant_session(shop_a.id) as s:
        (task,) = fulfilment.list_put_backs(s)
        fulfilment.complete_put_back(s, actor=OPERATOR, task_id=task.id)
        with pytest.raises(fulfilment.IllegalShipmentMove):
            fulfilment.complete_put_back(s, actor=OPERATOR, task_id=task.id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (5, 0)}
    with db.tenant_session(shop_a.id) as s:
        returns = s.scalars(select(StockMovement).where(StockMovement.kind == "return")).all()
        assert [(m.on_hand_delta, m.reference_id) for m in returns] == [(2, str(order_id))]
        assert reconcile(s, actor=OPERATOR).ok
    assert "putback.done" in actions(db, shop_a)


def test_a_short_pick_raises_a_discrepancy_and_sends_the_order_back_to_allocation(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 3, PICK_1), line("CUP-1", 5, PICK_2))
    (sid,) = instructed(db, shop_a, ("CUP-1", 3))
    waved(db, shop_a, [sid])
    assert scan(db, shop_a, sid, JAN["CUP-1"])[0] == "ok"  # one found, then the bin is empty
    order_id = shipment(db, shop_a, sid).order_id
    line_id = shipment(db, shop_a, sid).lines[0].id
    with db.tenant_session(shop_a.id) as s:
        shortage = fulfilment.report_short(s, actor=OPERATOR, shipment_id=sid, line_id=line_id)
        assert (shortage.expected, shortage.missing, shortage.bin_code) == (3, 2, PICK_1)
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.job == ALLOCATE_JOB))
    assert shipment(db, shop_a, sid).status == "returned"
    assert order_status(db, shop_a, order_id) == "released"
    # two pieces booked off the bin; the one in the tote is still promised to the order
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (1, 1), (PICK_2, ""): (5, 0)}
    assert _put_backs(db, shop_a) == [("CUP-1", PICK_1, 1, False, "open")]
    assert "stock.discrepancy" in actions(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        assert reconcile(s, actor=OPERATOR).ok
        allocate_order(s, actor=OPERATOR, order_id=order_id)
    with db.tenant_session(shop_a.id) as s:
        (again,) = fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        assert again.part == 2
        assert sorted((x.bin_code, x.quantity) for x in again.lines) == [(PICK_1, 1), (PICK_2, 2)]
        assert s.scalar(select(PickShortage.status)) == "open"


def test_packing_and_shipping_move_the_order_when_every_parcel_got_there(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [sid])
    scan(db, shop_a, sid, JAN["CUP-1"])
    order_id = shipment(db, shop_a, sid).order_id
    with db.tenant_session(shop_a.id) as s:
        with pytest.raises(fulfilment.IllegalShipmentMove):
            fulfilment.advance_shipment(s, actor=OPERATOR, shipment_id=sid, status="shipped")
        version = fulfilment.get_shipment(s, sid).version
        with pytest.raises(fulfilment.StaleShipment):
            fulfilment.advance_shipment(
                s, actor=OPERATOR, shipment_id=sid, status="packed", version=version - 1
            )
        fulfilment.advance_shipment(s, actor=OPERATOR, shipment_id=sid, status="packed")
    assert order_status(db, shop_a, order_id) == "packed"
    with db.tenant_session(shop_a.id) as s:
        fulfilment.advance_shipment(
            s,
            actor=OPERATOR,
            shipment_id=sid,
            status="shipped",
            data={"tracking_no": "444413758703"},
        )
    assert order_status(db, shop_a, order_id) == "shipped"
    assert shipment(db, shop_a, sid).shipped_at is not None
