"""Reading a shop's stock: the list per SKU, a SKU's bins and lots, its movements, the
orders waiting for stock, what a pick face needs from reserve.

*Available* means what orders can be given now: free pieces (on hand less allocated) in
pick faces and reserve, of lots far enough from their best-before for the shop's minimum
remaining shelf life. Pieces in returns or damaged bins, or of lots too close to (or
past) their date, are on hand but not available.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, distinct, func, or_, select

from urakata.platform.db import UrakataSession
from urakata.platform.locations import ALLOCATABLE_KINDS, Location
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import get_product
from urakata.tenants.orders.models import Order
from urakata.tenants.stock.allocation import orders_to_allocate
from urakata.tenants.stock.ledger import min_shelf_life_days, shop_today
from urakata.tenants.stock.models import StockLevel, StockMovement, StockReconciliation

REPLENISH_BELOW = 5  # a pick face with fewer free pieces than this wants replenishing


def earliest_best_before(session: UrakataSession, now: datetime | None = None) -> date:
    """The earliest best-before an allocation may take today (today + minimum shelf life)."""
    return shop_today(session, now) + timedelta(days=min_shelf_life_days(session))


def _sellable(earliest: date):
    """SQL: the level is one orders may be given from (bin kind, shelf life)."""
    return and_(
        Location.kind.in_(ALLOCATABLE_KINDS),
        or_(StockLevel.best_before.is_(None), StockLevel.best_before >= earliest),
    )


# -- the list per SKU ---------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    product_id: int
    sku: str
    name: str
    status: str
    lot_tracked: bool
    on_hand: int
    allocated: int
    available: int
    bins: int

    @property
    def unavailable(self) -> int:
        """On hand, not promised, but not to be given to orders (bin, shelf life)."""
        return self.on_hand - self.allocated - self.available


@dataclass(frozen=True)
class StockPage:
    items: list[StockRow]
    next_after: str | None


def _totals(earliest: date):
    free = StockLevel.on_hand - StockLevel.allocated
    return (
        select(
            StockLevel.product_id,
            func.sum(StockLevel.on_hand).label("on_hand"),
            func.sum(StockLevel.allocated).label("allocated"),
            func.coalesce(func.sum(free).filter(_sellable(earliest)), 0).label("available"),
            func.count(distinct(StockLevel.location_id))
            .filter(StockLevel.on_hand > 0)
            .label("bins"),
        )
        .join(Location, Location.id == StockLevel.location_id)
        .group_by(StockLevel.product_id)
        .subquery()
    )


def _filtered(stmt, totals, query: str, in_stock_only: bool):
    if query:
        stmt = stmt.where(
            Product.sku.icontains(query, autoescape=True)
            | Product.name.icontains(query, autoescape=True)
        )
    if in_stock_only:
        stmt = stmt.where(func.coalesce(totals.c.on_hand, 0) > 0)
    return stmt


def stock_count(
    session: UrakataSession, *, query: str = "", in_stock_only: bool = False, now=None
) -> int:
    """How many products :func:`stock_list` pages through with these filters."""
    totals = _totals(earliest_best_before(session, now))
    stmt = (
        select(func.count())
        .select_from(Product)
        .outerjoin(totals, totals.c.product_id == Product.id)
    )
    return session.scalar(_filtered(stmt, totals, query, in_stock_only))


def stock_list(
    session: UrakataSession,
    *,
    query: str = "",
    in_stock_only: bool = False,
    after_sku: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> StockPage:
    """Every product of the shop with its stock, by SKU (keyset); ``query`` matches part
    of a SKU or name (literally: % and _ are no wildcards)."""
    totals = _totals(earliest_best_before(session, now))
    on_hand = func.coalesce(totals.c.on_hand, 0)
    stmt = (
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.status,
            Product.lot_tracked,
            on_hand.label("on_hand"),
            func.coalesce(totals.c.allocated, 0).label("allocated"),
            func.coalesce(totals.c.available, 0).label("available"),
            func.coalesce(totals.c.bins, 0).label("bins"),
        )
        .outerjoin(totals, totals.c.product_id == Product.id)
        .order_by(Product.sku)
        .limit(limit + 1)
    )
    stmt = _filtered(stmt, totals, query, in_stock_only)
    if after_sku:
        stmt = stmt.where(Product.sku > after_sku)
    rows = [StockRow(*r) for r in session.execute(stmt)]
    items = rows[:limit]
    return StockPage(items, items[-1].sku if len(rows) > limit else None)


def stock_of(session: UrakataSession, product_id: int, now: datetime | None = None) -> StockRow:
    """One product's row of the list (NotFound for another shop's product)."""
    product = get_product(session, product_id)
    totals = _totals(earliest_best_before(session, now))
    row = session.execute(select(totals).where(totals.c.product_id == product.id)).first()
    on_hand, allocated, available, bins = (
        (row.on_hand, row.allocated, row.available, row.bins) if row else (0, 0, 0, 0)
    )
    return StockRow(
        product.id,
        product.sku,
        product.name,
        product.status,
        product.lot_tracked,
        int(on_hand),
        int(allocated),
        int(available),
        int(bins),
    )


# -- one SKU: its bins, lots and movements -------------------------------------------------


@dataclass(frozen=True)
class LevelRow:
    level_id: int
    code: str
    kind: str
    pick_sequence: int
    lot_no: str
    best_before: date | None
    on_hand: int
    allocated: int
    state: str  # sellable | expired | short_life | set_aside (a returns or damaged bin)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    @property
    def allocatable(self) -> bool:
        return self.state == "sellable"


@dataclass(frozen=True)
class LotRow:
    lot_no: str
    best_before: date | None
    on_hand: int
    allocated: int
    state: str


@dataclass(frozen=True)
class StockDetail:
    stock: StockRow
    product: Product
    levels: list[LevelRow]
    lots: list[LotRow]
    today: date
    earliest: date  # the earliest best-before allocations take


def _state(kind: str, best_before: date | None, today: date, earliest: date) -> str:
    if best_before is not None and best_before < today:
        return "expired"
    if kind not in ALLOCATABLE_KINDS:
        return "set_aside"
    if best_before is not None and best_before < earliest:
        return "short_life"
    return "sellable"


def levels_of(
    session: UrakataSession, product_ids: list[int], now: datetime | None = None
) -> dict[int, list[LevelRow]]:
    """The levels holding stock of each product, in pick-path order, with their state."""
    today = shop_today(session, now)
    earliest = earliest_best_before(session, now)
    rows = session.execute(
        select(StockLevel, Location.code, Location.kind, Location.pick_sequence)
        .join(Location, Location.id == StockLevel.location_id)
        .where(
            StockLevel.product_id.in_(product_ids),
            (StockLevel.on_hand > 0) | (StockLevel.allocated > 0),
        )
        .order_by(Location.pick_sequence, Location.code, StockLevel.lot_no)
    ).all()
    found: dict[int, list[LevelRow]] = {p: [] for p in product_ids}
    for lv, code, kind, sequence in rows:
        state = _state(kind, lv.best_before, today, earliest)
        found[lv.product_id].append(
            LevelRow(
                lv.id,
                code,
                kind,
                sequence,
                lv.lot_no,
                lv.best_before,
                lv.on_hand,
                lv.allocated,
                state,
            )
        )
    return found


def stock_detail(
    session: UrakataSession, product_id: int, now: datetime | None = None
) -> StockDetail:
    """A SKU's levels (bins with stock, in pick-path order) and lots (FEFO order)."""
    stock = stock_of(session, product_id, now)
    product = get_product(session, product_id)
    today = shop_today(session, now)
    earliest = earliest_best_before(session, now)
    levels = levels_of(session, [product.id], now)[product.id]
    lots: dict[str, list[LevelRow]] = {}
    for level in levels:
        if level.lot_no:
            lots.setdefault(level.lot_no, []).append(level)
    lot_rows = [
        LotRow(
            lot,
            group[0].best_before,
            sum(g.on_hand for g in group),
            sum(g.allocated for g in group),
            _state("pick_face", group[0].best_before, today, earliest),
        )
        for lot, group in lots.items()
    ]
    lot_rows.sort(key=lambda r: (r.best_before is None, r.best_before or date.max, r.lot_no))
    return StockDetail(stock, product, levels, lot_rows, today, earliest)


