"""The shop's orders: the list with filters, the order page with its holds and ledger
timeline, the operator's actions on it, manual entry of phone orders, and CSV export.

Everyone in the shop reads its orders; shop admins and the agency's staff (agency
admins, the shop's operators) act on them, others get 403 on a POST. Every action is made
on the version the page showed: an older one answers 409 ("someone changed this"), input
the service refuses 422 with the message next to its field, a move the order's state does
not allow 409 with the reason. When agency staff open an order (personal data) or
download an export, the read is recorded on the shop's ledger.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from types import MappingProxyType

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from urakata.platform import audit, jpaddress
from urakata.platform.identity import SHOP_ROLES
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.app import ship_day
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.task_pages import (
    csv_download,
    export_state,
    progress_response,
    shown_result,
    start_export,
    task_or_404,
)
from urakata.portal.shop.task_views import status_text
from urakata.portal.timeline import timeline
from urakata.tenants.orders.models import (
    PAYMENT_STATUSES,
    STATUSES,
    Order,
)
from urakata.tenants.orders.services import (
    OVERRIDABLE,
    IllegalTransition,
    OrderConflict,
    OrderFilter,
    OrderInvalid,
    StaleOrder,
    cancel,
    edit_address,
    get_order,
    hold_message,
    intake,
    list_orders,
    put_on_hold,
    record_payment,
    release,
)

PER_PAGE = 50
LINE_ROWS = 5
# The export's task kind and job; the same names as urakata.worker.order_jobs (the portal
# may not import the worker, tests/portal/orders checks they agree).
EXPORT_KIND = "orders.export"
EXPORT_JOB = "orders.export_csv"
EXPORT_QUEUE = "default"
EXPORT_ENCODINGS = ("utf-8", "cp932")

menu_entry("shop.orders", _l("Orders"), "orders.view")

STATUS_LABELS = {
    "received": _l("Received"),
    "on_hold": _l("On hold"),
    "confirmed": _l("Confirmed"),
    "released": _l("Released for allocation"),
    "allocated": _l("Allocated"),
    "instructed": _l("Shipping instructed"),
    "inspected": _l("Picked and inspected"),
    "packed": _l("Packed"),
    "shipped": _l("Shipped"),
    "cancelled": _l("Cancelled"),
}
HOLD_LABELS = {
    "postal_code": _l("Postal code"),
    "phone": _l("Phone number"),
    "address": _l("Address"),
    "address_length": _l("Address too long for the carrier"),
    "sku_unknown": _l("Unknown SKU"),
    "sku_inactive": _l("SKU not on sale"),
    "duplicate": _l("Suspected duplicate"),
    "totals": _l("Totals do not match"),
    "manual": _l("Held by an operator"),
    "payment": _l("Waiting for payment"),
    "out_of_stock": _l("Out of stock"),
}
PAYMENT_METHOD_LABELS = {
    "card": _l("Credit card"),
    "bank_transfer": _l("Bank transfer"),
    "cod": _l("Cash on delivery"),
    "konbini": _l("Convenience store payment"),
    "atobarai": _l("Deferred payment (atobarai)"),
    "other": _l("Other"),
}
PAYMENT_STATUS_LABELS = {
    "unpaid": _l("Unpaid"),
    "authorized": _l("Authorised"),
    "paid": _l("Paid"),
    "refunded": _l("Refunded"),
}
CHANNEL_LABELS = {
    "shopify": _l("Shopify"),
    "rakuten": _l("Rakuten Ichiba"),
    "amazon": _l("Amazon"),
    "csv": _l("CSV import"),
    "api": _l("API"),
    "manual": _l("Manual entry"),
}
SLOT_LABELS = {
    "am": _l("Morning"),
    "14-16": _l("14:00–16:00"),
    "16-18": _l("16:00–18:00"),
    "18-20": _l("18:00–20:00"),
    "19-21": _l("19:00–21:00"),
}


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    choices = [SelectChoice(value, label) for value, label in labels.items()]
    return [SelectChoice("", blank), *choices] if blank is not None else choices


def _prefecture_choices() -> list[SelectChoice]:
    options = [SelectChoice(code, name) for code, name in jpaddress.PREFECTURES.items()]
    return [SelectChoice("", _l("Choose a prefecture")), *options]


# --- forms ------------------------------------------------------------------------------


class ShipToFields(FlaskForm):
    """The ship-to, named as the order's columns (``ship_<field>``)."""

    ship_name = StringField(_l("Recipient name"))
    ship_postal_code = StringField(
        _l("Postal code"),
        description=_l("7 digits, such as 100-0001."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    ship_prefecture = SelectField(
        _l("Prefecture"), choices=_prefecture_choices, validate_choice=False
    )
    ship_city = StringField(_l("City, ward, town"))
    ship_street = StringField(_l("Street and number"))
    ship_building = StringField(_l("Building and room"))
    ship_phone = StringField(_l("Recipient phone"), render_kw={"inputmode": "tel"})

    SHIP_FIELDS = ("name", "postal_code", "prefecture", "city", "street", "building", "phone")

    def ship_to(self) -> dict:
        return {name: (self[f"ship_{name}"].data or "").strip() for name in self.SHIP_FIELDS}


class VersionedForm(FlaskForm):
    version = HiddenField()


class HoldForm(VersionedForm):
    note = StringField(
        _l("Why hold the order"), description=_l("Shown on the order as the hold reason.")
    )


class ReleaseForm(VersionedForm):
    overrides = SelectMultipleField(
        _l("Override these reasons"),
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class AddressForm(VersionedForm, ShipToFields):
    pass


class CancelForm(VersionedForm):
    reason = StringField(_l("Reason for cancelling"))


class PaymentForm(VersionedForm):
    payment_status = SelectField(
        _l("Payment status"), choices=_choices(PAYMENT_STATUS_LABELS), validate_choice=False
    )


class LineForm(Form):
    sku = StringField(_l("SKU"))
    name = StringField(_l("Product name"), description=_l("Blank: the catalog's name."))
    quantity = StringField(_l("Quantity"), render_kw={"inputmode": "numeric"})
    unit_price_yen = StringField(
        _l("Unit price (yen, tax included)"), render_kw={"inputmode": "numeric"}
    )


LINE_FIELDS = ("sku", "name", "quantity", "unit_price_yen")


class ManualOrderForm(ShipToFields):
    """A phone order as the operator takes it down; the service validates and checks."""

    external_id = StringField(
        _l("Order number"),
        description=_l("Blank: a number is made from the date and time (TEL-…)."),
    )
    customer_name = StringField(_l("Customer name"))
    customer_kana = StringField(_l("Customer name (kana)"))
    customer_email = StringField(_l("Customer email"), render_kw={"inputmode": "email"})
    customer_phone = StringField(_l("Customer phone"), render_kw={"inputmode": "tel"})
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=LINE_ROWS)
    payment_method = SelectField(
        _l("Payment method"),
        choices=_choices(PAYMENT_METHOD_LABELS, blank=_l("Choose a payment method")),
        validate_choice=False,
    )
    payment_status = SelectField(
        _l("Payment status"), choices=_choices(PAYMENT_STATUS_LABELS), validate_choice=False
    )
    shipping_fee_yen = StringField(_l("Shipping fee (yen)"), render_kw={"inputmode": "numeric"})
    fee_yen = StringField(_l("COD or payment fee (yen)"), render_kw={"inputmode": "numeric"})
    discount_yen = StringField(_l("Discount (yen)"), render_kw={"inputmode": "numeric"})
    delivery_date = StringField(
        _l("Requested delivery date"), description=_l("Such as 2026-12-01. May be blank.")
    )
    delivery_slot = SelectField(
        _l("Delivery time slot"),
        choices=_choices(SLOT_LABELS, blank=_l("No preference")),
        validate_choice=False,
    )
    gift_wrap = BooleanField(_l("Gift wrapping"))
    noshi = StringField(_l("Noshi (gift paper)"), description=_l("Such as 御歳暮. May be blank."))
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3})

    CUSTOMER_FIELDS = ("name", "kana", "email", "phone")
    OPTIONAL = ("shipping_fee_yen", "fee_yen", "discount_yen", "delivery_date", "delivery_slot")

    def order_data(self, zone) -> tuple[dict, list[int]]:
        """The order as the service takes it, and the form row of each line sent."""
        lines, rows = [], []
        for n, entry in enumerate(self.lines):
            values = {k: (entry.form[k].data or "").strip() for k in LINE_FIELDS}
            if not any(values.values()):
                continue
            line = {k: values[k] for k in ("sku", "quantity", "unit_price_yen")}
            if values["name"]:
                line["name"] = values["name"]
            lines.append(line)
            rows.append(n)
        data = {
            "external_id": (self.external_id.data or "").strip()
            or datetime.now(zone).strftime("TEL-%Y%m%d-%H%M%S"),
            "customer": {k: (self[f"customer_{k}"].data or "").strip()
                         for k in self.CUSTOMER_FIELDS},
            "ship_to": self.ship_to(),
            "lines": lines,
            "payment_method": self.payment_method.data or "",
            "payment_status": self.payment_status.data or "unpaid",
            "gift_wrap": bool(self.gift_wrap.data),
            "noshi": (self.noshi.data or "").strip(),
            "notes": (self.notes.data or "").strip(),
        }  # fmt: skip
        for name in self.OPTIONAL:
            value = (self[name].data or "").strip()
            if value:
                data[name] = value
        return data, rows


