"""Idempotency keys of the order API: the same key and body get the first answer again.

A request claims its key by inserting the key's row *before* doing its work, in the same
transaction: a second request with the same key blocks on the primary key until the first
commits (and then reads its answer) or rolls back (and then does the work itself). So two
requests racing with one key never both create an order, and a failed request stores
nothing. Keys are per shop and per scope (``orders.create``). Services never commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.tenants.orders.models import IdempotencyKey

ORDERS_CREATE = "orders.create"
KEY_MAX = 200
# How long a key answers a retry. A shop's system retries within minutes or hours; after
# a day the order itself answers (its channel order id is unique: a late resend is 409).
KEEP_FOR = timedelta(days=1)
# Written through the table (Core), not the ORM: a request touches its key twice and the
# ORM's bookkeeping for a bulk statement costs more than the statement.
_KEYS = IdempotencyKey.__table__
# Written with the claim and replaced by the real answer before the transaction commits.
_PENDING_STATUS = 0


class KeyReused(RuntimeError):
    """The key was used before with another request body (409)."""

    def __init__(self, key: str):
        self.message: Message = N_(
            "The Idempotency-Key %(key)s was already used for a different request body;"
            " send a new key for a new request.",
            key=key,
        )
        super().__init__(str(self.message))
        self.key = key


@dataclass(frozen=True)
class StoredAnswer:
    """The answer the key's first request got, to be sent again as it was."""

    status_code: int
    response: dict


def request_digest(body: Any) -> bytes:
    """SHA-256 of the parsed body as canonical JSON: key order and spacing do not count."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).digest()


def claim_key(
    session: UrakataSession, *, scope: str, key: str, digest: bytes
) -> StoredAnswer | None:
    """Claim ``key`` for this request, or return the answer its first request got.

    ``None`` means the key is new and this transaction now holds it: do the work, then
    :func:`record_answer`. Raises :class:`KeyReused` when the first request had another
    body. Blocks while another open transaction holds the same key.
    """
    claimed = session.execute(
        _CLAIM,
        {
            "tenant_id": session.tenant_id,
            "scope": scope,
            "key": key,
            "request_digest": digest,
            "status_code": _PENDING_STATUS,
            "response": {},
            "created_at": utcnow(),
        },
    ).first()
    if claimed is not None:
        return None
    # READ COMMITTED: this new statement sees the row the winner committed.
    first = session.execute(
        select(
            IdempotencyKey.request_digest, IdempotencyKey.status_code, IdempotencyKey.response
        ).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    ).one()
    if first.request_digest != digest:
        raise KeyReused(key)
    return StoredAnswer(first.status_code, first.response)


def record_answer(
    session: UrakataSession, *, scope: str, key: str, status_code: int, response: dict
) -> None:
    """Store the answer of the request that claimed ``key`` (in its own transaction)."""
    session.execute(
        _ANSWER,
        {"tid": session.tenant_id, "w_scope": scope, "w_key": key, "new_status": status_code,
         "new_response": response},
    )  # fmt: skip


# Built once: a request's own INSERT and UPDATE, compiled from the cache each time.
_CLAIM = (
    insert(_KEYS)
    .values({column: bindparam(column) for column in (
        "tenant_id", "scope", "key", "request_digest", "status_code", "response", "created_at")})
    .on_conflict_do_nothing()
    .returning(_KEYS.c.key)
)  # fmt: skip
_ANSWER = (
    update(_KEYS)
    .where(_KEYS.c.tenant_id == bindparam("tid"), _KEYS.c.scope == bindparam("w_scope"),
           _KEYS.c.key == bindparam("w_key"))
    .values(status_code=bindparam("new_status"), response=bindparam("new_response"))
)  # fmt: skip


def purge_expired(session: UrakataSession, now: datetime | None = None) -> int:
    """Delete the shop's keys older than :data:`KEEP_FOR`; how many went."""
    cutoff = (now or utcnow()) - KEEP_FOR
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return result.rowcount
