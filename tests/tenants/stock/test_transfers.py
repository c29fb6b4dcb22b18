"""Transfers between a shop's bins: two movements under one key, only free pieces, never
into another shop's bin, never an expired lot back onto a shelf orders are taken from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.tenants.stock.conftest import (
    B_PICK,
    DAMAGED,
    OPERATOR,
    PICK_1,
    PICK_2,
    RESERVE_1,
    actions,
    levels,
    line,
    movement_count,
    order,
    put_away,
    soon,
)
from urakata.platform.db import utcnow
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.errors import DuplicateSubmission, StockInvalid
from urakata.tenants.stock.ledger import BACKORDER_JOB
from urakata.tenants.stock.models import StockMovement
from urakata.tenants.stock.receipts import receive
from urakata.tenants.stock.transfers import transfer


def move(db, shop, key=None, **data):
    body = {"key": key or f"transfer-{utcnow().timestamp()}", **data}
    with db.tenant_session(shop.id) as s:
        return transfer(s, actor=OPERATOR, data=body)


def test_replenishing_a_pick_face_from_reserve(db, shop_a):
    put_away(db, shop_a, line("TEA-100", 40, RESERVE_1, "L-1", soon(200)))
    done = move(
        db,
        shop_a,
        key="replenish-001",
        sku="TEA-100",
        lot_no="L-1",
        from_location=RESERVE_1,
        to_location=PICK_1,
        quantity="12",
        reason="補充",
    )
    assert (done.from_location, done.to_location, done.quantity) == (RESERVE_1, PICK_1, 12)
    assert levels(db, shop_a, "TEA-100") == {(RESERVE_1, "L-1"): (28, 0), (PICK_1, "L-1"): (12, 0)}
    with db.tenant_session(shop_a.id) as s:
        moves = s.scalars(
            select(StockMovement)
            .where(StockMovement.kind == "transfer")
            .order_by(StockMovement.line_no)
        ).all()
        assert [(m.on_hand_delta, m.idempotency_key, m.reason) for m in moves] == [
            (-12, "replenish-001", "補充"),
            (12, "replenish-001", "補充"),
        ]
        best_before = {lv for lv in s.execute(select(StockMovement.lot_no))}
        assert best_before == {("L-1",)}
    assert actions(db, shop_a)[-1] == "stock.transferred"


def test_only_free_pieces_move(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 4))
    with db.tenant_session(shop_a.id) as s:
        allocate_order(s, actor=OPERATOR, order_id=taken.id)
    before = (levels(db, shop_a), movement_count(db, shop_a))
    with pytest.raises(StockInvalid) as refused:
        move(db, shop_a, sku="CUP-1", from_location=PICK_1, to_location=PICK_2, quantity=2)
    assert str(refused.value.errors["quantity"][0]) == (
        "Only 1 of CUP-1 are free to move in bin A-01-01-1."
    )
    assert (levels(db, shop_a), movement_count(db, shop_a)) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": -1}, "quantity"),
        ({"quantity": "2.5"}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"to_location": B_PICK}, "to_location"),
        ({"from_location": B_PICK}, "from_location"),
        ({"to_location": PICK_1}, "to_location"),
        ({"to_location": "X"}, "to_location"),
        ({"sku": "NOPE"}, "sku"),
        ({"lot_no": "L-1"}, "lot_no"),
        ({"from_location": PICK_2}, "from_location"),  # nothing there
        ({"key": "short"}, "key"),
    ],
)
def test_bad_input_names_the_field_and_moves_nothing(db, shop_a, changes, field):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    before = (levels(db, shop_a), movement_count(db, shop_a))
    data = {
        "sku": "CUP-1",
        "from_location": PICK_1,
        "to_location": RESERVE_1,
        "quantity": 2,
        **changes,
    }
    with pytest.raises(StockInvalid) as refused:
        move(db, shop_a, **data)
    assert field in refused.value.errors
    assert (levels(db, shop_a), movement_count(db, shop_a)) == before


def test_a_double_submitted_transfer_is_refused(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, RESERVE_1))
    data = {"sku": "CUP-1", "from_location": RESERVE_1, "to_location": PICK_1, "quantity": 2}
    move(db, shop_a, key="transfer-form-1", **data)
    with pytest.raises(DuplicateSubmission):
        move(db, shop_a, key="transfer-form-1", **data)
    assert levels(db, shop_a, "CUP-1") == {(RESERVE_1, ""): (3, 0), (PICK_1, ""): (2, 0)}


def test_an_expired_lot_goes_to_damaged_goods_not_back_to_a_shelf(db, shop_a):
    month_ago = utcnow() - timedelta(days=30)
    with db.tenant_session(shop_a.id) as s:  # received a month ago, when it was still good
        receive(
            s,
            actor=OPERATOR,
            now=month_ago,
            data={"key": "old-receipt-1", "lines": [line("TEA-100", 6, PICK_1, "L-OLD", soon(-3))]},
        )
    data = {"sku": "TEA-100", "lot_no": "L-OLD", "from_location": PICK_1, "quantity": 6}
    with pytest.raises(StockInvalid) as refused:
        move(db, shop_a, to_location=PICK_2, **data)
    assert "lot_no" in refused.value.errors
    move(db, shop_a, to_location=DAMAGED, **data)
    assert levels(db, shop_a, "TEA-100") == {(PICK_1, "L-OLD"): (0, 0), (DAMAGED, "L-OLD"): (6, 0)}


def test_goods_back_from_damaged_to_a_shelf_ask_for_waiting_orders(db, shop_a):
    with db.tenant_session(shop_a.id) as s:
        receive(
            s, actor=OPERATOR, data={"key": "to-damaged-1", "lines": [line("CUP-1", 3, DAMAGED)]}
        )
    move(db, shop_a, sku="CUP-1", from_location=DAMAGED, to_location=PICK_1, quantity=3)
    with db.tenant_session(shop_a.id) as s:
        asked = s.scalars(select(OutboxMessage.id).where(OutboxMessage.job == BACKORDER_JOB))
        assert len(asked.all()) == 1
