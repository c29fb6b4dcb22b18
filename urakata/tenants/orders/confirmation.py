"""The order confirmation mail (受注確認メール): what the customer hears from the shop.

When an order is confirmed (at intake, or released from a hold) the order service calls
:func:`on_confirmed`, which asks the worker (through the outbox) to send the mail once
the transaction commits. The job renders the shop's own template (or the default) in
the mail sandbox (``urakata.tenants.shop.mail_templates``) with the order's lines, totals
per tax rate and payment instructions, and sends it with the shop's sender name by the
one mailer (``urakata.platform.mail``). A confirmation goes once per order; people may
resend it from the order page. Every send, failure and resend request is on the order's
timeline (the shop's ledger chain); :class:`ConfirmationMail` keeps the latest state.

The language: English when the customer's name is written without Japanese script (a
customer abroad or a visitor), else Japanese; a resend may choose. Refused sends (an SMTP
5xx) are final at once: retrying cannot help, a person can resend after fixing the
address. Transient trouble (no connection, 4xx) is retried by the job.
"""

from __future__ import annotations

import functools
import smtplib
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2.exceptions import TemplateError
from sqlalchemy import BigInteger, ForeignKeyConstraint, Integer, String, Text, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import audit, jpaddress, outbox
from urakata.platform.audit import Actor
from urakata.platform.db import Base, TenantOwned, UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.i18n import translations
from urakata.platform.mail import MAIL_QUEUE, MailError
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid, get_order
from urakata.tenants.payments import gates
from urakata.tenants.payments.settings import bank_account, get_payment_settings
from urakata.tenants.shop import mail_templates
from urakata.tenants.shop.mail_templates import TemplateKind
from urakata.tenants.shop.models import ShopSettings

KIND = "order_confirmation"
JOB = "orders.send_confirmation"
QUEUE = MAIL_QUEUE
# A confirmation dated this far back is a backfill (history, an import of old orders).
BACKFILL = timedelta(hours=1)
REASONS = ("confirmed", "resend")
STATUSES = ("queued", "sent", "failed", "no_address", "cancelled")
_TEMPLATES = Path(__file__).parent / "templates" / "confirmation"

METHOD_LABELS = {
    "card": N_("Credit card"),
    "bank_transfer": N_("Bank transfer"),
    "cod": N_("Cash on delivery"),
    "konbini": N_("Convenience store payment"),
    "atobarai": N_("Deferred payment (atobarai)"),
    "other": N_("Other"),
}
# As banks print them (a mail's words, not the portal's: no catalog lookup).
ACCOUNT_TYPES = {"ja": {"ordinary": "普通", "checking": "当座"},
                 "en": {"ordinary": "Ordinary", "checking": "Checking"}}  # fmt: skip
SUBJECTS = {
    "ja": "【{{ shop.name }}】ご注文ありがとうございます（ご注文番号 {{ order.number }}）",
    "en": "{{ shop.name }}: thank you for your order {{ order.number }}",
}
FIELDS = (
    ("shop.name", N_("The shop's name")),
    ("shop.sender_name / shop.email / shop.phone", N_("Who the mail is from")),
    ("order.number / order.ordered_at", N_("Order number and when it was placed")),
    ("order.customer_name", N_("The customer's name")),
    ("order.lines", N_("Lines: name, sku, quantity, unit_price_yen, amount_yen, tax_rate,"
                       " reduced (true at the reduced tax rate)")),
    ("order.items_yen / shipping_fee_yen / fee_yen / discount_yen / total_yen",
     N_("Amounts in yen, tax included")),
    ("order.taxes", N_("Per tax rate: rate, base_yen, tax_yen")),
    ("order.ship_to", N_("Ship-to: name, postal_code, address, phone")),
    ("order.delivery_date / order.delivery_slot", N_("Requested delivery")),
    ("payment.method / payment.label / payment.amount_yen / payment.due_date",
     N_("How and by when to pay")),
    ("payment.bank", N_("Bank account for transfers: name, branch, account_type, number,"
                        " holder (empty until set)")),
    ("|yen", N_("Filter: 1234 → ¥1,234")),
)  # fmt: skip


