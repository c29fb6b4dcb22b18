"""The part every CSV export job shares: rows page by page with progress, the file as the
task's result, one ledger event.

A job supplies its header, its total and a generator of pages; each page is the CSV rows
it adds and how many listed things (orders, SKUs) they came from. The file is encoded in
the encoding the user chose (``platform.csvfiles.encode_csv``: UTF-8 with a BOM or CP932)
and named after the shop and the time in the shop's zone.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime

from urakata.platform import audit, tasks
from urakata.platform.csvfiles import encode_csv
from urakata.platform.db import UrakataSession
from urakata.platform.tenancy import Tenant
from urakata.worker.runtime import Context
from urakata.worker.task_jobs import Progress


def write_csv_export(
    session: UrakataSession,
    ctx: Context,
    *,
    task_id: str,
    encoding: str,
    header: list[str],
    total: int,
    pages: Iterable[tuple[list[list[str]], int]],
    counted: str,
    file_stem: str,
    event: str,
    filters: dict,
) -> dict:
    """Write the pages as the task's CSV file; the figures are the task's result.

    ``counted`` names the figure of listed things in the result ("orders", "products");
    ``event`` is the ledger event, which records the figures and the filters used.
    """
    shop = session.get(Tenant, session.tenant_id)
    task = tasks.get_task(session, task_id)
    progress = Progress(ctx, shop.id, task.id, total=total)
    progress(0, total)
    rows: list[list[str]] = [header]
    done = 0
    for page_rows, count in pages:
        rows.extend(page_rows)
        done += count
        progress(done, max(total, done))
    data = b"".join(encode_csv(rows, encoding))
    stamp = datetime.now(shop.zone).strftime("%Y%m%d-%H%M")
    result = {
        counted: done,
        "rows": len(rows) - 1,
        "encoding": encoding,
        "filename": f"{file_stem}-{shop.slug}-{stamp}.csv",
        "size": len(data),
    }
    tasks.finish_task(
        session, task_id, result={**result, "file": base64.b64encode(data).decode()}, done=done
    )
    audit.record(
        session,
        ctx.actor,
        event,
        object_type="task",
        object_id=task_id,
        data={**result, "filters": filters},
    )
    progress.to_job_meta(done, tasks.TaskStatus.done)
    return result
