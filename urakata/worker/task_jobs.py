"""Jobs behind shop tasks (platform.tasks): they report progress as they go.

Progress goes to the task's row in short transactions of its own (so the portal sees it
while the job's main transaction is still open) and to the RQ job's ``meta``. The job's
effects, the task's result and its ledger event are written once, in the main
transaction, by :func:`urakata.worker.runtime.run`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from rq import get_current_job
from sqlalchemy import text

from urakata.platform import audit, tasks
from urakata.platform.db import UrakataSession
from urakata.platform.ledger import Verdict, verify_events, verify_head
from urakata.worker.runtime import Context, tenant_job

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1_000  # events per chunk read, and per progress report

_CHUNK = text(
    "SELECT seq, occurred_at, actor_type, actor_id, action, object_type, object_id,"
    " body, prev_hash, hash FROM audit_event"
    " WHERE tenant_id = :chain AND seq > :after AND seq <= :upto ORDER BY seq LIMIT :limit"
)
_HEAD = text("SELECT seq, hash FROM chain_head WHERE tenant_id = :chain")
_LAST_SEQ = text("SELECT max(seq) FROM audit_event WHERE tenant_id = :chain")


@dataclass
class Progress:
    """Reports a task's progress to its row (own short transaction) and to ``job.meta``."""

    ctx: Context
    shop_id: uuid.UUID
    task_id: uuid.UUID
    total: int = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        with self.ctx.db.tenant_session(self.shop_id) as session:
            tasks.report_progress(session, self.task_id, done=done, total=total)
        self.to_job_meta(done, tasks.TaskStatus.running)

    def to_job_meta(self, done: int, status: str) -> None:
        job = get_current_job()
        if job is not None:
            job.meta["progress"] = {
                "task_id": str(self.task_id),
                "status": str(status),
                "done": done,
                "total": self.total,
            }
            job.save_meta()


def _chain_rows(
    session: UrakataSession,
    chain_id: uuid.UUID,
    upto: int,
    on_chunk: Callable[[int], None],
    chunk: int = PROGRESS_EVERY,
) -> Iterator[Mapping]:
    """The chain's events up to ``upto`` in ``seq`` order, read ``chunk`` at a time."""
    after = 0
    while after < upto:
        rows = (
            session.execute(
                _CHUNK, {"chain": chain_id, "after": after, "upto": upto, "limit": chunk}
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        yield from rows
        after = rows[-1]["seq"]
        on_chunk(after)


def verify_chain_with_progress(
    session: UrakataSession, chain_id: uuid.UUID, progress: Callable[..., None]
) -> Verdict:
    """The checks of ``audit.verify_chain`` (docs/ledger-spec.md), reporting as it reads.

    The head is read first and the events are checked up to it, so events appended while
    the job runs do not make a sound chain look cut; events beyond a head that has not
    moved past them are reported (a forged tail).
    """
    head = session.execute(_HEAD, {"chain": chain_id}).one_or_none()
    head_seq, head_hash = (head.seq, bytes(head.hash)) if head else (0, audit.ZERO_HASH)
    progress(0, head_seq)
    verdict = verify_events(chain_id, _chain_rows(session, chain_id, head_seq, progress))
    verdict = verify_head(verdict, head_seq, head_hash)
    if not verdict.ok:
        return verdict
    last_seq = session.execute(_LAST_SEQ, {"chain": chain_id}).scalar() or 0
    moved = session.execute(_HEAD, {"chain": chain_id}).one_or_none()
    if moved is not None and last_seq > moved.seq:
        return Verdict(
            chain_id,
            False,
            verdict.count,
            verdict.last_seq,
            verdict.last_hash,
            moved.seq + 1,
            f"events go on to seq {last_seq}; the chain head says {moved.seq}",
        )
    return verdict


def task_failed(
    session: UrakataSession, ctx: Context, exc: Exception, final: bool, *, task_id: str, **_args
) -> None:
    """A failed attempt shows on the task: queued again while retries are left, then failed.

    The job's other arguments (an export's filters, a request id) come along and are no
    concern of the task; taking them here lets every task job name this as its on_failure.
    """
    reason = type(exc).__name__
    if final:
        tasks.fail_task(session, task_id, message=reason)
    else:
        tasks.retry_task(session, task_id, message=reason)


@tenant_job(
    tasks.VERIFY_CHAIN_JOB,
    queue=tasks.VERIFY_CHAIN_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def verify_chain(session: UrakataSession, ctx: Context, *, task_id: str) -> dict:
    """Verify the shop's own audit chain; the verdict is the task's result and a ledger event."""
    shop_id = session.tenant_id
    task = tasks.get_task(session, task_id)
    progress = Progress(ctx, shop_id, task.id)
    verdict = verify_chain_with_progress(session, shop_id, progress)
    result = {
        "ok": verdict.ok,
        "count": verdict.count,
        "last_seq": verdict.last_seq,
        "bad_seq": verdict.bad_seq,
        "reason": verdict.reason,
    }
    tasks.finish_task(session, task.id, result=result, done=verdict.count)
    audit.record(
        session,
        ctx.actor,
        "audit.verified",
        object_type="task",
        object_id=task.id,
        data=result,
    )
    progress.to_job_meta(verdict.count, tasks.TaskStatus.done)
    if not verdict.ok:
        log.warning("audit chain of shop %s is broken: %s", shop_id, verdict)
    return result
