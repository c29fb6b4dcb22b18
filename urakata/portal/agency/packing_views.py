"""Packing (梱包) pages of a shop, for the agency's operators: the packing queue (inspected
shipments, parcels waiting for their carrier, parcels to unpack), the packing form of a
shipment (suggested box, materials, weight), a wave's carrier files and packing slips,
one slip's reprint, and cancelling a packed parcel.

Views are thin: parse, check the role, call one service in ``tenants.shipping``.
"""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField

from urakata.platform import audit, tasks
from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.fulfilment.services import IllegalShipmentMove, StaleShipment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping import documents, labels, packing
from urakata.tenants.shipping.carrier_files import CarrierFileBlocked
from urakata.tenants.shipping.errors import (
    DuplicateSubmission,
    NotReady,
    ShippingInvalid,
    StaleShipping,
)
from urakata.tenants.shipping.models import BOX_SIZES, ShipmentPackage
from urakata.tenants.shipping.tracking import tracking_of

PER_PAGE = 50
WORKERS = frozenset({Role.agency_admin, Role.operator})
CARRIER_LABELS = {"yamato": _l("Yamato"), "sagawa": _l("Sagawa"), "japan_post": _l("Japan Post")}
COOL_LABELS = {"none": _l("Ambient"), "chilled": _l("Chilled"), "frozen": _l("Frozen")}
STATUS_LABELS = {"inspected": _l("Inspected"), "packed": _l("Packed"), "shipped": _l("Shipped"),
                 "cancelled": _l("Cancelled")}  # fmt: skip

menu_entry("shop.packing_queue", _l("Packing"), "stock.move")


def require_shipping_work() -> None:
    """Packing and handover are the agency's work: 403 for the shop's own people."""
    if not g.shop_roles & WORKERS:
        abort(403)


def _shipment_or_404(shipment_id: int) -> Shipment:
    try:
        return fulfilment.get_shipment(db_session(), shipment_id)
    except NotFound:
        abort(404)


def _messages(errors: dict) -> list[str]:
    return [translate_message(m) for messages in errors.values() for m in messages]


# --- the queue -------------------------------------------------------------------------------


@bp.get("/packing")
def packing_queue():
    require_shipping_work()
    session = db_session()
    wave_id = request.args.get("wave", type=int)
    after = request.args.get("after", type=int)
    status = request.args.get("status", "inspected")
    if status not in ("inspected", "packed"):
        status = "inspected"
    shipments = fulfilment.list_shipments(session, statuses=(status,), wave_id=wave_id,
                                          after_id=after, limit=PER_PAGE + 1)  # fmt: skip
    more = len(shipments) > PER_PAGE
    shipments = shipments[:PER_PAGE]
    ids = [s.id for s in shipments]
    found = select(ShipmentPackage).where(ShipmentPackage.shipment_id.in_(ids))
    packages = {p.shipment_id: p for p in session.scalars(found)} if ids else {}
    numbers = dict(
        session.execute(select(Order.id, Order.external_id).where(
            Order.id.in_({s.order_id for s in shipments}))).all()
    ) if shipments else {}  # fmt: skip
    return render_template(
        "shipping/queue.html",
        shop=g.shop,
        shipments=shipments,
        packages=packages,
        numbers=numbers,
        trackings=tracking_of(session, ids),
        status=status,
        wave_id=wave_id,
        next_after=shipments[-1].id if more else None,
        unpack=packing.list_unpack_tasks(session),
        carrier_labels=CARRIER_LABELS,
        cool_labels=COOL_LABELS,
        complete_form=FlaskForm(),
    )


@bp.get("/packing/find")
def find_to_pack():
    """The packing station's scanner: a shipment label (SH…) opens its packing page."""
    require_shipping_work()
    label = (request.args.get("label") or "").strip()[:40]
    found = fulfilment.find_shipment_by_label(db_session(), label) if label else None
    if found is None:
        flash(_("No shipment %(label)s in this shop.", label=label or "—"), "error")
        return redirect(url_for("shop.packing_queue"), 303)
    return redirect(url_for("shop.pack", shipment_id=found.id), 303)


# --- packing one shipment ---------------------------------------------------------------------


class PackForm(FlaskForm):
    key = HiddenField()
    version = HiddenField()
    box_size = SelectField(_l("Box"), choices=[], validate_choice=False)
    weight_g = StringField(
        _l("Weight (g)"),
        render_kw={"inputmode": "numeric"},
        description=_l("Blank: the items' weights from the catalog and the box."),
    )