class ConfirmationMail(TenantOwned, Base):
    """The latest state of an order's confirmation mail (one row per order)."""

    __tablename__ = "order_confirmation_mail"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["sales_order.tenant_id", "sales_order.id"],
            ondelete="CASCADE",
        ),
    )

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    locale: Mapped[str] = mapped_column(String(2), default="")
    sends: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- asking for it -----------------------------------------------------------------------


def _enqueue(session: UrakataSession, order: Order, reason: str, locale: str = "") -> None:
    outbox.enqueue(session, JOB, queue=QUEUE, shop_id=session.tenant_id, order_id=order.id,
                   reason=reason, locale=locale)  # fmt: skip


def on_confirmed(session: UrakataSession, order: Order) -> None:
    """The order service's hook: the order was confirmed; mail it after commit."""
    _enqueue(session, order, "confirmed")


def on_confirmed_many(session: UrakataSession, order_ids: list[int]) -> Callable[[Any], None]:
    """:func:`on_confirmed` for a batch of orders taken in together: the COPY that
    queues their mails, for the caller to run on the session's connection."""
    args = [{"order_id": n, "reason": "confirmed", "locale": ""} for n in order_ids]
    return outbox.copy_many(JOB, queue=QUEUE, shop_id=session.tenant_id, args=args)


def request_resend(session: UrakataSession, *, actor: Actor, order_id: int, locale: str) -> Order:
    """A person asks for the confirmation again (the customer lost it, a new address)."""
    order = get_order(session, order_id)
    if order.status == "cancelled":
        raise IllegalTransition(N_("A cancelled order gets no confirmation mail."))
    if order.confirmed_at is None:
        raise IllegalTransition(
            N_("The order is not confirmed yet: its confirmation mail goes when it is.")
        )
    if not order.customer_email:
        raise OrderInvalid({"customer_email": [N_("The order has no e-mail address to send to.")]})
    if locale not in mail_templates.LOCALES:
        raise OrderInvalid({"locale": [N_("Choose one of: %(choices)s.",
                                          choices=", ".join(mail_templates.LOCALES))]})  # fmt: skip
    _enqueue(session, order, "resend", locale)
    audit.record(session, actor, "order.confirmation_requested", object_type="order",
                 object_id=order.id, data={"locale": locale})  # fmt: skip
    return order


def state_of(session: UrakataSession, order_id: int) -> ConfirmationMail | None:
    return session.scalar(select(ConfirmationMail).where(ConfirmationMail.order_id == order_id))


# -- what it says ------------------------------------------------------------------------


def choose_locale(order: Order) -> str:
    """English for a name in Latin letters only, else Japanese."""
    name = unicodedata.normalize("NFKC", order.customer_name)
    japanese = any(
        "\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"
        for c in name
    )
    return "en" if not japanese and any(c.isascii() and c.isalpha() for c in name) else "ja"


def tax_lines(order: Order) -> list[dict]:
    """Base and tax per rate, as ``orders.services._totals`` divides them: shipping and
    fees at 10%, a discount off the 10% base first; the taxes are the order's own."""
    base = {8: 0, 10: 0}
    for line in order.lines:
        base[line.tax_rate] += line.amount_yen
    base[10] += order.shipping_fee_yen + order.fee_yen
    off_10 = min(order.discount_yen, base[10])
    base[10] -= off_10
    base[8] -= min(order.discount_yen - off_10, base[8])
    taxes = {8: order.tax_8_yen, 10: order.tax_10_yen}
    return [{"rate": r, "base_yen": base[r], "tax_yen": taxes[r]} for r in (10, 8) if base[r]]


def _slot(code: str | None, locale: str) -> str:
    if not code:
        return ""
    if code == "am":
        return translations(locale).gettext("Morning")
    start, _dash, end = code.partition("-")
    return f"{start}:00–{end}:00"


