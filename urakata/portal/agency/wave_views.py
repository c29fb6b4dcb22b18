"""Waves for the agency's staff: the board across the operator's shops, and under each
shop its waves, the open shipments to wave by hand, waves by rules, a wave's page with its
progress and pick list, and the put-back list.

The board reads across shops through ``fan_out_across_tenants`` only. Every other page
lives under the shop's URL. Making a wave by hand carries a one-time token: the same form
sent twice (a double click) finds the wave the first one made. Rows carry order numbers,
never customers' names or addresses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, HiddenField, SelectField, StringField

from urakata.platform import tasks
from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound, Tenant, fan_out_across_tenants
from urakata.portal.access import require_agency_role, require_permission, shops_for
from urakata.portal.actor import current_actor
from urakata.portal.agency.views import bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp as shop_bp
from urakata.portal.shop.blueprint import menu_entry
from urakata.portal.shop.task_pages import progress_response
from urakata.portal.shop.task_views import status_text
from urakata.tenants.fulfilment import jobs as fulfilment_jobs
from urakata.tenants.fulfilment import picklist
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import (
    CARRIERS,
    COOL_TYPES,
    SERVICES,
    WAVE_STATUSES,
    Wave,
)
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import get_order

PER_PAGE = 50
PERMISSION = "stock.move"  # picking is the agency's warehouse work

menu_entry("shop.waves", _l("Waves and picking"), PERMISSION)

CARRIER_LABELS = {
    "yamato": _l("Yamato Transport"),
    "sagawa": _l("Sagawa Express"),
    "japan_post": _l("Japan Post"),
}
SERVICE_LABELS = {
    "takkyubin": _l("TA-Q-BIN"),
    "compact": _l("TA-Q-BIN Compact"),
    "nekopos": _l("Nekopos"),
    "hikyaku": _l("Hikyaku Express"),
    "yu_pack": _l("Yu-Pack"),
    "yu_packet": _l("Yu-Packet"),
}
COOL_LABELS = {"none": _l("Ambient"), "chilled": _l("Chilled"), "frozen": _l("Frozen")}
WAVE_STATUS_LABELS = {
    "open": _l("Open"),
    "picking": _l("Picking"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}
WAVE_KIND_LABELS = {
    "single": _l("Single-item"),
    "multi": _l("Multi-item"),
    "mixed": _l("Mixed"),
}
SHIPMENT_STATUS_LABELS = {
    "instructed": _l("Instructed"),
    "waved": _l("In a wave"),
    "picking": _l("Picking"),
    "inspected": _l("Inspected"),
    "packed": _l("Packed"),
    "shipped": _l("Shipped"),
    "returned": _l("Back to allocation"),
    "cancelled": _l("Cancelled"),
}
SLOT_LABELS = {
    "am": _l("Morning"),
    "12-14": "12–14",
    "14-16": "14–16",
    "16-18": "16–18",
    "18-20": "18–20",
    "19-21": "19–21",
}
SCAN_OUTCOME_LABELS = {
    "unknown_code": _l("Not an item of this shop"),
    "wrong_item": _l("Wrong item"),
    "wrong_lot": _l("Wrong lot"),
    "too_many": _l("Too many"),
}


def labels() -> dict:
    return {
        "carrier_labels": CARRIER_LABELS,
        "service_labels": SERVICE_LABELS,
        "cool_labels": COOL_LABELS,
        "wave_status_labels": WAVE_STATUS_LABELS,
        "wave_kind_labels": WAVE_KIND_LABELS,
        "shipment_status_labels": SHIPMENT_STATUS_LABELS,
        "slot_labels": SLOT_LABELS,
        "scan_outcome_labels": SCAN_OUTCOME_LABELS,
    }


def _choices(values, names, blank=None) -> list[tuple[str, object]]:
    first = [("", blank)] if blank is not None else []
    return first + [(v, names[v]) for v in values]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --- the board across the operator's shops ----------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    shop_slug: str
    shop_name: str
    allocated_orders: int
    open_shipments: int
    waves: list  # [(id, label, status, shipments, percent, ship_by)]


def _board_of(shop: Tenant):
    def work(session) -> BoardRow:
        allocated = session.scalar(select(func.count()).where(Order.status == "allocated"))
        open_count = fulfilment.count_open(session, fulfilment.ShipmentFilter())
        active = fulfilment.list_waves(session, fulfilment.WaveFilter(), limit=PER_PAGE)
        waves = [
            (
                w.id,
                w.label,
                w.status,
                w.shipment_count,
                fulfilment.wave_progress(session, w.id).percent,
                w.ship_by_date,
            )
            for w in active
            if w.status in ("open", "picking")
        ]
        return BoardRow(shop.slug, shop.name, allocated or 0, open_count, waves)

    return work


@bp.get("/waves")
def wave_board():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    chosen = shops
    slug = request.args.get("shop", "").strip()
    if slug:
        chosen = [s for s in shops if s.slug == slug]
        if not chosen:
            abort(404)
    works = {s.id: _board_of(s) for s in chosen}
    rows = fan_out_across_tenants(
        get_db(), list(works), lambda session: works[session.tenant_id](session)
    )
    return render_template(
        "fulfilment/board.html",
        shops=shops,
        rows=[rows[s.id] for s in chosen],
        shop_filter=slug,
        **labels(),
    )


# --- one shop's waves -------------------------------------------------------------------------


class RulesForm(FlaskForm):
    carrier = SelectField(_l("Carrier"), choices=[], validate_choice=False)
    cool_type = SelectField(_l("Cool type"), choices=[], validate_choice=False)
    ship_by_until = StringField(
        _l("Ship by (on or before)"), render_kw={"type": "date"}, description=_l("Blank: all.")
    )
    separate_single = BooleanField(_l("Single-item parcels in waves of their own"), default=True)
    max_shipments = StringField(
        _l("At most shipments per wave"), default="100", render_kw={"inputmode": "numeric"}
    )
    max_units = StringField(
        _l("At most pieces per wave"), default="400", render_kw={"inputmode": "numeric"}
    )

    def with_choices(self) -> RulesForm:
        self.carrier.choices = _choices(CARRIERS, CARRIER_LABELS, _l("All carriers"))
        self.cool_type.choices = _choices(COOL_TYPES, COOL_LABELS, _l("All cool types"))
        return self


class CsrfOnlyForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""


class HandWaveForm(FlaskForm):
    key = HiddenField()


def _whole(text: str | None, field: str, errors: dict) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        errors[field] = [_("Enter a whole number.")]
        return 0


def _waves_page(rules_form: RulesForm | None = None, problems=(), status: int = 200):
    session = db_session()
    f = fulfilment.WaveFilter(
        status=request.args.get("status") if request.args.get("status") in WAVE_STATUSES else None,
        carrier=request.args.get("carrier") if request.args.get("carrier") in CARRIERS else None,
    )
    before = request.args.get("before", type=int)
    rows = fulfilment.list_waves(session, f, before_id=before, limit=PER_PAGE + 1)
    shown = rows[:PER_PAGE]
    return render_template(
        "fulfilment/waves.html",
        shop=g.shop,
        rows=shown,
        progress={w.id: fulfilment.wave_progress(session, w.id) for w in shown},
        older=shown[-1].id if len(rows) > PER_PAGE else None,
        filters={"status": f.status or "", "carrier": f.carrier or ""},
        open_count=fulfilment.count_open(session, fulfilment.ShipmentFilter()),
        allocated_count=session.scalar(select(func.count()).where(Order.status == "allocated")),
        rules_form=rules_form or RulesForm(formdata=None).with_choices(),
        instruct_form=CsrfOnlyForm(formdata=None),
        problems=problems,
        **labels(),
    ), status


@shop_bp.get("/waves")
def waves():
    require_permission(PERMISSION)
    return _waves_page()


@shop_bp.post("/waves/instruct")
def instruct_allocated():
    """Ask for shipping instructions of the shop's allocated orders (a job, after commit)."""
    require_permission(PERMISSION)
    if not CsrfOnlyForm().validate():
        abort(400)
    if fulfilment_jobs.request_instructions(db_session()):
        flash(_("Shipping instructions for the allocated orders have started."), "success")
    else:
        flash(_("Shipping instructions are already waiting to start."), "warning")
    return redirect(url_for("shop.waves"), 303)


