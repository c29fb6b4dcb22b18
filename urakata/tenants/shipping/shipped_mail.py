"""The shipped-notification mail (発送完了メール): the customer hears their parcel left,
with the carrier's tracking link.

Handover asks for it through the outbox, one job per shipment; the job renders the shop's
own template (or the default) in the mail sandbox (``shop.mail_templates``), the same
machinery and rules as the order confirmation, and sends it by the one mailer. A mail
goes once per shipment (:class:`ShippedMail` keeps its state); a refusal (SMTP 5xx) is
final at once, transient trouble is retried by the job. Every send and failure is on
the shipment's timeline in the shop's ledger chain.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2.exceptions import TemplateError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from urakata.platform import audit, jpaddress
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.i18n import translations
from urakata.platform.tenancy import Tenant
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders.confirmation import Transport, choose_locale, deliver, mail_failed
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping.carrier_files import tracking_url
from urakata.tenants.shipping.models import ShipmentTracking, ShippedMail
from urakata.tenants.shop import mail_templates
from urakata.tenants.shop.mail_templates import TemplateKind
from urakata.tenants.shop.models import ShopSettings

KIND = "shipment_shipped"
_TEMPLATES = Path(__file__).parent / "templates" / "mail"
CARRIER_NAMES = {
    "ja": {"yamato": "ヤマト運輸", "sagawa": "佐川急便", "japan_post": "日本郵便（ゆうパック）"},
    "en": {"yamato": "Yamato Transport", "sagawa": "Sagawa Express", "japan_post": "Japan Post"},
}
SUBJECTS = {
    "ja": "【{{ shop.name }}】ご注文の商品を発送しました（ご注文番号 {{ order.number }}）",
    "en": "{{ shop.name }}: your order {{ order.number }} has shipped",
}
FIELDS = (
    ("shop.name / shop.sender_name / shop.email / shop.phone", N_("The shop and who writes")),
    ("order.number / order.customer_name", N_("Order number and the customer's name")),
    ("shipment.carrier_name / shipment.tracking_no / shipment.tracking_url",
     N_("The carrier, the tracking number and the carrier's tracking page")),
    ("shipment.shipped_on", N_("The day the parcel left")),
    ("shipment.lines", N_("Items in the parcel: name, sku, quantity")),
    ("shipment.ship_to", N_("Ship-to: name, postal_code, address")),
    ("shipment.delivery_date / shipment.delivery_slot", N_("Requested delivery")),
)  # fmt: skip


def _slot(code: str | None, locale: str) -> str:
    if not code:
        return ""
    if code == "am":
        return translations(locale).gettext("Morning")
    start, _dash, end = code.partition("-")
    return f"{start}:00–{end}:00"


def context(session: UrakataSession, shipment, order: Order, locale: str) -> dict:
    """The template's data: plain values only."""
    tenant = session.get(Tenant, session.tenant_id)
    sender = session.execute(
        select(ShopSettings.sender_name, ShopSettings.sender_email, ShopSettings.sender_phone)
    ).one()
    tracking = session.get(ShipmentTracking, (session.tenant_id, shipment.id))
    number = tracking.tracking_no if tracking else ""
    postal = jpaddress.normalise_postal_code(shipment.ship_postal_code or "")
    code = jpaddress.prefecture_code(shipment.ship_prefecture or "")
    parts = [jpaddress.PREFECTURES.get(code or "", shipment.ship_prefecture), shipment.ship_city,
             shipment.ship_street, shipment.ship_building]  # fmt: skip
    shipped = shipment.shipped_at or utcnow()
    return {
        "shop": {"name": tenant.name, "sender_name": sender.sender_name or tenant.name,
                 "email": sender.sender_email, "phone": sender.sender_phone},
        "order": {"number": order.external_id, "customer_name": order.customer_name},
        "shipment": {
            "label": shipment.label,
            "carrier_name": CARRIER_NAMES[locale].get(shipment.carrier, shipment.carrier),
            "tracking_no": number,
            "tracking_url": tracking_url(shipment.carrier, number),
            "shipped_on": shipped.astimezone(tenant.zone).date().isoformat(),
            "lines": [{"name": line.name, "sku": line.sku, "quantity": line.quantity}
                      for line in shipment.lines],
            "ship_to": {"name": shipment.ship_name,
                        "postal_code": jpaddress.format_postal_code(postal) if postal
                        else shipment.ship_postal_code,
                        "address": " ".join(p for p in parts if p)},
            "delivery_date": shipment.delivery_date.isoformat() if shipment.delivery_date else "",
            "delivery_slot": _slot(shipment.delivery_slot, locale),
        },
    }  # fmt: skip


