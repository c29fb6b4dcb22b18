"""Shipping jobs: the shipped mail and the Shopify post-back of each handed-over parcel,
a wave's packing slips, and the sweep that asks for unpacking of cancelled parcels.

Each is thin (the work is a service in ``urakata.tenants.shipping``) and idempotent: a
mail or a post-back keeps its state per shipment and is done once; slips render once
per document; the sweep makes at most one unpack task per shipment.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from urakata.platform import outbox, tasks
from urakata.platform.db import UrakataSession
from urakata.platform.mail import mail_settings_from, send_mail
from urakata.platform.tenancy import Tenant, TenantStatus
from urakata.tenants.shipping import documents, handover, packing, shipped_mail, shopify
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed

UNPACK_SWEEP = "shipping.sweep_unpack"
UNPACK_JOB = "shipping.unpack_cancelled"


def _mail_failed(session: UrakataSession, ctx: Context, exc, final: bool, *, shipment_id):
    shipped_mail.record_failure(session, actor=ctx.actor, shipment_id=int(shipment_id), exc=exc,
                                final=final, pii_key=ctx.settings.pii_key)  # fmt: skip


@tenant_job(
    handover.MAIL_JOB,
    queue=handover.MAIL_QUEUE,
    retry_intervals=(30, 120, 600, 1800),
    timeout=60,
    on_failure=_mail_failed,
)
def send_shipped_mail(session: UrakataSession, ctx: Context, *, shipment_id: int) -> str:
    """Mail the customer that the parcel left, with its tracking link."""
    settings = ctx.settings
    base = mail_settings_from(settings)
    mail_dir = Path(settings.mail_dir) if settings.mail_dir else None

    def transport(sender_name: str, sender: str, to: str, subject: str, text: str) -> str:
        chosen = replace(base, sender_name=sender_name, sender=sender or base.sender)
        return send_mail(chosen, to, subject, text, mail_dir=mail_dir)

    return shipped_mail.send_shipped_mail(session, actor=ctx.actor, shipment_id=int(shipment_id),
                                          transport=transport,
                                          pii_key=settings.pii_key)  # fmt: skip


def _shopify_failed(session: UrakataSession, ctx: Context, exc, final: bool, *, shipment_id):
    shopify.record_failure(session, actor=ctx.actor, shipment_id=int(shipment_id), exc=exc,
                           final=final)  # fmt: skip


@tenant_job(
    handover.SHOPIFY_JOB,
    queue=handover.SHOPIFY_QUEUE,
    retry_intervals=(30, 120, 600, 1800, 3600),
    timeout=90,
    on_failure=_shopify_failed,
)
def post_shopify_fulfilment(session: UrakataSession, ctx: Context, *, shipment_id: int) -> str:
    """Create the parcel's fulfilment in the shop's Shopify store."""
    return shopify.post_fulfilment(
        session,
        actor=ctx.actor,
        shipment_id=int(shipment_id),
        allow_plain_http=not ctx.settings.is_production,
    )


@tenant_job(
    documents.SLIPS_JOB,
    queue=documents.SLIPS_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def render_slips(session: UrakataSession, ctx: Context, *, task_id: str, document_id: int):
    """Render a wave's packing slips into their document; the task shows the progress."""
    progress = Progress(ctx, session.tenant_id, task_id, total=1)
    progress(0, 1)
    document = documents.render_wave_slips(session, actor=ctx.actor, document_id=int(document_id))
    result = {"document_id": document.id, "pages": document.pages}
    tasks.finish_task(session, task_id, result=result, done=1)
    progress.to_job_meta(1, tasks.TaskStatus.done)
    return result


@tenant_job(UNPACK_SWEEP, queue="maintenance", retry_intervals=(60, 300), timeout=120)
def sweep_unpack(session: UrakataSession, ctx: Context) -> int:
    """Cron, agency scope: one unpack check per active shop."""
    shops = session.scalars(
        select(Tenant.id).where(Tenant.status == TenantStatus.active).order_by(Tenant.slug)
    ).all()
    for shop_id in shops:
        outbox.enqueue(session, UNPACK_JOB, queue="fulfilment", shop_id=shop_id)
    return len(shops)


@tenant_job(UNPACK_JOB, queue="fulfilment", retry_intervals=(60, 300, 900), timeout=300)
def unpack_cancelled(session: UrakataSession, ctx: Context) -> int:
    """Unpack tasks for the shop's packed parcels whose shipment was cancelled."""
    return packing.sweep_cancelled(session, actor=ctx.actor)