class ExportForm(FlaskForm):
    encoding = SelectField(
        _l("Character encoding"),
        choices=[SelectChoice("utf-8", "UTF-8"), SelectChoice("cp932", "Shift_JIS (CP932)")],
        validate_choice=False,
    )
    status = HiddenField()
    hold = HiddenField()
    payment = HiddenField()
    until = HiddenField()
    q = HiddenField()


# --- filters, shared with the agency's queue ---------------------------------------------


def parse_filters(args) -> tuple[OrderFilter, dict[str, str]]:
    """The list filters from the query string (unknown values are ignored), and as shown."""
    status = args.get("status") if args.get("status") in STATUSES else None
    hold = args.get("hold") if args.get("hold") in HOLD_LABELS else None
    payment = args.get("payment") if args.get("payment") in PAYMENT_STATUSES else None
    until = None
    try:
        until = date.fromisoformat(args.get("until", "").strip()) if args.get("until") else None
    except ValueError:
        until = None
    query = (args.get("q") or "").strip()[:100]
    shown = {
        "status": status or "",
        "hold": hold or "",
        "payment": payment or "",
        "until": until.isoformat() if until else "",
        "q": query,
    }
    return OrderFilter(status, hold, payment, until, query), shown


_LABEL_SETS = {
    "status_labels": STATUS_LABELS,
    "hold_labels": HOLD_LABELS,
    "payment_labels": PAYMENT_STATUS_LABELS,
    "method_labels": PAYMENT_METHOD_LABELS,
    "channel_labels": CHANNEL_LABELS,
    "slot_labels": SLOT_LABELS,
}
# Per locale: the catalogs do not change while the process runs (they are compiled at start).
_TRANSLATED_LABEL_SETS: dict[str, dict[str, MappingProxyType]] = {}


