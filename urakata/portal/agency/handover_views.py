"""Tracking numbers and handover (引き渡し) pages of a shop, for the agency's operators.

One page per shop: each carrier's packed parcels (with or without their number), the
upload of a carrier's issued-label export (checked whole; its problems listed by row),
typing a number by hand, handing a carrier's parcels over, the handovers done with their
manifests, and the shop's own Japan Post column layout.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from urakata.platform import audit
from urakata.platform.fields import Message
from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound, fan_out_across_tenants
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.actor import current_actor
from urakata.portal.agency.packing_views import (
    CARRIER_LABELS,
    _messages,
    _pdf,
    require_shipping_work,
)
from urakata.portal.agency.views import bp as agency_bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.fulfilment.services import IllegalShipmentMove
from urakata.tenants.shipping import column_maps, documents, handover, tracking
from urakata.tenants.shipping.carrier_files import CARRIERS
from urakata.tenants.shipping.errors import (
    DuplicateSubmission,
    NotReady,
    ShippingInvalid,
    StaleShipping,
)
from urakata.tenants.shipping.models import IMPORT_STATUSES, UnpackTask

PER_PAGE = 20
JAPAN_POST = "japanpost_yupack"


def _carrier_summaries(session) -> list[dict]:
    rows = []
    for carrier in CARRIERS:
        ready = handover.ready_parcels(session, carrier)
        rows.append({
            "carrier": carrier, "label": CARRIER_LABELS[carrier], "parcels": len(ready),
            "without_number": [p.shipment for p in ready if p.tracking is None][:50],
        })  # fmt: skip
    return rows


@bp.get("/handover")
def handover_page(problems=None, status: int = 200):
    require_shipping_work()
    session = db_session()
    before = request.args.get("before", type=int)
    carrier = request.args.get("carrier") if request.args.get("carrier") in CARRIERS else None
    done = handover.list_handovers(session, carrier=carrier, before_id=before,
                                   limit=PER_PAGE + 1)  # fmt: skip
    return render_template(
        "shipping/handover.html",
        shop=g.shop,
        carriers=_carrier_summaries(session),
        handovers=done[:PER_PAGE],
        next_before=done[PER_PAGE - 1].id if len(done) > PER_PAGE else None,
        imports=tracking.list_imports(session, limit=5),
        carrier_labels=CARRIER_LABELS,
        carrier=carrier,
        form=FlaskForm(),
        key=f"handover-{uuid.uuid4()}",
        problems=problems or [],
    ), status


def _numbers_raced():
    message = _("Some of these numbers were set meanwhile. Import the file again to see what is"
                " left.")  # fmt: skip
    return handover_page(problems=[message], status=409)


@bp.post("/handover/tracking-import")
def import_tracking():
    require_shipping_work()
    if not FlaskForm().validate():
        abort(400)
    upload = request.files.get("file")
    carrier = request.form.get("carrier", "")
    if upload is None or not upload.filename:
        return handover_page(problems=[_("Choose the carrier's export file.")], status=422)
    try:
        result = tracking.import_export(db_session(), actor=current_actor(), carrier=carrier,
                                        filename=upload.filename, data=upload.read())  # fmt: skip
    except ShippingInvalid as exc:
        return handover_page(problems=_messages(exc.errors), status=422)
    except StaleShipping:
        return _numbers_raced()
    return redirect(url_for("shop.tracking_import", import_id=result.record.id), 303)


@bp.get("/handover/imports")
def tracking_imports():
    require_shipping_work()
    carrier = request.args.get("carrier") if request.args.get("carrier") in CARRIERS else None
    status = request.args.get("status") if request.args.get("status") in IMPORT_STATUSES else None
    before = request.args.get("before", type=int)
    found = tracking.list_imports(db_session(), carrier=carrier, status=status, before_id=before,
                                  limit=PER_PAGE + 1)  # fmt: skip
    return render_template(
        "shipping/imports.html",
        shop=g.shop,
        imports=found[:PER_PAGE],
        next_before=found[PER_PAGE - 1].id if len(found) > PER_PAGE else None,
        carrier=carrier,
        status=status,
        carriers=CARRIERS,
        carrier_labels=CARRIER_LABELS,
    )


@bp.get("/handover/imports/<int:import_id>")
def tracking_import(import_id: int):
    require_shipping_work()
    try:
        record = tracking.get_import(db_session(), import_id)
    except NotFound:
        abort(404)
    problems = [
        {**p, "text": translate_message(Message(p["msgid"], **p["params"]))}
        for p in record.problems
    ]
    return render_template("shipping/import.html", shop=g.shop, record=record, problems=problems,
                           carrier_labels=CARRIER_LABELS)  # fmt: skip


@bp.post("/handover/tracking")
def enter_tracking():
    require_shipping_work()
    if not FlaskForm().validate():
        abort(400)
    reference = (request.form.get("shipment") or "").strip().upper()
    shipment_id = tracking._shipment_id(reference)
    if shipment_id is None:
        return handover_page(problems=[_("Enter the shipment number, such as SH0000000123.")],
                             status=422)  # fmt: skip
    try:
        tracking.set_tracking(db_session(), actor=current_actor(), shipment_id=shipment_id,
                              number=request.form.get("tracking_no", ""))  # fmt: skip
    except NotFound:
        return handover_page(problems=[_("No shipment %(label)s in this shop.",
                                         label=reference)], status=422)  # fmt: skip
    except ShippingInvalid as exc:
        return handover_page(problems=_messages(exc.errors), status=422)
    except NotReady as exc:
        return handover_page(problems=[translate_message(exc.message)], status=409)
    except StaleShipping:
        return _numbers_raced()
    flash(_("Tracking number saved for %(label)s.", label=reference), "success")
    return redirect(url_for("shop.handover_page"), 303)


@bp.post("/handover")
def hand_over():
    require_shipping_work()
    if not FlaskForm().validate():
        abort(400)
    try:
        done = handover.hand_over(db_session(), actor=current_actor(),
                                  carrier=request.form.get("carrier", ""),
                                  key=request.form.get("key", ""),
                                  expected=request.form.get("expected", type=int))  # fmt: skip
    except DuplicateSubmission as exc:
        flash(_("This handover was recorded already: the form was sent twice."), "info")
        return redirect(url_for("shop.handover_detail", handover_id=exc.found.id), 303)
    except ShippingInvalid as exc:
        return handover_page(problems=_messages(exc.errors), status=422)
    except (NotReady, IllegalShipmentMove) as exc:
        return handover_page(problems=[translate_message(exc.message)], status=409)
    flash(_("Handed over %(count)d parcels (%(label)s). Print the manifest for the driver to"
            " sign.", count=done.parcel_count, label=done.label), "success")  # fmt: skip
    return redirect(url_for("shop.handover_detail", handover_id=done.id), 303)


def _handover_or_404(handover_id: int):
    try:
        return handover.get_handover(db_session(), handover_id)
    except NotFound:
        abort(404)


@bp.get("/handover/<int:handover_id>")
def handover_detail(handover_id: int):
    require_shipping_work()
    done = _handover_or_404(handover_id)
    return render_template("shipping/handover_detail.html", shop=g.shop, handover=done,
                           lines=handover.manifest_lines(db_session(), done.id),
                           carrier_labels=CARRIER_LABELS)  # fmt: skip


@bp.get("/handover/<int:handover_id>/manifest.pdf")
def manifest_pdf(handover_id: int):
    require_shipping_work()
    done = _handover_or_404(handover_id)
    data = documents.render_manifest(db_session(), actor=current_actor(), handover_id=done.id)
    audit.record_read(db_session(), current_actor(), what="handover manifest",
                      object_type="handover", object_id=done.id, rows=done.parcel_count,
                      export=True)  # fmt: skip
    return _pdf(data, f"manifest-{done.label}.pdf")


@bp.route("/shipping/column-map", methods=["GET", "POST"])
def column_map():
    require_shipping_work()
    session = db_session()
    problems, status = [], 200
    if request.method == "POST":
        if not FlaskForm().validate():
            abort(400)
        try:
            column_maps.save_map(session, actor=current_actor(), fmt=JAPAN_POST,
                                 columns_json=request.form.get("columns", ""),
                                 version=request.form.get("version", type=int) or 0)  # fmt: skip
        except ShippingInvalid as exc:
            problems, status = _messages(exc.errors), 422
        except StaleShipping:
            problems, status = [_("Someone saved the layout meanwhile. Check it again.")], 409
        else:
            flash(_("Saved the Japan Post layout."), "success")
            return redirect(url_for("shop.column_map"), 303)
    current = column_maps.map_for(session, JAPAN_POST)
    text = request.form.get("columns") if problems else json.dumps(
        current.as_json()["columns"], ensure_ascii=False, indent=1)  # fmt: skip
    return render_template("shipping/column_map.html", shop=g.shop, text=text,
                           version=column_maps.map_version(session, JAPAN_POST),
                           problems=problems, form=FlaskForm()), status  # fmt: skip


# --- the operator's board across their shops ------------------------------------------------------


@dataclass(frozen=True)
class ShippingRow:
    slug: str
    name: str
    to_pack: int
    ready: dict  # carrier -> (parcels, without a number)
    to_unpack: int


def _shipping_figures(session) -> tuple[int, dict, int]:
    to_pack = session.scalar(
        select(func.count()).select_from(Shipment).where(Shipment.status == "inspected")
    )
    ready = {}
    for carrier in CARRIERS:
        parcels = handover.ready_parcels(session, carrier)
        if parcels:
            ready[carrier] = (len(parcels), sum(1 for p in parcels if p.tracking is None))
    to_unpack = session.scalar(
        select(func.count()).select_from(UnpackTask).where(UnpackTask.status == "open")
    )
    return to_pack or 0, ready, to_unpack or 0


@agency_bp.get("/shipping")
def shipping_board():
    """Parcels to pack, to label and to hand over, per shop the operator serves."""
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    figures = fan_out_across_tenants(get_db(), [s.id for s in shops], _shipping_figures)
    rows = [ShippingRow(s.slug, s.name, *figures[s.id]) for s in shops]
    return render_template("shipping/board.html", rows=rows, carrier_labels=CARRIER_LABELS)
