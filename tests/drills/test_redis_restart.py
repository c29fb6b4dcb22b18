"""Drill: Redis stopped and started again while a shop's orders keep arriving by the API.

The portal (gunicorn), the relay and a worker run as in production. A shop's system sends
orders one after another; Redis is stopped in the middle and started again on its port
(its append-only file keeps what was queued). The API must keep answering 201 — orders
are committed to PostgreSQL and their jobs wait in the outbox — and once Redis is back
every order's after-intake job must run: one confirmation mail to each customer, over
real SMTP, none lost and none twice. The other shop is untouched.
"""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select

from tests.drills.conftest import OrderStream, new_number, settle_seed, wait_until
from urakata.platform import audit
from urakata.platform.outbox import OutboxMessage


def _relay_met_a_closed_redis(stack) -> bool:
    with stack.db.platform_session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
    return any(r.relay_attempts and "ConnectionError" in (r.last_error or "") for r in rows)


def test_orders_arriving_while_redis_restarts_are_kept_and_their_jobs_run_once(stack):
    a = stack.shop_a
    settle_seed(stack)
    others_before = stack.census(stack.shop_b)
    procs = stack.processes
    procs.portal(stack.port)
    procs.relay()
    procs.worker()
    procs.wait_for_workers(stack.redis)

    with OrderStream(stack.api(a), new_number("R")) as stream:
        wait_until("orders are taken in", lambda: len(stream.answered(201)) >= 3, 60, procs)
        stack.servers.stop_redis()
        stopped = time.monotonic()
        assert not stack.servers.redis_answers()
        wait_until(
            "orders are taken in while Redis is down, and the relay keeps their jobs",
            lambda: (
                len(stream.answered(201, after=stopped)) >= 5 and _relay_met_a_closed_redis(stack)
            ),
            60,
            procs,
        )
        stack.servers.start_redis()
        started = time.monotonic()
        during = stream.answered(201, after=stopped, before=started)
        wait_until(
            "orders are taken in after Redis is back",
            lambda: len(stream.answered(201, after=started)) >= 3,
            60,
            procs,
        )
    refused = [(s.number, s.status, s.answer[:300]) for s in stream.sent if s.status != 201]
    assert refused == []  # the API never refused an order
    assert len(during) >= 5
    print(f"\n{len(stream.sent)} orders sent, {len(during)} of them while Redis was down")

    numbers = {s.number for s in stream.sent}
    emails = Counter(s.body["customer"]["email"] for s in stream.sent)
    rows = stack.sql(
        "SELECT external_id, id, status FROM sales_order"
        " WHERE tenant_id = %(shop)s AND external_id = ANY(%(numbers)s)",
        {"shop": a.id, "numbers": list(numbers)},
    )
    assert sorted(r[0] for r in rows) == sorted(numbers)  # each order kept, once

    def every_mail_sent():
        return {m["To"] for m in stack.smtp.messages} >= set(emails)

    wait_until("every customer has the confirmation mail", every_mail_sent, 120, procs)
    stack.drain(120)
    received = Counter(m["To"] for m in stack.smtp.messages)
    assert received == emails  # one mail each: none lost, none twice
    confirmations = stack.sql(
        "SELECT status, sends FROM order_confirmation_mail WHERE tenant_id = %(shop)s"
        " AND order_id = ANY(%(ids)s)",
        {"shop": a.id, "ids": [r[1] for r in rows]},
    )
    assert sorted(confirmations) == [("sent", 1)] * len(rows)

    assert audit.verify_chain(stack.db, a.id).ok
    assert stack.census(stack.shop_b) == others_before
