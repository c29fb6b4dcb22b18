"""Idempotency keys of jobs: a key is claimed in the same transaction as the job's effects.

A second run of the same job (a retry after a crash, a duplicate delivery) finds its key
taken and does nothing. Concurrent runs serialise on the key's unique index: the second
waits until the first commits (then skips) or rolls back (then proceeds).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, UrakataSession, utcnow


class JobExecution(Base):
    """A platform table (keys and ids only): which job effects are already done."""

    __tablename__ = "job_execution"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    shop_id: Mapped[uuid.UUID | None]
    done_at: Mapped[datetime] = mapped_column(default=utcnow)


def claim(session: UrakataSession, key: str, job: str, shop_id: uuid.UUID | None) -> bool:
    """True when this run owns ``key``; False when an earlier run already did the work."""
    row = session.execute(
        text(
            "INSERT INTO job_execution (key, job, shop_id, done_at)"
            " VALUES (:key, :job, :shop, now()) ON CONFLICT (key) DO NOTHING RETURNING key"
        ),
        {"key": key, "job": job, "shop": shop_id},
    ).first()
    return row is not None
