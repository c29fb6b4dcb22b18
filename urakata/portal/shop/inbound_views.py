"""The shop's inbound notices (入荷予定): the list, registering one by form or CSV, a
notice's progress and its discrepancy report, comments on it.

Everyone in the shop (and the agency serving it) reads notices; the shop's people and
agency admins register them; the receiving itself is the agency's screen
(``urakata.portal.agency.inbound_views``). Forms carry an idempotency key, so a form
sent twice registers one notice and says so.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, StringField, TextAreaField

from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.inbound import services
from urakata.tenants.inbound.csvimport import MAX_BYTES, NoticeFileInvalid, notice_from_csv
from urakata.tenants.stock.errors import DuplicateSubmission

PER_PAGE = 50
REGISTER_ROLES = frozenset({Role.shop_admin, Role.shop_staff, Role.agency_admin})
COMMENT_ROLES = frozenset({Role.shop_admin, Role.shop_staff, Role.agency_admin, Role.operator})
RECEIVE_ROLES = frozenset({Role.agency_admin, Role.operator})

menu_entry("shop.inbound_list", _l("Inbound notices"), "stock.view")

STATUS_LABELS = {
    "open": _l("Expected"),
    "receiving": _l("Receiving"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
    "discrepancy": _l("Closed with discrepancies"),
}
OUTCOME_LABELS = {"exact": _l("As expected"), "over": _l("Over"), "short": _l("Short")}
CONDITION_LABELS = {"good": _l("Good"), "damaged": _l("Damaged"), "unknown": _l("Unknown item")}


def may(roles: frozenset[Role]) -> bool:
    return bool(g.get("shop_roles", set()) & roles)


def require(roles: frozenset[Role]) -> None:
    if not may(roles):
        abort(403)


def local(moment: datetime | None) -> str:
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    return _("%(hours)d h %(minutes)02d min", hours=hours, minutes=rest // 60)


def labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "condition_labels": CONDITION_LABELS,
        "local": local,
        "duration": duration,
    }


def notice_or_404(notice_id: int):
    try:
        return services.get_notice(db_session(), notice_id)
    except NotFound:
        abort(404)


def attach(form: FlaskForm, errors: dict) -> list[str]:
    """Messages next to their fields; the others (lines, the notice) returned."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form and form[name].type not in ("CSRFTokenField", "HiddenField"):
            form[name].errors = [*form[name].errors, *texts]
        else:
            match = re.match(r"^lines\[(\d+)\]\.(\w+)$", name)
            where = _("Line %(n)d", n=int(match.group(1)) + 1) if match else ""
            unplaced.extend(f"{where}: {t}" if where else t for t in texts)
    return unplaced


# --- the list ----------------------------------------------------------------------------------


@bp.get("/inbound")
def inbound_list():
    require_permission("stock.view")
    state = request.args.get("state", "")
    if state not in services.LIST_STATES:
        state = ""
    query = (request.args.get("q") or "").strip()[:100]
    before = request.args.get("before", type=int)
    page = services.list_notices(
        db_session(), state=state, query=query, before_id=before, limit=PER_PAGE
    )
    return render_template(
        "inbound/list.html",
        shop=g.shop,
        page=page,
        filters={"state": state, "q": query},
        first_page=before is None,
        can_register=may(REGISTER_ROLES),
        can_receive=may(RECEIVE_ROLES),
        **labels(),
    )


# --- registering --------------------------------------------------------------------------------


def _tomorrow() -> date:
    return (datetime.now(g.shop.zone) + timedelta(days=1)).date()


