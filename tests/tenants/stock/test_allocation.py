"""Allocating released orders: all-or-nothing, whole lines or partial by the shop's
policy; FEFO within the minimum shelf life, pick faces before reserve; a stale plan made
again, never oversold; a double submission refused; cancel gives the stock back."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from tests.tenants.stock.conftest import (
    OPERATOR,
    PICK_1,
    PICK_2,
    RESERVE_1,
    RESERVE_2,
    actions,
    levels,
    line,
    movement_count,
    order,
    put_away,
    reload,
    set_policy,
    soon,
)
from urakata.tenants.orders import services as orders
from urakata.tenants.stock import allocation
from urakata.tenants.stock.allocation import Need, allocate, allocate_order
from urakata.tenants.stock.errors import DuplicateSubmission
from urakata.tenants.stock.models import StockMovement


def _allocate(db, shop, order_id, **kwargs):
    with db.tenant_session(shop.id) as s:
        return allocate_order(s, actor=OPERATOR, order_id=order_id, **kwargs)


def test_a_complete_order_is_allocated_from_pick_faces_before_reserve(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 10, RESERVE_1), line("CUP-1", 3, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 5))
    assert taken.status == "released"
    outcome = _allocate(db, shop_a, taken.id)
    assert outcome.complete and outcome.allocated == 5
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (3, 3), (RESERVE_1, ""): (10, 2)}
    after = reload(db, shop_a, taken.id)
    assert (after.status, after.holds) == ("allocated", [])
    assert actions(db, shop_a)[-2:] == ["stock.allocated", "order.allocated"]
    with db.tenant_session(shop_a.id) as s:
        moves = s.scalars(select(StockMovement).where(StockMovement.kind == "allocation")).all()
        assert sorted((m.allocated_delta, m.reference_id, m.reference_line) for m in moves) == [
            (2, str(taken.id), after.lines[0].id),
            (3, str(taken.id), after.lines[0].id),
        ]


def test_ship_complete_holds_the_order_out_of_stock_and_promises_nothing(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1), line("POT-1", 1, PICK_2))
    taken = order(db, shop_a, ("CUP-1", 2), ("POT-1", 3))
    outcome = _allocate(db, shop_a, taken.id)
    assert (outcome.takes, outcome.short) == ((), {1: 2})
    after = reload(db, shop_a, taken.id)
    assert (after.status, after.hold_codes) == ("on_hold", ["out_of_stock"])
    assert after.holds[0]["field"] == "lines[1].quantity"
    assert after.holds[0]["params"] == {"missing": 2, "quantity": 3, "sku": "POT-1"}
    assert levels(db, shop_a) == {(PICK_1, ""): (5, 0), (PICK_2, ""): (1, 0)}
    assert movement_count(db, shop_a) == 2  # the receipts only
    assert "stock.allocated" not in actions(db, shop_a)


def test_split_allowed_promises_whole_lines_and_holds_the_rest(db, shop_a):
    set_policy(db, shop_a, split_policy="split_allowed")
    put_away(db, shop_a, line("CUP-1", 3, PICK_1), line("POT-1", 2, PICK_2))
    taken = order(db, shop_a, ("CUP-1", 5), ("POT-1", 2))
    outcome = _allocate(db, shop_a, taken.id)
    assert outcome.short == {0: 2} and outcome.allocated == 2  # 2 pieces missing
    assert levels(db, shop_a) == {(PICK_1, ""): (3, 0), (PICK_2, ""): (2, 2)}
    assert reload(db, shop_a, taken.id).hold_codes == ["out_of_stock"]


def test_partial_allowed_takes_what_there_is_and_backorders_the_rest(db, shop_a, spine):
    set_policy(db, shop_a, split_policy="partial_allowed")
    put_away(db, shop_a, line("CUP-1", 3, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 5), ("POT-1", 1))
    outcome = _allocate(db, shop_a, taken.id)
    assert outcome.short == {0: 2, 1: 1} and outcome.allocated == 3
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (3, 3)}
    held = reload(db, shop_a, taken.id)
    assert [h["field"] for h in held.holds] == ["lines[0].quantity", "lines[1].quantity"]
    spine.run()  # the first receipt's retry request: nothing more to take yet
    assert reload(db, shop_a, taken.id).status == "on_hold"
    put_away(db, shop_a, line("CUP-1", 4, RESERVE_1), line("POT-1", 1, PICK_2))
    spine.run()  # the receipt asked for the waiting orders to be tried again
    after = reload(db, shop_a, taken.id)
    assert (after.status, after.holds) == ("allocated", [])
    assert levels(db, shop_a) == {
        (PICK_1, ""): (3, 3),
        (RESERVE_1, ""): (4, 2),
        (PICK_2, ""): (1, 1),
    }


def test_an_order_waiting_for_stock_is_allocated_automatically_when_it_arrives(db, shop_a, spine):
    taken = order(db, shop_a, ("POT-1", 2))
    _allocate(db, shop_a, taken.id)
    assert reload(db, shop_a, taken.id).status == "on_hold"
    put_away(db, shop_a, line("POT-1", 1, PICK_1))
    spine.run()
    assert reload(db, shop_a, taken.id).status == "on_hold"  # one of two: still waiting
    put_away(db, shop_a, line("POT-1", 1, PICK_2))
    spine.run()
    assert reload(db, shop_a, taken.id).status == "allocated"
    assert levels(db, shop_a, "POT-1") == {(PICK_1, ""): (1, 1), (PICK_2, ""): (1, 1)}


def test_fefo_takes_the_earliest_best_before_within_the_minimum_shelf_life(db, shop_a):
    set_policy(db, shop_a, min_shelf_life_days=30)
    put_away(
        db,
        shop_a,
        line("TEA-100", 10, PICK_1, "L-SHORT", soon(10)),  # too close to its date
        line("TEA-100", 5, RESERVE_1, "L-MID", soon(60)),
        line("TEA-100", 20, PICK_2, "L-LATE", soon(300)),
        line("TEA-100", 20, RESERVE_2, "L-LATE", soon(300)),
    )
    first = order(db, shop_a, ("TEA-100", 4))
    assert _allocate(db, shop_a, first.id).complete
    second = order(db, shop_a, ("TEA-100", 3))
    assert _allocate(db, shop_a, second.id).complete
    assert levels(db, shop_a, "TEA-100") == {
        (PICK_1, "L-SHORT"): (10, 0),  # never
        (RESERVE_1, "L-MID"): (5, 5),  # first, though in reserve
        (PICK_2, "L-LATE"): (20, 2),  # then the same date's pick face before its reserve
        (RESERVE_2, "L-LATE"): (20, 0),
    }
    big = order(db, shop_a, ("TEA-100", 39))
    assert _allocate(db, shop_a, big.id).short == {0: 1}  # 38 sellable left; L-SHORT is not


def test_a_stale_plan_is_made_again_and_never_oversells(db, shop_a, monkeypatch):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1), line("CUP-1", 5, RESERVE_1))
    real, calls = allocation._candidates, []

    def stale_once(session, key, needs, now):
        used, found = real(session, key, needs, now)
        if not calls:  # as read just before another order took 3 from the pick face
            found = [dataclasses.replace(c, free=c.free + 3) for c in found]
        calls.append(len(found))
        return used, found

    monkeypatch.setattr(allocation, "_candidates", stale_once)
    taken = order(db, shop_a, ("CUP-1", 5))
    assert _allocate(db, shop_a, taken.id).complete
    assert len(calls) == 2
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (2, 2), (RESERVE_1, ""): (5, 3)}


def test_a_double_submitted_allocation_is_refused_and_writes_nothing(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 9, PICK_1))
    needs = [Need(shop_a.products["CUP-1"], 2)]
    with db.tenant_session(shop_a.id) as s:
        allocate(
            s,
            actor=OPERATOR,
            key="alloc-form-01",
            reference_type="bench",
            reference_id="1",
            needs=needs,
        )
    with pytest.raises(DuplicateSubmission) as twice, db.tenant_session(shop_a.id) as s:
        allocate(
            s,
            actor=OPERATOR,
            key="alloc-form-01",
            reference_type="bench",
            reference_id="1",
            needs=needs,
        )
    assert list(twice.value.errors) == ["key"]
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (9, 2)}


def test_an_order_is_allocated_on_the_version_its_page_showed(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 9, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 2))
    with pytest.raises(orders.StaleOrder):
        _allocate(db, shop_a, taken.id, version=taken.version - 1)
    _allocate(db, shop_a, taken.id, version=taken.version)
    with pytest.raises(orders.StaleOrder):  # the same form sent again
        _allocate(db, shop_a, taken.id, version=taken.version)
    with pytest.raises(orders.IllegalTransition):  # allocated already
        _allocate(db, shop_a, taken.id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (9, 2)}


def test_unpaid_or_unreleased_orders_are_not_allocated(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 9, PICK_1))
    waiting = order(db, shop_a, ("CUP-1", 2), paid=False)
    assert waiting.status == "confirmed"
    with pytest.raises(orders.IllegalTransition):
        _allocate(db, shop_a, waiting.id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (9, 0)}


def test_cancel_gives_the_allocation_back(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 4, PICK_1), line("CUP-1", 4, RESERVE_1))
    taken = order(db, shop_a, ("CUP-1", 6))
    _allocate(db, shop_a, taken.id)
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (4, 4), (RESERVE_1, ""): (4, 2)}
    after = reload(db, shop_a, taken.id)
    with db.tenant_session(shop_a.id) as s:
        orders.cancel(
            s, actor=OPERATOR, order_id=taken.id, version=after.version, reason="お客様都合"
        )
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (4, 0), (RESERVE_1, ""): (4, 0)}
    assert actions(db, shop_a)[-2:] == ["stock.deallocated", "order.cancelled"]
    assert reload(db, shop_a, taken.id).version == after.version + 1  # one write of the order
    with db.tenant_session(shop_a.id) as s:
        back = s.scalars(
            select(StockMovement.allocated_delta).where(StockMovement.kind == "deallocation")
        ).all()
        assert sorted(back) == [-4, -2]


def test_cancel_gives_back_a_partial_allocation_of_a_waiting_order(db, shop_a):
    set_policy(db, shop_a, split_policy="partial_allowed")
    put_away(db, shop_a, line("CUP-1", 1, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 3))
    _allocate(db, shop_a, taken.id)
    held = reload(db, shop_a, taken.id)
    with db.tenant_session(shop_a.id) as s:
        orders.cancel(s, actor=OPERATOR, order_id=taken.id, version=held.version, reason="欠品")
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (1, 0)}


def test_an_allocated_order_put_on_hold_keeps_its_stock_and_is_not_allocated_twice(db, shop_a):
    put_away(db, shop_a, line("CUP-1", 5, PICK_1))
    taken = order(db, shop_a, ("CUP-1", 2))
    _allocate(db, shop_a, taken.id)
    with db.tenant_session(shop_a.id) as s:
        held = orders.put_on_hold(
            s,
            actor=OPERATOR,
            order_id=taken.id,
            version=reload(db, shop_a, taken.id).version,
            note="お客様から連絡待ち",
        )
        orders.release(
            s, actor=OPERATOR, order_id=taken.id, version=held.version, overrides=["manual"]
        )
    assert reload(db, shop_a, taken.id).status == "released"
    outcome = _allocate(db, shop_a, taken.id)
    assert outcome.complete and outcome.takes == ()
    assert reload(db, shop_a, taken.id).status == "allocated"
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (5, 2)}