def label_sets() -> dict:
    """The labels of the order pages in the request's language (a lazy string is translated
    again at every use, several times a row on a list): translated once per locale, and
    read-only, since every request of that locale shares them."""
    locale = str(get_locale())
    sets = _TRANSLATED_LABEL_SETS.get(locale)
    if sets is None:
        sets = {name: MappingProxyType({k: str(v) for k, v in labels.items()})
                for name, labels in _LABEL_SETS.items()}  # fmt: skip
        _TRANSLATED_LABEL_SETS[locale] = sets
    return dict(sets)


def yen(value: int) -> str:
    return f"¥{value:,}"


_PROBE_ID = 918273645


def order_href(shop_slug: str | None = None) -> str:
    """The order page's URL up to its id (``/s/<shop>/orders/``): a list appends each row's
    id instead of building the whole URL once a row. ``shop_slug`` defaults to the URL's."""
    url = url_for("shop.order", order_id=_PROBE_ID, **({"shop": shop_slug} if shop_slug else {}))
    if not url.endswith(f"/{_PROBE_ID}"):  # the route changed shape: do not guess
        raise RuntimeError(f"the order page's URL no longer ends with its id: {url}")
    return url.removesuffix(str(_PROBE_ID))


# --- the list ----------------------------------------------------------------------------


