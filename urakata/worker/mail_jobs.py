"""Sending queued mails (platform.mail) and recording every send on the ledger."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

import urakata.platform.auth  # noqa: F401 - registers the password and welcome mail kinds
from urakata.platform import audit, mailrender
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.mail import (
    MAIL_QUEUE,
    SEND_JOB,
    MailMessage,
    mail_settings_from,
    send_mail,
)
from urakata.worker.runtime import Context, tenant_job


def _message(session: UrakataSession, mail_id: str) -> MailMessage:
    return session.scalars(select(MailMessage).where(MailMessage.id == uuid.UUID(mail_id))).one()


def _recipient(ctx: Context, message: MailMessage) -> dict:
    return audit.pseudonymize(ctx.settings.pii_key, message.to_address)


def _record_failure(session: UrakataSession, ctx: Context, exc: Exception, final: bool, *, mail_id):
    """Every failed attempt is counted; the last one marks the mail failed on the ledger."""
    message = _message(session, mail_id)
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if final:
        message.status = "failed"
        audit.record(
            session,
            ctx.actor,
            "mail.failed",
            object_type="mail",
            object_id=message.id,
            data={
                "kind": message.kind,
                "to": _recipient(ctx, message),
                "error": type(exc).__name__,
            },
        )


@tenant_job(
    SEND_JOB,
    queue=MAIL_QUEUE,
    retry_intervals=(5, 30, 120, 600),
    timeout=60,
    on_failure=_record_failure,
)
def send(session: UrakataSession, ctx: Context, *, mail_id: str) -> str:
    """Render and send one mail; a refusal raises, so RQ retries it."""
    message = _message(session, mail_id)
    if message.status == "sent":
        return "already sent"
    subject, text = mailrender.render(
        message.kind, message.locale, session, message.params, ctx.settings
    )
    settings = ctx.settings
    mail_dir = Path(settings.mail_dir) if settings.mail_dir else None
    message_id = send_mail(
        mail_settings_from(settings), message.to_address, subject, text, mail_dir=mail_dir
    )
    message.status = "sent"
    message.sent_at = utcnow()
    message.message_id = message_id
    message.attempts += 1
    audit.record(
        session,
        ctx.actor,
        "mail.sent",
        object_type="mail",
        object_id=message.id,
        data={"kind": message.kind, "to": _recipient(ctx, message)},
    )
    return message_id
