"""Fulfilment jobs: shipping instructions for allocated orders, waves by rules, the pick
list PDF, and the minute sweep that asks for instructions where orders wait.

Instructions take each order in a transaction of its own (``ledger.retrying``), like
allocation. Waves and pick lists are shop tasks with progress; both are idempotent: a
second run of the wave job returns the waves its key made, and a wave's pick list is
rendered and stored once.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select

from urakata.platform import audit, tasks
from urakata.platform.db import UrakataSession
from urakata.platform.tenancy import Tenant, fan_out_across_tenants
from urakata.tenants.fulfilment import jobs as names
from urakata.tenants.fulfilment.errors import FulfilmentInvalid, IllegalShipmentMove
from urakata.tenants.fulfilment.instructions import instruct_order, orders_to_instruct
from urakata.tenants.fulfilment.models import ENDED, Shipment
from urakata.tenants.fulfilment.picking import withdraw_cancelled
from urakata.tenants.fulfilment.picklist import render_pick_list
from urakata.tenants.fulfilment.waves import build_waves
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import IllegalTransition, StaleOrder
from urakata.tenants.stock.ledger import request_job, retrying
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed

log = logging.getLogger(__name__)
BATCH = 200


def _instruct_each(ctx: Context, shop_id: uuid.UUID, order_ids: list[int]) -> dict[str, int]:
    counts = {"instructed": 0, "skipped": 0}
    for order_id in order_ids:
        try:
            retrying(
                ctx.db,
                shop_id,
                lambda s, oid=order_id: instruct_order(s, actor=ctx.actor, order_id=oid),
            )
        except (IllegalShipmentMove, IllegalTransition, StaleOrder, FulfilmentInvalid) as exc:
            log.info("order %s of %s not instructed: %s", order_id, shop_id, exc)
            counts["skipped"] += 1
            continue
        counts["instructed"] += 1
    return counts


@tenant_job(names.INSTRUCT_JOB, queue=names.QUEUE, retry_intervals=(10, 60, 300), timeout=900)
def instruct_allocated(session: UrakataSession, ctx: Context) -> dict:
    """Instruct the shop's allocated orders (soonest ship-by first); withdraw shipments of
    cancelled orders from their waves."""
    ids = orders_to_instruct(session, limit=BATCH)
    counts = _instruct_each(ctx, session.tenant_id, ids)
    counts["withdrawn"] = retrying(
        ctx.db, session.tenant_id, lambda s: withdraw_cancelled(s, actor=ctx.actor)
    )
    if len(ids) == BATCH:
        request_job(session, names.INSTRUCT_JOB, session.tenant_id)
    return counts


def _waiting(session: UrakataSession) -> int:
    allocated = session.scalar(select(func.count()).where(Order.status == "allocated")) or 0
    cancelled = session.scalar(
        select(func.count())
        .select_from(Shipment)
        .join(Order, Order.id == Shipment.order_id)
        .where(Order.status == "cancelled", Shipment.status.not_in(ENDED + ("shipped",)))
    )
    return allocated + (cancelled or 0)


@tenant_job(names.SWEEP_JOB, queue="maintenance", retry_intervals=(30,), timeout=120)
def sweep(session: UrakataSession, ctx: Context) -> int:
    """Every minute (cron): ask for instructions in each shop with allocated orders (or
    cancelled orders still in a wave). Returns how many shops were asked."""
    shops = list(
        session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.slug))
    )
    waiting = fan_out_across_tenants(ctx.db, shops, _waiting)
    return sum(request_job(session, names.INSTRUCT_JOB, shop) for shop, n in waiting.items() if n)


@tenant_job(
    names.BUILD_WAVES_JOB,
    queue=names.QUEUE,
    retry_intervals=(10, 60),
    timeout=900,
    on_failure=task_failed,
)
def build_waves_job(session: UrakataSession, ctx: Context, *, task_id: str, **rules) -> dict:
    """Waves of the shop's open shipments by the rules the operator chose."""
    progress = Progress(ctx, session.tenant_id, uuid.UUID(task_id), total=1)
    progress(0, 1)
    waves = build_waves(
        session, actor=ctx.actor, rules=names.rules_from(rules), key=f"task:{task_id}"
    )
    result = {
        "waves": [{"id": w.id, "label": w.label, "shipments": w.shipment_count} for w in waves],
        "shipments": sum(w.shipment_count for w in waves),
    }
    tasks.finish_task(session, task_id, result=result, done=1)
    audit.record(
        session,
        ctx.actor,
        "task.finished",
        object_type="task",
        object_id=task_id,
        data={
            "kind": names.BUILD_WAVES_KIND,
            "waves": len(waves),
            "shipments": result["shipments"],
        },
    )
    progress.to_job_meta(1, tasks.TaskStatus.done)
    return result


@tenant_job(
    names.PICK_LIST_JOB,
    queue=names.PDF_QUEUE,
    retry_intervals=(10, 60),
    timeout=1800,
    on_failure=task_failed,
)
def render_pick_list_job(
    session: UrakataSession, ctx: Context, *, task_id: str, wave_id: int
) -> dict:
    """Render the wave's pick list (once) with progress on its task."""
    progress = Progress(ctx, session.tenant_id, uuid.UUID(task_id), total=3)
    made = render_pick_list(session, actor=ctx.actor, wave_id=wave_id, progress=progress)
    result = {"wave_id": wave_id, "pages": made.pages, "bytes": made.byte_size}
    tasks.finish_task(session, task_id, result=result, done=3)
    progress.to_job_meta(3, tasks.TaskStatus.done)
    return result
