"""The scan station of a wave (ピッキング・検品): large, for a tablet, and for a USB
barcode scanner, which types the code and presses Enter like a keyboard.

The picker scans a shipment's label (from the pick list's sort list) to take it up, then
its items (and, for lot-tracked items, the lot). Each scan is checked by
``fulfilment.scan``; a refused one answers 422 with the message and the sound to play,
and is kept (the mis-pick is recorded, ``keep_changes_on_error``). Without JavaScript the
same form posts and the page comes back with the message. Every scan carries a key the
page makes, so a resent scan counts once.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from urakata.platform.tenancy import NotFound
from urakata.portal.access import require_permission
from urakata.portal.actor import current_actor
from urakata.portal.agency.wave_views import PERMISSION, labels, wave_or_404
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp as shop_bp
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import UNPICKED, Shipment, Wave


class ScanForm(FlaskForm):
    shipment = HiddenField()
    scan_key = HiddenField()
    code = StringField()
    lot = StringField()


class ShortForm(FlaskForm):
    shipment = HiddenField()
    line = HiddenField()


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _shipment_in(wave: Wave, shipment_id) -> Shipment | None:
    try:
        shipment = fulfilment.get_shipment(db_session(), int(shipment_id))
    except (NotFound, TypeError, ValueError):
        return None
    return shipment if shipment.wave_id == wave.id else None


def _lines(shipment: Shipment | None) -> list[dict]:
    if shipment is None:
        return []
    return [
        {"id": x.id, "scanned": x.scanned, "quantity": x.quantity, "short": x.short}
        for x in shipment.lines
    ]


def _answer(
    wave: Wave,
    *,
    outcome: str,
    message: str,
    sound: str,
    status: int = 200,
    shipment: Shipment | None = None,
    select_url: str | None = None,
):
    if status >= 400:
        g.keep_changes_on_error = True  # a refused scan is still recorded
    if _wants_json():
        body = {
            "outcome": outcome,
            "message": message,
            "sound": sound,
            "refused": status >= 400,
            "select_url": select_url,
            "shipment": None
            if shipment is None
            else {
                "id": shipment.id,
                "label": shipment.label,
                "status": shipment.status,
                "scanned": shipment.scanned_count,
                "units": shipment.unit_count,
            },
            "lines": _lines(shipment),
            "next_url": url_for("shop.scan_station", wave_id=wave.id)
            if shipment is not None and shipment.status not in UNPICKED
            else None,
        }
        response = jsonify(body)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
    flash(message, "error" if status >= 400 else "success")
    if select_url:
        return redirect(select_url, 303)
    keep = shipment.id if shipment is not None and shipment.status in UNPICKED else None
    return redirect(url_for("shop.scan_station", wave_id=wave.id, shipment=keep), 303)


@shop_bp.get("/waves/<int:wave_id>/scan")
def scan_station(wave_id: int):
    require_permission(PERMISSION)
    wave = wave_or_404(wave_id)
    shipment = None
    if request.args.get("shipment"):
        shipment = _shipment_in(wave, request.args["shipment"])
        if shipment is None:
            abort(404)
    session = db_session()
    waiting = fulfilment.shipments_of_wave(session, wave.id, statuses=UNPICKED)
    return render_template(
        "fulfilment/scan.html",
        shop=g.shop,
        wave=wave,
        shipment=shipment,
        waiting=waiting,
        progress=fulfilment.wave_progress(session, wave.id),
        form=ScanForm(
            formdata=None,
            data={"shipment": shipment.id if shipment else "", "scan_key": uuid.uuid4().hex},
        ),
        short_form=ShortForm(formdata=None),
        **labels(),
    )


@shop_bp.post("/waves/<int:wave_id>/scan")
def scan(wave_id: int):
    require_permission(PERMISSION)
    wave = wave_or_404(wave_id)
    form = ScanForm()
    if not form.validate():
        abort(400)
    code = (form.code.data or "").strip()
    if not code:
        return _answer(
            wave, outcome="empty", message=_("Scan or type a code."), sound="error", status=422
        )
    label = fulfilment.find_shipment_by_label(db_session(), code)
    if label is not None or code.upper().startswith("SH"):
        return _take_up(wave, label, code)
    shipment = _shipment_in(wave, form.shipment.data) if form.shipment.data else None
    if shipment is None:
        return _answer(
            wave,
            outcome="no_shipment",
            sound="error",
            status=422,
            message=_("First scan the shipment's label (SH…) from the sort list."),
        )
    try:
        result = fulfilment.scan(
            db_session(),
            actor=current_actor(),
            shipment_id=shipment.id,
            code=code,
            lot_no=(form.lot.data or "").strip(),
            scan_key=form.scan_key.data or "",
        )
    except fulfilment.FulfilmentInvalid as exc:
        text = " ".join(translate_message(m) for ms in exc.errors.values() for m in ms)
        return _answer(
            wave, outcome="invalid", message=text, sound="error", status=422, shipment=shipment
        )
    except fulfilment.IllegalShipmentMove as exc:
        return _answer(
            wave,
            outcome="not_pickable",
            message=translate_message(exc.message),
            sound="error",
            status=409,
            shipment=shipment,
        )
    message = translate_message(result.message)
    if result.inspected:
        message = _("%(label)s is inspected: every piece scanned.", label=shipment.label)
    return _answer(
        wave,
        outcome=result.outcome,
        message=message,
        sound=result.sound,
        status=422 if result.refused else 200,
        shipment=result.shipment,
    )


def _take_up(wave: Wave, shipment: Shipment | None, code: str):
    if shipment is None or shipment.wave_id != wave.id:
        return _answer(
            wave,
            outcome="not_in_wave",
            sound="error",
            status=422,
            message=_("%(code)s is not a shipment of this wave.", code=code),
        )
    fulfilment.withdraw_if_cancelled(db_session(), actor=current_actor(), shipment=shipment)
    if shipment.status not in UNPICKED:
        return _answer(
            wave,
            outcome="not_pickable",
            sound="error",
            status=422,
            message=_(
                "%(label)s is not waiting to be picked (%(state)s).",
                label=shipment.label,
                state=labels()["shipment_status_labels"][shipment.status],
            ),
        )
    url = url_for("shop.scan_station", wave_id=wave.id, shipment=shipment.id)
    return _answer(
        wave,
        outcome="selected",
        sound="ok",
        shipment=shipment,
        select_url=url,
        message=_("%(label)s: scan its items.", label=shipment.label),
    )


@shop_bp.post("/waves/<int:wave_id>/short")
def report_short(wave_id: int):
    """The bin is empty: the pieces of the line not yet scanned are missing."""
    require_permission(PERMISSION)
    wave = wave_or_404(wave_id)
    form = ShortForm()
    if not form.validate():
        abort(400)
    shipment = _shipment_in(wave, form.shipment.data)
    if shipment is None:
        abort(404)
    try:
        line_id = int(form.line.data or "")
        shortage = fulfilment.report_short(
            db_session(), actor=current_actor(), shipment_id=shipment.id, line_id=line_id
        )
    except ValueError:
        abort(400)
    except (fulfilment.FulfilmentInvalid, fulfilment.IllegalShipmentMove) as exc:
        messages = getattr(exc, "errors", None) or {"": [exc.message]}
        flash(" ".join(translate_message(m) for ms in messages.values() for m in ms), "error")
        return redirect(url_for("shop.scan_station", wave_id=wave.id, shipment=shipment.id), 303)
    flash(
        _(
            "Short pick recorded: %(missing)s × %(bin)s missing. %(label)s goes back to "
            "allocation; put its picked pieces back.",
            missing=shortage.missing,
            bin=shortage.bin_code,
            label=shipment.label,
        ),
        "warning",
    )
    return redirect(url_for("shop.scan_station", wave_id=wave.id), 303)
