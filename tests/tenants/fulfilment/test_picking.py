"""From an allocated order to an inspected shipment: instructions, a wave, scan-checked
picking; the stock movements, levels and ledger at each step; every refused scan."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.tenants.fulfilment.conftest import (
    JAN,
    OPERATOR,
    STRANGER_JAN,
    actions,
    instructed,
    line,
    order_status,
    put_away,
    scan,
    shipment,
    soon,
    waved,
)
from tests.tenants.stock.conftest import PICK_1, PICK_2, RESERVE_1, levels
from urakata.tenants.fulfilment import picking
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import ScanEvent, Wave
from urakata.tenants.stock.models import StockMovement
from urakata.tenants.stock.reconciliation import reconcile


def _stock(db, shop_a):
    put_away(
        db,
        shop_a,
        line("CUP-1", 5, PICK_1),
        line("TEA-100", 3, PICK_2, "L-EARLY", soon(100)),
        line("TEA-100", 3, RESERVE_1, "L-LATE", soon(200)),
        line("POT-1", 2, RESERVE_1),
    )


def _movements(db, shop, kind):
    with db.tenant_session(shop.id) as s:
        rows = s.scalars(select(StockMovement).where(StockMovement.kind == kind)).all()
        return sorted((m.on_hand_delta, m.allocated_delta, m.lot_no) for m in rows)


def test_allocated_order_to_inspected_shipment(db, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 2), ("TEA-100", 1))
    made = shipment(db, shop_a, sid)
    order_id = made.order_id
    assert order_status(db, shop_a, order_id) == "instructed"
    assert (made.status, made.carrier, made.service, made.cool_type) == (
        "instructed",
        "yamato",
        "takkyubin",
        "none",
    )
    assert (made.unit_count, made.line_count, made.weight_g) == (3, 2, 720)
    assert sorted((x.sku, x.bin_code, x.lot_no, x.quantity) for x in made.lines) == [
        ("CUP-1", PICK_1, "", 2),
        ("TEA-100", PICK_2, "L-EARLY", 1),  # FEFO: the earliest best-before
    ]
    wave_id = waved(db, shop_a, [sid])
    assert shipment(db, shop_a, sid).status == "waved"

    assert scan(db, shop_a, sid, JAN["CUP-1"])[0] == "ok"
    assert shipment(db, shop_a, sid).status == "picking"
    assert scan(db, shop_a, sid, JAN["TEA-100"])[0] == "lot_needed"
    assert scan(db, shop_a, sid, JAN["CUP-1"])[0] == "ok"
    outcome, _, inspected = scan(db, shop_a, sid, JAN["TEA-100"], "L-EARLY")
    assert (outcome, inspected) == ("ok", True)

    done = shipment(db, shop_a, sid)
    assert (done.status, done.scanned_count) == ("inspected", 3)
    assert order_status(db, shop_a, order_id) == "inspected"
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (3, 0)}
    assert levels(db, shop_a, "TEA-100") == {
        (PICK_2, "L-EARLY"): (2, 0),
        (RESERVE_1, "L-LATE"): (3, 0),
    }
    assert _movements(db, shop_a, "pick") == [(-2, -2, ""), (-1, -1, "L-EARLY")]
    with db.tenant_session(shop_a.id) as s:
        assert s.get(Wave, (shop_a.id, wave_id)).status == "done"
        assert reconcile(s, actor=OPERATOR).ok  # Σ movements = levels
    trail = actions(db, shop_a)
    for action in (
        "order.instructed",
        "shipment.instructed",
        "wave.created",
        "shipment.scanned",
        "shipment.inspected",
        "order.inspected",
        "wave.done",
    ):
        assert action in trail, action


def test_a_resent_scan_counts_once_and_the_pick_is_posted_once(db, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 2))
    waved(db, shop_a, [sid])
    assert scan(db, shop_a, sid, JAN["CUP-1"], key="scan-1")[0] == "ok"
    assert scan(db, shop_a, sid, JAN["CUP-1"], key="scan-1")[0] == "ok"  # the same scan again
    assert shipment(db, shop_a, sid).scanned_count == 1
    assert scan(db, shop_a, sid, JAN["CUP-1"], key="scan-2")[2] is True
    with db.tenant_session(shop_a.id) as s:
        picking.inspect(s, actor=OPERATOR, shipment=fulfilment.get_shipment(s, sid))
    assert _movements(db, shop_a, "pick") == [(-2, -2, "")]
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (3, 0)}


def _mispicks(db, shop):
    with db.tenant_session(shop.id) as s:
        return [
            e.outcome
            for e in s.scalars(select(ScanEvent).order_by(ScanEvent.id))
            if e.outcome != "ok"
        ]


def test_every_wrong_scan_is_refused_with_a_message_and_recorded(db, shop_a, shop_b):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1), ("TEA-100", 1))
    waved(db, shop_a, [sid])
    outcome, message, _ = scan(db, shop_a, sid, "4999999999999")
    assert outcome == "unknown_code" and "4999999999999" in message
    outcome, message, _ = scan(db, shop_a, sid, STRANGER_JAN)  # shop B's item
    assert outcome == "unknown_code" and "not an item of this shop" in message
    outcome, message, _ = scan(db, shop_a, sid, JAN["POT-1"])
    assert outcome == "wrong_item" and "POT-1" in message
    outcome, message, _ = scan(db, shop_a, sid, JAN["TEA-100"], "L-LATE")
    assert outcome == "wrong_lot" and "L-EARLY" in message
    assert scan(db, shop_a, sid, JAN["CUP-1"])[0] == "ok"
    outcome, message, _ = scan(db, shop_a, sid, JAN["CUP-1"])
    assert outcome == "too_many" and "CUP-1" in message
    assert _mispicks(db, shop_a) == [
        "unknown_code",
        "unknown_code",
        "wrong_item",
        "wrong_lot",
        "too_many",
    ]
    assert actions(db, shop_a).count("shipment.mispick") == 5
    done = shipment(db, shop_a, sid)
    assert (done.status, done.scanned_count) == ("picking", 1)
    assert _movements(db, shop_a, "pick") == []
    assert _mispicks(db, shop_b) == []  # nothing of it reached the other shop


def test_lot_needed_is_not_a_mispick(db, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("TEA-100", 1))
    waved(db, shop_a, [sid])
    outcome, message, _ = scan(db, shop_a, sid, JAN["TEA-100"])
    assert outcome == "lot_needed" and "lot" in message
    assert "shipment.mispick" not in actions(db, shop_a)


def test_full_width_digits_typed_by_hand_are_read(db, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [sid])
    typed = JAN["CUP-1"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert scan(db, shop_a, sid, f" {typed} ")[2] is True


def test_one_scan_key_twice_on_another_shipment_is_refused(db, shop_a):
    _stock(db, shop_a)
    (first,) = instructed(db, shop_a, ("CUP-1", 1))
    (second,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [first, second])
    key = uuid.uuid4().hex
    scan(db, shop_a, first, JAN["CUP-1"], key=key)
    with pytest.raises(fulfilment.FulfilmentInvalid):
        scan(db, shop_a, second, JAN["CUP-1"], key=key)
