"""Background tasks of a shop, with progress: the tenant-owned row the portal finds a job by.

A view calls :func:`start_task`: it adds a :class:`ShopTask` and the outbox row of its job
(with ``task_id`` in the job's arguments) in the request's transaction. The job reports
progress with :func:`report_progress` in short transactions of its own, so the portal sees
it while the job runs, and ends with :func:`finish_task` in its main transaction (with its
effects) or :func:`fail_task` after its last attempt. The portal never puts a raw RQ job id
in a URL: it looks the task up with :func:`get_task`, scoped to the shop like any row.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import audit, outbox
from urakata.platform.db import Base, TenantNotBound, TenantOwned, UrakataSession, utcnow
from urakata.platform.tenancy import NotFound, get_scoped

# The first kind of task: verifying the shop's own audit chain (job in worker/task_jobs).
VERIFY_CHAIN = "audit.verify_chain"
VERIFY_CHAIN_JOB = "tasks.verify_chain"
VERIFY_CHAIN_QUEUE = "default"
MESSAGE_MAX = 500


class TaskStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


FINISHED = frozenset({TaskStatus.done, TaskStatus.failed})


class ShopTask(TenantOwned, Base):
    """One run of a long job for a shop: its status, progress and result."""

    __tablename__ = "shop_task"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("progress_done >= 0 AND progress_total >= 0", name="progress"),
        Index("ix_shop_task_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.queued.value)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    # Short and technical (an error's class name); the portal words the status itself.
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSONB)
    outbox_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == TaskStatus.done else 0
        return min(100, self.progress_done * 100 // self.progress_total)


def start_task(
    session: UrakataSession,
    *,
    kind: str,
    actor: audit.Actor,
    job: str,
    queue: str,
    **ids: Any,
) -> ShopTask:
    """Add a task of the session's shop and request its ``job`` (after commit).

    The job receives ``task_id`` and ``ids`` (ids and plain values only). The start is
    recorded on the shop's chain.
    """
    if session.tenant_id is None:
        raise TenantNotBound("a task belongs to a shop: bind the session first")
    task = ShopTask(tenant_id=session.tenant_id, kind=kind, created_by=actor.user_id)
    session.add(task)
    session.flush()
    message = outbox.enqueue(
        session, job, queue=queue, shop_id=session.tenant_id, task_id=task.id, **ids
    )
    task.outbox_id = message.id
    audit.record(
        session, actor, "task.started", object_type="task", object_id=task.id, data={"kind": kind}
    )
    return task


def get_task(session: UrakataSession, task_id: uuid.UUID | str) -> ShopTask:
    """The task of the session's shop, or :class:`NotFound` (missing and foreign alike)."""
    try:
        task_id = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except ValueError as exc:
        raise NotFound(f"no task {task_id!r}") from exc
    return get_scoped(session, ShopTask, task_id)


def active_task(
    session: UrakataSession, kind: str, *, younger_than: timedelta = timedelta(hours=1)
) -> ShopTask | None:
    """A recent task of ``kind`` still queued or running (to refuse starting it twice)."""
    return session.scalars(
        select(ShopTask)
        .where(
            ShopTask.kind == kind,
            ShopTask.status.in_([TaskStatus.queued.value, TaskStatus.running.value]),
            ShopTask.created_at > utcnow() - younger_than,
        )
        .order_by(ShopTask.created_at.desc())
        .limit(1)
    ).first()


def list_tasks(
    session: UrakataSession,
    *,
    kinds: frozenset[str] | set[str] | None = None,
    before: ShopTask | None = None,
    limit: int = 20,
) -> list[ShopTask]:
    """The shop's tasks, newest first; keyset pagination by (created_at, id) after ``before``."""
    query = select(ShopTask)
    if kinds is not None:
        query = query.where(ShopTask.kind.in_(sorted(kinds)))
    if before is not None:
        query = query.where(
            tuple_(ShopTask.created_at, ShopTask.id) < tuple_(before.created_at, before.id)
        )
    order = (ShopTask.created_at.desc(), ShopTask.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def _update(session: UrakataSession, task_id: uuid.UUID | str, **values: Any) -> None:
    task_id = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    result = session.execute(update(ShopTask).where(ShopTask.id == task_id).values(**values))
    if result.rowcount != 1:
        raise NotFound(f"ShopTask {task_id} not found")


def report_progress(
    session: UrakataSession,
    task_id: uuid.UUID | str,
    *,
    done: int,
    total: int | None = None,
    message: str | None = None,
) -> None:
    """The job is running and has done ``done`` of ``total`` items (marks it running).

    Jobs call it in a short transaction of its own (not their main one), so the row lock
    is released at once and the portal sees the figures while the job runs.
    """
    values: dict[str, Any] = {
        "status": TaskStatus.running.value,
        "progress_done": max(0, done),
        "started_at": func.coalesce(ShopTask.started_at, utcnow()),
        "finished_at": None,
    }
    if total is not None:
        values["progress_total"] = max(0, total)
    if message is not None:
        values["message"] = message[:MESSAGE_MAX]
    _update(session, task_id, **values)


def finish_task(
    session: UrakataSession,
    task_id: uuid.UUID | str,
    *,
    result: Mapping[str, Any],
    done: int | None = None,
    message: str = "",
) -> None:
    """The task is done; ``result`` (plain JSON values) is what the portal shows."""
    values: dict[str, Any] = {
        "status": TaskStatus.done.value,
        "result": dict(result),
        "message": message[:MESSAGE_MAX],
        "finished_at": utcnow(),
    }
    if done is not None:
        values["progress_done"] = done
    _update(session, task_id, **values)


def fail_task(session: UrakataSession, task_id: uuid.UUID | str, *, message: str) -> None:
    """The job gave up after its last attempt. ``message`` is short (an error class name)."""
    _update(
        session,
        task_id,
        status=TaskStatus.failed.value,
        message=message[:MESSAGE_MAX],
        finished_at=utcnow(),
    )


def retry_task(session: UrakataSession, task_id: uuid.UUID | str, *, message: str) -> None:
    """An attempt failed and the job will run again: back to queued, progress from zero."""
    _update(
        session,
        task_id,
        status=TaskStatus.queued.value,
        progress_done=0,
        message=message[:MESSAGE_MAX],
    )
