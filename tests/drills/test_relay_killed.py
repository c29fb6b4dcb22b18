"""Drill: the outbox relay killed between putting jobs on RQ and marking their rows sent.

The relay is started with ``URAKATA_DRILL_RELAY_CRASH_AFTER_ENQUEUE=1`` in test mode
(``urakata.worker.relay.CRASH_AFTER_ENQUEUE``): after enqueueing its batch it kills itself
with SIGKILL before its transaction commits, so the jobs are on RQ while their outbox
rows still say "not sent". A worker runs the jobs; then a new relay finds the rows unsent
and enqueues them again under the same job ids, which RQ refuses as duplicates. Each
customer gets one confirmation mail, no job runs twice, and the other shop is untouched.
"""

from __future__ import annotations

import signal

from rq import Queue
from rq.job import Job
from sqlalchemy import select

from tests.drills.conftest import new_number, order_body, settle_seed, wait_until
from tests.tenants.fulfilment.conftest import OPERATOR
from urakata.platform import audit
from urakata.platform.jobs import JobExecution
from urakata.platform.mail import MAIL_QUEUE
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.orders import services as orders
from urakata.worker.relay import CRASH_AFTER_ENQUEUE

ORDERS = 3


def _rows(stack, ids) -> list[OutboxMessage]:
    with stack.db.platform_session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))


def test_a_relay_killed_before_marking_sent_causes_no_second_run(stack):
    a = stack.shop_a
    settle_seed(stack)
    others_before = stack.census(stack.shop_b)
    bodies = [order_body(new_number("K"), ("CUP-1", 1)) for _ in range(ORDERS)]
    for body in bodies:
        with stack.db.tenant_session(a.id) as s:
            orders.intake(s, actor=OPERATOR, data=body, channel="api")
    with stack.db.platform_session() as s:
        ids = list(s.scalars(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None))))
    assert len(ids) == ORDERS  # one confirmation mail each

    procs = stack.processes
    crashing = procs.relay(URAKATA_MODE="test", **{CRASH_AFTER_ENQUEUE: "1"})
    wait_until("the relay kills itself", lambda: crashing.poll() is not None, 60, procs)
    assert crashing.returncode == -signal.SIGKILL
    mail_queue = Queue(MAIL_QUEUE, connection=stack.redis)
    assert sorted(mail_queue.get_job_ids()) == sorted(str(i) for i in ids)  # on RQ...
    assert all(r.sent_at is None for r in _rows(stack, ids))  # ...yet not marked sent

    procs.worker()
    wait_until(
        "a worker runs the jobs", lambda: all(r.done_at for r in _rows(stack, ids)), 60, procs
    )
    ended = {str(i): Job.fetch(str(i), connection=stack.redis).ended_at for i in ids}

    relay = procs.relay()
    wait_until(
        "a new relay marks the rows sent",
        lambda: all(r.sent_at for r in _rows(stack, ids)),
        60,
        procs,
    )
    assert all(r.relay_attempts == 0 and r.last_error is None for r in _rows(stack, ids))
    assert mail_queue.get_job_ids() == []  # the duplicates were refused, nothing queued
    for job_id, at in ended.items():  # and no job ran again
        job = Job.fetch(job_id, connection=stack.redis)
        assert (job.get_status(), job.ended_at) == ("finished", at)
    with stack.db.platform_session() as s:
        keys = [f"outbox:{i}" for i in ids]
        assert len(s.scalars(select(JobExecution).where(JobExecution.key.in_(keys))).all()) == 3
    assert sorted(m["To"] for m in stack.smtp.messages) == sorted(
        b["customer"]["email"] for b in bodies
    )
    assert relay.poll() is None
    assert audit.verify_chain(stack.db, a.id).ok
    assert stack.census(stack.shop_b) == others_before