@bp.get("/orders")
def orders():
    require_permission("orders.view")
    filters, shown = parse_filters(request.args)
    after = request.args.get("after", type=int)
    page = list_orders(db_session(), filters, after_id=after, limit=PER_PAGE, with_lines=False)
    return render_template(
        "shop/orders/list.html",
        shop=g.shop,
        page=page,
        filters=shown,
        first_page=after is None,
        can_edit=has_permission("orders.edit"),
        export_form=ExportForm(formdata=None, data=shown),
        local=_local,
        yen=yen,
        order_href=order_href(),
        ship_day=functools.lru_cache(maxsize=None)(ship_day),  # a few days across the page
        **label_sets(),
    )


# --- the order page -----------------------------------------------------------------------


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    require_permission("orders.view")
    current = _order_or_404(order_id)
    if _agency_staff():
        audit.record_read(
            db_session(), current_actor(), what="order", object_type="order", object_id=current.id
        )
    return _order_page(current)


def _order_or_404(order_id: int) -> Order:
    try:
        return get_order(db_session(), order_id)
    except NotFound:
        abort(404)


def _agency_staff() -> bool:
    """Not one of the shop's own users: the agency's staff, auditors."""
    return not (g.shop_roles & SHOP_ROLES)


def _order_page(current: Order, *, forms: dict | None = None, unplaced=(), problem=None):
    editable = has_permission("orders.edit") and current.status != "cancelled"
    shown = {**(_blank_forms(current) if editable else {}), **(forms or {})}
    return render_template(
        "shop/orders/order.html",
        shop=g.shop,
        order=current,
        ship=_ship_shown(current),
        holds=[
            (h, translate_message(hold_message(h)), h["code"] in OVERRIDABLE) for h in current.holds
        ],
        forms=shown if editable else {},
        unplaced=unplaced,
        problem=problem,
        history=timeline("order", current.id, limit=50),
        local=_local,
        yen=yen,
        **label_sets(),
    )


def _blank_forms(current: Order) -> dict:
    version = {"version": current.version}
    forms = {
        "address": AddressForm(
            formdata=None,
            data={**version, **{f"ship_{k}": getattr(current, f"ship_{k}") for k in
                                ShipToFields.SHIP_FIELDS}},
        ),
        "cancel": CancelForm(formdata=None, data=version),
        "payment": PaymentForm(
            formdata=None, data={**version, "payment_status": current.payment_status}
        ),
    }  # fmt: skip
    if current.status == "on_hold":
        forms["release"] = _release_form(current, ReleaseForm(formdata=None, data=version))
    else:
        forms["hold"] = HoldForm(formdata=None, data=version)
    return forms


def _release_form(current: Order, form: ReleaseForm) -> ReleaseForm:
    codes = dict.fromkeys(h["code"] for h in current.holds if h["code"] in OVERRIDABLE)
    form.overrides.choices = [SelectChoice(c, HOLD_LABELS.get(c, c)) for c in codes]
    return form


def _ship_shown(current: Order) -> dict[str, str]:
    postal = current.ship_postal_code
    if postal.isdigit() and len(postal) == 7:
        postal = jpaddress.format_postal_code(postal)
    try:
        prefecture = jpaddress.prefecture_name(current.ship_prefecture)
    except KeyError:
        prefecture = current.ship_prefecture
    return {"postal_code": postal, "prefecture": prefecture}


def _local(moment: datetime | None) -> str:
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


# --- actions -------------------------------------------------------------------------------


def _posted(form: VersionedForm) -> int:
    """The version the page showed; 400 for a form that is not one of ours."""
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        return int(form.version.data)
    except ValueError:
        abort(400)


def _done(current: Order, message: str):
    flash(message, "success")
    return redirect(url_for("shop.order", order_id=current.id), 303)


def _act(order_id: int, form: VersionedForm, name: str, action, done_message):
    """Load, check, call the service on the posted version; the same answers for every action."""
    require_permission("orders.edit")
    current = _order_or_404(order_id)
    version = _posted(form)
    try:
        action(current, version)
    except OrderInvalid as exc:
        if name == "release":
            form = _release_form(current, form)
        unplaced = _attach_errors(form, exc.errors)
        return _order_page(current, forms={name: form}, unplaced=unplaced), 422
    except StaleOrder:
        return _conflict(current.id, version)
    except IllegalTransition as exc:
        return _refused(current.id, translate_message(exc.message))
    return _done(current, done_message())


