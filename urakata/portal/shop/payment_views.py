"""Payments in the shop's pages: the orders waiting for payment, the payment settings, and
the payment and confirmation-mail panel of the order page with its two actions (record
a payment notice; resend the confirmation).

Everyone in the shop reads; shop admins and the agency's staff record notices
(``payments.record``) and resend mails (``orders.edit``); shop and agency admins change
the settings (``payments.settings``). A notice posted twice (a double click, a reload)
carries the same event id, so it is recorded once. Bank statements and the matching desk
are in ``urakata.portal.agency.payment_views``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from urakata.platform import audit
from urakata.platform.identity import SHOP_ROLES
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.order_views import _order_page
from urakata.portal.timeline import timeline
from urakata.tenants.orders import confirmation
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import (
    IllegalTransition,
    OrderInvalid,
    StaleOrder,
    get_order,
)
from urakata.tenants.payments import gates, matching
from urakata.tenants.payments.settings import (
    FIELDS,
    SettingsInvalid,
    StaleSettings,
    get_payment_settings,
    update_payment_settings,
)

menu_entry("shop.payments_waiting", _l("Payments"), "payments.view")

WAITS_FOR_LABELS = {
    "deposit": _l("Waiting for the bank transfer"),
    "notice": _l("Waiting for the konbini payment"),
    "credit": _l("Waiting for the credit check"),
    "authorisation": _l("Waiting for the card authorisation"),
    "payment": _l("Waiting for payment"),
}
NOTICE_LABELS = {
    "authorized": _l("Card authorised"),
    "paid": _l("Paid (payment notice received)"),
    "voided": _l("Authorisation voided"),
    "refunded": _l("Refunded"),
    "credit_ok": _l("Credit check: OK"),
    "credit_hold": _l("Credit check: on hold"),
    "credit_ng": _l("Credit check: NG"),
}
NOTICE_CHOICES = {
    "card": ("authorized", "paid", "voided", "refunded"),
    "bank_transfer": ("paid", "refunded"),
    "konbini": ("paid", "refunded"),
    "atobarai": ("credit_ok", "credit_hold", "credit_ng", "paid", "refunded"),
    "cod": ("paid", "refunded"),
    "other": ("paid", "refunded"),
}
EFFECT_LABELS = {
    "released": _l("released"),
    "held": _l("put on hold"),
    "cancelled": _l("cancelled"),
    "confirmed": _l("confirmed"),
    "waiting": _l("still waiting"),
    "recorded": _l("unchanged"),
}
CONFIRMATION_LABELS = {
    "queued": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "no_address": _l("Not sent: the order has no e-mail address"),
    "cancelled": _l("Not sent: the order was cancelled"),
}
NG_POLICY_LABELS = {
    "hold": _l("Hold the order for a person to decide"),
    "cancel": _l("Cancel the order"),
}
ACCOUNT_TYPE_LABELS = {"ordinary": _l("Ordinary account"), "checking": _l("Checking account")}
LOCALE_LABELS = {"ja": _l("Japanese"), "en": _l("English")}
PAYMENT_HOLD_LABEL = _l("Payment not cleared")
SETTING_LABELS = {
    "konbini_expiry_days": _l("Konbini payment expires after (days)"),
    "atobarai_ng_policy": _l("When a deferred-payment credit check says NG"),
    "reminder_after_days": _l("Remind the shop of orders unpaid after (days)"),
    "transfer_due_days": _l("Bank transfer due within (days)"),
    "bank_name": _l("Bank"),
    "bank_branch": _l("Branch"),
    "bank_account_type": _l("Account type"),
    "bank_account_number": _l("Account number"),
    "bank_account_holder": _l("Account holder (katakana)"),
}
WAITING_LIMIT = 500


def yen(value: int) -> str:
    return f"¥{value:,}"


def agency_staff() -> bool:
    """Not one of the shop's own users: the agency's staff, auditors."""
    return not (g.shop_roles & SHOP_ROLES)


def local(moment: datetime | date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M")
    return moment.isoformat()


@bp.app_context_processor
def _payment_labels() -> dict:
    """The label of the order service's ``payment`` hold reason, for every shop page."""
    return {"payment_hold_label": PAYMENT_HOLD_LABEL}


# --- the waiting list -----------------------------------------------------------------------


