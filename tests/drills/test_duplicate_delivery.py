"""Drill: the same job delivered three times, to two real worker processes at once.

RQ promises at-least-once delivery; a retry after a lost acknowledgement, a relay and a
reconciler racing, or an operator's requeue all deliver a job again. Here an order's
confirmation mail and the shop's allocation run are each put on their queues three times
(the same outbox row, key and arguments under three job ids) and two workers race for
them. Each must have one effect: one mail over SMTP, one set of stock movements, one
ledger event of each; the other two deliveries answer "already done". The other shop is
untouched.
"""

from __future__ import annotations

from rq.job import Job
from sqlalchemy import func, select

from tests.drills.conftest import new_number, order_body, settle_seed, wait_until
from tests.tenants.fulfilment.conftest import OPERATOR, line, put_away
from tests.tenants.stock.conftest import PICK_1, PICK_2
from urakata.platform import audit
from urakata.platform.audit import AuditEvent
from urakata.platform.jobs import JobExecution
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.confirmation import ConfirmationMail
from urakata.tenants.stock.ledger import ALLOCATE_JOB, request_job
from urakata.tenants.stock.models import StockMovement
from urakata.worker.registry import load_jobs
from urakata.worker.runtime import REGISTRY, enqueue_spec

DELIVERIES = 3


def _events(stack, shop, action: str, object_id: str) -> int:
    with stack.db.tenant_session(shop.id) as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == object_id)
        )


def test_a_job_delivered_three_times_has_one_effect(stack):
    a = stack.shop_a
    put_away(stack.db, a, line("CUP-1", 10, PICK_2), line("POT-1", 10, PICK_1))
    settle_seed(stack)
    others_before = stack.census(stack.shop_b)
    body = order_body(new_number("D"), ("CUP-1", 2), ("POT-1", 1))
    with stack.db.tenant_session(a.id) as s:
        order = orders.intake(s, actor=OPERATOR, data=body, channel="api")
        assert order.status == "released", order.holds
        order_id = order.id
        request_job(s, ALLOCATE_JOB, a.id)
    with stack.db.platform_session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
    assert sorted(r.job for r in rows) == sorted(["orders.send_confirmation", ALLOCATE_JOB])

    # No relay: each row is delivered three times straight to RQ, as redeliveries would be.
    load_jobs()
    deliveries = {}
    for row in rows:
        for n in range(DELIVERIES):
            job_id = f"{row.id}-delivery-{n}"
            enqueue_spec(
                stack.redis,
                REGISTRY[row.job],
                job_id=job_id,
                shop_id=row.shop_id,
                key=f"outbox:{row.id}",
                outbox_id=row.id,
                args=row.args,
            )
            deliveries[job_id] = row
    procs = stack.processes
    procs.worker()
    procs.worker()  # two workers: deliveries race on the idempotency key
    procs.wait_for_workers(stack.redis, 2)

    def finished():
        jobs = Job.fetch_many(list(deliveries), connection=stack.redis)
        return all(j is not None and j.get_status() == "finished" for j in jobs) and jobs

    jobs = wait_until("every delivery finishes", finished, 60, procs)
    for row in rows:
        results = [j.return_value() for j in jobs if deliveries[j.id] is row]
        assert results.count("already done") == DELIVERIES - 1, (row.job, results)
    with stack.db.platform_session() as s:
        for row in rows:
            assert s.get(OutboxMessage, row.id).done_at is not None
            executions = s.scalars(
                select(JobExecution).where(JobExecution.key == f"outbox:{row.id}")
            ).all()
            assert len(executions) == 1

    # One mail, one allocation, one ledger event of each.
    assert [m["To"] for m in stack.smtp.messages] == [body["customer"]["email"]]
    with stack.db.tenant_session(a.id) as s:
        confirmation = s.get(ConfirmationMail, {"tenant_id": a.id, "order_id": order_id})
        assert (confirmation.status, confirmation.sends) == ("sent", 1)
        taken = s.scalars(
            select(StockMovement).where(
                StockMovement.reference_type == "order",
                StockMovement.reference_id == str(order_id),
                StockMovement.kind == "allocation",
            )
        ).all()
        assert sorted(m.allocated_delta for m in taken) == [1, 2]
        assert orders.get_order(s, order_id).status == "allocated"
    assert _events(stack, a, "order.confirmation_sent", str(order_id)) == 1
    assert _events(stack, a, "stock.allocated", str(order_id)) == 1
    assert audit.verify_chain(stack.db, a.id).ok
    assert stack.census(stack.shop_b) == others_before
