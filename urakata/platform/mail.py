"""The one mailer: plain SMTP, UTF-8, multipart text (and optional HTML).

Sent directly for now (password resets); the worker spine moves sending onto the outbox.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid


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
    settings: MailSettings, to: str, subject: str, text: str, html: str | None = None
) -> str:
    """Send one message; returns its Message-ID. Raises :class:`MailError`."""
    msg = build_message(settings, to, subject, text, html)
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
