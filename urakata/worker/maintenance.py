"""Periodic upkeep of the spine itself, run by cron (idempotent by construction)."""

from __future__ import annotations

from sqlalchemy import select

from urakata.platform import outbox
from urakata.platform.db import UrakataSession
from urakata.worker.runtime import Context, tenant_job


@tenant_job("maintenance.reconcile_outbox", queue="maintenance", retry_intervals=(30,), timeout=120)
def reconcile_outbox(session: UrakataSession, ctx: Context) -> int:
    from urakata.worker.relay import reconcile

    return reconcile(ctx)


@tenant_job("maintenance.purge_outbox", queue="maintenance", retry_intervals=(300,), timeout=300)
def purge_outbox(session: UrakataSession, ctx: Context) -> int:
    return outbox.purge_done(session)


@tenant_job(
    "maintenance.purge_idempotency_keys", queue="maintenance", retry_intervals=(300,), timeout=600
)
def purge_idempotency_keys(session: UrakataSession, ctx: Context) -> int:
    """Every shop's API idempotency keys past their day, one shop's session at a time."""
    from urakata.platform.tenancy import Tenant, fan_out_across_tenants
    from urakata.tenants.orders import idempotency

    shops = list(session.scalars(select(Tenant.id).order_by(Tenant.slug)))
    purged = fan_out_across_tenants(ctx.db, shops, idempotency.purge_expired)
    return sum(purged.values())


@tenant_job("maintenance.selftest", queue="default", retry_intervals=(5, 10), timeout=15)
def selftest(session: UrakataSession, ctx: Context, *, sleep_ms: int = 0) -> str:
    """A probe through the whole spine (outbox → relay → worker → done), with one recorded
    effect. ``urakata spine-check`` uses it; drills make it slow with ``sleep_ms``."""
    import time

    from urakata.platform import audit

    time.sleep(min(max(sleep_ms, 0), 10_000) / 1000)
    audit.record(
        session, ctx.actor, "spine.selftest", object_type="spine", data={"slept_ms": sleep_ms}
    )
    return "ok"
