"""One shop's stock, bins and movements are invisible and untouchable to another: every
read answers as if they did not exist, every write refuses them, and an allocation of
the other shop never takes them, even for the same SKU."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.tenants.stock.conftest import (
    B_PICK,
    OPERATOR,
    PICK_1,
    RESERVE_1,
    levels,
    line,
    movement_count,
    order,
    put_away,
)
from urakata.platform.locations import find_location
from urakata.platform.tenancy import NotFound
from urakata.tenants.stock import levels as stock_levels
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import shop_bins
from urakata.tenants.stock.errors import StockInvalid
from urakata.tenants.stock.models import StockLevel, StockLot, StockMovement
from urakata.tenants.stock.reconciliation import compare
from urakata.tenants.stock.transfers import transfer


@pytest.fixture
def stocked(db, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 8, PICK_1), line("TEA-100", 4, RESERVE_1, "L-A", None))
    return shop_a, shop_b


def test_another_shop_reads_none_of_it(db, stocked):
    shop_a, shop_b = stocked
    cup_a = shop_a.products["CUP-1"]
    with db.tenant_session(shop_b.id) as s:
        listed = stock_levels.stock_list(s).items
        assert {r.sku: r.on_hand for r in listed} == {"CUP-1": 0, "POT-1": 0, "TEA-100": 0}
        assert cup_a not in {r.product_id for r in listed}
        for read in (
            stock_levels.stock_detail,
            stock_levels.movement_history,
            stock_levels.stock_of,
        ):
            with pytest.raises(NotFound):
                read(s, cup_a)
        for model in (StockLevel, StockMovement, StockLot):
            assert s.scalars(select(model)).all() == []
        # Below the ORM too: row-level security answers with nothing.
        assert s.execute(text("SELECT count(*) FROM stock_movement")).scalar() == 0
        assert [b.code for b in shop_bins(s)] == ["B-01-01-1", "B-09-01-1"]
        assert compare(s).movements == 0 and stock_levels.waiting_orders(s) == []
        assert stock_levels.replenishment(s) == []


def test_another_shop_cannot_move_or_allocate_it(db, stocked):
    shop_a, shop_b = stocked
    before = (levels(db, shop_a), movement_count(db, shop_a))
    with pytest.raises(StockInvalid) as refused, db.tenant_session(shop_b.id) as s:
        transfer(
            s,
            actor=OPERATOR,
            data={
                "key": "steal-0001",
                "sku": "CUP-1",
                "from_location": PICK_1,
                "to_location": B_PICK,
                "quantity": 8,
            },
        )
    assert set(refused.value.errors) == {"from_location"}
    theirs = order(db, shop_a, ("CUP-1", 2))
    with pytest.raises(NotFound), db.tenant_session(shop_b.id) as s:
        allocate_order(s, actor=OPERATOR, order_id=theirs.id)
    with db.tenant_session(shop_b.id) as s:  # a direct write finds no row to change
        changed = s.execute(text("UPDATE stock_level SET allocated = on_hand")).rowcount
        assert changed == 0
    assert (levels(db, shop_a), movement_count(db, shop_a)) == before


def test_the_same_sku_in_another_shop_is_allocated_from_that_shops_stock_only(db, stocked):
    shop_a, shop_b = stocked
    mine = order(db, shop_b, ("CUP-1", 2))
    with db.tenant_session(shop_b.id) as s:
        outcome = allocate_order(s, actor=OPERATOR, order_id=mine.id)
    assert outcome.short == {0: 2}  # shop A's eight cups are not shop B's
    assert levels(db, shop_a, "CUP-1") == {(PICK_1, ""): (8, 0)}
    with db.platform_session() as s:
        assert find_location(s, PICK_1).shop_id == shop_a.id
