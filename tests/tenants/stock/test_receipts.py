"""Receiving stock: levels and movements written together, lots and cases, and every kind
of bad input refused with its line and field named, the ledger untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.stock.conftest import (
    B_PICK,
    DAMAGED,
    OPERATOR,
    PICK_1,
    PICK_2,
    RESERVE_1,
    levels,
    line,
    movement_count,
    put_away,
    soon,
)
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.stock.errors import DuplicateSubmission, StockInvalid
from urakata.tenants.stock.ledger import BACKORDER_JOB
from urakata.tenants.stock.models import StockLot, StockMovement
from urakata.tenants.stock.receipts import receive


def test_a_receipt_adds_to_levels_and_writes_one_movement_a_line(db, shop_a):
    receipt = put_away(
        db,
        shop_a,
        line("CUP-1", 12, PICK_1),
        line("CUP-1", 30, RESERVE_1),
        line("TEA-100", 0, PICK_2, "L-2601", soon(200), cases=2),
    )
    assert receipt.quantity == 12 + 30 + 80
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (12, 0), (RESERVE_1, ""): (30, 0)}
    assert levels(db, shop_a, "TEA-100") == {(PICK_2, "L-2601"): (80, 0)}
    with db.tenant_session(shop_a.id) as s:
        moves = s.scalars(select(StockMovement).order_by(StockMovement.line_no)).all()
        assert [(m.kind, m.on_hand_delta, m.reference_id) for m in moves] == [
            ("receipt", 12, "IN-1"),
            ("receipt", 30, "IN-1"),
            ("receipt", 80, "IN-1"),
        ]
        lot = s.scalars(select(StockLot)).one()
        assert (lot.lot_no, lot.best_before.isoformat()) == ("L-2601", soon(200))
        asked = s.scalars(select(OutboxMessage).where(OutboxMessage.job == BACKORDER_JOB)).all()
        assert [m.shop_id for m in asked] == [shop_a.id]


def test_a_second_receipt_of_the_same_bin_and_lot_adds_up(db, shop_a):
    put_away(db, shop_a, line("TEA-100", 10, PICK_1, "L-1", soon(100)))
    put_away(db, shop_a, line("TEA-100", 5, PICK_1, "L-1", soon(100)))
    assert levels(db, shop_a, "TEA-100") == {(PICK_1, "L-1"): (15, 0)}


BAD_LINES = [
    (line("CUP-1", -3, PICK_1), "lines[0].quantity"),
    (line("CUP-1", "1.5", PICK_1), "lines[0].quantity"),
    (line("CUP-1", 1.5, PICK_1), "lines[0].quantity"),
    (line("CUP-1", 0, PICK_1), "lines[0].quantity"),
    (line("CUP-1", 2, PICK_1, cases=1), "lines[0].cases"),
    (line("NOPE-1", 2, PICK_1), "lines[0].sku"),
    (line("CUP-1", 2, "Z-99-99-9"), "lines[0].location"),
    (line("CUP-1", 2, "not a bin"), "lines[0].location"),
    (line("CUP-1", 2, B_PICK), "lines[0].location"),
    (line("TEA-100", 2, PICK_1), "lines[0].lot_no"),
    (line("CUP-1", 2, PICK_1, "L-1"), "lines[0].lot_no"),
    (line("TEA-100", 2, PICK_1, "L-1", soon(-1)), "lines[0].best_before"),
    (line("TEA-100", 2, PICK_1, "L-1", "2026-02-30"), "lines[0].best_before"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_LINES)
def test_bad_input_names_the_field_and_leaves_the_ledger_untouched(db, shop_a, bad, field):
    put_away(db, shop_a, line("CUP-1", 1, PICK_1))
    before = (levels(db, shop_a), movement_count(db, shop_a))
    with pytest.raises(StockInvalid) as refused:
        put_away(db, shop_a, line("CUP-1", 4, PICK_2), bad)
    fields = {name.replace("lines[1]", "lines[0]") for name in refused.value.errors}
    assert field in fields
    assert (levels(db, shop_a), movement_count(db, shop_a)) == before


def test_another_shops_bin_reads_as_no_bin_of_this_shop(db, shop_a):
    with pytest.raises(StockInvalid) as refused:
        put_away(db, shop_a, line("CUP-1", 1, B_PICK))
    assert str(refused.value.errors["lines[0].location"][0]) == (
        "No bin B-01-01-1 is assigned to this shop."
    )


def test_a_double_submitted_receipt_is_refused_by_its_key(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 6, PICK_1), key="form-key-0001")
    with pytest.raises(DuplicateSubmission) as twice:
        put_away(db, shop_a, line("CUP-1", 6, PICK_1), key="form-key-0001")
    assert list(twice.value.errors) == ["key"]
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (6, 0)}
    assert movement_count(db, shop_a) == 1


def test_a_lot_keeps_the_best_before_of_its_first_receipt(db, shop_a):
    put_away(db, shop_a, line("TEA-100", 5, PICK_1, "L-7", soon(90)))
    with pytest.raises(StockInvalid) as refused:
        put_away(db, shop_a, line("TEA-100", 5, RESERVE_1, "L-7", soon(120)))
    assert "lines[0].best_before" in refused.value.errors
    assert levels(db, shop_a, "TEA-100") == {(PICK_1, "L-7"): (5, 0)}


def test_a_receipt_into_a_damaged_bin_asks_for_no_allocation(db, shop_a):
    with db.tenant_session(shop_a.id) as s:
        receive(
            s, actor=OPERATOR, data={"key": "damaged-0001", "lines": [line("CUP-1", 2, DAMAGED)]}
        )
        asked = select(OutboxMessage.id).where(OutboxMessage.job == BACKORDER_JOB)
        assert s.scalars(asked).all() == []
