"""The primitives every stock change is made of: level updates and the movements that
record them, in the caller's transaction (services never commit).

Rules every caller follows, so that stock changes never deadlock one another:

* levels are changed in one fixed order, by (product id, bin id, lot) — :func:`lock_key`;
* after the levels come the order row (if any), and the audit ledger's chain head last
  (``audit.record`` locks it until commit), so every transaction takes its locks in the
  same order;
* an operation that changes several levels runs them in a SAVEPOINT, so a refusal half
  way (not enough left) undoes its earlier updates and lets go of their row locks.

Deadlocks and serialization failures that happen anyway (a caller that breaks the rules,
a future isolation level) are retried: inside a savepoint by the service, otherwise by
:func:`retrying` around the whole transaction.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from urakata.platform import outbox
from urakata.platform.audit import Actor
from urakata.platform.db import Database, UrakataSession, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.models import ShopSettings
from urakata.tenants.stock.models import StockMovement

T = TypeVar("T")
# deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
RETRY_ATTEMPTS = 5

# The jobs a stock change may ask for (names shared by the worker and the portal).
ALLOCATE_JOB = "stock.allocate_released"
BACKORDER_JOB = "stock.retry_backorders"
JOB_QUEUE = "fulfilment"


@dataclass(frozen=True)
class Movement:
    """A movement to write: which level, by how much, for which line of the reference."""

    kind: str
    product_id: int
    location_id: int
    lot_no: str
    on_hand_delta: int = 0
    allocated_delta: int = 0
    reference_line: int | None = None


def lock_key(product_id: int, location_id: int, lot_no: str) -> tuple[int, int, str]:
    """The one order in which any transaction changes levels."""
    return (product_id, location_id, lot_no)


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the same work may succeed when tried again."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def retrying(
    db: Database,
    tenant_id: uuid.UUID,
    work: Callable[[UrakataSession], T],
    attempts: int = RETRY_ATTEMPTS,
) -> T:
    """Run ``work`` in its own transaction of the shop; a deadlock or serialization
    failure rolls it back and runs it again (up to ``attempts`` times, with jitter)."""
    for attempt in range(1, attempts + 1):
        try:
            with db.tenant_session(tenant_id) as session:
                return work(session)
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.02 * attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def key_used(session: UrakataSession, key: str) -> bool:
    """Whether a submission with this idempotency key has been recorded already (its
    first movement, line 0, is always written: the unique index finds it)."""
    return (
        session.scalar(
            select(StockMovement.id)
            .where(StockMovement.idempotency_key == key, StockMovement.line_no == 0)
            .limit(1)
        )
        is not None
    )


def shop_today(session: UrakataSession, now: datetime | None = None) -> date:
    """The shop's local calendar day (best-before dates are local days)."""
    tenant = session.get(Tenant, session.tenant_id)
    return (now or utcnow()).astimezone(tenant.zone).date()


def min_shelf_life_days(session: UrakataSession) -> int:
    return session.scalar(select(ShopSettings.min_shelf_life_days)) or 0


_PUT_IN = text(
    """
    INSERT INTO stock_level AS l (tenant_id, product_id, location_id, lot_no, best_before,
                                  on_hand, allocated, updated_at)
    VALUES (:tenant, :product, :location, :lot, :best_before, :quantity, 0, :now)
    ON CONFLICT (tenant_id, product_id, location_id, lot_no)
    DO UPDATE SET on_hand = l.on_hand + EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at
    RETURNING l.id, l.on_hand, l.allocated
    """
)
# The conditional updates (DESIGN §7): each refuses, by matching no row, what would take
# a level below what it holds or has promised.
_TAKE_OUT = text(
    """
    UPDATE stock_level SET on_hand = on_hand - :quantity, updated_at = :now
     WHERE tenant_id = :tenant AND product_id = :product AND location_id = :location
       AND lot_no = :lot AND on_hand - allocated >= :quantity
    RETURNING id, on_hand, allocated
    """
)
_ALLOCATE = text(
    """
    UPDATE stock_level SET allocated = allocated + :quantity, updated_at = :now
     WHERE tenant_id = :tenant AND id = :level AND on_hand - allocated >= :quantity
    RETURNING id
    """
)
_DEALLOCATE = text(
    """
    UPDATE stock_level SET allocated = allocated - :quantity, updated_at = :now
     WHERE tenant_id = :tenant AND product_id = :product AND location_id = :location
       AND lot_no = :lot AND allocated >= :quantity
    RETURNING id
    """
)


