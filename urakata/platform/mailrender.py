"""Rendering queued mails, outside any web request (the worker does it).

Each kind names a template under ``platform/templates/mail/`` and a function that turns
the message's stored ids into the template's context. Features register their own kinds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from urakata.platform.i18n import translations

Context = dict


@dataclass(frozen=True)
class MailKind:
    template: str
    subject: str  # an English msgid, translated at render time
    context: Callable[..., Context]


KINDS: dict[str, MailKind] = {}


def register_kind(kind: str, template: str, subject: str, context: Callable[..., Context]):
    KINDS[kind] = MailKind(template, subject, context)


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=PackageLoader("urakata.platform", "templates/mail"),
        extensions=["jinja2.ext.i18n"],
        autoescape=False,  # noqa: S701 - plain-text mails; HTML is never rendered here
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)
    return env


def render(kind: str, locale: str, session, params: dict, settings) -> tuple[str, str]:
    """(subject, text) of a mail of ``kind`` in ``locale``; ``params`` are the stored ids."""
    spec = KINDS[kind]
    env = _environment(locale)
    subject = translations(locale).gettext(spec.subject)
    context = spec.context(session, params, settings)
    return subject, env.get_template(spec.template).render(**context)


def password_link_token(key: bytes, token_id: uuid.UUID) -> str:
    """The secret part of a password link, derived from its row id.

    Only its SHA-256 is stored, and it is never written anywhere: the worker derives it
    again when it renders the mail.
    """
    mac = hmac.new(key, b"password-link:" + token_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
