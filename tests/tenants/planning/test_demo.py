"""The demo's planning: forecasts with past forecasts to measure, reorder points with
notices for the SKUs received short, proposals, and forty days of stock snapshots."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from tests.tenants.sasage.test_demo import _demo_shops
from tests.tenants.stock.test_demo import SHIP_TO
from urakata.platform.audit import Actor
from urakata.tenants.orders import services as orders
from urakata.tenants.planning.demo import SNAPSHOT_DAYS, seed_planning
from urakata.tenants.planning.models import (
    LowStockNotice,
    ReorderPoint,
    ReorderProposal,
    SkuForecast,
    StockSnapshotDay,
)
from urakata.tenants.stock.demo import seed_stock


def _eight_weeks(db, tenant) -> None:
    today = datetime.now(tenant.zone).date()
    with db.tenant_session(tenant.id) as s:
        for back in range(56, 0, -1):
            day = today - timedelta(days=back)
            skus = ["HT-SEN-100", "HT-GYO-50"] + (["HT-MAT-30"] if day.weekday() >= 5 else [])
            orders.intake(
                s,
                actor=Actor.system("test"),
                channel="api",
                data={
                    "external_id": f"P-{back}",
                    "customer": {"name": "山田 花子"},
                    "ordered_at": datetime.combine(day, time(11), tzinfo=tenant.zone).isoformat(),
                    "ship_to": SHIP_TO,
                    "payment_method": "card",
                    "payment_status": "authorized",
                    "lines": [
                        {"sku": sku, "quantity": 1 + back % 3, "unit_price_yen": 1000}
                        for sku in skus
                    ],
                },
            )


def test_the_demo_has_forecasts_with_accuracy_notices_proposals_and_snapshots(db):
    tenants = _demo_shops(db)
    tea = tenants["hanabi-tea"]
    _eight_weeks(db, tea)
    seed_stock(db, tenants)
    seed_planning(db, tenants)
    with db.tenant_session(tea.id) as s:
        latest = max(s.scalars(select(SkuForecast.starts_on)))
        today = s.scalars(select(SkuForecast).where(SkuForecast.starts_on == latest)).all()
        assert {f.method for f in today} == {"holt_winters"} and len(today) == 3
        assert all(f.mape_weeks == 4 and f.mape_pct is not None for f in today)
        assert s.scalar(select(func.count()).select_from(ReorderPoint)) >= 3
        assert s.scalar(select(func.count()).select_from(LowStockNotice)) >= 1
        assert s.scalar(select(func.count()).select_from(ReorderProposal)) >= 1
        days = s.scalar(select(func.count()).select_from(StockSnapshotDay))
        assert days == SNAPSHOT_DAYS
