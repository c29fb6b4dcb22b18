"""The outbox relay: committed outbox rows → RQ jobs (``urakata relay``).

It wakes on PostgreSQL NOTIFY (sent by :func:`urakata.platform.outbox.enqueue` at commit)
and polls once a second anyway. Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so
several relays may run. When Redis is down, rows stay unsent (attempts and error noted)
and go out when it is back; a crash between enqueue and marking sent re-enqueues with the
same job id, which RQ refuses as a duplicate.
"""

from __future__ import annotations

import logging
import select as selectmod
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


def relay_once(ctx: Context, batch: int = 200) -> int:
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
    url = normalise_url(ctx.settings.database_url).set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    try:
        while not stop.is_set():
            try:
                while relay_once(ctx) and not stop.is_set():
                    pass
            except Exception:  # noqa: BLE001 - keep relaying; the error is logged
                log.exception("outbox relay pass failed")
                time.sleep(poll)
            # Wait for a notification (or the poll interval), then drain them.
            selectmod.select([conn.fileno()], [], [], poll)
            for _ in conn.notifies(timeout=0, stop_after=1000):
                pass
    finally:
        conn.close()
