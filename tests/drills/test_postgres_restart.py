"""Drill: PostgreSQL restarted while the portal serves pages and takes orders.

The portal (gunicorn), the relay and a worker run as in production; a shop admin is
logged in and the shop's system sends orders from two threads. PostgreSQL is stopped
(fast shutdown: open transactions are cut off) and started again on its port. While it
is away, requests must fail cleanly: an HTML 503 page in Japanese and English with
Retry-After and no stack trace, JSON 503 under /api — never a 500 or a dropped
connection. Once it is back, the next requests succeed (the connection pools recover),
every order refused with 503 goes through when sent again with its Idempotency-Key
(once, even where the refused attempt had committed), no order is half-written, and the
relay, whose listening connection was cut, still relays: every customer gets one mail.
"""

from __future__ import annotations

import re
import time
from collections import Counter

from tests.drills.conftest import OrderStream, new_number, settle_seed, wait_until
from urakata.platform import audit
from urakata.platform.i18n import translations

MESSAGE = (
    "The database cannot be reached just now, for example during a restart."
    " Wait a few seconds and try again."
)


def _japanese(msgid: str) -> str:
    """The catalog's Japanese for ``msgid`` (tests/portal/test_translations.py checks
    that every message has one)."""
    return translations("ja").gettext(msgid)


def test_a_postgres_restart_gives_clean_503s_then_service_and_no_half_written_order(stack):
    a = stack.shop_a
    settle_seed(stack)
    others_before = stack.census(stack.shop_b)
    procs = stack.processes
    procs.portal(stack.port)
    relay = procs.relay()
    worker = procs.worker()
    procs.wait_for_workers(stack.redis)
    browser = stack.browser()
    browser.login(stack.world.shop_admin_a.email)
    orders_page = f"/s/{a.tenant.slug}/orders"
    assert browser.get(orders_page).status == 200

    with OrderStream(stack.api(a), new_number("P"), threads=2) as stream:
        wait_until("orders are taken in", lambda: len(stream.answered(201)) >= 3, 60, procs)
        stack.servers.stop_postgres()
        stopped = time.monotonic()

        page = browser.get(orders_page)
        api = stack.api(a).get("/api/v1/orders")
        wait_until(
            "orders are refused with 503 while PostgreSQL is down",
            lambda: len(stream.answered(503, after=stopped)) >= 2,
            60,
            procs,
        )
        stack.servers.start_postgres()
        started = time.monotonic()
        wait_until(
            "orders are taken in again",
            lambda: len(stream.answered(201, after=started)) >= 3,
            60,
            procs,
        )
        page_after = browser.get(orders_page)

    # While it was away: clean retry answers, the visitor's language first.
    assert page.status == 503, page.text[:2000]
    assert page.headers["Retry-After"].isdigit()
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'data-testid="unavailable-page"' in page.text
    assert '<html lang="ja">' in page.text
    sections = re.findall(r'<section lang="(\w+)">(.*?)</section>', page.text, re.S)
    assert [lang for lang, _text in sections] == ["ja", "en"]
    assert _japanese(MESSAGE) in sections[0][1] and MESSAGE in sections[1][1]
    assert "Traceback" not in page.text and "psycopg" not in page.text
    assert api.status == 503 and api.headers["Retry-After"].isdigit()
    assert api.json()["code"] == 503 and "try again" in api.json()["message"]
    # After: the pools recovered.
    assert page_after.status == 200

    odd = [(s.number, s.status, s.answer[:300]) for s in stream.sent if s.status not in (201, 503)]
    assert odd == []  # never a 500, never a dropped connection
    refused = [s for s in stream.sent if s.status == 503]
    assert all(s.answer.startswith("{") and "Traceback" not in s.answer for s in refused)
    print(f"\n{len(stream.sent)} orders sent, {len(refused)} refused with 503 and sent again")
    for sent in refused:  # the shop's system retries with the same key and body
        again = stack.api(a).post_order(sent.body)
        assert again.status == 201, again.text[:500]

    numbers = [s.number for s in stream.sent]
    rows = stack.sql(
        "SELECT o.external_id, o.items_yen, count(l.*), coalesce(sum(l.amount_yen), 0)"
        " FROM sales_order o LEFT JOIN order_line l"
        " ON l.tenant_id = o.tenant_id AND l.order_id = o.id"
        " WHERE o.tenant_id = %(shop)s AND o.external_id = ANY(%(numbers)s)"
        " GROUP BY o.external_id, o.items_yen",
        {"shop": a.id, "numbers": numbers},
    )
    assert sorted(r[0] for r in rows) == sorted(numbers)  # every order once, none lost
    assert all(r[2] == 2 and r[3] == r[1] for r in rows), rows  # none half-written
    received = stack.sql(
        "SELECT object_id FROM audit_event WHERE tenant_id = %(shop)s"
        " AND action = 'order.received'",
        {"shop": a.id},
    )
    assert len(received) == len({r[0] for r in received}) >= len(numbers)

    emails = Counter(s.body["customer"]["email"] for s in stream.sent)
    wait_until(
        "the relay and worker send every confirmation after the restart",
        lambda: {m["To"] for m in stack.smtp.messages} >= set(emails),
        120,
        procs,
    )
    stack.drain(60)
    assert Counter(m["To"] for m in stack.smtp.messages) == emails
    assert relay.poll() is None and worker.poll() is None  # both rode out the restart
    assert audit.verify_chain(stack.db, a.id).ok
    assert stack.census(stack.shop_b) == others_before
