"""Allocation (在庫引当): promising a shop's stock to its released orders.

:func:`allocate` is the engine. It reads the candidate levels of the SKUs needed (in the
shop's own bins that orders may be taken from: pick faces and reserve), plans which
level gives how much, and applies the plan with conditional UPDATEs
(``… WHERE on_hand - allocated >= :q``) in the fixed lock order. A level that another
transaction emptied meanwhile matches no row: the plan is made again from fresh figures.
The CHECK ``0 <= allocated <= on_hand`` stands behind all of it.

The order in which levels are offered:

1. FEFO for lot-tracked SKUs: the earliest best-before first, never a lot whose
   best-before is closer than the shop's minimum remaining shelf life (days);
2. pick faces before reserve;
3. the pick path (a bin's ``pick_sequence``).

The shop's ``split_policy`` says what a shortage means: ``ship_complete`` allocates all
lines or none; ``split_allowed`` allocates each line whole or not at all (the order ships
in parts as whole lines arrive); ``partial_allowed`` takes whatever is there.

:func:`allocate_order` moves a released order to *allocated* when every line is
promised, or *on hold* for ``out_of_stock`` (keeping what was promised, as its policy
allows); a receipt or a freed allocation asks for the shop's held orders to be tried
again. :func:`release_order_allocation` gives an order's stock back (a cancellation).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import NotFound
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.shop.models import ShopSettings
from urakata.tenants.stock.errors import DuplicateSubmission, StockContention
from urakata.tenants.stock.ledger import (
    Movement,
    allocate_level,
    deallocate_level,
    is_retryable,
    lock_key,
    request_backorder_retry,
    write_movements,
)

PLAN_ATTEMPTS = 8
POLICIES = ("all", "lines", "partial")
POLICY_OF_SPLIT = {"ship_complete": "all", "split_allowed": "lines", "partial_allowed": "partial"}
OUT_OF_STOCK = "out_of_stock"


@dataclass(frozen=True)
class Need:
    """Pieces of one SKU wanted, for one line of the reference (an order line's id)."""

    product_id: int
    quantity: int
    line: int | None = None


@dataclass(frozen=True)
class Candidate:
    level_id: int
    product_id: int
    location_id: int
    lot_no: str
    best_before: date | None
    free: int
    code: str


@dataclass(frozen=True)
class Take:
    need: int  # index into the needs
    level_id: int
    product_id: int
    location_id: int
    lot_no: str
    quantity: int
    code: str


@dataclass(frozen=True)
class Outcome:
    takes: tuple[Take, ...]
    short: dict[int, int]  # need index -> pieces the stock lacks for it

    @property
    def complete(self) -> bool:
        return not self.short

    @property
    def allocated(self) -> int:
        return sum(t.quantity for t in self.takes)


# One statement: whether the key was used (the first row, with no level), and every
# candidate level. A UNION ALL costs the planner a quarter of a LATERAL join here; the
# offering order is made in Python (:func:`_offering_order`). The earliest acceptable
# best-before is the shop's local today plus its minimum remaining shelf life.
_CANDIDATES = text(
    """
    SELECT NULL::bigint AS level_id, NULL::bigint AS product_id, NULL::bigint AS location_id,
           NULL::text AS lot_no, NULL::date AS best_before, NULL::int AS free, NULL::text AS code,
           NULL::text AS kind, NULL::int AS pick_sequence,
           EXISTS (SELECT 1 FROM stock_movement m WHERE m.tenant_id = :tenant
                      AND m.idempotency_key = :key AND m.line_no = 0) AS used
    UNION ALL
    SELECT l.id, l.product_id, l.location_id, l.lot_no, l.best_before,
           l.on_hand - l.allocated, loc.code, loc.kind, loc.pick_sequence, false
      FROM stock_level l
      JOIN location loc ON loc.id = l.location_id
     WHERE l.tenant_id = :tenant AND l.product_id = ANY(:products)
       AND l.on_hand > l.allocated
       AND loc.shop_id = :tenant AND loc.kind IN ('pick_face', 'reserve')
       AND (l.best_before IS NULL OR l.best_before >= (
            SELECT (CAST(:now AS timestamptz) AT TIME ZONE t.timezone)::date
                   + s.min_shelf_life_days
              FROM tenant t JOIN shop_settings s ON s.tenant_id = t.id WHERE t.id = :tenant))
    """
).bindparams(bindparam("products", type_=ARRAY(BigInteger)))


def _offering_order(row) -> tuple:
    """FEFO (no date last), pick faces before reserve, the pick path, then the level."""
    return (
        row.product_id,
        row.best_before is None,
        row.best_before or date.min,
        row.kind != "pick_face",
        row.pick_sequence,
        row.level_id,
    )


def _candidates(session: UrakataSession, key: str, needs: list[Need], now: datetime):
    rows = session.execute(
        _CANDIDATES,
        {
            "tenant": session.tenant_id,
            "key": key,
            "now": now,
            "products": sorted({n.product_id for n in needs}),
        },
    ).all()
    used = any(r.used for r in rows if r.level_id is None)
    found = [
        Candidate(r.level_id, r.product_id, r.location_id, r.lot_no, r.best_before, r.free, r.code)
        for r in sorted((r for r in rows if r.level_id is not None), key=_offering_order)
    ]
    return used, found


def plan(needs: list[Need], candidates: list[Candidate], policy: str) -> Outcome:
    """Which level gives how much to which need, greedily in offering order."""
    free = {c.level_id: c.free for c in candidates}
    offered: dict[int, list[Candidate]] = defaultdict(list)
    for c in candidates:
        offered[c.product_id].append(c)
    takes: list[Take] = []
    short: dict[int, int] = {}
    for n, need in enumerate(needs):
        left, mine = need.quantity, []
        for c in offered.get(need.product_id, ()):
            if left == 0:
                break
            quantity = min(free[c.level_id], left)
            if quantity > 0:
                mine.append(
                    Take(n, c.level_id, c.product_id, c.location_id, c.lot_no, quantity, c.code)
                )
                free[c.level_id] -= quantity
                left -= quantity
        if left:
            short[n] = left
            if policy == "lines":  # a line is promised whole or not at all
                for take in mine:
                    free[take.level_id] += take.quantity
                mine = []
        takes.extend(mine)
    if short and policy == "all":
        takes = []
    return Outcome(tuple(takes), short)


def _apply(session: UrakataSession, takes: tuple[Take, ...], now: datetime, *, guarded: bool):
    """Promise every take's pieces, in lock order; False (nothing kept) when a level no
    longer has them. ``guarded`` runs it in a savepoint (needed when several levels change,
    or to survive a deadlock)."""
    per_level: dict[int, int] = defaultdict(int)
    keys = {}
    for take in takes:
        per_level[take.level_id] += take.quantity
        keys[take.level_id] = lock_key(take.product_id, take.location_id, take.lot_no)
    ordered = sorted(per_level, key=keys.__getitem__)
    if not guarded:
        return all(
            allocate_level(session, level_id=level, quantity=per_level[level], now=now)
            for level in ordered
        )
    savepoint = session.begin_nested()
    try:
        for level in ordered:
            if not allocate_level(session, level_id=level, quantity=per_level[level], now=now):
                savepoint.rollback()
                return False
    except DBAPIError as exc:
        savepoint.rollback()
        if is_retryable(exc):
            return False
        raise
    savepoint.commit()
    return True


def allocate(
    session: UrakataSession,
    *,
    actor: Actor,
    key: str,
    reference_type: str,
    reference_id: str,
    needs: list[Need],
    policy: str = "all",
    now: datetime | None = None,
    audit_object: tuple[str, object] | None = None,
) -> Outcome:
    """Promise stock for ``needs`` under ``policy`` ("all", "lines" or "partial").

    Writes allocation movements (referencing ``reference_type``/``reference_id`` and each
    need's line) and one ``stock.allocated`` event on the shop's ledger; writes nothing
    when nothing could be promised. A used ``key`` raises :class:`DuplicateSubmission`.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r}")
    now = now or utcnow()
    used, candidates = _candidates(session, key, needs, now)
    if used:
        raise DuplicateSubmission("key", N_("This allocation was made already."))
    for attempt in range(PLAN_ATTEMPTS):
        outcome = plan(needs, candidates, policy)
        if not outcome.takes:
            return outcome
        guarded = attempt > 0 or len({t.level_id for t in outcome.takes}) > 1
        if _apply(session, outcome.takes, now, guarded=guarded):
            break
        _used, candidates = _candidates(session, key, needs, now)
    else:
        raise StockContention(f"the levels for {reference_type} {reference_id} kept changing")
    movements = [
        Movement(
            "allocation",
            t.product_id,
            t.location_id,
            t.lot_no,
            allocated_delta=t.quantity,
            reference_line=needs[t.need].line,
        )
        for t in sorted(
            outcome.takes, key=lambda t: (t.need, lock_key(t.product_id, t.location_id, t.lot_no))
        )
    ]
    write_movements(
        session,
        actor,
        key=key,
        reference_type=reference_type,
        reference_id=reference_id,
        movements=movements,
        now=now,
    )
    object_type, object_id = audit_object or (reference_type, reference_id)
    audit.record(
        session,
        actor,
        "stock.allocated",
        object_type=object_type,
        object_id=object_id,
        data={
            "key": key,
            "policy": policy,
            "takes": [
                {
                    "product_id": t.product_id,
                    "bin": t.code,
                    "lot_no": t.lot_no,
                    "quantity": t.quantity,
                    "line": needs[t.need].line,
                }
                for t in outcome.takes
            ],
            "short": [
                {"product_id": needs[n].product_id, "line": needs[n].line, "missing": missing}
                for n, missing in sorted(outcome.short.items())
            ],
        },
    )
    return outcome


# -- orders -----------------------------------------------------------------------------------


def waits_for_stock_only(order: Order) -> bool:
    """On hold for nothing but missing stock: stock arriving is what it waits for."""
    return (
        order.status == "on_hold" and bool(order.holds) and set(order.hold_codes) == {OUT_OF_STOCK}
    )


def allocated_by_line(session: UrakataSession, order_id: int) -> dict[int, int]:
    """Pieces promised to each line of the order now (its movements' sum)."""
    rows = session.execute(
        text(
            "SELECT reference_line, sum(allocated_delta) AS quantity FROM stock_movement"
            " WHERE tenant_id = :tenant AND reference_type = 'order' AND reference_id = :order"
            " GROUP BY reference_line"
        ),
        {"tenant": session.tenant_id, "order": str(order_id)},
    )
    return {r.reference_line: int(r.quantity) for r in rows if r.quantity}


def _split_policy(session: UrakataSession) -> str:
    return POLICY_OF_SPLIT[session.scalar(select(ShopSettings.split_policy))]


def _out_of_stock_holds(order: Order, needs: list[Need], outcome: Outcome) -> list[dict]:
    """One hold per line short of stock, naming the line as the order's API does."""
    place = {line.id: (n, line) for n, line in enumerate(order.lines)}
    holds = []
    for n, missing in sorted(outcome.short.items()):
        index, line = place[needs[n].line]
        message = N_(
            "Waiting for stock: %(missing)s of %(quantity)s × %(sku)s.",
            missing=missing,
            quantity=line.quantity,
            sku=line.sku,
        )
        holds.append(orders.hold(OUT_OF_STOCK, f"lines[{index}].quantity", message))
    return holds


def allocate_order(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    version: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Allocate what a released order (or one on hold for stock only) still lacks.

    Every line promised: the order becomes *allocated*. Not all of it: a released order
    goes *on hold* for ``out_of_stock`` (naming the lines); one already waiting stays so.
    ``version`` (the version a person saw) guards against a double or stale submission.
    """
    _take_turns(session, order_id)
    order = session.scalar(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    if version is not None and order.version != version:
        raise orders.StaleOrder(f"order {order.external_id} is at version {order.version}")
    if order.status != "released" and not waits_for_stock_only(order):
        raise orders.IllegalTransition(
            N_("Only a released order, or one on hold for stock only, can be allocated.")
        )
    held = allocated_by_line(session, order.id)
    needs = [
        Need(line.product_id, line.quantity - held.get(line.id, 0), line.id)
        for line in order.lines
        if line.quantity > held.get(line.id, 0)
    ]
    missing = [n for n in needs if n.product_id is None]
    outcome = Outcome((), {})
    if needs and not missing:
        outcome = allocate(
            session,
            actor=actor,
            key=f"order:{order.id}:v{order.version}:{sum(held.values())}",
            reference_type="order",
            reference_id=str(order.id),
            needs=needs,
            policy=_split_policy(session),
            now=now,
            audit_object=("order", order.id),
        )
    elif missing:  # no product to take from (cannot happen for a released order)
        outcome = Outcome((), {n: need.quantity for n, need in enumerate(needs)})
    if outcome.complete:
        orders.record_allocation(session, actor=actor, order=order)
    elif order.status == "released":
        holds = _out_of_stock_holds(order, needs, outcome)
        orders.record_allocation(session, actor=actor, order=order, holds=holds)
    return outcome


def _take_turns(session: UrakataSession, order_id: int) -> None:
    """Allocations of one order take turns (a person's click and the allocation job at
    the same moment): a lock for this transaction, taken before the order is read, so
    the second one reads the order as the first left it (allocated: refused) instead of
    promising the same stock again and failing on its movements' key. An advisory lock,
    not the order's row: the row is locked after the stock levels, as cancelling does."""
    name = f"allocate:{session.tenant_id}:{order_id}".encode()
    key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def release_order_allocation(session: UrakataSession, *, actor: Actor, order: Order) -> int:
    """Give back every piece promised to ``order`` (it is being cancelled); returns how
    many. The freed stock may serve orders waiting for it: they are tried again.

    The caller's pending changes to the order are not flushed here: they are written once,
    with its move (one version, and the order row locked after the levels)."""
    with session.no_autoflush:
        return _release(session, actor, order)


def _release(session: UrakataSession, actor: Actor, order: Order) -> int:
    rows = session.execute(
        text(
            "SELECT m.product_id, m.location_id, m.lot_no, m.reference_line,"
            " sum(m.allocated_delta) AS quantity, min(l.code) AS code"
            " FROM stock_movement m JOIN location l ON l.id = m.location_id"
            " WHERE m.tenant_id = :tenant AND m.reference_type = 'order'"
            " AND m.reference_id = :order"
            " GROUP BY m.product_id, m.location_id, m.lot_no, m.reference_line"
            " HAVING sum(m.allocated_delta) > 0"
        ),
        {"tenant": session.tenant_id, "order": str(order.id)},
    ).all()
    if not rows:
        return 0
    now = utcnow()
    rows.sort(key=lambda r: (lock_key(r.product_id, r.location_id, r.lot_no), r.reference_line))
    for row in rows:
        if not deallocate_level(
            session,
            product_id=row.product_id,
            location_id=row.location_id,
            lot_no=row.lot_no,
            quantity=int(row.quantity),
            now=now,
        ):
            # The level holds less promised stock than the order's movements say.
            raise RuntimeError(f"stock ledger and level disagree for order {order.id}")
    movements = [
        Movement(
            "deallocation",
            r.product_id,
            r.location_id,
            r.lot_no,
            allocated_delta=-int(r.quantity),
            reference_line=r.reference_line,
        )
        for r in rows
    ]
    key = f"order:{order.id}:release:v{order.version}"
    write_movements(
        session,
        actor,
        key=key,
        reference_type="order",
        reference_id=str(order.id),
        movements=movements,
        reason="order cancelled",
        now=now,
    )
    released = sum(int(r.quantity) for r in rows)
    audit.record(
        session,
        actor,
        "stock.deallocated",
        object_type="order",
        object_id=order.id,
        data={
            "key": key,
            "quantity": released,
            "levels": [
                {
                    "product_id": r.product_id,
                    "bin": r.code,
                    "lot_no": r.lot_no,
                    "quantity": int(r.quantity),
                    "line": r.reference_line,
                }
                for r in rows
            ],
        },
    )
    request_backorder_retry(session)
    return released


# -- which orders wait ---------------------------------------------------------------------


def orders_to_allocate(
    session: UrakataSession, *, backordered: bool = False, limit: int = 100
) -> list[int]:
    """Ids of the shop's released orders (or, with ``backordered``, of its orders on hold
    for stock only), the soonest ship-by first."""
    order_by = (Order.ship_by_at.is_(None), Order.ship_by_at, Order.ordered_at, Order.id)
    if not backordered:
        stmt = select(Order.id).where(Order.status == "released")
        return list(session.scalars(stmt.order_by(*order_by).limit(limit)))
    stmt = select(Order.id, Order.holds).where(
        Order.status == "on_hold", Order.holds.contains([{"code": OUT_OF_STOCK}])
    )
    rows = session.execute(stmt.order_by(*order_by)).all()
    return [r.id for r in rows if {h["code"] for h in r.holds} == {OUT_OF_STOCK}][:limit]
