"""The auditor's ledger pages: search a chain, read an event and an object's history,
verify the chain up to its latest signed checkpoint, export it for ``urakata-verify``.

A chain is named in the URL: a shop's slug, or ``_agency`` (no slug has an underscore).
Auditors are read-only: the only writes are their own recorded searches, views, exports
and verification tasks. A chain the auditor may not audit answers 404, like a missing one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional

from urakata.platform import audit, auditor, exports, tasks
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.identity import Role
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound, get_tenant_by_slug
from urakata.portal.access import require_agency_role, roles_in_shop
from urakata.portal.actor import current_actor
from urakata.portal.audit.views import bp
from urakata.portal.requestdb import db_session
from urakata.portal.timeline import ACTION_LABELS

AGENCY = "_agency"
TASK_KINDS = frozenset({auditor.VERIFY_KIND, exports.EXPORT_KIND})


@dataclass(frozen=True)
class Chain:
    id: uuid.UUID
    slug: str
    name: str
    zone: ZoneInfo

    def local(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class ExportForm(FlaskForm):
    start = DateField(_l("From (inclusive)"), validators=[Optional()])
    end = DateField(_l("To (inclusive)"), validators=[Optional()])


class VerifyForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""


def agency_wide(user) -> bool:
    return any(m.role == Role.auditor and m.shop_id is None for m in user.memberships)


def _chain(slug: str) -> Chain:
    """The chain in the URL, bound to the request's session; 404 when not this auditor's."""
    require_agency_role(Role.auditor)
    session = db_session()
    if slug == AGENCY:
        if not agency_wide(current_user):
            abort(404)
        session.bind_tenant(AGENCY_CHAIN_ID)
        zone = ZoneInfo(current_app.config["URAKATA_SETTINGS"].default_timezone)
        return Chain(AGENCY_CHAIN_ID, AGENCY, _("Agency"), zone)
    try:
        tenant = get_tenant_by_slug(session, slug)
    except NotFound:
        abort(404)
    if Role.auditor not in roles_in_shop(current_user, tenant.id):
        abort(404)
    session.bind_tenant(tenant.id)
    return Chain(tenant.id, tenant.slug, tenant.name, tenant.zone)


def _date_arg(name: str) -> datetime | None | bool:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        return False


def _day_start(day: datetime | None, zone: ZoneInfo, plus_days: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day.date() + timedelta(days=plus_days), time(), tzinfo=zone)


def _query(chain: Chain) -> tuple[auditor.EventQuery, list[str]]:
    errors = []
    start, end = _date_arg("from"), _date_arg("to")
    if start is False:
        errors.append(_("“From” must be a date (YYYY-MM-DD)."))
        start = None
    if end is False:
        errors.append(_("“To” must be a date (YYYY-MM-DD)."))
        end = None
    before = request.args.get("before", "")
    query = auditor.EventQuery(
        actor=request.args.get("actor", "").strip()[:200],
        action=request.args.get("action", "").strip()[:64],
        object_type=request.args.get("object_type", "").strip()[:64],
        object_id=request.args.get("object_id", "").strip()[:64],
        start=_day_start(start, chain.zone),
        end=_day_start(end, chain.zone, plus_days=1),
        text=request.args.get("q", "").strip()[:200],
        before_seq=int(before) if before.isdigit() else None,
    )
    return query, errors


@bp.before_request
@login_required
def _logged_in():
    return None


def label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.get("/<chain>/events")
def events(chain: str):
    chain = _chain(chain)
    session = db_session()
    query, errors = _query(chain)
    found = [] if errors else auditor.search_events(session, query, limit=auditor.PAGE + 1)
    more = len(found) > auditor.PAGE
    found = found[: auditor.PAGE]
    auditor.record_search(session, current_actor(), query, len(found))
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    next_url = (
        url_for("audit.events", chain=chain.slug, before=found[-1].seq, **args) if more else None
    )
    return render_template(
        "audit/chain.html",
        chain=chain,
        events=found,
        errors=errors,
        args=request.args,
        next_url=next_url,
        # The known actions, not a DISTINCT over the chain (a scan of millions of rows).
        actions=sorted(ACTION_LABELS),
        recent=tasks.list_tasks(session, kinds=TASK_KINDS, limit=10),
        export_form=ExportForm(),
        verify_form=VerifyForm(),
        label=label,
    )


@bp.get("/<chain>/events/<int:seq>")
def event(chain: str, seq: int):
    chain = _chain(chain)
    session = db_session()
    found = auditor.get_event(session, seq)
    if found is None:
        abort(404)
    auditor.record_event_read(session, current_actor(), "event", seq)
    payload = found.payload
    return render_template(
        "audit/event.html",
        chain=chain,
        event=found,
        payload=payload,
        changes=payload.get("changes", {}),
        body=bytes(found.body).decode("utf-8", "replace"),
        label=label,
    )


@bp.get("/<chain>/objects/<object_type>/<object_id>")
def object_history(chain: str, object_type: str, object_id: str):
    chain = _chain(chain)
    session = db_session()
    before = request.args.get("before", "")
    found = audit.history(
        session,
        object_type=object_type,
        object_id=object_id,
        before_seq=int(before) if before.isdigit() else None,
        limit=auditor.PAGE + 1,
    )
    more = len(found) > auditor.PAGE
    found = found[: auditor.PAGE]
    auditor.record_event_read(session, current_actor(), f"history of {object_type}", object_id)
    next_url = (
        url_for(
            "audit.object_history",
            chain=chain.slug,
            object_type=object_type,
            object_id=object_id,
            before=found[-1].seq,
        )
        if more
        else None
    )
    return render_template(
        "audit/object.html",
        chain=chain,
        object_type=object_type,
        object_id=object_id,
        events=found,
        next_url=next_url,
        label=label,
    )


@bp.post("/<chain>/verify")
def verify(chain: str):
    chain = _chain(chain)
    if not VerifyForm().validate_on_submit():
        abort(400)
    task = auditor.start_verification(db_session(), current_actor())
    return redirect(url_for("audit.task_page", chain=chain.slug, task_id=task.id))


@bp.post("/<chain>/exports")
def start_export(chain: str):
    chain = _chain(chain)
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("Give the export's dates as YYYY-MM-DD."), "error")
        return redirect(url_for("audit.events", chain=chain.slug))
    start = _day_start(_as_datetime(form.start.data), chain.zone)
    end = _day_start(_as_datetime(form.end.data), chain.zone, plus_days=1)
    if start and end and end <= start:
        flash(_("“To” must not be before “From”."), "error")
        return redirect(url_for("audit.events", chain=chain.slug))
    task = exports.start_export(db_session(), current_actor(), start=start, end=end)
    return redirect(url_for("audit.task_page", chain=chain.slug, task_id=task.id))


def _as_datetime(day) -> datetime | None:
    return datetime.combine(day, time()) if day else None


def _task_or_404(task_id: uuid.UUID) -> ShopTask:
    try:
        task = tasks.get_task(db_session(), task_id)
    except NotFound:
        abort(404)
    if task.kind not in TASK_KINDS:
        abort(404)
    return task


def _status_text(task: ShopTask) -> str:
    if task.status == TaskStatus.queued:
        return _("Waiting to start…")
    if task.status == TaskStatus.running:
        return _(
            "%(done)s of %(total)s events",
            done=format_number(task.progress_done),
            total=format_number(task.progress_total),
        )
    if task.status == TaskStatus.done:
        return _("Done")
    return _("Failed: %(reason)s", reason=task.message or "?")


def _state(chain: Chain, task: ShopTask) -> dict:
    done = task.status == TaskStatus.done
    if done and task.kind == exports.EXPORT_KIND:
        result_url = url_for("audit.download_export", chain=chain.slug, task_id=task.id)
    elif done:
        result_url = url_for("audit.task_page", chain=chain.slug, task_id=task.id) + "#result"
    else:
        result_url = None
    return {
        "status": task.status,
        "done": task.progress_done,
        "total": task.progress_total,
        "percent": task.percent,
        "message": task.message,
        "status_text": _status_text(task),
        "result_url": result_url,
    }


@bp.get("/<chain>/tasks/<uuid:task_id>")
def task_page(chain: str, task_id: uuid.UUID):
    chain = _chain(chain)
    task = _task_or_404(task_id)
    return render_template(
        "audit/task.html", chain=chain, task=task, state=_state(chain, task), result=task.result
    )


@bp.get("/<chain>/tasks/<uuid:task_id>/progress.json")
def task_progress(chain: str, task_id: uuid.UUID):
    chain = _chain(chain)
    response = jsonify(_state(chain, _task_or_404(task_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<chain>/exports/<uuid:task_id>/download")
def download_export(chain: str, task_id: uuid.UUID):
    chain = _chain(chain)
    task = _task_or_404(task_id)
    if task.kind != exports.EXPORT_KIND or task.status != TaskStatus.done:
        abort(404)
    settings = current_app.config["URAKATA_SETTINGS"]
    path = exports.export_path(settings.files_dir, chain.id, task.id)
    if not path.is_file():
        abort(404)
    result = task.result or {}
    audit.record(
        db_session(),
        current_actor(),
        "audit.export.downloaded",
        object_type="task",
        object_id=task.id,
        data={"sha256": result.get("sha256"), "events": result.get("events")},
    )
    response: Response = send_file(
        path,
        mimetype="application/x-ndjson",
        as_attachment=True,
        download_name=result.get("file_name") or f"ledger-{chain.slug}.jsonl",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
