"""The outbox relay: committed outbox rows → RQ jobs (``urakata relay``).

It wakes on PostgreSQL NOTIFY (sent by :func:`urakata.platform.outbox.enqueue` at commit)
and polls once a second anyway. Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so
several relays may run. When Redis is down, rows stay unsent (attempts and error noted)
and go out when it is back; a crash between enqueue and marking sent re-enqueues with the
same job id, which RQ refuses as a duplicate.
"""

from __future__ import annotations

import logging
import os
import select as selectmod
import signal
import threading
import time
from datetime import timedelta

import psycopg
from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from urakata.platform.db import normalise_url, utcnow
from urakata.platform.outbox import NOTIFY_CHANNEL, OutboxMessage
from urakata.worker.registry import load_jobs
from urakata.worker.runtime import REGISTRY, Context, enqueue_spec

log = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=2)
# The failure drills (tests/drills), in test mode only: with this set to 1 the relay kills
# itself with SIGKILL after enqueueing a batch and before marking it sent, as a crash there
# would.
CRASH_AFTER_ENQUEUE = "URAKATA_DRILL_RELAY_CRASH_AFTER_ENQUEUE"


def _enqueue_row(ctx: Context, spec, row: OutboxMessage) -> None:
    """The job of an outbox row: its id is the RQ job id and the idempotency key."""
    enqueue_spec(
        ctx.redis,
        spec,
        job_id=str(row.id),
        shop_id=row.shop_id,
        key=f"outbox:{row.id}",
        outbox_id=row.id,
        args=row.args,
    )


def relay_once(ctx: Context, batch: int = 200, *, crash_after_enqueue: bool = False) -> int:
    """Enqueue up to ``batch`` unsent rows; returns how many were marked sent."""
    load_jobs()
    sent = 0
    with ctx.db.platform_session() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            spec = REGISTRY.get(row.job)
            if spec is None:
                row.relay_attempts += 1
                row.last_error = f"no job named {row.job!r} is registered"
                continue
            try:
                _enqueue_row(ctx, spec, row)
            except DuplicateJobError:
                pass  # enqueued before a crash, not yet marked: it is there
            except RedisError as exc:
                row.relay_attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("Redis refused the outbox relay: %s", exc)
                break
            row.sent_at = utcnow()
            sent += 1
        if crash_after_enqueue and sent:
            os.kill(os.getpid(), signal.SIGKILL)
    return sent


def reconcile(ctx: Context, older_than: timedelta = RECONCILE_AFTER) -> int:
    """Re-enqueue rows marked sent whose job vanished from Redis (e.g. Redis lost data)."""
    load_jobs()
    requeued = 0
    with ctx.db.platform_session() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_not(None),
                OutboxMessage.done_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.sent_at < utcnow() - older_than,
            )
            .limit(1000)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            try:
                Job.fetch(str(row.id), connection=ctx.redis)
                continue  # queued, running, scheduled for retry or failed: RQ has it
            except NoSuchJobError:
                pass
            spec = REGISTRY.get(row.job)
            if spec is None:
                continue
            try:
                _enqueue_row(ctx, spec, row)
            except DuplicateJobError:
                continue
            row.sent_at = utcnow()
            requeued += 1
    if requeued:
        log.warning("reconciler re-enqueued %d outbox jobs that had vanished", requeued)
    return requeued


def run_relay(ctx: Context, stop: threading.Event | None = None, poll: float = 1.0) -> None:
    """Relay until ``stop`` is set: on every NOTIFY, and every ``poll`` seconds."""
    stop = stop or threading.Event()
    crash = ctx.settings.mode == "test" and os.environ.get(CRASH_AFTER_ENQUEUE) == "1"
    conn: psycopg.Connection | None = None
    try:
        while not stop.is_set():
            try:
                while relay_once(ctx, crash_after_enqueue=crash) and not stop.is_set():
                    pass
            except Exception:  # noqa: BLE001 - keep relaying; the error is logged
                log.exception("outbox relay pass failed")
                time.sleep(poll)
            conn = _wait_for_notifications(ctx, conn, poll)
    finally:
        if conn is not None:
            conn.close()


def _listen(ctx: Context) -> psycopg.Connection:
    url = normalise_url(ctx.settings.database_url).set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    return conn


def _wait_for_notifications(
    ctx: Context, conn: psycopg.Connection | None, poll: float
) -> psycopg.Connection | None:
    """Wait for a notification (or ``poll`` seconds) on the listening connection, then
    drain them; returns the connection to listen on next time.

    A connection lost with the database (a restart, a failover) is opened again at the
    next call; until then the relay polls."""
    try:
        if conn is None:
            conn = _listen(ctx)
        selectmod.select([conn.fileno()], [], [], poll)
        for _ in conn.notifies(timeout=0, stop_after=1000):
            pass
        return conn
    except psycopg.Error as exc:
        log.warning("the relay's LISTEN connection failed, polling meanwhile: %s", exc)
        if conn is not None:
            conn.close()
        time.sleep(poll)
        return None