@bp.get("/payments/waiting")
def payments_waiting():
    require_permission("payments.view")
    method = request.args.get("method", "")
    method = method if method in gates.WAITS_FOR else ""
    session = db_session()
    rows = gates.waiting_orders(session, method=method or None, limit=WAITING_LIMIT)
    names = {}
    if rows:
        ids = [r.order_id for r in rows]
        names = dict(session.execute(select(Order.id, Order.customer_name)
                                     .where(Order.id.in_(ids))).all())  # fmt: skip
        if agency_staff():
            audit.record_read(session, current_actor(), what="orders waiting for payment",
                              object_type="shop", object_id=g.shop.id, rows=len(rows))  # fmt: skip
    settings = get_payment_settings(session)
    konbini = {r.order_id: gates.konbini_due_date(r, settings, g.shop.zone)
               for r in rows if r.payment_method == "konbini"}  # fmt: skip
    return render_template(
        "payments/waiting.html",
        shop=g.shop,
        rows=rows,
        names=names,
        konbini=konbini,
        method=method,
        limit=WAITING_LIMIT,
        now=datetime.now(g.shop.zone),
        waits_labels=WAITS_FOR_LABELS,
        reminder_days=settings.reminder_after_days,
        yen=yen,
        local=local,
    )


# --- settings ------------------------------------------------------------------------------


class PaymentSettingsForm(FlaskForm):
    version = HiddenField()
    konbini_expiry_days = StringField(SETTING_LABELS["konbini_expiry_days"],
                                      description=_l("From 1 to 30. Unpaid orders are cancelled"
                                                     " after the last day (shop's time)."),
                                      render_kw={"inputmode": "numeric"})  # fmt: skip
    atobarai_ng_policy = SelectField(
        SETTING_LABELS["atobarai_ng_policy"],
        choices=[SelectChoice(k, v) for k, v in NG_POLICY_LABELS.items()],
        validate_choice=False,
    )
    reminder_after_days = StringField(SETTING_LABELS["reminder_after_days"],
                                      description=_l("A mail each morning lists them to the shop"
                                                     " admins."),
                                      render_kw={"inputmode": "numeric"})  # fmt: skip
    transfer_due_days = StringField(SETTING_LABELS["transfer_due_days"],
                                    description=_l("Printed in the confirmation mail as the"
                                                   " date to pay by."),
                                    render_kw={"inputmode": "numeric"})  # fmt: skip
    bank_name = StringField(SETTING_LABELS["bank_name"])
    bank_branch = StringField(SETTING_LABELS["bank_branch"])
    bank_account_type = SelectField(
        SETTING_LABELS["bank_account_type"],
        choices=[SelectChoice(k, v) for k, v in ACCOUNT_TYPE_LABELS.items()],
        validate_choice=False,
    )
    bank_account_number = StringField(SETTING_LABELS["bank_account_number"],
                                      render_kw={"inputmode": "numeric"})  # fmt: skip
    bank_account_holder = StringField(SETTING_LABELS["bank_account_holder"])


def _settings_data(settings) -> dict:
    data = {name: str(getattr(settings, name)) for name in FIELDS}
    data["version"] = settings.version if settings in db_session() else 0
    return data


@bp.route("/payments/settings", methods=["GET", "POST"])
def payment_settings():
    require_permission("payments.view")
    session = db_session()
    settings = get_payment_settings(session)
    editable = has_permission("payments.settings")
    form = PaymentSettingsForm(formdata=None, data=_settings_data(settings))
    if request.method == "GET":
        return _settings_page(settings, form if editable else None)
    require_permission("payments.settings")
    form = PaymentSettingsForm()
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        version = int(form.version.data)
    except ValueError:
        abort(400)
    data = {name: (form[name].data or "").strip() for name in FIELDS}
    try:
        update_payment_settings(session, actor=current_actor(), version=version, data=data)
    except SettingsInvalid as exc:
        for name, messages in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, *map(translate_message, messages)]
        return _settings_page(settings, form), 422
    except StaleSettings:
        session.rollback()
        flash(_("Someone saved the payment settings meanwhile. Here they are as saved; make"
                " your change again."), "error")  # fmt: skip
        fresh = get_payment_settings(session)
        return _settings_page(
            fresh, PaymentSettingsForm(formdata=None, data=_settings_data(fresh))
        ), 409
    flash(_("The payment settings were saved."), "success")
    return redirect(url_for("shop.payment_settings"), 303)


def _settings_page(settings, form):
    return render_template(
        "payments/settings.html",
        shop=g.shop,
        settings=settings,
        form=form,
        labels=SETTING_LABELS,
        ng_labels=NG_POLICY_LABELS,
        account_labels=ACCOUNT_TYPE_LABELS,
        history=timeline("payment_settings", g.shop.id, limit=20),
    )


# --- the order page's panel -------------------------------------------------------------------


class NoticeForm(FlaskForm):
    event_id = HiddenField()
    notice = SelectField(_l("What happened"), choices=[], validate_choice=False)
    note = StringField(_l("Note"), description=_l("Such as the payment service's reference."))


class ResendForm(FlaskForm):
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(k, v) for k, v in LOCALE_LABELS.items()],
        validate_choice=False,
    )


@dataclass
class PaymentPanel:
    order: Order
    waits_for: str | None
    received_yen: int
    konbini_due: date | None
    konbini_expires: datetime | None
    cod: gates.CodCollection | None
    events: list
    matches: list
    notice_form: NoticeForm | None
    confirmation: confirmation.ConfirmationMail | None
    resend_form: ResendForm | None

    @property
    def due_yen(self) -> int:
        return max(self.order.total_yen - self.received_yen, 0)


