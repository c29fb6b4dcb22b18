"""Auditor jobs: scheduled signed checkpoints of every chain, and ledger exports."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime

from sqlalchemy import select

from urakata.platform import audit, auditor, checkpoints, exports, tasks
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.db import UrakataSession
from urakata.platform.ledger import parse_time
from urakata.platform.tenancy import Tenant
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed

log = logging.getLogger(__name__)
CHECKPOINT_JOB = "audit.checkpoint_chains"


@tenant_job(CHECKPOINT_JOB, queue="maintenance", retry_intervals=(60, 300), timeout=1800)
def checkpoint_chains(session: UrakataSession, ctx: Context) -> int:
    """Sign every chain's head, also the idle ones (a fresh signature proves nothing was
    hidden since). Idempotent by construction: a repeat only adds a later signature."""
    signer = checkpoints.Signer.from_settings(ctx.settings)
    shops = list(session.scalars(select(Tenant.id).order_by(Tenant.slug)))
    signed = checkpoints.checkpoint_every_chain(ctx.db, signer, ctx.settings.checkpoint_dir, shops)
    log.info("signed %d chain checkpoints with key %s", len(signed), signer.key_id)
    return len(signed)


@tenant_job(
    exports.EXPORT_JOB,
    queue=exports.EXPORT_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def export_chain(
    session: UrakataSession,
    ctx: Context,
    *,
    task_id: str,
    start: str | None = None,
    end: str | None = None,
) -> dict:
    """Write the export file of the session's chain; the task's result names it."""
    chain = session.tenant_id
    task = tasks.get_task(session, task_id)
    signer = checkpoints.Signer.from_settings(ctx.settings)
    progress = Progress(ctx, chain, task.id)
    label = exports.chain_label(chain, _slug(session, chain))
    path = exports.export_path(ctx.settings.files_dir, chain, task.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with open(partial, "wb") as out:
            summary = exports.write_export(
                session,
                signer,
                ctx.settings.checkpoint_dir,
                out,
                label=label,
                start=_time(start),
                end=_time(end),
                progress=lambda done, total: progress(done, total),
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    summary["bytes"] = path.stat().st_size
    tasks.finish_task(session, task.id, result=summary, done=summary["events"])
    audit.record(
        session,
        ctx.actor,
        "audit.exported",
        object_type="task",
        object_id=task.id,
        data={k: summary[k] for k in ("first_seq", "last_seq", "events", "sha256")},
    )
    progress.to_job_meta(summary["events"], tasks.TaskStatus.done)
    return summary


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _slug(session: UrakataSession, chain: uuid.UUID) -> str | None:
    if chain == AGENCY_CHAIN_ID:
        return None
    return session.scalar(select(Tenant.slug).where(Tenant.id == chain))


@tenant_job(
    auditor.VERIFY_JOB,
    queue=auditor.TASK_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def verify_to_checkpoint(session: UrakataSession, ctx: Context, *, task_id: str) -> dict:
    """Verify the session's chain up to its latest signed checkpoint (the portal's button)."""
    chain = session.tenant_id
    task = tasks.get_task(session, task_id)
    progress = Progress(ctx, chain, task.id)
    result = auditor.verify_to_checkpoint(session, lambda done, total: progress(done, total))
    tasks.finish_task(session, task.id, result=result, done=result.get("count", 0))
    audit.record(
        session, ctx.actor, "audit.verified", object_type="task", object_id=task.id, data=result
    )
    progress.to_job_meta(result.get("count", 0), tasks.TaskStatus.done)
    if not result["ok"]:
        log.warning("audit chain %s fails at its checkpoint: %s", chain, result)
    return result


RETENTION_JOB = "retention.erase_due"


@tenant_job(RETENTION_JOB, queue="maintenance", retry_intervals=(300, 1800), timeout=3600)
def erase_due_personal_data(session: UrakataSession, ctx: Context) -> int:
    """Every shop's retention policy, one shop's session at a time (daily; idempotent)."""
    from urakata.platform import retention
    from urakata.platform.tenancy import fan_out_across_tenants

    shops = list(session.scalars(select(Tenant.id).order_by(Tenant.slug)))
    erased = fan_out_across_tenants(
        ctx.db, shops, lambda s: retention.erase_due_orders(s, ctx.actor)
    )
    return sum(erased.values())