@shop_bp.post("/waves/build")
def build_waves():
    require_permission(PERMISSION)
    form = RulesForm().with_choices()
    if not form.validate():
        abort(400)
    errors: dict[str, list] = {}
    rules = fulfilment.WaveRules(
        carrier=form.carrier.data or None,
        cool_type=form.cool_type.data or None,
        ship_by_until=_day(form.ship_by_until.data),
        separate_single=bool(form.separate_single.data),
        max_shipments=_whole(form.max_shipments.data, "max_shipments", errors),
        max_units=_whole(form.max_units.data, "max_units", errors),
    )
    if form.ship_by_until.data and rules.ship_by_until is None:
        errors["ship_by_until"] = [_("Enter a date such as 2026-12-01.")]
    try:
        if errors:
            raise fulfilment.FulfilmentInvalid(errors)
        task = fulfilment_jobs.start_build_waves(db_session(), actor=current_actor(), rules=rules)
    except fulfilment.FulfilmentInvalid as exc:
        problems = _attach(form, exc.errors)
        return _waves_page(form, problems, 422)
    return redirect(url_for("shop.wave_build_task", task_id=task.id), 303)


def _attach(form: FlaskForm, errors: dict) -> list[str]:
    """Put each service error on its field; return the ones that have none."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form._fields:
            form[name].errors = list(form[name].errors or []) + texts
        else:
            unplaced += texts
    return unplaced


def _task_state(task, result_url: str | None) -> dict:
    return {
        "status": task.status,
        "done": task.progress_done,
        "total": task.progress_total,
        "percent": task.percent,
        "message": task.message,
        "status_text": status_text(task),
        "result_url": result_url if task.status == tasks.TaskStatus.done else None,
    }


def _build_task(task_id: uuid.UUID):
    try:
        task = tasks.get_task(db_session(), task_id)
    except NotFound:
        abort(404)
    if task.kind != fulfilment_jobs.BUILD_WAVES_KIND:
        abort(404)
    return task


@shop_bp.get("/waves/build/<uuid:task_id>")
def wave_build_task(task_id: uuid.UUID):
    require_permission(PERMISSION)
    task = _build_task(task_id)
    url = url_for("shop.wave_build_task", task_id=task.id)
    return render_template(
        "fulfilment/build_task.html",
        shop=g.shop,
        task=task,
        state=_task_state(task, url),
        json_url=url_for("shop.wave_build_progress", task_id=task.id),
        result_url=url,
    )


@shop_bp.get("/waves/build/<uuid:task_id>/progress.json")
def wave_build_progress(task_id: uuid.UUID):
    require_permission(PERMISSION)
    task = _build_task(task_id)
    return progress_response(_task_state(task, url_for("shop.wave_build_task", task_id=task.id)))


# --- open shipments: a wave by hand ------------------------------------------------------------


def _shipment_filter() -> tuple[fulfilment.ShipmentFilter, dict]:
    args = request.args
    single = {"single": True, "multi": False}.get(args.get("size", ""))
    f = fulfilment.ShipmentFilter(
        carrier=args.get("carrier") if args.get("carrier") in CARRIERS else None,
        cool_type=args.get("cool_type") if args.get("cool_type") in COOL_TYPES else None,
        ship_by_until=_day(args.get("ship_by_until")),
        single=single,
    )
    shown = {
        "carrier": f.carrier or "",
        "cool_type": f.cool_type or "",
        "ship_by_until": f.ship_by_until.isoformat() if f.ship_by_until else "",
        "size": args.get("size", "") if single is not None else "",
    }
    return f, shown


def _order_numbers(session, shipments) -> dict[int, str]:
    ids = {s.order_id for s in shipments}
    if not ids:
        return {}
    return dict(session.execute(select(Order.id, Order.external_id).where(Order.id.in_(ids))).all())


def _open_page(problems=(), status: int = 200, chosen=()):
    session = db_session()
    f, shown = _shipment_filter()
    after = request.args.get("after", type=int)
    rows = fulfilment.open_shipments(session, f, after_id=after, limit=PER_PAGE + 1)
    page = rows[:PER_PAGE]
    return render_template(
        "fulfilment/open_shipments.html",
        shop=g.shop,
        rows=page,
        numbers=_order_numbers(session, page),
        total=fulfilment.count_open(session, f),
        newer=page[-1].id if len(rows) > PER_PAGE else None,
        filters=shown,
        form=HandWaveForm(formdata=None, data={"key": uuid.uuid4().hex}),
        problems=problems,
        chosen=set(chosen),
        carriers=CARRIERS,
        cool_types=COOL_TYPES,
        **labels(),
    ), status


@shop_bp.get("/shipments/open")
def open_shipments():
    require_permission(PERMISSION)
    return _open_page()


@shop_bp.post("/waves/new")
def create_wave():
    require_permission(PERMISSION)
    form = HandWaveForm()
    if not form.validate():
        abort(400)
    raw = request.form.getlist("shipment")
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        abort(400)
    try:
        wave, created = fulfilment.create_wave(
            db_session(), actor=current_actor(), shipment_ids=ids, request_key=form.key.data or ""
        )
    except fulfilment.FulfilmentInvalid as exc:
        problems = [translate_message(m) for ms in exc.errors.values() for m in ms]
        return _open_page(problems, 422, chosen=ids)
    if created:
        flash(
            _(
                "Wave %(label)s was created with %(count)s shipments.",
                label=wave.label,
                count=wave.shipment_count,
            ),
            "success",
        )
    else:
        flash(
            _(
                "This form was sent twice: wave %(label)s was made by the first one.",
                label=wave.label,
            ),
            "warning",
        )
    return redirect(url_for("shop.wave", wave_id=wave.id), 303)


# --- one wave ---------------------------------------------------------------------------------


def wave_or_404(wave_id: int) -> Wave:
    try:
        return fulfilment.get_wave(db_session(), wave_id)
    except NotFound:
        abort(404)


def _pick_list_state(wave: Wave) -> dict | None:
    if wave.pick_list_task_id is None:
        return None
    task = tasks.get_task(db_session(), wave.pick_list_task_id)
    return _task_state(task, url_for("shop.wave_pick_list_pdf", wave_id=wave.id))


@shop_bp.get("/waves/<int:wave_id>")
def wave(wave_id: int):
    require_permission(PERMISSION)
    session = db_session()
    found = wave_or_404(wave_id)
    shipments = fulfilment.shipments_of_wave(session, found.id)
    return render_template(
        "fulfilment/wave.html",
        shop=g.shop,
        wave=found,
        shipments=shipments,
        numbers=_order_numbers(session, shipments),
        progress=fulfilment.wave_progress(session, found.id),
        pick_list_state=_pick_list_state(found),
        pick_list=picklist.get_pick_list(session, found.id),
        mispicks=fulfilment.mispicks(session, wave_id=found.id, limit=20),
        form=CsrfOnlyForm(formdata=None),
        **labels(),
    )


@shop_bp.post("/waves/<int:wave_id>/pick-list")
def start_pick_list(wave_id: int):
    require_permission(PERMISSION)
    if not CsrfOnlyForm().validate():
        abort(400)
    found = wave_or_404(wave_id)
    fulfilment_jobs.start_pick_list(db_session(), actor=current_actor(), wave_id=found.id)
    return redirect(url_for("shop.wave", wave_id=found.id, _anchor="pick-list"), 303)


@shop_bp.get("/waves/<int:wave_id>/pick-list/progress.json")
def wave_pick_list_progress(wave_id: int):
    require_permission(PERMISSION)
    state = _pick_list_state(wave_or_404(wave_id))
    if state is None:
        abort(404)
    return progress_response(state)


@shop_bp.get("/waves/<int:wave_id>/pick-list.pdf")
def wave_pick_list_pdf(wave_id: int):
    require_permission(PERMISSION)
    found = wave_or_404(wave_id)
    made = picklist.get_pick_list(db_session(), found.id)
    if made is None or made.status != "ready":
        abort(404)
    response = Response(made.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="picklist-{g.shop.slug}-{found.label}.pdf"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- put-backs ---------------------------------------------------------------------------------


PUT_BACKS_PER_PAGE = 100


@shop_bp.get("/put-backs")
def put_backs():
    """Open put-backs oldest first, done ones newest first, a page at a time."""
    require_permission(PERMISSION)
    status = "done" if request.args.get("status") == "done" else "open"
    after = request.args.get("after", type=int)
    rows = fulfilment.list_put_backs(
        db_session(), status=status, after=after, limit=PUT_BACKS_PER_PAGE + 1
    )
    next_after = rows[PUT_BACKS_PER_PAGE - 1].id if len(rows) > PUT_BACKS_PER_PAGE else None
    return render_template(
        "fulfilment/put_backs.html",
        shop=g.shop,
        rows=rows[:PUT_BACKS_PER_PAGE],
        status=status,
        next_after=next_after,
        form=CsrfOnlyForm(formdata=None),
    )


@shop_bp.post("/put-backs/<int:put_back_id>/done")
def put_back_done(put_back_id: int):
    require_permission(PERMISSION)
    if not CsrfOnlyForm().validate():
        abort(400)
    try:
        done = fulfilment.complete_put_back(
            db_session(), actor=current_actor(), task_id=put_back_id
        )
    except NotFound:
        abort(404)
    except fulfilment.IllegalShipmentMove as exc:
        flash(translate_message(exc.message), "warning")
        return redirect(url_for("shop.put_backs"), 303)
    flash(
        _(
            "%(quantity)s × %(sku)s are back in %(bin)s.",
            quantity=done.quantity,
            sku=done.sku,
            bin=done.bin_code,
        ),
        "success",
    )
    return redirect(url_for("shop.put_backs"), 303)


# --- an order's own carrier ---------------------------------------------------------------------


class CarrierForm(FlaskForm):
    carrier = SelectField(_l("Carrier"), choices=[], validate_choice=False)
    service = SelectField(_l("Service"), choices=[], validate_choice=False)
    gift_message = StringField(_l("Gift message"), description=_l("At most 200 characters."))

    def with_choices(self) -> CarrierForm:
        self.carrier.choices = _choices(CARRIERS, CARRIER_LABELS)
        self.service.choices = [
            (s, f"{CARRIER_LABELS[c]} · {SERVICE_LABELS[s]}")
            for c, services in SERVICES.items()
            for s in services
        ]
        return self


def _carrier_page(order, form: CarrierForm, problems=(), status: int = 200):
    return render_template(
        "fulfilment/carrier.html",
        shop=g.shop,
        order=order,
        form=form,
        problems=problems,
        shipments=fulfilment.shipments_of_order(db_session(), order.id),
        **labels(),
    ), status


def _order_or_404(order_id: int):
    try:
        return get_order(db_session(), order_id)
    except NotFound:
        abort(404)


@shop_bp.route("/orders/<int:order_id>/carrier", methods=["GET", "POST"])
def order_carrier(order_id: int):
    """The order's carrier and service over the shop's default (its unpicked parcels follow)."""
    require_permission(PERMISSION)
    order = _order_or_404(order_id)
    if request.method == "GET":
        parcels = fulfilment.shipments_of_order(db_session(), order.id)
        data = (
            {
                "carrier": parcels[0].carrier,
                "service": parcels[0].service,
                "gift_message": parcels[0].gift_message,
            }
            if parcels
            else {}
        )
        return _carrier_page(order, CarrierForm(formdata=None, data=data).with_choices())
    form = CarrierForm().with_choices()
    if not form.validate():
        abort(400)
    try:
        fulfilment.set_shipping_choice(
            db_session(),
            actor=current_actor(),
            order_id=order.id,
            carrier=form.carrier.data or "",
            service=form.service.data or "",
            gift_message=form.gift_message.data or "",
        )
    except fulfilment.FulfilmentInvalid as exc:
        return _carrier_page(order, form, _attach(form, exc.errors), 422)
    flash(_("The carrier of order %(number)s was changed.", number=order.external_id), "success")
    return redirect(url_for("shop.order", order_id=order.id), 303)