class NoticeForm(FlaskForm):
    key = HiddenField()
    expected_on = DateField(_l("Expected on"), validators=[])
    carrier = StringField(_l("Carrier"), render_kw={"placeholder": "ヤマト運輸"})
    tracking_number = StringField(_l("Tracking number"), render_kw={"inputmode": "numeric"})
    reference = StringField(_l("Your reference"), description=_l("Such as a purchase order."))
    note = StringField(_l("Note for the warehouse"))
    lines = TextAreaField(
        _l("Expected SKUs"),
        description=_l(
            "One SKU per line: SKU, pieces, and for SKUs tracked by lot the lot and"
            " best-before date (2026-12-31), separated by commas."
        ),
        render_kw={"rows": 8, "placeholder": "CUP-1, 12\nTEA-100, 40, L-2601, 2027-03-31"},
    )


class UploadForm(FlaskForm):
    key = HiddenField()
    expected_on = DateField(_l("Expected on"), validators=[])
    carrier = StringField(_l("Carrier"))
    tracking_number = StringField(_l("Tracking number"), render_kw={"inputmode": "numeric"})
    reference = StringField(_l("Your reference"))
    file = FileField(
        _l("CSV file"),
        description=_l(
            "Columns sku, quantity, lot, best_before (or 商品コード, 数量, ロット, 賞味期限);"
            " UTF-8 or Shift_JIS; at most 2 MB."
        ),
        render_kw={"accept": ".csv,text/csv"},
    )


def parse_lines(text: str) -> list[dict]:
    """The lines typed into the form: SKU, pieces[, lot[, best-before]] per line."""
    lines = []
    for raw in (text or "").splitlines():
        parts = [p.strip() for p in re.split(r"[,\t、，]", raw)]
        if not any(parts):
            continue
        parts += [""] * (4 - len(parts))
        lines.append(
            {"sku": parts[0], "quantity": parts[1], "lot": parts[2], "best_before": parts[3]}
        )
    return lines


def _new_page(form=None, upload=None, problems=(), status=200, cells=()):
    form = form or NoticeForm(
        formdata=None, data={"key": f"notice-{uuid.uuid4()}", "expected_on": _tomorrow()}
    )
    upload = upload or UploadForm(
        formdata=None, data={"key": f"notice-csv-{uuid.uuid4()}", "expected_on": _tomorrow()}
    )
    return render_template(
        "inbound/new.html",
        shop=g.shop,
        form=form,
        upload=upload,
        problems=problems,
        cells=[
            {"row": e.row, "column": e.column, "message": translate_message(e.message)}
            for e in cells
        ],
        max_mb=MAX_BYTES // (1024 * 1024),
    ), status


@bp.get("/inbound/new")
def new_inbound():
    require(REGISTER_ROLES)
    return _new_page()


def _expected(form) -> str:
    raw = form.expected_on.raw_data
    return raw[0] if raw else ""


@bp.post("/inbound/new")
def create_inbound():
    require(REGISTER_ROLES)
    form = NoticeForm()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    form.expected_on.errors = []  # the service checks the date and says so
    try:
        notice = services.create_notice(
            db_session(),
            current_actor(),
            lines=parse_lines(form.lines.data),
            expected_on=_expected(form),
            carrier=form.carrier.data,
            tracking_number=form.tracking_number.data,
            reference=form.reference.data,
            note=form.note.data,
            source="portal",
            key=form.key.data or None,
        )
    except DuplicateSubmission:
        return _new_page(
            problems=[_("This notice was registered already: the form was sent twice.")],
            status=409,
        )
    except services.InboundInvalid as exc:
        return _new_page(form=form, problems=attach(form, exc.errors), status=422)
    flash(_("Inbound notice %(number)s registered.", number=notice.number), "success")
    return redirect(url_for("shop.inbound_notice", notice_id=notice.id), 303)