def _pack_form(view, formdata=None) -> PackForm:
    form = PackForm(formdata=formdata)
    suggested = view.suggestion.size
    form.box_size.choices = [
        ("", _("Suggested: %(size)s", size=suggested) if suggested else _("Choose a box")),
        *[(str(size), _("Size %(size)d", size=size)) for size in BOX_SIZES],
    ]
    if formdata is None:
        form.key.data = f"pack-{uuid.uuid4()}"
        form.version.data = str(view.shipment.version)
    return form


def _pack_page(view, form, problems=(), status=200):
    materials = {code: request.form.get(f"material_{code}", "") for code in packing.MATERIALS}
    return render_template(
        "shipping/pack.html",
        shop=g.shop,
        view=view,
        form=form,
        problems=problems,
        materials=packing.MATERIALS,
        chosen=materials,
        order=db_session().scalar(select(Order).where(Order.id == view.shipment.order_id)),
        tracking=tracking_of(db_session(), [view.shipment.id]).get(view.shipment.id),
        carrier_labels=CARRIER_LABELS,
        cool_labels=COOL_LABELS,
        status_labels=STATUS_LABELS,
        cancel_form=FlaskForm(),
    ), status


@bp.route("/packing/<int:shipment_id>", methods=["GET", "POST"])
def pack(shipment_id: int):
    require_shipping_work()
    _shipment_or_404(shipment_id)
    view = packing.suggest_box(db_session(), shipment_id)
    if request.method == "GET":
        return _pack_page(view, _pack_form(view))
    form = _pack_form(view, request.form)
    if not form.validate():
        abort(400)
    materials = {code: request.form.get(f"material_{code}", "") for code in packing.MATERIALS}
    try:
        packing.pack_shipment(
            db_session(), actor=current_actor(), shipment_id=shipment_id, key=form.key.data,
            box_size=form.box_size.data or None, weight_g=form.weight_g.data or None,
            materials=materials, version=int(form.version.data or 0) or None,
        )  # fmt: skip
    except DuplicateSubmission:
        flash(_("This parcel was packed already: the form was sent twice."), "info")
        return redirect(url_for("shop.pack", shipment_id=shipment_id), 303)
    except ShippingInvalid as exc:
        return _pack_page(view, form, _messages(exc.errors), 422)
    except (NotReady, IllegalShipmentMove) as exc:
        return _pack_page(view, form, [translate_message(exc.message)], 409)
    except (StaleShipping, StaleShipment):
        message = _("Someone changed this shipment meanwhile. Check it and pack again.")
        return _pack_page(packing.suggest_box(db_session(), shipment_id), _pack_form(view),
                          [message], 409)  # fmt: skip
    flash(_("Packed %(label)s.", label=view.shipment.label), "success")
    return redirect(url_for("shop.packing_queue", wave=view.shipment.wave_id), 303)


@bp.post("/packing/<int:shipment_id>/cancel")
def cancel_packed(shipment_id: int):
    require_shipping_work()
    _shipment_or_404(shipment_id)
    if not FlaskForm().validate():
        abort(400)
    try:
        packing.cancel_packed(db_session(), actor=current_actor(), shipment_id=shipment_id,
                              reason=request.form.get("reason", ""))  # fmt: skip
    except ShippingInvalid as exc:
        flash(" ".join(_messages(exc.errors)), "error")
        return redirect(url_for("shop.pack", shipment_id=shipment_id), 303)
    except (NotReady, IllegalShipmentMove) as exc:
        flash(translate_message(exc.message), "error")
        return redirect(url_for("shop.pack", shipment_id=shipment_id), 303)
    flash(_("Cancelled. Unpack the parcel and put its pieces back (listed below)."), "success")
    return redirect(url_for("shop.packing_queue"), 303)


@bp.post("/packing/unpack/<int:unpack_id>")
def complete_unpack(unpack_id: int):
    require_shipping_work()
    if not FlaskForm().validate():
        abort(400)
    try:
        packing.complete_unpack(db_session(), actor=current_actor(), task_id=unpack_id)
    except NotFound:
        abort(404)
    except DuplicateSubmission:
        flash(_("This parcel was unpacked already."), "info")
        return redirect(url_for("shop.packing_queue"), 303)
    flash(_("Unpacked: the pieces are back in their bins."), "success")
    return redirect(url_for("shop.packing_queue"), 303)


@bp.get("/packing/<int:shipment_id>/slip.pdf")
def reprint_slip(shipment_id: int):
    require_shipping_work()
    _shipment_or_404(shipment_id)
    try:
        data = documents.reprint_slip(db_session(), actor=current_actor(), shipment_id=shipment_id)
    except NotReady as exc:
        flash(translate_message(exc.message), "error")
        return redirect(url_for("shop.pack", shipment_id=shipment_id), 303)
    audit.record_read(db_session(), current_actor(), what="packing slip", object_type="shipment",
                      object_id=shipment_id, rows=1, export=True)  # fmt: skip
    return _pdf(data, f"slip-SH{shipment_id:010d}.pdf")


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "no-store"})  # fmt: skip