def _ship_to(order: Order) -> dict:
    postal = order.ship_postal_code
    if postal.isdigit() and len(postal) == 7:
        postal = jpaddress.format_postal_code(postal)
    try:
        prefecture = jpaddress.prefecture_name(order.ship_prefecture)
    except KeyError:
        prefecture = order.ship_prefecture
    parts = [prefecture, order.ship_city, order.ship_street, order.ship_building]
    return {"name": order.ship_name, "postal_code": postal, "phone": order.ship_phone,
            "address": " ".join(p for p in parts if p)}  # fmt: skip


def _payment(session: UrakataSession, order: Order, locale: str, zone) -> dict:
    gettext = translations(locale).gettext
    settings = get_payment_settings(session)
    due_yen = order.total_yen - gates.received_yen(session, [order.id]).get(order.id, 0)
    due_date = ""
    if order.payment_method == "bank_transfer":
        local = order.ordered_at.astimezone(zone).date()
        due_date = (local + timedelta(days=settings.transfer_due_days)).isoformat()
    elif order.payment_method == "konbini":
        due_date = gates.konbini_due_date(order, settings, zone).isoformat()
    account = bank_account(settings)
    bank = None
    if account is not None:
        bank = {"name": account.name, "branch": account.branch, "number": account.number,
                "holder": account.holder,
                "account_type": ACCOUNT_TYPES[locale][account.account_type]}  # fmt: skip
    method = order.payment_method
    return {"method": method, "label": gettext(METHOD_LABELS.get(method, method)),
            "amount_yen": max(due_yen, 0), "due_date": due_date, "bank": bank}  # fmt: skip


def context(session: UrakataSession, order: Order, locale: str) -> dict:
    """The template's data: plain values only (no ORM object reaches the sandbox)."""
    tenant = session.get(Tenant, session.tenant_id)
    sender = session.execute(
        select(ShopSettings.sender_name, ShopSettings.sender_email, ShopSettings.sender_phone)
    ).one()
    lines = [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
              "unit_price_yen": line.unit_price_yen, "amount_yen": line.amount_yen,
              "tax_rate": line.tax_rate, "reduced": line.tax_rate == 8}
             for line in order.lines]  # fmt: skip
    return {
        "shop": {"name": tenant.name, "sender_name": sender.sender_name or tenant.name,
                 "email": sender.sender_email, "phone": sender.sender_phone},
        "order": {
            "number": order.external_id,
            "ordered_at": order.ordered_at.astimezone(tenant.zone).strftime("%Y-%m-%d %H:%M"),
            "customer_name": order.customer_name,
            "lines": lines,
            "has_reduced": any(line["reduced"] for line in lines),
            "items_yen": order.items_yen, "shipping_fee_yen": order.shipping_fee_yen,
            "fee_yen": order.fee_yen, "discount_yen": order.discount_yen,
            "total_yen": order.total_yen, "taxes": tax_lines(order),
            "ship_to": _ship_to(order),
            "delivery_date": order.delivery_date.isoformat() if order.delivery_date else "",
            "delivery_slot": _slot(order.delivery_slot, locale),
        },
        "payment": _payment(session, order, locale, tenant.zone),
    }  # fmt: skip


