"""The order file import job: a cart's file, checked again and imported with a progress bar.

The portal checks the upload in the request and starts the task (``service.start_import``):
the task's row holds the file's text (``result["upload"]``) until this job replaces it
with the figures. The job checks the whole file again (orders may
have come in by the API or a webhook since) while it takes the orders in
(``service.import_file``), in its one transaction; the bar counts the file's rows.
"""

from __future__ import annotations

from sqlalchemy import update

from urakata.platform import csvfiles, tasks
from urakata.platform.db import UrakataSession
from urakata.platform.tasks import ShopTask
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.imports import service
from urakata.tenants.orders.imports.service import IMPORT_JOB, IMPORT_QUEUE
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed


def _set_result(session: UrakataSession, task_id, result: dict) -> None:
    session.execute(update(ShopTask).where(ShopTask.id == task_id).values(result=result))


def _import_failed(
    session: UrakataSession, ctx: Context, exc: Exception, final: bool, *, task_id: str
) -> None:
    task_failed(session, ctx, exc, final, task_id=task_id)
    if final:  # the upload goes; the task says what happened
        _set_result(session, task_id, {"error": type(exc).__name__})


@tenant_job(
    IMPORT_JOB, queue=IMPORT_QUEUE, retry_intervals=(30, 300), timeout=3600,
    on_failure=_import_failed,
)  # fmt: skip
def import_file(session: UrakataSession, ctx: Context, *, task_id: str) -> dict:
    shop_id = session.tenant_id
    task = tasks.get_task(session, task_id)
    upload = (task.result or {}).get("upload")
    if upload is None:  # a finished run removed the upload: nothing left to do
        return {"skipped": True}
    zone = session.get(Tenant, shop_id).timezone
    progress = Progress(ctx, shop_id, task.id, total=task.progress_total)
    try:
        check, imported = service.import_file(
            session, actor=ctx.actor, format_key=upload["format"],
            data=upload["text"].encode("utf-8"), sha256=upload["sha256"], zone=zone,
            filename=upload["filename"], only_valid=upload["only_valid"],
            progress=lambda done, total: progress(done * task.progress_total // max(total, 1)),
        )  # fmt: skip
    except service.ImportInvalid as exc:
        # The shop's orders changed since the portal's check in a way the file trips on.
        result = {"filename": upload["filename"], **exc.check.summary(), **_errors(exc.errors)}
        tasks.fail_task(session, task.id, message="ImportInvalid")
        _set_result(session, task.id, result)
        return result
    result = {"filename": upload["filename"], **check.summary(), **imported.as_dict(),
              "only_valid": upload["only_valid"], **_errors(check.errors)}  # fmt: skip
    tasks.finish_task(session, task.id, result=result, done=task.progress_total)
    progress.to_job_meta(task.progress_total, tasks.TaskStatus.done)
    return {k: v for k, v in result.items() if k != "errors"}


ERROR_REPORT_MAX = 10_000  # errors kept for the downloadable report (their count is kept)


def _errors(errors: list) -> dict:
    return {
        "errors": csvfiles.error_rows(errors, limit=ERROR_REPORT_MAX),
        "error_count": len(errors),
    }
