"""Day-end stock snapshots: the Asia/Tokyo day boundary, once per day, and what a month
bills per day, per bin and by the 3期制."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.tenants.planning.conftest import ADMIN, count_actions, take_out
from tests.tenants.stock.conftest import OPERATOR, PICK_1, RESERVE_1, line
from urakata.tenants.planning import snapshots
from urakata.tenants.planning.errors import PlanningInvalid
from urakata.tenants.planning.models import StockSnapshot
from urakata.tenants.stock.receipts import receive

UTC = UTC


def _receive(db, shop, at: datetime, *lines):
    with db.tenant_session(shop.id) as s:
        receive(s, actor=OPERATOR, data={"key": f"r-{uuid.uuid4()}", "lines": list(lines)}, now=at)


def _take(db, shop, day: date, now: datetime | None = None):
    with db.tenant_session(shop.id) as s:
        return snapshots.take_snapshot(
            s, actor=ADMIN, day=day, now=now or datetime(2030, 1, 1, tzinfo=UTC)
        )


def _rows(db, shop, day) -> dict:
    with db.tenant_session(shop.id) as s:
        return {
            (r.location_id, r.product_id): (r.quantity, r.received)
            for r in s.scalars(select(StockSnapshot).where(StockSnapshot.day == day))
        }


def test_the_day_ends_at_midnight_in_tokyo_not_utc(db, shop_a, shop_b):
    day = date(2026, 11, 2)
    # 23:30 on the 2nd in Tokyo (14:30 UTC) and 00:30 on the 3rd in Tokyo (15:30 UTC, still
    # the 2nd in UTC)
    _receive(db, shop_a, datetime(2026, 11, 2, 14, 30, tzinfo=UTC), line("CUP-1", 10, PICK_1))
    _receive(db, shop_a, datetime(2026, 11, 2, 15, 30, tzinfo=UTC), line("CUP-1", 5, PICK_1))
    first = _take(db, shop_a, day)
    second = _take(db, shop_a, day + timedelta(days=1))
    assert (first.taken, first.pieces, second.pieces) == (True, 10, 15)
    assert [v for v in _rows(db, shop_a, day).values()] == [(10, 10)]
    assert [v for v in _rows(db, shop_a, day + timedelta(days=1)).values()] == [(15, 5)]
    assert _rows(db, shop_b, day) == {}


def test_a_second_run_for_the_same_day_has_no_second_effect(db, shop_a):
    day = date(2026, 11, 2)
    _receive(db, shop_a, datetime(2026, 11, 1, 3, tzinfo=UTC), line("CUP-1", 7, PICK_1))
    _take(db, shop_a, day)
    _receive(db, shop_a, datetime(2026, 11, 2, 3, tzinfo=UTC), line("CUP-1", 1, PICK_1))  # late
    again = _take(db, shop_a, day)
    assert (again.taken, again.pieces) == (False, 7)
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(StockSnapshot)) == 1
    assert count_actions(db, shop_a, "planning.stock_snapshot_taken") == 1


def test_a_day_that_has_not_ended_is_refused(db, shop_a):
    now = datetime(2026, 11, 2, 14, 59, tzinfo=UTC)  # 23:59 in Tokyo
    with pytest.raises(PlanningInvalid) as refused:
        _take(db, shop_a, date(2026, 11, 2), now=now)
    assert list(refused.value.errors) == ["day"]
    assert _take(db, shop_a, date(2026, 11, 2), now=now + timedelta(minutes=1)).taken


def test_the_month_bills_per_day_per_bin_and_by_the_three_periods(db, shop_a):
    """japan.md's example: 30 cases in on the 1st, out on the 25th -> 積数 90."""
    from tests.tenants.planning.conftest import TOKYO

    def at(d: int) -> datetime:
        return datetime(2026, 10, d, 10, tzinfo=TOKYO)

    # TEA-100 has 40 a case: 30 cases = 1,200 pieces (lot-tracked)
    _receive(
        db, shop_a, at(1), line("TEA-100", 1200, RESERVE_1, lot_no="L1", best_before="2099-12-31")
    )
    with db.tenant_session(shop_a.id) as s:
        from urakata.platform.locations import Location
        from urakata.tenants.stock import ledger
        from urakata.tenants.stock.ledger import Movement

        loc = s.scalar(select(Location.id).where(Location.code == RESERVE_1))
        pid = shop_a.products["TEA-100"]
        assert ledger.take_out(
            s, product_id=pid, location_id=loc, lot_no="L1", quantity=1200, now=at(25)
        )
        ledger.write_movements(
            s,
            OPERATOR,
            key="out-25",
            reference_type="adjustment",
            reference_id="t",
            now=at(25),
            movements=[Movement("adjustment", pid, loc, "L1", on_hand_delta=-1200)],
        )
    _receive(db, shop_a, at(3), line("CUP-1", 4, PICK_1))
    take_out(db, shop_a, "CUP-1", PICK_1, 4, at(5))
    for d in range(0, 31):
        _take(db, shop_a, date(2026, 9, 30) + timedelta(days=d))
    with db.tenant_session(shop_a.id) as s:
        usage = snapshots.storage_usage(s, date(2026, 10, 1))
        bins, _next = snapshots.bins_in_month(s, date(2026, 10, 1))
    assert usage.opening == (0, 0) and usage.on_10th == (1200, 30) and usage.on_20th == (1200, 30)
    assert usage.receipts == (1204, 34) and usage.sekisu == (3604, 94)  # 90 cases + CUP-1's 4
    assert usage.piece_days == 1200 * 24 + 4 * 2 and usage.bins_used == 2
    assert [(b.code, b.days) for b in bins] == [(PICK_1, 2), (RESERVE_1, 24)]
    assert usage.missing == []
