"""Shop tasks: start one (verify the shop's audit chain), follow its progress, see its result.

A task is always found through its tenant-owned row (``platform.tasks``), never by a raw
job id: another shop's task answers 404 like a missing one. Who may run a kind of task may
also see it; for the others in the shop it is 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select

from urakata.platform import tasks
from urakata.platform.identity import Role, UserAccount
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.actor import current_actor
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry

PER_PAGE = 20

menu_entry("shop.task_list", _l("Tasks"), "shop.tasks.run")


@dataclass(frozen=True)
class TaskKind:
    label: object  # a lazy string
    roles: frozenset[Role]


TASK_KINDS: dict[str, TaskKind] = {
    tasks.VERIFY_CHAIN: TaskKind(
        _l("Audit chain verification"),
        frozenset({Role.shop_admin, Role.agency_admin, Role.auditor}),
    ),
}


class StartTaskForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""


def _kinds_allowed() -> set[str]:
    return {kind for kind, spec in TASK_KINDS.items() if g.shop_roles & spec.roles}


def _require_kind(kind: str) -> None:
    if kind not in _kinds_allowed():
        abort(403)


def _task_or_404(task_id: uuid.UUID) -> ShopTask:
    try:
        task = tasks.get_task(db_session(), task_id)
    except NotFound:
        abort(404)
    _require_kind(task.kind)
    return task


def status_text(task: ShopTask) -> str:
    if task.status == TaskStatus.queued:
        return _("Waiting to start…")
    if task.status == TaskStatus.running:
        if task.progress_total:
            return _(
                "%(done)s of %(total)s done",
                done=format_number(task.progress_done),
                total=format_number(task.progress_total),
            )
        return _("Running…")
    if task.status == TaskStatus.done:
        return _("Done")
    return _("Failed: %(reason)s", reason=task.message or "?")


def task_state(task: ShopTask) -> dict:
    """What the progress component shows; the same as the JSON it polls."""
    done = task.status == TaskStatus.done
    return {
        "status": task.status,
        "done": task.progress_done,
        "total": task.progress_total,
        "percent": task.percent,
        "message": task.message,
        "status_text": status_text(task),
        "result_url": url_for("shop.task_page", task_id=task.id, _anchor="result")
        if done
        else None,
    }


def _names(user_ids) -> dict[uuid.UUID, str]:
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = db_session().execute(
        select(UserAccount.id, UserAccount.display_name).where(UserAccount.id.in_(ids))
    )
    return dict(rows.all())


def _local(value) -> str:
    return value.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@bp.get("/tasks")
def task_list():
    allowed = _kinds_allowed()
    if not allowed:
        abort(403)
    session = db_session()
    before = None
    if request.args.get("before"):
        try:
            before = tasks.get_task(session, request.args["before"])
        except NotFound:
            abort(404)
    rows = tasks.list_tasks(session, kinds=allowed, before=before, limit=PER_PAGE + 1)
    return render_template(
        "shop/tasks.html",
        shop=g.shop,
        rows=rows[:PER_PAGE],
        older=rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None,
        first_page=before is None,
        kinds=TASK_KINDS,
        names=_names(t.created_by for t in rows),
        status_text=status_text,
        local=_local,
        can_verify=tasks.VERIFY_CHAIN in allowed,
        form=StartTaskForm(),
    )


@bp.post("/tasks/verify-chain")
def start_chain_verification():
    _require_kind(tasks.VERIFY_CHAIN)
    if not StartTaskForm().validate_on_submit():
        abort(400)
    session = db_session()
    running = tasks.active_task(session, tasks.VERIFY_CHAIN)
    if running is not None:
        flash(_("A verification of this shop's chain is already under way."), "warning")
        return redirect(url_for("shop.task_page", task_id=running.id), 303)
    task = tasks.start_task(
        session,
        kind=tasks.VERIFY_CHAIN,
        actor=current_actor(),
        job=tasks.VERIFY_CHAIN_JOB,
        queue=tasks.VERIFY_CHAIN_QUEUE,
    )
    flash(_("The verification has started."), "success")
    return redirect(url_for("shop.task_page", task_id=task.id), 303)


@bp.get("/tasks/<uuid:task_id>")
def task_page(task_id: uuid.UUID):
    task = _task_or_404(task_id)
    return render_template(
        "shop/task.html",
        shop=g.shop,
        task=task,
        kind=TASK_KINDS[task.kind],
        state=task_state(task),
        creator=_names([task.created_by]).get(task.created_by, ""),
        local=_local,
    )


@bp.get("/tasks/<uuid:task_id>/progress.json")
def task_progress(task_id: uuid.UUID):
    response = jsonify(task_state(_task_or_404(task_id)))
    response.headers["Cache-Control"] = "no-store"
    return response
