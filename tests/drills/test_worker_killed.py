"""Drill: a worker SIGKILLed in the middle of a wave's pick-list job.

The job is caught at a known point without any hook in the code: the drill holds an
uncommitted pick-list row of the wave in a transaction of its own, so the job, having
claimed its idempotency key, rendered the PDF and reported two thirds of its progress,
waits on PostgreSQL's lock at its INSERT of the pick list. There the worker and its
scheduler are killed with SIGKILL. A new worker must find the abandoned job, run it again
and complete the wave's pick list once: one document, one ledger event, no stock
movement and no mail from the whole affair, and the other shop untouched.
"""

from __future__ import annotations

import time

import psycopg
from rq.job import Job
from sqlalchemy import func, select

from tests.drills.conftest import settle_seed, wait_until
from tests.tenants.fulfilment.conftest import OPERATOR, instructed, line, put_away, soon, waved
from tests.tenants.stock.conftest import B_PICK, PICK_1, PICK_2, RESERVE_1
from urakata.platform import audit, tasks
from urakata.platform.audit import AuditEvent
from urakata.platform.jobs import JobExecution
from urakata.platform.mail import MailMessage
from urakata.tenants.fulfilment import jobs as names
from urakata.tenants.fulfilment.models import PickList
from urakata.tenants.stock.models import StockMovement

# A killed job is found when its heartbeat lapses (30 s), at the next registry cleanup of
# an idle worker (every 30 s), then retried after its first retry interval (10 s) once the
# dead worker's scheduler lock has lapsed (61 s): about 60-100 s in all.
RECOVERY_DEADLINE = 180.0


def _seed_wave(stack) -> int:
    """Shop A: stock in three bins, three instructed orders, one wave of them. Shop B: an
    instructed order of its own (to stay untouched)."""
    db, a, b = stack.db, stack.shop_a, stack.shop_b
    put_away(
        db,
        a,
        line("CUP-1", 50, PICK_2),
        line("POT-1", 20, PICK_1),
        line("TEA-100", 20, RESERVE_1, "L-2026", soon(120)),
    )
    ids = [instructed(db, a, ("CUP-1", 2), ("POT-1", 1))[0] for _ in range(2)]
    ids += instructed(db, a, ("TEA-100", 1))
    put_away(db, b, line("CUP-1", 5, B_PICK))
    instructed(db, b, ("CUP-1", 1))
    return waved(db, a, ids)


def _count(stack, shop, model, *where) -> int:
    with stack.db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _job_waiting_on_pick_list(stack) -> int | None:
    """The backend of the job blocked at its INSERT of the pick list, if it is there."""
    rows = stack.sql(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE 'INSERT INTO pick_list%%'"
    )
    return rows[0][0] if rows else None


def _backend_gone(stack, pid: int) -> bool:
    return not stack.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %(pid)s", {"pid": pid})


def test_a_worker_killed_mid_pick_list_leaves_a_wave_completed_once(stack):
    a = stack.shop_a
    wave_id = _seed_wave(stack)
    settle_seed(stack)
    others_before = stack.census(stack.shop_b)
    movements = _count(stack, a, StockMovement)
    mails = _count(stack, a, MailMessage)

    procs = stack.processes
    worker = procs.worker()
    procs.wait_for_workers(stack.redis)
    with stack.db.tenant_session(a.id) as s:  # waits in the outbox until the relay runs
        task = names.start_pick_list(s, actor=OPERATOR, wave_id=wave_id)
        task_id, outbox_id = task.id, task.outbox_id

    # Hold the wave's pick-list row open: the job will wait for it at its INSERT.
    holder = psycopg.connect(stack.admin_url)
    holder.execute(
        "INSERT INTO pick_list (tenant_id, wave_id, status, pages, byte_size, sha256,"
        " created_at) VALUES (%s, %s, 'rendering', 0, 0, '', now())",
        (a.id, wave_id),
    )
    try:
        procs.relay()
        pid = wait_until(
            "the job renders the PDF and waits at its INSERT of the pick list",
            lambda: _job_waiting_on_pick_list(stack),
            60,
            procs,
        )
        job = Job.fetch(str(outbox_id), connection=stack.redis)
        assert job.get_status() == "started"
        assert job.meta["progress"]["done"] == 2  # rendered; not stored

        procs.kill(worker)
        killed_at = time.monotonic()
    finally:
        holder.rollback()
        holder.close()

    # The killed run's transaction dies with its connection: nothing of it stays.
    wait_until("the killed job's backend ends", lambda: _backend_gone(stack, pid), 30, procs)
    assert _count(stack, a, PickList) == 0
    with stack.db.platform_session() as s:
        assert s.get(JobExecution, f"outbox:{outbox_id}") is None
    with stack.db.tenant_session(a.id) as s:
        assert tasks.get_task(s, task_id).status != tasks.TaskStatus.done.value

    procs.worker()

    def task_done():
        with stack.db.tenant_session(a.id) as s:
            return tasks.get_task(s, task_id).status == tasks.TaskStatus.done.value

    wait_until("a new worker runs the abandoned job again", task_done, RECOVERY_DEADLINE, procs)
    print(f"\nthe pick list was made {time.monotonic() - killed_at:.1f}s after the SIGKILL")

    with stack.db.tenant_session(a.id) as s:
        made = s.scalars(select(PickList).where(PickList.wave_id == wave_id)).all()
        assert len(made) == 1
        assert made[0].status == "ready" and made[0].pdf.startswith(b"%PDF")
        assert tasks.get_task(s, task_id).percent == 100
        rendered = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "wave.pick_list_rendered")
        ).all()
        assert len(rendered) == 1
    with stack.db.platform_session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(JobExecution)
                .where(JobExecution.key == f"outbox:{outbox_id}")
            )
            == 1
        )
    stack.drain()
    assert _count(stack, a, StockMovement) == movements
    assert _count(stack, a, MailMessage) == mails
    assert stack.smtp.messages == []
    assert audit.verify_chain(stack.db, a.id).ok
    assert stack.census(stack.shop_b) == others_before
