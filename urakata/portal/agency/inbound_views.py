"""The agency's inbound work: the notices expected across the operator's shops, and a
notice's receiving screen (scan or type JAN codes, put away, close), its labels.

The receiving screen is a plain form whose code field has the focus: a USB barcode
scanner types the code and presses Enter, which records one piece and brings the form
back, focused again. Every scan form carries its own key, so a form sent twice records
one scan. The screen lives under the shop's URL like every page of one shop.
"""

from __future__ import annotations

import base64
import re
import uuid

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from urakata.platform import tasks
from urakata.platform.identity import Role
from urakata.platform.tasks import TaskStatus
from urakata.platform.tenancy import NotFound, fan_out_across_tenants
from urakata.portal.access import require_agency_role, require_permission, shops_for
from urakata.portal.actor import current_actor
from urakata.portal.agency.views import bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp as shop_bp
from urakata.portal.shop.inbound_views import (
    CONDITION_LABELS,
    RECEIVE_ROLES,
    VersionForm,
    attach,
    labels,
    notice_or_404,
    progress,
    require,
)
from urakata.portal.shop.stock_views import KIND_LABELS
from urakata.portal.shop.task_pages import (
    export_state,
    progress_response,
    shown_result,
    task_or_404,
)
from urakata.portal.shop.task_views import status_text
from urakata.tenants.inbound import services
from urakata.tenants.inbound.labels import labels_for, needs_label
from urakata.tenants.stock.bins import shop_bins
from urakata.tenants.stock.errors import DuplicateSubmission

OVERVIEW_ROWS = 100
# The labels' task kind and job: the same names as urakata.worker.inbound_jobs.
LABELS_KIND = "inbound.labels"
LABELS_JOB = "inbound.labels_pdf"
LABELS_QUEUE = "default"


# --- the overview across shops -----------------------------------------------------------------


@bp.get("/inbound")
def inbound_overview():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)

    def expected(session):
        open_ = services.list_notices(session, state="open", limit=OVERVIEW_ROWS).items
        busy = services.list_notices(session, state="receiving", limit=OVERVIEW_ROWS).items
        return sorted(busy + open_, key=lambda n: (n.expected_on, n.id))

    found = fan_out_across_tenants(get_db(), [s.id for s in shops], expected)
    rows = sorted(
        ((shop, notice) for shop in shops for notice in found[shop.id]),
        key=lambda row: (row[1].expected_on, row[0].slug, row[1].id),
    )
    return render_template("inbound/overview.html", rows=rows, **labels_plain())


def labels_plain() -> dict:
    from urakata.portal.shop.inbound_views import STATUS_LABELS

    return {"status_labels": STATUS_LABELS}


# --- the receiving screen -------------------------------------------------------------------------


class ScanForm(FlaskForm):
    key = HiddenField()
    code = StringField(
        _l("JAN code"),
        render_kw={"autocomplete": "off", "inputmode": "numeric", "enterkeyhint": "done"},
    )
    quantity = StringField(_l("Pieces"), render_kw={"inputmode": "numeric"})
    condition = SelectField(
        _l("Condition"),
        choices=[SelectChoice(k, v) for k, v in CONDITION_LABELS.items()],
        validate_choice=False,
    )
    lot_no = StringField(_l("Lot"), description=_l("Blank: the notice's lot."))
    best_before = StringField(_l("Best before"), render_kw={"placeholder": "2027-03-31"})
    description = StringField(
        _l("What it is"), description=_l("For an unknown item: what the goods look like.")
    )
    note = StringField(_l("Note"), description=_l("Such as: the box was crushed."))
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*", "capture": ""})


def _fresh_scan(**keep) -> ScanForm:
    return ScanForm(
        formdata=None,
        data={"key": f"scan-{uuid.uuid4()}", "quantity": "1", "condition": "good", **keep},
    )


def receiving_page(notice, form=None, problems=(), status=200, placement_errors=None):
    session = db_session()
    waiting = services.waiting_items(session, notice.id)
    suggested = services.suggest_placements(session, waiting)
    return render_template(
        "inbound/receive.html",
        shop=g.shop,
        notice=notice,
        form=form or _fresh_scan(),
        rows=progress(session, notice),
        items=services.items_of(session, notice.id),
        waiting=waiting,
        suggested=suggested,
        bins=shop_bins(session),
        kind_labels=KIND_LABELS,
        close_form=VersionForm(formdata=None, data={"version": notice.version}),
        problems=problems,
        placement_errors=placement_errors or {},
        needs_labels=any(needs_label(line.product) for line in notice.lines),
        **labels(),
    ), status


@shop_bp.get("/inbound/<int:notice_id>/receive")
def receive_inbound(notice_id: int):
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    if notice.is_closed:
        return redirect(url_for("shop.inbound_notice", notice_id=notice.id))
    return receiving_page(notice)


@shop_bp.post("/inbound/<int:notice_id>/receive")
def scan_inbound(notice_id: int):
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    form = ScanForm()
    if not form.validate_on_submit():
        abort(400)
    photo = form.photo.data
    data = photo.stream.read(services.PHOTO_MAX + 1) if photo and photo.filename else None
    try:
        item = services.receive_item(
            db_session(),
            current_actor(),
            notice.id,
            code=form.code.data or "",
            quantity=(form.quantity.data or "1").strip() or "1",
            condition=form.condition.data or "good",
            lot_no=form.lot_no.data or "",
            best_before=form.best_before.data or None,
            note=form.note.data or "",
            description=form.description.data or "",
            photo=data or None,
            photo_mime=photo.mimetype if data else None,
            submission_key=form.key.data or None,
        )
    except services.NoticeClosed as exc:
        return receiving_page(notice, _fresh_scan(), attach(form, exc.errors), 409)
    except DuplicateSubmission:
        return receiving_page(
            notice,
            _fresh_scan(),
            [_("This scan was recorded already: the form was sent twice.")],
            409,
        )
    except services.InboundInvalid as exc:
        form.key.data = f"scan-{uuid.uuid4()}"
        return receiving_page(notice, form, attach(form, exc.errors), 422)
    what = item.product.sku if item.product else (item.description or item.scanned_code)
    flash(
        _(
            "Received %(quantity)s × %(what)s (%(condition)s).",
            quantity=item.quantity,
            what=what,
            condition=CONDITION_LABELS[item.condition],
        ),
        "success",
    )
    return redirect(url_for("shop.receive_inbound", notice_id=notice.id), 303)


