"""The transactional outbox: jobs are requested by rows written with the change.

A service calls :func:`enqueue` inside its transaction; nothing reaches Redis until that
transaction commits. The relay (``urakata relay``) moves committed rows to RQ with
``job_id`` = the row id and ``unique=True``; the reconciler re-enqueues rows whose job
vanished. Rows hold ids only, never personal data (this is a platform table, no RLS).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import ForeignKey, Index, String, Text, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import tenancy  # noqa: F401 - registers "tenant", target of shop_id
from urakata.platform.bulk import copy_types
from urakata.platform.db import Base, UrakataSession, utcnow

NOTIFY_CHANNEL = "urakata_outbox"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
        Index(
            "ix_outbox_sent_not_done",
            "sent_at",
            postgresql_where=text("sent_at IS NOT NULL AND done_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenant.id"))
    job: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # The job gave up after its last retry; the reconciler leaves such rows alone.
    failed_at: Mapped[datetime | None]
    relay_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxArgumentError(TypeError):
    """Outbox arguments must be ids and plain values (they travel through Redis)."""


def _check_args(args: dict[str, Any]) -> dict[str, Any]:
    plain = {}
    for key, value in args.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        if not isinstance(value, str | int | bool) and value is not None:
            raise OutboxArgumentError(f"argument {key!r} is a {type(value).__name__}; pass ids")
        plain[key] = value
    return plain


def _row(job: str, queue: str, shop_id: uuid.UUID | None, args: dict, now: datetime) -> dict:
    return {"id": uuid.uuid4(), "job": job, "queue": queue, "shop_id": shop_id,
            "args": _check_args(args), "created_at": now, "relay_attempts": 0}  # fmt: skip


_COLUMNS = ("id", "job", "queue", "shop_id", "args", "created_at", "relay_attempts")
# The row and the relay's wake-up in one statement (one round trip, not two), built once.
# A data-modifying WITH runs to completion whether or not the query reads it. NOTIFY is
# transactional: the relay wakes at commit, not at all on a rollback, and PostgreSQL
# folds a transaction's notifications into one.
_ENQUEUE_ONE = select(func.pg_notify(NOTIFY_CHANNEL, "")).add_cte(
    insert(OutboxMessage).values({c: bindparam(c) for c in _COLUMNS}).cte("queued")
)


def enqueue(
    session: UrakataSession,
    job: str,
    *,
    queue: str,
    shop_id: uuid.UUID | None = None,
    **args: Any,
) -> OutboxMessage:
    """Request ``job`` after this transaction commits. ``shop_id`` scopes the job.

    The row is written at once (Core, one statement with the relay's wake-up); the
    returned message carries its values and is not in the session."""
    row = _row(job, queue, shop_id, args, utcnow())
    session.execute(_ENQUEUE_ONE, row)
    return OutboxMessage(**row)


def copy_many(
    job: str, *, queue: str, shop_id: uuid.UUID | None = None, args: list[dict[str, Any]]
) -> Callable[[Any], None]:
    """:func:`enqueue` for many runs of one job (a file's orders): a function that COPYs
    the rows and wakes the relay on a (psycopg) connection in the caller's transaction,
    for :func:`urakata.platform.audit.record_many` to run alongside its hashing."""
    now = utcnow()
    rows = [_row(job, queue, shop_id, one, now) for one in args]  # arguments checked here

    def write(driver) -> None:
        if not rows:
            return
        with driver.cursor() as cursor:
            with cursor.copy(_COPY) as stream:  # a platform table: no row-level security
                stream.set_types(_COPY_TYPES)
                for row in rows:
                    stream.write_row([Jsonb(row[c]) if c == "args" else row[c] for c in _COLUMNS])
            cursor.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))

    return write


_COPY = f"COPY outbox ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = copy_types(OutboxMessage.__table__, _COLUMNS)


def mark_done(session: UrakataSession, outbox_id: uuid.UUID) -> None:
    """Called by the job in its own transaction, with its effects."""
    session.execute(
        text("UPDATE outbox SET done_at = now() WHERE id = :id AND done_at IS NULL"),
        {"id": outbox_id},
    )


def mark_failed(session: UrakataSession, outbox_id: uuid.UUID, error: str) -> None:
    session.execute(
        text("UPDATE outbox SET failed_at = now(), last_error = :error WHERE id = :id"),
        {"id": outbox_id, "error": error[:2000]},
    )


def lag_seconds(session: UrakataSession, now: datetime | None = None) -> float:
    """Age of the oldest unsent row (0 when none): how far the relay is behind."""
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(0.0, ((now or utcnow()) - oldest).total_seconds())


def unsent_count(session: UrakataSession) -> int:
    return session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    )


def purge_done(session: UrakataSession, older_than: timedelta = timedelta(days=7)) -> int:
    result = session.execute(
        text("DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < now() - :age"),
        {"age": older_than},
    )
    return result.rowcount