@bp.post("/orders/<int:order_id>/hold")
def hold_order(order_id: int):
    form = HoldForm()

    def action(current, version):
        put_on_hold(db_session(), actor=current_actor(), order_id=current.id, version=version,
                    note=form.note.data or "")  # fmt: skip

    return _act(order_id, form, "hold", action, lambda: _("The order is on hold."))


@bp.post("/orders/<int:order_id>/release")
def release_order(order_id: int):
    form = ReleaseForm()

    def action(current, version):
        release(db_session(), actor=current_actor(), order_id=current.id, version=version,
                overrides=form.overrides.data or ())  # fmt: skip

    return _act(order_id, form, "release", action, lambda: _("The order was released."))


@bp.post("/orders/<int:order_id>/address")
def edit_order_address(order_id: int):
    form = AddressForm()

    def action(current, version):
        data = {"version": version, **form.ship_to()}
        edit_address(db_session(), actor=current_actor(), order_id=current.id, data=data)

    return _act(order_id, form, "address", action, lambda: _("The shipping address was saved."))


@bp.post("/orders/<int:order_id>/cancel")
def cancel_order(order_id: int):
    form = CancelForm()

    def action(current, version):
        reason = (form.reason.data or "").strip()
        if not reason:
            raise OrderInvalid({"reason": [_("Say why the order is cancelled.")]})
        cancel(db_session(), actor=current_actor(), order_id=current.id, version=version,
               reason=reason)  # fmt: skip

    return _act(order_id, form, "cancel", action, lambda: _("The order was cancelled."))


@bp.post("/orders/<int:order_id>/payment")
def record_order_payment(order_id: int):
    form = PaymentForm()

    def action(current, version):
        record_payment(db_session(), actor=current_actor(), order_id=current.id,
                       version=version, status=form.payment_status.data or "")  # fmt: skip

    return _act(order_id, form, "payment", action, lambda: _("The payment status was saved."))


def _conflict(order_id: int, version: int):
    session = db_session()
    session.rollback()  # a flush refused by the version check leaves nothing to keep
    current = get_order(session, order_id)  # as someone else saved it
    page = render_template("shop/orders/conflict.html", shop=g.shop, order=current, edited=version)
    return page, 409


def _refused(order_id: int, reason: str):
    """The order's state does not allow the move: say why, change nothing."""
    session = db_session()
    session.rollback()  # a release re-checks holds before refusing; keep none of it
    return _order_page(get_order(session, order_id), problem=reason), 409


def _attach_errors(form: FlaskForm, errors: dict[str, list]) -> list[str]:
    """Put each message next to its field; return those that belong to no field.

    The service names fields as the API does (``ship_to.postal_code``, ``lines[0].sku``);
    the forms name them as the order's columns (``ship_postal_code``).
    """
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        field = _form_field(form, name)
        if field is not None:
            field.errors = [*field.errors, *texts]
        else:
            unplaced.extend(texts if name in ("_schema", "lines") else
                            [f"{_field_label(form, name)}: {t}" for t in texts])  # fmt: skip
    return unplaced


def _form_field(form: FlaskForm, name: str):
    candidates = [name, name.replace("ship_to.", "ship_").replace("customer.", "customer_")]
    if isinstance(form, AddressForm):
        candidates.append(f"ship_{name}")
    for candidate in candidates:
        if candidate in form and candidate not in ("version", "lines"):
            return form[candidate]
    return None


def _field_label(form: FlaskForm, name: str) -> str:
    field = _form_field(form, name)
    return str(field.label.text) if field is not None else name


# --- manual entry -------------------------------------------------------------------------


@bp.route("/orders/new", methods=["GET", "POST"])
def new_order():
    require_permission("orders.edit")
    form = ManualOrderForm(data={"payment_status": "unpaid"})
    if not form.is_submitted():
        return _new_page(form)
    if not form.validate():
        abort(400)
    data, rows = form.order_data(g.shop.zone)
    try:
        taken = intake(db_session(), actor=current_actor(), data=data, channel="manual")
    except OrderInvalid as exc:
        line_errors, unplaced = _attach_entry_errors(form, exc.errors, rows)
        return _new_page(form, unplaced, line_errors), 422
    except OrderConflict as exc:
        form.external_id.errors = [*form.external_id.errors, translate_message(exc.message)]
        return _new_page(form), 422
    if taken.status == "on_hold":
        flash(_("Order %(id)s was taken in and is on hold: see the reasons below.",
                id=taken.external_id), "warning")  # fmt: skip
    else:
        flash(_("Order %(id)s was taken in.", id=taken.external_id), "success")
    return redirect(url_for("shop.order", order_id=taken.id), 303)