def sample_contexts(locale: str) -> list[dict]:
    shipment = {
        "label": "SH0000000001", "carrier_name": CARRIER_NAMES[locale]["yamato"],
        "tracking_no": "444413758703",
        "tracking_url": tracking_url("yamato", "444413758703"), "shipped_on": "2026-12-02",
        "lines": [{"name": "静岡 深蒸し煎茶 100g", "sku": "SAMPLE-TEA", "quantity": 2}],
        "ship_to": {"name": "山田 花子", "postal_code": "100-0001",
                    "address": "東京都 千代田区 千代田1-1"},
        "delivery_date": "2026-12-03", "delivery_slot": _slot("14-16", locale),
    }  # fmt: skip
    shop = {"name": "サンプル商店", "sender_name": "サンプル商店 出荷係",
            "email": "shop@example.jp", "phone": "03-0000-0000"}  # fmt: skip
    order = {"number": "SAMPLE-1001", "customer_name": "山田 花子"}
    plain = {**shipment, "delivery_date": "", "delivery_slot": ""}
    return [{"shop": shop, "order": order, "shipment": s} for s in (shipment, plain)]


@functools.cache
def default_body(locale: str) -> str:
    return (_TEMPLATES / f"{locale}.txt").read_text(encoding="utf-8")


mail_templates.register_kind(TemplateKind(KIND, SUBJECTS, default_body, sample_contexts, FIELDS))


def render(session: UrakataSession, shipment, order: Order, locale: str):
    """(subject, text, problem): the shop's template, or the default when the shop's
    fails at send time; ``problem`` then says why."""
    data = context(session, shipment, order, locale)
    template = mail_templates.get_template(session, KIND, locale)
    try:
        subject = mail_templates.render(template.subject, data)
        body = mail_templates.render(template.body, data)
        return mail_templates.subject_line(subject), body, None
    except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        if not template.custom:
            raise
        problem = str(mail_templates.render_problem(exc))
    subject = mail_templates.render(SUBJECTS[locale], data)
    body = mail_templates.render(default_body(locale), data)
    return mail_templates.subject_line(subject), body, problem


def _row(session: UrakataSession, shipment_id: int) -> ShippedMail:
    session.execute(
        insert(ShippedMail.__table__)
        .values(tenant_id=session.tenant_id, shipment_id=shipment_id, status="queued",
                locale="", attempts=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )  # fmt: skip
    return session.scalars(
        select(ShippedMail).where(ShippedMail.shipment_id == shipment_id).with_for_update()
    ).one()


def send_shipped_mail(
    session: UrakataSession,
    *,
    actor: Actor,
    shipment_id: int,
    transport: Transport,
    pii_key: bytes,
) -> str:
    """Render and send one shipment's mail; what happened, in a word."""
    shipment = fulfilment.get_shipment(session, shipment_id)
    order = session.scalars(select(Order).where(Order.id == shipment.order_id)).one()
    row = _row(session, shipment_id)
    if row.status == "sent":
        return "already sent"
    if shipment.status != "shipped":
        row.status, row.updated_at = "skipped", utcnow()
        audit.record(session, actor, "shipment.shipped_mail_skipped", object_type="shipment",
                     object_id=shipment.id, data={"reason": shipment.status})  # fmt: skip
        return "skipped"
    if not order.customer_email:
        row.status, row.updated_at = "no_address", utcnow()
        audit.record(session, actor, "shipment.shipped_mail_skipped", object_type="shipment",
                     object_id=shipment.id, data={"reason": "no_address"})  # fmt: skip
        return "no_address"
    locale = choose_locale(order)
    subject, text, problem = render(session, shipment, order, locale)
    done = deliver(
        session, actor, row, to_address=order.customer_email, subject=subject, text=text,
        locale=locale, problem=problem, transport=transport, pii_key=pii_key,
        action="shipment.shipped_mail", object_type="shipment", object_id=shipment.id, data={},
    )  # fmt: skip
    if done == "sent":
        row.sent_at = row.updated_at
    return done


def record_failure(
    session: UrakataSession, *, actor: Actor, shipment_id: int, exc: Exception, final: bool,
    pii_key: bytes,
) -> None:  # fmt: skip
    """A send attempt that raised (in the job's failure transaction)."""
    row = _row(session, shipment_id)
    row.attempts += 1
    mail_failed(session, actor, row, exc, final=final, to="", action="shipment.shipped_mail",
                object_type="shipment", object_id=shipment_id)  # fmt: skip


def state_of(session: UrakataSession, shipment_id: int) -> ShippedMail | None:
    return session.get(ShippedMail, (session.tenant_id, shipment_id))
