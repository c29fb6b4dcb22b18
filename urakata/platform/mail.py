"""The one mailer: messages are queued with the change and sent by a worker.

:func:`queue_mail` stores a :class:`MailMessage` (tenant-owned: it holds an address) and an
outbox row in the caller's transaction. The ``mail.send`` job renders it (Jinja with the
shared translations), sends it by SMTP (or, in demo mode, writes an .eml file under
``MAIL_DIR``), marks it sent and records the send on the ledger.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import outbox
from urakata.platform.db import Base, TenantOwned, UrakataSession, utcnow

MAIL_QUEUE = "mail"
SEND_JOB = "mail.send"


class MailMessage(TenantOwned, Base):
    """A mail to send, in the shop's scope (the agency's mails in the agency scope).

    ``params`` holds ids the template needs, never a secret: password links are derived
    again from the token id when the mail is rendered.
    """

    __tablename__ = "mail_message"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


def queue_mail(
    session: UrakataSession,
    *,
    kind: str,
    to: str,
    locale: str,
    params: dict,
    agency_scope: bool = False,
) -> MailMessage:
    """Store a mail in the bound scope and ask the worker to send it after commit.

    ``agency_scope`` says the session is bound to the agency's pseudo-tenant (the ledger's
    agency chain id), so the outbox row names no shop.
    """
    if session.tenant_id is None:
        raise ValueError("queue_mail needs a session bound to a shop or the agency scope")
    message = MailMessage(kind=kind, to_address=to, locale=locale, params=params)
    session.add(message)
    session.flush()
    outbox.enqueue(
        session,
        SEND_JOB,
        queue=MAIL_QUEUE,
        shop_id=None if agency_scope else session.tenant_id,
        mail_id=message.id,
    )
    return message


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "noreply@urakata.example"
    sender_name: str = "Urakata"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


def mail_settings_from(settings) -> MailSettings:
    """The mail part of :class:`urakata.platform.config.Settings`."""
    return MailSettings(
        host=settings.mail_host,
        port=settings.mail_port,
        sender=settings.mail_from,
        sender_name=settings.mail_from_name,
        username=settings.mail_username,
        password=settings.mail_password,
        starttls=settings.mail_starttls,
    )


class MailError(RuntimeError):
    """The SMTP server refused or could not be reached."""


def write_mail_file(directory: Path, msg: EmailMessage) -> Path:
    """Demo transport: one .eml file per message, named by time and Message-ID."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    safe_id = "".join(ch for ch in msg["Message-ID"] if ch.isalnum())[:40]
    path = directory / f"{stamp}-{safe_id}.eml"
    path.write_bytes(bytes(msg))
    return path


def build_message(settings: MailSettings, to: str, subject: str, text: str, html: str | None):
    msg = EmailMessage()
    msg["From"] = formataddr((settings.sender_name, settings.sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.sender.split("@")[-1])
    msg.set_content(text, charset="utf-8")
    if html:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def send_mail(
    settings: MailSettings,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    *,
    mail_dir: Path | None = None,
) -> str:
    """Send one message (or write it under ``mail_dir``); returns its Message-ID.

    Raises :class:`MailError` when the server refuses or cannot be reached.
    """
    msg = build_message(settings, to, subject, text, html)
    if mail_dir is not None:
        write_mail_file(mail_dir, msg)
        return msg["Message-ID"]
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        where = f"{settings.host}:{settings.port}"
        raise MailError(f"could not send mail to {to} via {where}: {exc}") from exc
    return msg["Message-ID"]