def put_in(
    session: UrakataSession,
    *,
    product_id: int,
    location_id: int,
    lot_no: str,
    best_before: date | None,
    quantity: int,
    now: datetime,
) -> int:
    """Add ``quantity`` to the level (made if new); returns the level's id."""
    row = session.execute(
        _PUT_IN,
        {
            "tenant": session.tenant_id,
            "product": product_id,
            "location": location_id,
            "lot": lot_no,
            "best_before": best_before,
            "quantity": quantity,
            "now": now,
        },
    ).one()
    return row.id


def take_out(
    session: UrakataSession,
    *,
    product_id: int,
    location_id: int,
    lot_no: str,
    quantity: int,
    now: datetime,
) -> bool:
    """Remove ``quantity`` unpromised pieces from the level; False (nothing changed) when
    fewer are free."""
    row = session.execute(
        _TAKE_OUT,
        {
            "tenant": session.tenant_id,
            "product": product_id,
            "location": location_id,
            "lot": lot_no,
            "quantity": quantity,
            "now": now,
        },
    ).first()
    return row is not None


def allocate_level(session: UrakataSession, *, level_id: int, quantity: int, now) -> bool:
    """Promise ``quantity`` pieces of the level; False (nothing changed) when fewer are free."""
    row = session.execute(
        _ALLOCATE,
        {"tenant": session.tenant_id, "level": level_id, "quantity": quantity, "now": now},
    ).first()
    return row is not None


def deallocate_level(
    session: UrakataSession,
    *,
    product_id: int,
    location_id: int,
    lot_no: str,
    quantity: int,
    now: datetime,
) -> bool:
    row = session.execute(
        _DEALLOCATE,
        {
            "tenant": session.tenant_id,
            "product": product_id,
            "location": location_id,
            "lot": lot_no,
            "quantity": quantity,
            "now": now,
        },
    ).first()
    return row is not None


_MOVEMENTS = StockMovement.__table__


def write_movements(
    session: UrakataSession,
    actor: Actor,
    *,
    key: str,
    reference_type: str,
    reference_id: str,
    movements: Iterable[Movement],
    reason: str = "",
    now: datetime,
) -> int:
    """Append the movements of one submission (numbered under its key); returns how many.

    The unique (key, line) index refuses a second submission that raced past the
    services' own check of the key.
    """
    rows = [
        {
            "tenant_id": session.tenant_id,
            "occurred_at": now,
            "kind": m.kind,
            "product_id": m.product_id,
            "location_id": m.location_id,
            "lot_no": m.lot_no,
            "on_hand_delta": m.on_hand_delta,
            "allocated_delta": m.allocated_delta,
            "reference_type": reference_type,
            "reference_id": reference_id,
            "reference_line": m.reference_line,
            "reason": reason,
            "idempotency_key": key,
            "line_no": n,
            "actor": actor.label[:200],
        }
        for n, m in enumerate(movements)
    ]
    if len(rows) == 1:  # the common case: one statement, not an executemany pipeline
        session.execute(insert(_MOVEMENTS), rows[0])
    elif rows:
        session.execute(insert(_MOVEMENTS), rows)
    return len(rows)


def request_job(session: UrakataSession, job: str, shop_id: uuid.UUID) -> bool:
    """Ask (after commit) for the shop's ``job`` unless a request is still waiting to be
    relayed: that one runs after this transaction commits, so it sees this change too.
    True when a request was added."""
    pending = session.execute(
        text(
            "SELECT 1 FROM outbox WHERE job = :job AND shop_id = :shop AND sent_at IS NULL LIMIT 1"
        ),
        {"job": job, "shop": shop_id},
    ).first()
    if pending is not None:
        return False
    outbox.enqueue(session, job, queue=JOB_QUEUE, shop_id=shop_id)
    return True


def request_backorder_retry(session: UrakataSession) -> bool:
    """Ask for the bound shop's orders waiting for stock to be tried again."""
    return request_job(session, BACKORDER_JOB, session.tenant_id)
