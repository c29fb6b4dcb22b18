"""The allocation jobs: the minute's sweep asks each shop with released orders for one run,
the run allocates them soonest ship-by first (in batches), and a deadlock or
serialization failure is tried again rather than lost."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.tenants.stock.conftest import (
    OPERATOR,
    PICK_1,
    PICK_2,
    line,
    order,
    put_away,
    reload,
)
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.stock import allocation, ledger
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.ledger import ALLOCATE_JOB, retrying
from urakata.worker import stock_jobs
from urakata.worker.runtime import run


def _asked(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        stmt = select(OutboxMessage.id).where(
            OutboxMessage.job == ALLOCATE_JOB, OutboxMessage.shop_id == shop.id
        )
        return len(s.scalars(stmt).all())


def test_the_sweep_asks_shops_with_released_orders_for_one_run(db, shop_a, shop_b, spine):
    order(db, shop_a, ("CUP-1", 1))
    assert run("stock.allocation_sweep", None, None, None, {}) == 1
    assert run("stock.allocation_sweep", None, None, None, {}) == 0  # one run is waiting
    assert (_asked(db, shop_a), _asked(db, shop_b)) == (1, 0)


def test_the_run_allocates_released_orders_in_batches(db, shop_a, spine, monkeypatch):
    monkeypatch.setattr(stock_jobs, "BATCH", 2)
    put_away(db, shop_a, line("CUP-1", 4, PICK_1), line("POT-1", 1, PICK_2))
    taken = [order(db, shop_a, ("CUP-1", 1)) for _ in range(3)] + [order(db, shop_a, ("POT-1", 2))]
    spine.run()  # the receipt's own request for the waiting orders
    run("stock.allocation_sweep", None, None, None, {})
    for _ in range(4):  # each full batch asks for the next run
        spine.run()
    statuses = [reload(db, shop_a, o.id).status for o in taken]
    assert statuses == ["allocated", "allocated", "allocated", "on_hold"]


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE stock_level …", {}, psycopg.errors.DeadlockDetected())


def test_a_deadlocked_transaction_is_run_again(db, shop_a):
    calls = []

    def work(session):
        calls.append(1)
        if len(calls) == 1:
            raise _deadlock()
        return "done"

    assert retrying(db, shop_a.id, work) == "done" and len(calls) == 2
    with pytest.raises(OperationalError):
        retrying(db, shop_a.id, lambda s: (_ for _ in ()).throw(_deadlock()), attempts=2)


def test_a_deadlock_inside_an_allocation_makes_the_plan_again(db, shop_a, monkeypatch):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1), line("CUP-1", 2, PICK_2))
    real, calls = ledger.allocate_level, []

    def deadlock_once(session, **kwargs):
        calls.append(kwargs["level_id"])
        if len(calls) == 2:  # the second level of the first attempt
            raise _deadlock()
        return real(session, **kwargs)

    monkeypatch.setattr(allocation, "allocate_level", deadlock_once)
    taken = order(db, shop_a, ("CUP-1", 3))
    with db.tenant_session(shop_a.id) as s:
        assert allocate_order(s, actor=OPERATOR, order_id=taken.id).complete
    assert len(calls) == 4  # two levels, twice
    assert reload(db, shop_a, taken.id).status == "allocated"