# --- a wave: carrier files and slips ------------------------------------------------------------


def _wave_or_404(wave_id: int):
    try:
        return fulfilment.get_wave(db_session(), wave_id)
    except NotFound:
        abort(404)


@bp.get("/packing/waves/<int:wave_id>")
def wave_documents(wave_id: int, problems=None, status: int = 200):
    require_shipping_work()
    wave = _wave_or_404(wave_id)
    session = db_session()
    shipments = fulfilment.shipments_of_wave(session, wave.id)
    carriers = sorted({s.carrier for s in shipments if s.status in labels.LABELLED})
    return render_template(
        "shipping/wave.html",
        shop=g.shop,
        wave=wave,
        shipments=shipments,
        carriers=carriers,
        carrier_labels=CARRIER_LABELS,
        status_labels=STATUS_LABELS,
        problems=problems or [],
        slips=documents.latest_slips(session, wave.id),
        slips_form=FlaskForm(),
    ), status


@bp.get("/packing/waves/<int:wave_id>/carrier-file")
def carrier_file(wave_id: int):
    require_shipping_work()
    _wave_or_404(wave_id)
    carrier = request.args.get("carrier", "")
    try:
        made = labels.wave_carrier_file(db_session(), actor=current_actor(), wave_id=wave_id,
                                        carrier=carrier)  # fmt: skip
    except CarrierFileBlocked as exc:
        problems = [
            {"reference": p.reference, "column": p.column, "title": p.title,
             "message": translate_message(p.message)} for p in exc.problems
        ]  # fmt: skip
        return wave_documents(wave_id, problems=problems, status=422)
    except NotReady as exc:
        flash(translate_message(exc.message), "error")
        return redirect(url_for("shop.wave_documents", wave_id=wave_id), 303)
    audit.record_read(db_session(), current_actor(), what=f"carrier file {made.format}",
                      object_type="wave", object_id=wave_id, rows=made.shipments,
                      export=True)  # fmt: skip
    return Response(made.data, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                             "Cache-Control": "no-store"})  # fmt: skip


@bp.post("/packing/waves/<int:wave_id>/slips")
def request_slips(wave_id: int):
    require_shipping_work()
    _wave_or_404(wave_id)
    if not FlaskForm().validate():
        abort(400)
    try:
        document = documents.request_wave_slips(db_session(), actor=current_actor(),
                                                wave_id=wave_id)  # fmt: skip
    except NotReady as exc:
        flash(translate_message(exc.message), "error")
        return redirect(url_for("shop.wave_documents", wave_id=wave_id), 303)
    return redirect(url_for("shop.slips", document_id=document.id), 303)


def _slips_or_404(document_id: int):
    try:
        return documents.get_slips(db_session(), document_id)
    except NotFound:
        abort(404)


def _slips_state(document) -> dict:
    task = tasks.get_task(db_session(), document.task_id) if document.task_id else None
    status = "done" if document.status == "ready" else (task.status if task else "queued")
    texts = {"queued": _("Waiting for a worker…"), "running": _("Rendering the slips…"),
             "done": _("Ready: %(pages)d pages.", pages=document.pages),
             "failed": _("Rendering failed; ask again.")}  # fmt: skip
    return {"status": status, "done": 1 if status == "done" else 0, "total": 1,
            "status_text": texts.get(status, status)}  # fmt: skip


@bp.get("/packing/slips/<int:document_id>")
def slips(document_id: int):
    require_shipping_work()
    document = _slips_or_404(document_id)
    return render_template("shipping/slips.html", shop=g.shop, document=document,
                           state=_slips_state(document))  # fmt: skip


@bp.get("/packing/slips/<int:document_id>/progress.json")
def slips_progress(document_id: int):
    require_shipping_work()
    return jsonify(_slips_state(_slips_or_404(document_id)))


@bp.get("/packing/slips/<int:document_id>.pdf")
def slips_pdf(document_id: int):
    require_shipping_work()
    document = _slips_or_404(document_id)
    if document.status != "ready":
        abort(404)
    audit.record_read(db_session(), current_actor(), what="packing slips", object_type="wave",
                      object_id=document.wave_id, rows=document.pages, export=True)  # fmt: skip
    return _pdf(document.pdf, f"slips-wave-{document.wave_id}-{document.id}.pdf")