@shop_bp.post("/inbound/<int:notice_id>/items/<int:item_id>/remove")
def remove_inbound_item(notice_id: int, item_id: int):
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_item(db_session(), current_actor(), notice.id, item_id)
    except NotFound:
        abort(404)
    except services.InboundInvalid as exc:
        return receiving_page(notice, problems=attach(VersionForm(), exc.errors), status=409)
    flash(_("The scan was removed."), "success")
    return redirect(url_for("shop.receive_inbound", notice_id=notice.id), 303)


@shop_bp.post("/inbound/<int:notice_id>/putaway")
def putaway_inbound(notice_id: int):
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    placements = {}
    for name, value in request.form.items():
        if name.startswith("bin-") and name[4:].isdigit() and value.strip():
            placements[int(name[4:])] = value.strip()
    try:
        done = services.put_away(db_session(), current_actor(), notice.id, placements=placements)
    except services.InboundInvalid as exc:
        per_item, others = {}, []
        for name, messages in exc.errors.items():
            texts = [translate_message(m) for m in messages]
            match = re.match(r"^items\[(\d+)\]", name)
            if match:
                per_item.setdefault(int(match.group(1)), []).extend(texts)
            else:
                others.extend(texts)
        problems = others or [_("Nothing was put away. Correct the bins marked below.")]
        return receiving_page(notice, problems=problems, status=422, placement_errors=per_item)
    message = _("Put away %(pieces)s pieces.", pieces=done.pieces)
    if done.sasage_requested:
        message += " " + _(
            "Sasage was requested for %(skus)s (first receipt).",
            skus=", ".join(done.sasage_requested),
        )
    flash(message, "success")
    return redirect(url_for("shop.receive_inbound", notice_id=notice.id), 303)


@shop_bp.post("/inbound/<int:notice_id>/close")
def close_inbound(notice_id: int):
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.close_notice(
            db_session(), current_actor(), notice.id, version=int(form.version.data or 0)
        )
    except services.StaleInbound:
        return receiving_page(
            notice, problems=[_("Someone changed this notice meanwhile. Look again.")], status=409
        )
    except services.InboundInvalid as exc:
        return receiving_page(notice, problems=attach(form, exc.errors), status=409)
    flash(_("Notice %(number)s closed.", number=notice.number), "success")
    return redirect(url_for("shop.inbound_notice", notice_id=notice.id), 303)


@shop_bp.post("/inbound/<int:notice_id>/labels")
def inbound_labels(notice_id: int):
    """Start rendering the labels (a worker job); its page shows the progress."""
    require(RECEIVE_ROLES)
    notice = notice_or_404(notice_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    session = db_session()
    if not labels_for(session, notice):
        flash(_("Every SKU of this notice has a barcode: no labels to print."))
        return redirect(url_for("shop.receive_inbound", notice_id=notice.id), 303)
    task = tasks.start_task(
        session,
        kind=LABELS_KIND,
        actor=current_actor(),
        job=LABELS_JOB,
        queue=LABELS_QUEUE,
        notice_id=notice.id,
    )
    return redirect(url_for("shop.inbound_labels_task", task_id=task.id, notice=notice.id), 303)


def _labels_state(task) -> dict:
    result = task.result or {}
    if task.status == TaskStatus.done:
        text = _("Done: %(count)s labels.", count=result.get("labels", 0))
    else:
        text = status_text(task)
    return export_state(task, status_text=text, download="shop.download_inbound_labels")


@shop_bp.get("/inbound/labels/<uuid:task_id>")
def inbound_labels_task(task_id: uuid.UUID):
    require(RECEIVE_ROLES)
    task = task_or_404(task_id, LABELS_KIND)
    notice_id = (task.result or {}).get("notice_id") or request.args.get("notice", type=int)
    return render_template(
        "inbound/labels.html",
        shop=g.shop,
        task=task,
        state=_labels_state(task),
        result=shown_result(task),
        notice_id=notice_id,
    )


@shop_bp.get("/inbound/labels/<uuid:task_id>/progress.json")
def inbound_labels_progress(task_id: uuid.UUID):
    require(RECEIVE_ROLES)
    return progress_response(_labels_state(task_or_404(task_id, LABELS_KIND)))


@shop_bp.get("/inbound/labels/<uuid:task_id>/labels.pdf")
def download_inbound_labels(task_id: uuid.UUID):
    require(RECEIVE_ROLES)
    task = task_or_404(task_id, LABELS_KIND)
    result = task.result or {}
    if task.status != TaskStatus.done or not result.get("file"):
        abort(404)
    response = make_response(base64.b64decode(result["file"]))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{result["filename"]}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@shop_bp.get("/inbound/<int:notice_id>/items/<int:item_id>/photo")
def inbound_item_photo(notice_id: int, item_id: int):
    require_permission("stock.view")
    notice = notice_or_404(notice_id)
    item = next((i for i in services.items_of(db_session(), notice.id) if i.id == item_id), None)
    if item is None or item.photo is None:
        abort(404)
    response = make_response(item.photo)
    response.mimetype = item.photo_mime
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