def sample_contexts(locale: str) -> list[dict]:
    """Made-up orders, one per payment method (and a transfer with no account set), that
    a shop's template must render with before it is saved; the first is the preview's."""
    gettext = translations(locale).gettext
    lines = [
        {"sku": "SAMPLE-TEA", "name": "静岡 深蒸し煎茶 100g", "quantity": 2,
         "unit_price_yen": 1080, "amount_yen": 2160, "tax_rate": 8, "reduced": True},
        {"sku": "SAMPLE-CUP", "name": "有田焼 湯呑み", "quantity": 1,
         "unit_price_yen": 1100, "amount_yen": 1100, "tax_rate": 10, "reduced": False},
    ]  # fmt: skip
    order = {
        "number": "SAMPLE-1001", "ordered_at": "2026-12-01 10:00", "customer_name": "山田 花子",
        "lines": lines, "has_reduced": True, "items_yen": 3260, "shipping_fee_yen": 800,
        "fee_yen": 0, "discount_yen": 0, "total_yen": 4060,
        "taxes": [{"rate": 10, "base_yen": 1900, "tax_yen": 172},
                  {"rate": 8, "base_yen": 2160, "tax_yen": 160}],
        "ship_to": {"name": "山田 花子", "postal_code": "100-0001", "phone": "03-1234-5678",
                    "address": "東京都 千代田区 千代田1-1"},
        "delivery_date": "2026-12-03", "delivery_slot": _slot("14-16", locale),
    }  # fmt: skip
    shop = {"name": "サンプル商店", "sender_name": "サンプル商店 出荷係",
            "email": "shop@example.jp", "phone": "03-0000-0000"}  # fmt: skip
    bank = {"name": "みずほ銀行", "branch": "東京営業部", "number": "1234567",
            "holder": "サンプルシヨウテン",
            "account_type": ACCOUNT_TYPES[locale]["ordinary"]}  # fmt: skip
    variants = [("bank_transfer", bank, "2026-12-08"), ("bank_transfer", None, "2026-12-08"),
                ("konbini", None, "2026-12-04"), ("cod", None, ""), ("card", None, ""),
                ("atobarai", None, ""), ("other", None, "")]  # fmt: skip
    return [
        {"shop": shop, "order": order,
         "payment": {"method": method, "label": gettext(METHOD_LABELS[method]),
                     "amount_yen": 4060, "due_date": due, "bank": account}}
        for method, account, due in variants
    ]  # fmt: skip


@functools.cache
def default_body(locale: str) -> str:
    return (_TEMPLATES / f"{locale}.txt").read_text(encoding="utf-8")


mail_templates.register_kind(TemplateKind(KIND, SUBJECTS, default_body, sample_contexts, FIELDS))


def render(session: UrakataSession, order: Order, locale: str) -> tuple[str, str, str | None]:
    """(subject, text, problem): the shop's template, or the default when the shop's fails
    at send time (a branch no sample reached); ``problem`` then says why."""
    data = context(session, order, locale)
    template = mail_templates.get_template(session, KIND, locale)
    try:
        subject = mail_templates.render(template.subject, data)
        return (
            mail_templates.subject_line(subject),
            mail_templates.render(template.body, data),
            None,
        )
    except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        if not template.custom:
            raise
        problem = str(mail_templates.render_problem(exc))
    subject = mail_templates.render(SUBJECTS[locale], data)
    return (
        mail_templates.subject_line(subject),
        mail_templates.render(default_body(locale), data),
        problem,
    )


# -- sending (the job's body) ------------------------------------------------------------

# (sender name, sender address or "" for the platform's, to, subject, text) -> Message-ID
Transport = Callable[[str, str, str, str, str], str]


def is_permanent(exc: MailError) -> bool:
    """A refusal the server means (5xx): another try would be refused the same way."""
    cause = exc.__cause__
    if isinstance(cause, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in cause.recipients.values())
    return isinstance(cause, smtplib.SMTPResponseException) and cause.smtp_code >= 500


