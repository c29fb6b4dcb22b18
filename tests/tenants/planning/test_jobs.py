"""The planning jobs run for real (relay + RQ worker): the nightly sweep asks one forecast
job per shop; the snapshot job twice takes each day once; the low-stock sweep asks a
check only of shops with a SKU across its point."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.tenants.planning.conftest import ADMIN, TOKYO, count_actions, mails, sell
from tests.tenants.stock.conftest import PICK_1, line, put_away
from urakata.platform.outbox import OutboxMessage
from urakata.platform.tenancy import Tenant
from urakata.tenants.planning import services
from urakata.tenants.planning.models import ReorderPoint, SkuForecast, StockSnapshotDay
from urakata.worker.planning_jobs import LOW_STOCK_JOB
from urakata.worker.runtime import run


def test_the_nightly_sweep_forecasts_each_shop_in_its_own_job(db, shop_a, shop_b, spine):
    today = datetime.now(TOKYO).date()
    for back in range(30, 0, -1):
        sell(db, shop_a, today - timedelta(days=back), [("CUP-1", 1)])
    sell(db, shop_b, today - timedelta(days=3), [("POT-1", 2)])
    assert run("planning.sweep_forecasts", None, None, None, {}) >= 2
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SkuForecast)) == 1
    with db.tenant_session(shop_b.id) as s:
        (forecast,) = s.scalars(select(SkuForecast)).all()
        assert forecast.method == "average" and forecast.history_days == 3


def test_the_snapshot_job_takes_each_day_once(db, shop_a, spine):
    put_away(db, shop_a, line("CUP-1", 3, PICK_1))
    with db.platform_session() as s:  # the shop has been with the agency for three days
        s.get(Tenant, shop_a.id).created_at -= timedelta(days=3)
    for _ in range(2):
        run("planning.sweep_snapshots", None, None, None, {})
        spine.run()
    with db.tenant_session(shop_a.id) as s:
        days = s.scalars(select(StockSnapshotDay.day)).all()
    assert len(days) == len(set(days)) == 3
    assert count_actions(db, shop_a, "planning.stock_snapshot_taken") == len(days)


def test_the_low_stock_sweep_asks_only_shops_with_a_crossing(db, shop_a, shop_b, spine):
    put_away(db, shop_a, line("CUP-1", 3, PICK_1))
    with db.tenant_session(shop_a.id) as s:  # a point below the stock: nothing to say
        services.set_reorder_point(
            s, actor=ADMIN, product_id=shop_a.products["CUP-1"], data={"reorder_point": 1}
        )
        s.execute(  # the point moved behind the service's back (e.g. a nightly suggestion)
            ReorderPoint.__table__.update().values(reorder_point=5)
        )
    assert run("planning.sweep_low_stock", None, None, None, {}) == 1
    assert run("planning.sweep_low_stock", None, None, None, {}) == 0  # one is waiting
    with db.tenant_session(shop_a.id) as s:
        asked = s.scalars(select(OutboxMessage.shop_id).where(OutboxMessage.job == LOW_STOCK_JOB))
        assert set(asked) == {shop_a.id}
    spine.run()
    assert mails(db, shop_a, "low_stock") == 1 and mails(db, shop_b, "low_stock") == 0
    assert run("planning.sweep_low_stock", None, None, None, {}) == 0