@bp.post("/inbound/upload")
def upload_inbound():
    require(REGISTER_ROLES)
    upload = UploadForm()
    if not upload.validate_on_submit() and "csrf_token" in upload.errors:
        abort(400)
    upload.expected_on.errors = []
    file = upload.file.data
    data = file.stream.read(MAX_BYTES + 1) if file else b""
    if not data:
        upload.file.errors = [_("Choose a CSV file.")]
        return _new_page(upload=upload, status=422)
    try:
        notice = notice_from_csv(
            db_session(),
            current_actor(),
            data,
            expected_on=_expected(upload),
            carrier=upload.carrier.data,
            tracking_number=upload.tracking_number.data,
            reference=upload.reference.data,
            key=upload.key.data or None,
        )
    except DuplicateSubmission:
        return _new_page(
            problems=[_("This notice was registered already: the form was sent twice.")],
            status=409,
        )
    except NoticeFileInvalid as exc:
        problems = attach(upload, exc.fields)
        return _new_page(upload=upload, problems=problems, cells=exc.errors, status=422)
    flash(_("Inbound notice %(number)s registered.", number=notice.number), "success")
    return redirect(url_for("shop.inbound_notice", notice_id=notice.id), 303)


# --- one notice ----------------------------------------------------------------------------------


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), render_kw={"rows": 3})


class VersionForm(FlaskForm):
    version = HiddenField()


def progress(session, notice) -> list[dict]:
    """Per expected line: pieces received so far (good, damaged)."""
    items = services.items_of(session, notice.id)
    rows = []
    for line in notice.lines:
        mine = [i for i in items if i.line_id == line.id]
        rows.append(
            {
                "line": line,
                "good": sum(i.quantity for i in mine if i.condition == "good"),
                "damaged": sum(i.quantity for i in mine if i.condition == "damaged"),
            }
        )
    return rows


def notice_page(notice, comment_form=None, problems=(), status=200):
    session = db_session()
    return render_template(
        "inbound/notice.html",
        shop=g.shop,
        notice=notice,
        rows=progress(session, notice),
        items=services.items_of(session, notice.id),
        report=notice.discrepancy,
        comments=services.comments_of(session, notice.id),
        comment_form=comment_form or CommentForm(formdata=None),
        cancel_form=VersionForm(formdata=None, data={"version": notice.version}),
        can_comment=may(COMMENT_ROLES),
        can_cancel=may(REGISTER_ROLES) and notice.status == "open",
        can_receive=may(RECEIVE_ROLES) and not notice.is_closed,
        problems=problems,
        **labels(),
    ), status


@bp.get("/inbound/<int:notice_id>")
def inbound_notice(notice_id: int):
    require_permission("stock.view")
    return notice_page(notice_or_404(notice_id))


@bp.post("/inbound/<int:notice_id>/comments")
def comment_inbound(notice_id: int):
    require(COMMENT_ROLES)
    notice = notice_or_404(notice_id)
    form = CommentForm()
    if not form.validate_on_submit():
        abort(400)
    side = "agency" if g.shop_roles & {Role.agency_admin, Role.operator} else "shop"
    try:
        services.add_comment(
            db_session(), current_actor(), notice.id, side=side, body=form.body.data
        )
    except services.InboundInvalid as exc:
        return notice_page(notice, form, attach(form, exc.errors), 422)
    flash(_("Comment added."), "success")
    return redirect(url_for("shop.inbound_notice", notice_id=notice.id, _anchor="comments"), 303)


@bp.post("/inbound/<int:notice_id>/cancel")
def cancel_inbound(notice_id: int):
    require(REGISTER_ROLES)
    notice = notice_or_404(notice_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.cancel_notice(
            db_session(), current_actor(), notice.id, version=int(form.version.data or 0)
        )
    except services.StaleInbound:
        return notice_page(
            notice, problems=[_("Someone changed this notice meanwhile. Look again.")], status=409
        )
    except services.InboundInvalid as exc:
        return notice_page(notice, problems=attach(form, exc.errors), status=409)
    flash(_("Notice %(number)s cancelled.", number=notice.number), "success")
    return redirect(url_for("shop.inbound_notice", notice_id=notice.id), 303)


def shows_receiving() -> bool:
    return has_permission("stock.receive")