@dataclass(frozen=True)
class MovementRow:
    id: int
    occurred_at: datetime
    kind: str
    code: str
    lot_no: str
    on_hand_delta: int
    allocated_delta: int
    reference_type: str
    reference_id: str
    reason: str
    actor: str
    order_number: str | None  # the order's number when the reference is an order


@dataclass(frozen=True)
class MovementPage:
    items: list[MovementRow]
    next_before: int | None


def movement_history(
    session: UrakataSession, product_id: int, *, before_id: int | None = None, limit: int = 50
) -> MovementPage:
    """A SKU's movements, newest first (keyset by id); NotFound for another shop's SKU."""
    product = get_product(session, product_id)
    stmt = (
        select(StockMovement, Location.code)
        .join(Location, Location.id == StockMovement.location_id)
        .where(StockMovement.product_id == product.id)
        .order_by(StockMovement.id.desc())
        .limit(limit + 1)
    )
    if before_id:
        stmt = stmt.where(StockMovement.id < before_id)
    rows = session.execute(stmt).all()
    order_ids = {int(m.reference_id) for m, _c in rows if m.reference_type == "order"}
    numbers = (
        dict(
            session.execute(
                select(Order.id, Order.external_id).where(Order.id.in_(order_ids))
            ).all()
        )
        if order_ids
        else {}
    )
    items = [
        MovementRow(
            m.id,
            m.occurred_at,
            m.kind,
            code,
            m.lot_no,
            m.on_hand_delta,
            m.allocated_delta,
            m.reference_type,
            m.reference_id,
            m.reason,
            m.actor,
            numbers.get(int(m.reference_id)) if m.reference_type == "order" else None,
        )
        for m, code in rows[:limit]
    ]
    return MovementPage(items, items[-1].id if len(rows) > limit else None)