def _attach_entry_errors(form: ManualOrderForm, errors: dict, rows: list[int]):
    """Line errors go to the line's row of the form; the rest as :func:`_attach_errors`."""
    line_errors: list[str] = []
    others = {}
    for name, messages in errors.items():
        if not name.startswith("lines"):
            others[name] = messages
            continue
        texts = [translate_message(m) for m in messages]
        index, _dot, field = name.removeprefix("lines").partition(".")
        if index.startswith("[") and index.endswith("]") and index[1:-1].isdigit():
            row = rows[int(index[1:-1])]
            entry = form.lines[row]
            if field in entry.form:
                entry.form[field].errors = [*entry.form[field].errors, *texts]
                continue
            line_errors.extend(_("Line %(n)s: %(problem)s", n=row + 1, problem=t) for t in texts)
        else:
            line_errors.extend(texts)
    return line_errors, _attach_errors(form, others)


def _new_page(form: ManualOrderForm, unplaced=(), line_errors=()):
    return render_template(
        "shop/orders/new.html",
        shop=g.shop,
        form=form,
        unplaced=unplaced,
        line_errors=line_errors,
    )


# --- export ------------------------------------------------------------------------------


@bp.post("/orders/export")
def export_orders():
    """Start the export job for the list's filters; its page shows the progress bar."""
    require_permission("orders.view")
    form = ExportForm()
    if not form.validate() or form.encoding.data not in EXPORT_ENCODINGS:
        abort(400)
    filters, shown = parse_filters(
        {"status": form.status.data, "hold": form.hold.data, "payment": form.payment.data,
         "until": form.until.data, "q": form.q.data}
    )  # fmt: skip
    return start_export(
        kind=EXPORT_KIND,
        job=EXPORT_JOB,
        queue=EXPORT_QUEUE,
        page="shop.order_export",
        encoding=form.encoding.data,
        status=filters.status,
        hold=filters.hold,
        payment_status=filters.payment_status,
        ship_by_until=shown["until"] or None,
        query=filters.query,
    )


def export_status_text(task: ShopTask) -> str:
    if task.status == TaskStatus.running and task.progress_total:
        return _(
            "Writing: %(done)s of %(total)s orders",
            done=format_number(task.progress_done),
            total=format_number(task.progress_total),
        )
    result = task.result or {}
    if task.status == TaskStatus.done and "orders" in result:
        return _(
            "Done: %(orders)s orders in %(rows)s rows.",
            orders=format_number(result["orders"]),
            rows=format_number(result["rows"]),
        )
    return status_text(task)


def _export_state(task: ShopTask) -> dict:
    return export_state(
        task, status_text=export_status_text(task), download="shop.download_order_export"
    )


@bp.get("/orders/export/<uuid:task_id>")
def order_export(task_id: uuid.UUID):
    require_permission("orders.view")
    task = task_or_404(task_id, EXPORT_KIND)
    return render_template(
        "shop/orders/export.html",
        shop=g.shop,
        task=task,
        state=_export_state(task),
        result=shown_result(task),
        local=_local,
    )


@bp.get("/orders/export/<uuid:task_id>/progress.json")
def order_export_progress(task_id: uuid.UUID):
    require_permission("orders.view")
    return progress_response(_export_state(task_or_404(task_id, EXPORT_KIND)))


@bp.get("/orders/export/<uuid:task_id>/download")
def download_order_export(task_id: uuid.UUID):
    require_permission("orders.view")
    task = task_or_404(task_id, EXPORT_KIND)
    result = task.result or {}
    if task.status != TaskStatus.done or "file" not in result:
        abort(404)
    if _agency_staff():
        audit.record_read(
            db_session(),
            current_actor(),
            what="orders CSV",
            object_type="task",
            object_id=task.id,
            rows=result.get("rows"),
            export=True,
        )
    return csv_download(task)
