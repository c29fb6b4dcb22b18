"""The demo's planning: forecasts with a history of their own, reorder points, low-stock
notices, proposals and a month of stock snapshots.

The order seed gives every shop eight weeks of sales. Here each shop's nightly forecast
is run as it would have run on each of the last five Mondays-or-so (every seventh day)
and today, so the accuracy of past forecasts (MAPE over four weeks) has forecasts to
measure; a few SKUs get reorder points (the two SKUs the stock seed receives short cross
theirs: notices and mails); proposals are worked out; and every ended day since the
stock's first receipt is snapshotted, so the storage page has this month and the last.

Everything goes through the services, as the jobs would do it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from urakata.platform.audit import Actor
from urakata.platform.db import Database, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.planning import forecasts, proposals, services, snapshots
from urakata.tenants.stock.demo import SHORT

SEED = Actor.system("demo seed: planning")
PAST_RUNS = 5  # weekly forecasts before today's
SNAPSHOT_DAYS = 40
# Per shop: (sku, reorder point or None for "keep at the suggestion", own lead time)
POINTS = {
    "hanabi-tea": (("HT-SEN-100", None, None), ("HT-MAT-30", 12, 10)),
    "kumo-apparel": (("KA-TEE-WHT-M", None, 14), ("KA-SOCK-3P", 20, None)),
    "sora-cosme": (("SC-LOT-200", None, None), ("SC-CLN-150", 15, 5)),
}


def _products(session, skus) -> dict[str, Product]:
    return {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}


def _points(db: Database, tenant: Tenant, now) -> None:
    wanted = list(POINTS.get(tenant.slug, ())) + [(sku, 30, None) for sku in SHORT[tenant.slug]]
    with db.tenant_session(tenant.id) as session:
        found = _products(session, [sku for sku, _p, _l in wanted])
        latest = forecasts.latest_forecasts(session, [p.id for p in found.values()])
        for sku, point, lead in wanted:
            if sku not in found:
                continue
            product = found[sku]
            forecast = latest.get(product.id)
            data = {"mode": "suggested" if point is None else "manual", "lead_time_days": lead,
                    "reorder_point": point}  # fmt: skip
            services.set_reorder_point(
                session, actor=SEED, product_id=product.id, data=data,
                suggestion=forecast.suggested_reorder_point if forecast else 0, now=now,
            )  # fmt: skip


def seed_planning(db: Database, tenants: dict[str, Tenant]) -> None:
    now = utcnow()
    for tenant in tenants.values():
        for k in range(PAST_RUNS, 0, -1):
            with db.tenant_session(tenant.id) as session:
                forecasts.forecast_shop(session, actor=SEED, now=now - timedelta(days=7 * k))
        with db.tenant_session(tenant.id) as session:
            forecasts.forecast_shop(session, actor=SEED, now=now)
        _points(db, tenant, now)
        with db.tenant_session(tenant.id) as session:
            proposals.refresh_proposals(session, actor=SEED, now=now)
        today = now.astimezone(tenant.zone).date()
        for back in range(SNAPSHOT_DAYS, 0, -1):
            with db.tenant_session(tenant.id) as session:
                snapshots.take_snapshot(session, actor=SEED, day=today - timedelta(days=back),
                                        now=now)  # fmt: skip