def _row(session: UrakataSession, order_id: int) -> ConfirmationMail:
    session.execute(
        insert(ConfirmationMail.__table__)
        .values(tenant_id=session.tenant_id, order_id=order_id, status="queued", locale="",
                sends=0, attempts=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )  # fmt: skip
    return session.scalars(
        select(ConfirmationMail).where(ConfirmationMail.order_id == order_id).with_for_update()
    ).one()


def send_confirmation(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    reason: str,
    locale: str,
    transport: Transport,
    pii_key: bytes,
) -> str:
    """Render and send an order's confirmation; what happened, in a word.

    A transient failure raises :class:`MailError` (the job retries; :func:`record_failure`
    notes each attempt); a refusal is recorded as final here and does not raise.
    """
    order = get_order(session, order_id)
    row = _row(session, order_id)
    if reason == "confirmed" and row.status == "sent":
        return "already sent"
    skip = None
    if order.status == "cancelled":
        skip = "cancelled"
    elif not order.customer_email:
        skip = "no_address"
    if skip:
        row.status, row.updated_at = skip, utcnow()
        audit.record(session, actor, "order.confirmation_skipped", object_type="order",
                     object_id=order.id, data={"reason": skip})  # fmt: skip
        return skip
    locale = locale if locale in mail_templates.LOCALES else choose_locale(order)
    subject, text, problem = render(session, order, locale)
    done = deliver(
        session, actor, row, to_address=order.customer_email, subject=subject, text=text,
        locale=locale, problem=problem, transport=transport, pii_key=pii_key,
        action="order.confirmation", object_type="order", object_id=order.id,
        data={"reason": reason},
    )  # fmt: skip
    if done == "sent":
        row.sends += 1
        row.last_sent_at = row.updated_at
    return done


def deliver(
    session: UrakataSession,
    actor: Actor,
    row,
    *,
    to_address: str,
    subject: str,
    text: str,
    locale: str,
    problem: str | None,
    transport: Transport,
    pii_key: bytes,
    action: str,
    object_type: str,
    object_id,
    data: dict,
) -> str:
    """Send one customer mail of a shop (from its sender) and keep the mail's ``row``
    (status, attempts, message id, error) and the ledger (``<action>_sent`` or
    ``<action>_failed``, the address pseudonymized) up to date: "sent" or "refused". A
    transient failure raises :class:`MailError` for the job to retry. The order
    confirmation and the shipped mail both send this way."""
    sender = session.execute(select(ShopSettings.sender_name, ShopSettings.sender_email)).one()
    tenant = session.get(Tenant, session.tenant_id)
    to = audit.pseudonymize(pii_key, to_address)
    row.attempts += 1
    try:
        message_id = transport(sender.sender_name or tenant.name, sender.sender_email,
                               to_address, subject, text)  # fmt: skip
    except MailError as exc:
        if not is_permanent(exc):
            raise
        mail_failed(session, actor, row, exc, final=True, to=to, action=action,
                    object_type=object_type, object_id=object_id)  # fmt: skip
        return "refused"
    row.status, row.locale, row.message_id = "sent", locale, message_id
    row.updated_at = utcnow()
    row.last_error = None
    data = {**data, "locale": locale, "to": to, "attempt": row.attempts}
    if problem:
        data["template_problem"] = problem
    audit.record(session, actor, f"{action}_sent", object_type=object_type,
                 object_id=object_id, data=data)  # fmt: skip
    return "sent"


def mail_failed(
    session, actor, row, exc: Exception, *, final: bool, to, action: str, object_type: str,
    object_id,
) -> None:  # fmt: skip
    """A send attempt failed: the error on the mail's ``row`` (final: it is failed) and
    ``<action>_failed`` on the ledger."""
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    row.updated_at = utcnow()
    if final:
        row.status = "failed"
    audit.record(session, actor, f"{action}_failed", object_type=object_type,
                 object_id=object_id,
                 data={"error": row.last_error[:300], "final": final, "attempt": row.attempts,
                       "to": to})  # fmt: skip


def record_failure(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    exc: Exception,
    final: bool,
    pii_key: bytes,
) -> None:
    """A send attempt that raised (in the job's failure transaction): counted and on the
    order's timeline; the last one marks the mail failed (a person may resend it)."""
    order = session.scalar(select(Order).where(Order.id == order_id))
    if order is None:
        return
    row = _row(session, order_id)
    row.attempts += 1
    mail_failed(session, actor, row, exc, final=final,
                to=audit.pseudonymize(pii_key, order.customer_email or ""),
                action="order.confirmation", object_type="order", object_id=order_id)  # fmt: skip
