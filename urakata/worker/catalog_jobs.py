"""The catalog import job: a checked CSV upload, imported with a progress bar.

The portal checks the file in the request and, when it is clean, starts the task with
``csvio.start_import``: the task's row holds the upload (``result["upload"]``) until this
job replaces it with the figures. The job checks the whole file again (the shop may have
changed since), locking the products it changes, then imports it in its one transaction.
Progress goes to the task row and ``job.meta``: checking is the first half of the bar,
importing the second; ``task.message`` says which half is moving.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from urakata.platform import audit, csvfiles, tasks
from urakata.platform.db import UrakataSession
from urakata.platform.tasks import ShopTask
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog import csvio
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed

PHASE_CHECKING = "checking"
PHASE_IMPORTING = "importing"


def _set_result(session: UrakataSession, task_id, result: dict) -> None:
    """Replace the task's result (and with it the upload)."""
    session.execute(
        update(ShopTask).where(ShopTask.id == uuid.UUID(str(task_id))).values(result=result)
    )


def _import_failed(
    session: UrakataSession, ctx: Context, exc: Exception, final: bool, *, task_id: str
) -> None:
    """As every task (queued again, then failed); after the last attempt the upload goes."""
    task_failed(session, ctx, exc, final, task_id=task_id)
    if final:
        _set_result(session, task_id, {"error": type(exc).__name__})


class _Halves:
    """One bar for two phases: checking moves it from 0 to n rows, importing from n to 2n."""

    def __init__(self, progress: Progress, rows: int):
        self.progress = progress
        self.rows = rows

    def checking(self, done: int, total: int) -> None:
        self._report(done, PHASE_CHECKING)

    def importing(self, done: int, total: int) -> None:
        self._report(self.rows + done * self.rows // max(total, 1), PHASE_IMPORTING)

    def _report(self, done: int, phase: str) -> None:
        progress = self.progress
        with progress.ctx.db.tenant_session(progress.shop_id) as session:
            tasks.report_progress(
                session, progress.task_id, done=done, total=2 * self.rows, message=phase
            )
        progress.to_job_meta(done, tasks.TaskStatus.running)


@tenant_job(
    csvio.IMPORT_JOB,
    queue=csvio.IMPORT_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=_import_failed,
)
def import_products(session: UrakataSession, ctx: Context, *, task_id: str) -> dict:
    """Check the uploaded file again, then import it; the figures are the task's result."""
    shop_id = session.tenant_id
    task = tasks.get_task(session, task_id)
    upload = (task.result or {}).get("upload")
    if upload is None:  # the upload is gone once a run has finished: nothing left to do
        return {"skipped": True}
    parsed = csvio.parse_text(upload["text"], upload["encoding"])
    rows = len(parsed.records)
    progress = Progress(ctx, shop_id, task.id, total=2 * rows)
    halves = _Halves(progress, rows)
    halves.checking(0, rows)
    check = csvio.check_import(
        session,
        parsed,
        zone=session.get(Tenant, shop_id).timezone,
        update_existing=upload.get("update_existing", True),
        lock=True,
        progress=halves.checking,
    )
    result = {"filename": upload.get("filename", ""), **check.summary()}
    if not check.ok:
        # The shop changed since the portal's check: say what, import nothing.
        result |= {"errors": csvfiles.error_rows(check.errors), "error_count": len(check.errors)}
        tasks.fail_task(session, task.id, message="ImportInvalid")
        _set_result(session, task.id, result)
        return result
    halves.importing(0, 1)
    imported = csvio.import_products(
        session, actor=ctx.actor, check=check, task_id=task.id, progress=halves.importing
    )
    result |= imported.as_dict()
    tasks.finish_task(session, task.id, result=result, done=2 * rows)
    audit.record(
        session, ctx.actor, "catalog.imported", object_type="task", object_id=task.id, data=result
    )
    progress.to_job_meta(2 * rows, tasks.TaskStatus.done)
    return result
