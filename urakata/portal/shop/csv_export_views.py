"""What every "export this list as CSV" page shares: starting the job (or pointing at the
user's export already under way), finding the task, its progress state, the download.

The lists (orders, stock) keep their own filters, permissions and status wording; the
task lookup answers 404 for a task of another kind as for another shop's.
"""

from __future__ import annotations

import base64

from flask import Response, abort, flash, jsonify, redirect, url_for
from flask_babel import gettext as _

from urakata.platform import tasks
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.actor import current_actor
from urakata.portal.requestdb import db_session
from urakata.portal.shop.task_views import task_state


def start_export(*, kind: str, job: str, queue: str, page: str, **arguments) -> Response:
    """Start the export job with ``arguments``; a user's second click meets the first."""
    session = db_session()
    running = tasks.active_task(session, kind)
    if running is not None and running.created_by == current_actor().user_id:
        flash(_("Your export is already under way; wait for it to finish."), "warning")
        return redirect(url_for(page, task_id=running.id), 303)
    task = tasks.start_task(
        session, kind=kind, actor=current_actor(), job=job, queue=queue, **arguments
    )
    flash(_("The export has started."), "success")
    return redirect(url_for(page, task_id=task.id), 303)


def export_task_or_404(task_id, kind: str) -> ShopTask:
    try:
        task = tasks.get_task(db_session(), task_id)
    except NotFound:
        abort(404)
    if task.kind != kind:
        abort(404)
    return task


def export_state(task: ShopTask, *, status_text: str, download: str) -> dict:
    """The progress bar's state, with the download link once the file is there."""
    state = task_state(task)
    state["status_text"] = status_text
    done = task.status == TaskStatus.done
    state["result_url"] = url_for(download, task_id=task.id) if done else None
    return state


def shown_result(task: ShopTask) -> dict:
    """The task's figures without the file itself."""
    return {k: v for k, v in (task.result or {}).items() if k != "file"}


def progress_response(state: dict) -> Response:
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_download(task: ShopTask) -> Response:
    """The finished export's file (404 before it is finished)."""
    result = task.result or {}
    if task.status != TaskStatus.done or "file" not in result:
        abort(404)
    charset = "Shift_JIS" if result.get("encoding") == "cp932" else "utf-8"
    response = Response(base64.b64decode(result["file"]), mimetype="text/csv")
    response.headers["Content-Type"] = f"text/csv; charset={charset}"
    response.headers["Content-Disposition"] = f'attachment; filename="{result["filename"]}"'
    response.headers["Cache-Control"] = "no-store"
    return response
