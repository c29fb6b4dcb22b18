"""The sasage rendition job: thumbnails and web-size JPEGs of uploaded photos (Pillow).

The portal starts the shop task with the upload (``photos.add_photos``); this job renders
every photo of the request still waiting, reporting progress per photo to the task row
and ``job.meta``. A second run finds nothing pending (the rows say so, locked while
rendered) and a photo that cannot be rendered is marked failed, not retried forever.
"""

from __future__ import annotations

from urakata.platform import tasks
from urakata.platform.db import UrakataSession
from urakata.tenants.sasage import photos
from urakata.tenants.sasage.storage import FileStore
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed


@tenant_job(
    photos.RENDER_JOB,
    queue=photos.RENDER_QUEUE,
    retry_intervals=(10, 60, 300),
    timeout=900,
    on_failure=task_failed,
)
def render_images(session: UrakataSession, ctx: Context, *, task_id: str, request_id: int) -> dict:
    """Render the request's pending photos; the counts are the task's result."""
    task = tasks.get_task(session, task_id)
    progress = Progress(ctx, session.tenant_id, task.id)
    result = photos.render_pending(
        session,
        actor=ctx.actor,
        request_id=request_id,
        store=FileStore.at(ctx.settings.files_dir),
        progress=progress,
    )
    done = result["ready"] + result["failed"]
    tasks.finish_task(session, task.id, result=result, done=done)
    progress.to_job_meta(done, tasks.TaskStatus.done)
    return result