@bp.app_template_global("payment_panel")
def payment_panel(order: Order, notice_form: NoticeForm | None = None) -> PaymentPanel:
    """What the order page shows about the order's payment and its confirmation mail."""
    session = db_session()
    zone = g.shop.zone
    konbini = order.payment_method == "konbini"
    settings = get_payment_settings(session) if konbini else None  # only konbini dates use it
    open_order = order.status != "cancelled"
    if notice_form is None and open_order and has_permission("payments.record"):
        notice_form = NoticeForm(formdata=None, data={"event_id": f"portal-{uuid.uuid4().hex}"})
    if notice_form is not None:
        notice_form.notice.choices = [
            SelectChoice(k, NOTICE_LABELS[k]) for k in NOTICE_CHOICES.get(order.payment_method, ())
        ]
    resend = None
    if open_order and order.confirmed_at and order.customer_email and has_permission("orders.edit"):
        resend = ResendForm(formdata=None, data={"locale": confirmation.choose_locale(order)})
    matches = matching.matches_of_order(session, order.id)
    return PaymentPanel(
        order=order,
        waits_for=gates.waits_for(order),
        # What gates.received_yen sums (the live matches), from the matches shown anyway.
        received_yen=sum(m.amount_yen for m in matches if m.undone_at is None),
        konbini_due=gates.konbini_due_date(order, settings, zone) if konbini else None,
        konbini_expires=gates.konbini_expires_at(order, settings, zone) if konbini else None,
        cod=gates.cod_collection(order),
        events=gates.events_of(session, order.id, limit=20),
        matches=matches,
        notice_form=notice_form if open_order else None,
        confirmation=confirmation.state_of(session, order.id),
        resend_form=resend,
    )


@bp.app_template_global("payment_panel_labels")
def payment_panel_labels() -> dict:
    return {
        "waits": WAITS_FOR_LABELS,
        "notices": NOTICE_LABELS,
        "effects": EFFECT_LABELS,
        "confirmation": CONFIRMATION_LABELS,
        "locales": LOCALE_LABELS,
    }


def _order_or_404(order_id: int) -> Order:
    try:
        return get_order(db_session(), order_id)
    except NotFound:
        abort(404)


def _back(order: Order):
    return redirect(url_for("shop.order", order_id=order.id), 303)


@bp.post("/orders/<int:order_id>/payment-notice")
def record_payment_notice(order_id: int):
    require_permission("payments.record")
    order = _order_or_404(order_id)
    form = NoticeForm()
    if not form.validate():
        abort(400)
    notice = form.notice.data or ""
    event_id = (form.event_id.data or "").strip()
    if notice not in NOTICE_LABELS or not event_id.startswith("portal-"):
        abort(400)
    data = {"event_id": event_id, "note": (form.note.data or "").strip()}
    if notice.startswith("credit_"):
        data.update(type="credit_result", result=notice.removeprefix("credit_"))
    else:
        data["type"] = notice
    session = db_session()
    try:
        outcome = gates.record_event(session, actor=current_actor(), order_id=order.id,
                                     data=data, source="portal")  # fmt: skip
    except OrderInvalid as exc:
        return _refused(order.id, _texts(exc.errors)), 422
    except (IllegalTransition, gates.EventConflict) as exc:
        return _refused(order.id, translate_message(exc.message)), 409
    except StaleOrder:
        return _refused(order.id, _("The order changed meanwhile; look at it again.")), 409
    if outcome.replayed:
        flash(_("This notice was recorded already; nothing changed."), "warning")
    else:
        effect = EFFECT_LABELS.get(outcome.event.effect, outcome.event.effect)
        flash(_("The payment notice was recorded: the order is %(effect)s.", effect=effect),
              "success")  # fmt: skip
    return _back(order)


def _texts(errors: dict) -> str:
    return " ".join(translate_message(m) for messages in errors.values() for m in messages)


def _refused(order_id: int, problem: str):
    """The order page again with the reason, nothing kept (as the order actions answer)."""
    session = db_session()
    session.rollback()
    return _order_page(get_order(session, order_id), problem=problem)


@bp.post("/orders/<int:order_id>/confirmation")
def resend_confirmation(order_id: int):
    require_permission("orders.edit")
    order = _order_or_404(order_id)
    form = ResendForm()
    if not form.validate():
        abort(400)
    try:
        confirmation.request_resend(db_session(), actor=current_actor(), order_id=order.id,
                                    locale=form.locale.data or "")  # fmt: skip
    except OrderInvalid as exc:
        return _refused(order.id, _texts(exc.errors)), 422
    except IllegalTransition as exc:
        return _refused(order.id, translate_message(exc.message)), 409
    flash(_("The confirmation mail will be sent again in a moment."), "success")
    return _back(order)
