"""Periodic upkeep of the spine itself, run by cron (idempotent by construction)."""

from __future__ import annotations

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
