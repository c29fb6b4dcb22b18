"""What the pages of a shop's file tasks share — CSV exports of a list (orders, stock) and
file imports (products, orders): starting an export (or pointing at the user's export
already under way), finding the task, its progress state, the downloads.

Each list or import keeps its own permission and status wording; the task lookup
answers 404 for a task of another kind as for another shop's.
"""

from __future__ import annotations

import base64

from flask import Response, abort, flash, jsonify, redirect, url_for
from flask_babel import gettext as _

from urakata.platform import csvfiles, tasks
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
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


def task_or_404(task_id, kind: str) -> ShopTask:
    try:
        task = tasks.get_task(db_session(), task_id)
    except NotFound:
        abort(404)
    if task.kind != kind:
        abort(404)
    return task


def page_state(task: ShopTask, *, status_text: str, result_url: str) -> dict:
    """The progress bar's state, with where to go once the task is done."""
    state = task_state(task)
    state["status_text"] = status_text
    state["result_url"] = result_url if task.status == TaskStatus.done else None
    return state


def export_state(task: ShopTask, *, status_text: str, download: str) -> dict:
    """An export's progress state, with the download link once the file is there."""
    return page_state(task, status_text=status_text, result_url=url_for(download, task_id=task.id))


def import_page(task: ShopTask, errors_shown: int | None = None) -> dict:
    """What an import's task page shows: its figures (none while the upload waits), the
    file name, and the problems found (at most ``errors_shown``), each translated."""
    result = task.result or {}
    errors = csvfiles.errors_from_rows(result.get("errors", [])[:errors_shown])
    return {
        "result": result if "upload" not in result else {},
        "filename": (result.get("upload") or result).get("filename", ""),
        "errors": [(e, translate_message(e.message)) for e in errors],
    }


def import_refused_text(task: ShopTask) -> str | None:
    """The wording for an import refused when the job checked the file again."""
    if task.status == TaskStatus.failed and (task.result or {}).get("errors"):
        return _("Not imported: the file no longer passes the checks.")
    return None


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
