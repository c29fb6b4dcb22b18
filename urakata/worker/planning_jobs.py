"""Planning jobs: the nightly forecast and proposals per shop, the low-stock check, and
the day-end stock snapshots.

Cron runs the sweeps in the agency scope; each asks, through the outbox, for one job per
active shop (the low-stock sweep only for shops with a SKU across its point), so a
shop's trouble (a retry, a failure) stays that shop's and each shop job runs in its own
tenant-bound session. Every shop job is idempotent: forecasts replace the day's rows,
proposals are updated in place, the alert state flips once per crossing, a snapshot day
is claimed once.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from urakata.platform import outbox
from urakata.platform.db import UrakataSession
from urakata.platform.tenancy import Tenant, TenantStatus, fan_out_across_tenants
from urakata.tenants.planning import forecasts, proposals, services, snapshots
from urakata.worker.runtime import Context, tenant_job

FORECAST_SWEEP = "planning.sweep_forecasts"
FORECAST_JOB = "planning.forecast_shop"
SNAPSHOT_SWEEP = "planning.sweep_snapshots"
SNAPSHOT_JOB = "planning.snapshot_shop"
LOW_STOCK_SWEEP = "planning.sweep_low_stock"
LOW_STOCK_JOB = "planning.check_low_stock"
SHOP_QUEUE = "default"


def _active_shops(session: UrakataSession) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(Tenant.id).where(Tenant.status == TenantStatus.active).order_by(Tenant.slug)
        )
    )


def _each(session: UrakataSession, job: str, shops: list[uuid.UUID]) -> int:
    for shop_id in shops:
        outbox.enqueue(session, job, queue=SHOP_QUEUE, shop_id=shop_id)
    return len(shops)


@tenant_job(FORECAST_SWEEP, queue="maintenance", retry_intervals=(60, 300), timeout=120)
def sweep_forecasts(session: UrakataSession, ctx: Context) -> int:
    """Cron, nightly, agency scope: one forecast job per active shop."""
    return _each(session, FORECAST_JOB, _active_shops(session))


@tenant_job(FORECAST_JOB, queue=SHOP_QUEUE, retry_intervals=(300, 1800), timeout=3600)
def forecast_shop(session: UrakataSession, ctx: Context) -> dict:
    """Forecast every SKU of the shop, then refresh its proposals and check its stock."""
    run = forecasts.forecast_shop(session, actor=ctx.actor)
    refreshed = proposals.refresh_proposals(session, actor=ctx.actor)
    crossed = services.check_low_stock(session, actor=ctx.actor)
    return {
        "skus": run.skus,
        "holt_winters": run.holt_winters,
        "average": run.average,
        "proposals_made": refreshed.made,
        "proposals_updated": refreshed.updated,
        "proposals_withdrawn": refreshed.withdrawn,
        "low_stock": len(crossed),
    }


@tenant_job(SNAPSHOT_SWEEP, queue="maintenance", retry_intervals=(60, 300), timeout=120)
def sweep_snapshots(session: UrakataSession, ctx: Context) -> int:
    """Cron, just after midnight Asia/Tokyo: one snapshot job per active shop."""
    return _each(session, SNAPSHOT_JOB, _active_shops(session))


@tenant_job(SNAPSHOT_JOB, queue=SHOP_QUEUE, retry_intervals=(60, 300, 1800), timeout=1800)
def snapshot_shop(session: UrakataSession, ctx: Context) -> dict:
    """Take the shop's ended days not taken yet (normally yesterday)."""
    taken = snapshots.take_due_snapshots(session, actor=ctx.actor)
    return {"days": [t.day.isoformat() for t in taken], "rows": sum(t.rows for t in taken)}


@tenant_job(LOW_STOCK_SWEEP, queue="maintenance", retry_intervals=(30,), timeout=120)
def sweep_low_stock(session: UrakataSession, ctx: Context) -> int:
    """Cron, every five minutes: a check for each shop with a SKU across its point
    (read-only per shop; the check itself runs in the shop's own job)."""
    pending = fan_out_across_tenants(ctx.db, _active_shops(session),
                                     services.low_stock_candidates)  # fmt: skip
    due = [shop for shop, n in pending.items() if n]
    waiting = set(
        session.scalars(
            select(outbox.OutboxMessage.shop_id).where(
                outbox.OutboxMessage.job == LOW_STOCK_JOB, outbox.OutboxMessage.sent_at.is_(None)
            )
        )
    )
    return _each(session, LOW_STOCK_JOB, [s for s in due if s not in waiting])


@tenant_job(LOW_STOCK_JOB, queue=SHOP_QUEUE, retry_intervals=(30, 120, 600), timeout=300)
def check_low_stock(session: UrakataSession, ctx: Context) -> int:
    """Announce the shop's SKUs that fell to or below their reorder point (once each)."""
    return len(services.check_low_stock(session, actor=ctx.actor))
