"""Inbound jobs: the label PDF of a notice's goods without a barcode.

WeasyPrint takes seconds for a few hundred labels (measured here: ~1.6 s for 50, ~5.7 s
for 200), so the labels are rendered by a warm worker, not in the request; the PDF is the
task's result and the portal shows the progress until it is there.
"""

from __future__ import annotations

import base64

from urakata.platform import audit, tasks
from urakata.platform.db import UrakataSession
from urakata.tenants.inbound import services
from urakata.tenants.inbound.labels import labels_for, render_labels
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import Progress, task_failed

# The same names as urakata.portal.agency.inbound_views (the worker may not import the portal).
LABELS_KIND = "inbound.labels"
LABELS_JOB = "inbound.labels_pdf"
LABELS_QUEUE = "default"


@tenant_job(
    LABELS_JOB, queue=LABELS_QUEUE, retry_intervals=(30, 300), timeout=900, on_failure=task_failed
)
def labels_pdf(session: UrakataSession, ctx: Context, *, task_id: str, notice_id: int) -> dict:
    """Render the notice's labels; the PDF is the task's result."""
    notice = services.get_notice(session, notice_id)
    labels = labels_for(session, notice)
    task = tasks.get_task(session, task_id)
    progress = Progress(ctx, session.tenant_id, task.id, total=len(labels))
    progress(0, len(labels))
    data = render_labels(labels, notice.number) if labels else b""
    result = {
        "labels": len(labels),
        "filename": f"labels-{notice.number}.pdf",
        "size": len(data),
        "notice_id": notice.id,
    }
    tasks.finish_task(
        session, task_id, result={**result, "file": base64.b64encode(data).decode()},
        done=len(labels),
    )  # fmt: skip
    audit.record(
        session,
        ctx.actor,
        "inbound.labels_rendered",
        object_type=services.OBJECT,
        object_id=notice.id,
        data=result,
    )
    progress.to_job_meta(len(labels), tasks.TaskStatus.done)
    return result