# -- orders waiting for stock ------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingLine:
    sku: str
    name: str
    quantity: int
    allocated: int

    @property
    def missing(self) -> int:
        return self.quantity - self.allocated


@dataclass(frozen=True)
class WaitingOrder:
    order_id: int
    external_id: str
    status: str  # released (not allocated yet) | on_hold (waiting for stock)
    version: int
    ship_by_date: date | None
    lines: list[WaitingLine]


def waiting_orders(session: UrakataSession, limit: int = 100) -> list[WaitingOrder]:
    """Orders on hold for stock only, then released orders not allocated yet."""
    ids = orders_to_allocate(session, backordered=True, limit=limit)
    ids += orders_to_allocate(session, limit=max(0, limit - len(ids)))
    if not ids:
        return []
    found = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(ids)))}
    held: dict[tuple[str, int], int] = {}
    rows = session.execute(
        select(
            StockMovement.reference_id,
            StockMovement.reference_line,
            func.sum(StockMovement.allocated_delta),
        )
        .where(
            StockMovement.reference_type == "order",
            StockMovement.reference_id.in_([str(i) for i in ids]),
        )
        .group_by(StockMovement.reference_id, StockMovement.reference_line)
    )
    for reference, line_id, quantity in rows:
        held[(reference, line_id)] = int(quantity)
    result = []
    for order_id in ids:
        order = found[order_id]
        lines = [
            WaitingLine(li.sku, li.name, li.quantity, held.get((str(order.id), li.id), 0))
            for li in order.lines
        ]
        result.append(
            WaitingOrder(
                order.id, order.external_id, order.status, order.version, order.ship_by_date, lines
            )
        )
    return result


# -- replenishment and the figures of the agency's overview -------------------------------


@dataclass(frozen=True)
class ReserveLevel:
    code: str
    lot_no: str
    best_before: date | None
    available: int


@dataclass(frozen=True)
class Replenishment:
    product_id: int
    sku: str
    name: str
    pick_available: int
    reserve: list[ReserveLevel]

    @property
    def reserve_available(self) -> int:
        return sum(r.available for r in self.reserve)


def replenishment(
    session: UrakataSession, *, below: int = REPLENISH_BELOW, now: datetime | None = None
) -> list[Replenishment]:
    """SKUs whose pick faces hold fewer than ``below`` free sellable pieces while reserve
    has some; the reserve levels to take from in FEFO order."""
    earliest = earliest_best_before(session, now)
    free = StockLevel.on_hand - StockLevel.allocated
    rows = session.execute(
        select(
            StockLevel.product_id,
            Location.kind,
            Location.code,
            StockLevel.lot_no,
            StockLevel.best_before,
            free.label("free"),
        )
        .join(Location, Location.id == StockLevel.location_id)
        .where(_sellable(earliest), free > 0)
        .order_by(
            StockLevel.product_id, StockLevel.best_before.nulls_last(), Location.pick_sequence
        )
    ).all()
    pick: dict[int, int] = {}
    reserve: dict[int, list[ReserveLevel]] = {}
    for r in rows:
        if r.kind == "pick_face":
            pick[r.product_id] = pick.get(r.product_id, 0) + r.free
        else:
            reserve.setdefault(r.product_id, []).append(
                ReserveLevel(r.code, r.lot_no, r.best_before, r.free)
            )
    wanted = [p for p, levels in reserve.items() if pick.get(p, 0) < below and levels]
    if not wanted:
        return []
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(wanted)))}
    found = [
        Replenishment(p, products[p].sku, products[p].name, pick.get(p, 0), reserve[p])
        for p in wanted
    ]
    return sorted(found, key=lambda r: r.sku)


@dataclass(frozen=True)
class ShopFigures:
    skus_in_stock: int
    on_hand: int
    allocated: int
    available: int
    released: int  # orders not allocated yet
    backordered: int  # orders on hold for stock
    replenish: int  # SKUs whose pick faces want replenishing
    reconciliation: StockReconciliation | None


def shop_figures(session: UrakataSession, now: datetime | None = None) -> ShopFigures:
    earliest = earliest_best_before(session, now)
    totals = _totals(earliest)
    row = session.execute(
        select(
            func.count().filter(totals.c.on_hand > 0),
            func.coalesce(func.sum(totals.c.on_hand), 0),
            func.coalesce(func.sum(totals.c.allocated), 0),
            func.coalesce(func.sum(totals.c.available), 0),
        )
    ).one()
    released = session.scalar(select(func.count()).where(Order.status == "released"))
    backordered = len(orders_to_allocate(session, backordered=True, limit=10_000))
    latest = session.scalar(
        select(StockReconciliation).order_by(StockReconciliation.checked_on.desc()).limit(1)
    )
    return ShopFigures(
        int(row[0]),
        int(row[1]),
        int(row[2]),
        int(row[3]),
        released,
        backordered,
        len(replenishment(session, now=now)),
        latest,
    )
