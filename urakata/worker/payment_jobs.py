"""Payment jobs: the order confirmation mail, konbini expiry and the shops' daily reminder.

``orders.send_confirmation`` renders and sends one order's confirmation (the outbox asks
for it when the order is confirmed, or when a person resends it). The two sweeps run
from cron in the agency scope and ask, through the outbox, for one job per active shop:
a shop's trouble (a retry, a failure) stays that shop's, and each shop job runs in its
own tenant-bound session. Both shop jobs are idempotent (a cancelled order is not found
again; a reminder claims its shop's day).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from urakata.platform import outbox
from urakata.platform.db import UrakataSession
from urakata.platform.mail import mail_settings_from, send_mail
from urakata.platform.tenancy import Tenant, TenantStatus
from urakata.tenants.orders import confirmation
from urakata.tenants.payments import gates, reminders
from urakata.worker.runtime import Context, tenant_job

EXPIRE_SWEEP = "payments.sweep_konbini"
EXPIRE_JOB = "payments.expire_konbini"
REMIND_SWEEP = "payments.sweep_reminders"
REMIND_JOB = reminders.REMIND_JOB
SHOP_QUEUE = "default"


def _confirmation_failed(session: UrakataSession, ctx: Context, exc, final: bool, *, order_id,
                         reason="confirmed", locale=""):  # fmt: skip
    confirmation.record_failure(session, actor=ctx.actor, order_id=int(order_id), exc=exc,
                                final=final, pii_key=ctx.settings.pii_key)  # fmt: skip


@tenant_job(
    confirmation.JOB,
    queue=confirmation.QUEUE,
    retry_intervals=(30, 120, 600, 1800),
    timeout=60,
    on_failure=_confirmation_failed,
)
def send_confirmation(
    session: UrakataSession, ctx: Context, *, order_id: int, reason: str = "confirmed",
    locale: str = "",
) -> str:  # fmt: skip
    """Send one order's confirmation mail with the shop's sender name (and address, when
    the shop has one; else the platform's)."""
    settings = ctx.settings
    base = mail_settings_from(settings)
    mail_dir = Path(settings.mail_dir) if settings.mail_dir else None

    def transport(sender_name: str, sender: str, to: str, subject: str, text: str) -> str:
        chosen = replace(base, sender_name=sender_name, sender=sender or base.sender)
        return send_mail(chosen, to, subject, text, mail_dir=mail_dir)

    return confirmation.send_confirmation(
        session,
        actor=ctx.actor,
        order_id=int(order_id),
        reason=reason,
        locale=locale,
        transport=transport,
        pii_key=settings.pii_key,
    )


def _each_active_shop(session: UrakataSession, job: str) -> int:
    shops = session.scalars(
        select(Tenant.id).where(Tenant.status == TenantStatus.active).order_by(Tenant.slug)
    ).all()
    for shop_id in shops:
        outbox.enqueue(session, job, queue=SHOP_QUEUE, shop_id=shop_id)
    return len(shops)


@tenant_job(EXPIRE_SWEEP, queue="maintenance", retry_intervals=(60, 300), timeout=120)
def sweep_konbini(session: UrakataSession, ctx: Context) -> int:
    """Cron, agency scope: one konbini expiry job per active shop."""
    return _each_active_shop(session, EXPIRE_JOB)


@tenant_job(EXPIRE_JOB, queue=SHOP_QUEUE, retry_intervals=(60, 300, 900), timeout=600)
def expire_konbini(session: UrakataSession, ctx: Context) -> int:
    """Cancel the shop's konbini orders past their payment deadline."""
    return len(gates.expire_konbini(session, actor=ctx.actor))


@tenant_job(REMIND_SWEEP, queue="maintenance", retry_intervals=(60, 300), timeout=120)
def sweep_reminders(session: UrakataSession, ctx: Context) -> int:
    """Cron, agency scope: one reminder job per active shop."""
    return _each_active_shop(session, REMIND_JOB)


@tenant_job(REMIND_JOB, queue=SHOP_QUEUE, retry_intervals=(60, 300, 900), timeout=300)
def remind_shop(session: UrakataSession, ctx: Context) -> int:
    """Mail the shop's admins the orders waiting for payment too long (once a day)."""
    return reminders.remind_shop(session, actor=ctx.actor)
