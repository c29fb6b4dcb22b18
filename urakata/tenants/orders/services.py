"""Taking orders in, checking them, moving them through their states. Services never
commit; every change is recorded on the shop's ledger chain.

States (``TRANSITIONS``): an order is *received*, then checked: with a hold reason it
goes *on hold*, without one it is *confirmed*. A confirmed order whose payment clears
(at once for card, COD and "other"; when paid for bank transfer and konbini; when the
credit check passes for atobarai) becomes shippable: it gets its ship-by clock and is
*released* to allocation. An operator releases a held order after fixing what the
holds name (re-checked) or overriding a reason; anything before shipping may be
*cancelled*. Illegal moves raise :class:`IllegalTransition`.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from psycopg.types.json import Jsonb
from sqlalchemy import (
    LargeBinary,
    Row,
    String,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import make_transient_to_detached, raiseload
from sqlalchemy.orm.attributes import instance_dict, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit, jpaddress
from urakata.platform.audit import Actor
from urakata.platform.bulk import Alongside, copy_types
from urakata.platform.calendar import calendar_for, ship_by
from urakata.platform.closed_days import AgencyClosedDay
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.platform.tenancy import Tenant, get_scoped
from urakata.tenants.catalog.models import Product
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.orders.schemas import load_address_patch, load_order
from urakata.tenants.shop.models import ShopSettings

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"on_hold", "confirmed", "cancelled"}),
    "on_hold": frozenset({"confirmed", "allocated", "cancelled"}),
    "confirmed": frozenset({"on_hold", "released", "cancelled"}),
    "released": frozenset({"on_hold", "allocated", "cancelled"}),
    # Stock promised (urakata.tenants.stock.allocation); on hold keeps the promise.
    "allocated": frozenset({"on_hold", "cancelled", "instructed"}),
    # Shipping instructions, picking, inspection (urakata.tenants.fulfilment); a short pick
    # sends the order back to allocation (released).
    "instructed": frozenset({"inspected", "released", "cancelled"}),
    "inspected": frozenset({"packed", "released", "cancelled"}),
    "packed": frozenset({"shipped", "cancelled"}),  # packing and handover (issue 15)
    "shipped": frozenset(),
    "cancelled": frozenset(),
}
# Every hold reason code an order can carry (the portal labels each; the API filters by them).
HOLD_CODES = (
    "sku_unknown",
    "sku_inactive",
    "postal_code",
    "phone",
    "address",
    "address_length",
    "duplicate",
    "totals",
    "manual",
    "payment",
    "out_of_stock",
)
# Hold reasons an operator may override (a judgement, not a fact the data can fix).
OVERRIDABLE = frozenset({"duplicate", "totals", "sku_inactive", "manual", "address_length"})
DUPLICATE_WINDOW = timedelta(days=3)
ADDRESS_HOLDS = {
    "postal_code": "postal_code",
    "prefecture": "postal_code",
    "phone": "phone",
    "city": "address",
    "street": "address",
    "name": "address",
}


class OrderInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors
        self.index: int | None = None  # which body of a batch (Intake)


class OrderConflict(RuntimeError):
    """The order exists already (or was cancelled and is not taken again) (409)."""

    def __init__(self, message: Message, order: Order | None = None):
        super().__init__(str(message))
        self.message = message
        self.order = order


class StaleOrder(RuntimeError):
    """Someone changed the order since the given version (409)."""


class IllegalTransition(RuntimeError):
    """The order's state does not allow this (409); ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


def hold(code: str, field: str, message: Message) -> dict:
    return {"code": code, "field": field, "msgid": message.msgid, "params": message.params}


def hold_message(entry: dict) -> Message:
    return Message(entry["msgid"], **(entry.get("params") or {}))


# -- intake -------------------------------------------------------------------------------


def _totals(lines: list[dict], shipping: int, fee: int, discount: int) -> dict[str, int]:
    """Prices include tax; tax per rate is rounded down once per rate (適格請求書の端数処理).

    Shipping and fees are taxed at 10%; a discount is taken off the 10% base first.
    """
    base = {8: 0, 10: 0}
    for line in lines:
        base[line["tax_rate"]] += line["amount_yen"]
    items = base[8] + base[10]
    base[10] += shipping + fee
    off_10 = min(discount, base[10])
    base[10] -= off_10
    base[8] -= min(discount - off_10, base[8])
    return {
        "items_yen": items,
        "total_yen": items + shipping + fee - discount,
        "tax_8_yen": base[8] * 8 // 108,
        "tax_10_yen": base[10] * 10 // 110,
    }


def _duplicate_key(email: str, ship: dict, lines: list[dict]) -> bytes:
    """Customer (email, else the ship-to phone), the whole ship-to address and the items.

    The address is compared without spaces, so "千代田1-1 " and "千代田 1-1" match; a
    gift of the same items to another address is no duplicate.
    """
    who = (email or "").lower() or jpaddress.normalise_phone(ship["phone"]) or ship["phone"]
    postal = jpaddress.normalise_postal_code(ship["postal_code"]) or ship["postal_code"]
    place = [ship["prefecture"], ship["city"], ship["street"], ship.get("building", "")]
    where = "".join(jpaddress.normalise_text(part).replace(" ", "") for part in place)
    items = sorted((line["sku"], line["quantity"]) for line in lines)
    text_ = f"{who}|{postal}|{where}|{items}"
    return hashlib.sha256(text_.encode()).digest()


def _address_holds(ship: dict) -> list[dict]:
    problems = jpaddress.check_ship_to(
        postal_code=ship["postal_code"],
        prefecture_code=ship["prefecture"],
        city=ship["city"],
        street=ship["street"],
        building=ship.get("building", ""),
        name=ship["name"],
        phone=ship["phone"],
    )
    holds = []
    for problem in problems:
        code = ADDRESS_HOLDS.get(problem.field, "address_length")
        if "half-width characters long" in problem.message.msgid:
            code = "address_length"
        holds.append(hold(code, f"ship_to.{problem.field}", problem.message))
    return holds


def _catalog(session: UrakataSession, skus: Iterable[str]) -> dict[str, Any]:
    """The shop's products of these SKUs: id, status, name and tax rate, by SKU."""
    found: dict[str, Any] = {}
    skus = sorted(set(skus))
    for start in range(0, len(skus), 5_000):
        chunk = skus[start : start + 5_000]
        params = {"tenant": session.tenant_id, "skus": chunk}
        found.update((p.sku, p) for p in session.execute(_CATALOG, params))
    return found


# Built once (an API order runs them; building a statement cost more than running it).
# "= ANY(array)", one parameter, not IN with one bind parameter per value: the statement is the
# same whatever the count (the driver prepares it once) and 5,000 values are not parsed.
_CATALOG = select(Product.sku, Product.id, Product.status, Product.name, Product.tax_rate).where(
    Product.tenant_id == bindparam("tenant"),
    Product.sku == any_(bindparam("skus", type_=ARRAY(String))),
)
_IS_KNOWN = and_(
    Order.channel == bindparam("channel"),
    Order.external_id == any_(bindparam("numbers", type_=ARRAY(String))),
)
_KNOWN_OR_ALIKE = (
    select(Order.external_id, Order.duplicate_key, Order.ordered_at, Order.status,
           _IS_KNOWN.label("known"))
    .where(Order.tenant_id == bindparam("tenant"),
           or_(_IS_KNOWN, Order.duplicate_key == any_(bindparam("keys",
                                                            type_=ARRAY(LargeBinary)))))
    .order_by(Order.id)
)  # fmt: skip


def _line_holds(
    session: UrakataSession, lines: list[dict], products: dict[str, Any] | None = None
) -> list[dict]:
    """Hold reasons of the lines (SKU unknown, not on sale); fills each line's product,
    name, tax rate and amount. ``products``: the catalog rows, when the caller read them."""
    if products is None:
        products = _catalog(session, (line["sku"] for line in lines))
    holds = []
    for n, line in enumerate(lines):
        product = products.get(line["sku"])
        line["product_id"] = product.id if product else None
        if product is None:
            holds.append(
                hold(
                    "sku_unknown",
                    f"lines[{n}].sku",
                    N_("The SKU %(sku)s is not in the shop's catalog.", sku=line["sku"]),
                )
            )
        elif product.status != "active":
            holds.append(
                hold(
                    "sku_inactive",
                    f"lines[{n}].sku",
                    N_(
                        "The SKU %(sku)s is not on sale (status %(status)s).",
                        sku=line["sku"],
                        status=product.status,
                    ),
                )
            )
        if product is not None:
            line["name"] = line.get("name") or product.name
            line.setdefault("tax_rate", product.tax_rate)
        if not line.get("name"):
            line["name"] = line["sku"]
        line.setdefault("tax_rate", 10)
        line["amount_yen"] = line["quantity"] * line["unit_price_yen"]
    return holds


def _duplicate_holds(other: str | None) -> list[dict]:
    """The duplicate hold when ``other`` (an order number) looks like the same order."""
    if other is None:
        return []
    message = N_(
        "The same customer ordered the same items to the same address in order %(other)s.",
        other=other,
    )
    return [hold("duplicate", "", message)]


@dataclass
class _Context:
    """What the orders of one intake share: the shop's zone, its catalog rows, the order
    numbers it has already, earlier orders by duplicate key, and the ship-by rules."""

    zone: str
    products: dict[str, Any] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    seen: dict[bytes, list[tuple[str, datetime]]] = field(default_factory=dict)  # the shop's
    mine: dict[bytes, list[tuple[str, datetime]]] = field(default_factory=dict)  # this intake's
    own: set[str] = field(default_factory=set)  # the numbers this intake took in
    rules: _ClockRules | None = None
    clocks: dict[datetime, dict] = field(default_factory=dict)  # by the moment it starts

    def clock(self, now: datetime) -> dict:
        """The ship-by clock started ``now`` (a file's orders all start it at one moment)."""
        if now not in self.clocks:
            self.clocks[now] = _clock_fields(now, self.rules)
        return self.clocks[now]

    def add(self, found: _Found) -> None:
        """What :func:`_look_up` found for some of the orders. Orders this intake wrote
        meanwhile (a later lookup can see them) are its own, not the shop's earlier ones."""
        self.products.update(found.products)
        for number, key, ordered_at, status, is_number in found.rows:
            if is_number:
                self.known.add(number)
            if status != "cancelled" and key in found.keys and number not in self.own:
                self.seen.setdefault(key, []).append((number, ordered_at))


@dataclass
class _Found:
    keys: set[bytes]
    rows: list[tuple] = field(default_factory=list)
    products: dict[str, Any] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # order ids drawn ahead (Intake)


def _look_up(execute: Callable, tenant: uuid.UUID, channel: str, batch: list[dict]) -> _Found:
    """Two queries, whatever the batch's size (one order or a file's): the catalog rows,
    and the shop's orders with one of the numbers or one of the duplicate keys.
    ``execute`` is a session's or a connection's (a writer thread's)."""
    numbers = sorted({values["external_id"] for values in batch})
    keys = sorted({values["duplicate_key"] for values in batch})
    found = _Found(set(keys))
    for start in range(0, max(len(numbers), len(keys)), 5_000):
        params = {"tenant": tenant, "channel": channel, "numbers": numbers[start : start + 5_000],
                  "keys": keys[start : start + 5_000]}  # fmt: skip
        found.rows.extend((n, bytes(k), at, st, known) for n, k, at, st, known in
                          execute(_KNOWN_OR_ALIKE, params))  # fmt: skip
    skus = sorted({line["sku"] for values in batch for line in values["lines"]})
    for start in range(0, len(skus), 5_000):
        rows = execute(_CATALOG, {"tenant": tenant, "skus": skus[start : start + 5_000]})
        found.products.update((p.sku, p) for p in rows)
    return found


def _context(session: UrakataSession, channel: str, batch: list[dict]) -> _Context:
    tenant = session.get(Tenant, session.tenant_id)
    ctx = _Context(tenant.timezone)
    ctx.add(_look_up(session.execute, session.tenant_id, channel, batch))
    return ctx


def _earlier_duplicate(ctx: _Context, key: bytes, ordered_at: datetime) -> str | None:
    """The first earlier order (the shop's, else this batch's) with the same key, not
    cancelled, ordered within ``DUPLICATE_WINDOW``; its number."""
    for number, when in (*ctx.seen.get(key, ()), *ctx.mine.get(key, ())):
        if abs(when - ordered_at) <= DUPLICATE_WINDOW:
            return number
    return None


def _customer_phone(value: str) -> str:
    """The customer's phone as digits; kept as given when it is no phone number (it is not
    printed on labels; the schema bounds its length to the column's)."""
    return jpaddress.normalise_phone(value) or value


def _refuse_known(session: UrakataSession, channel: str, external_id: str) -> None:
    """Raise :class:`OrderConflict` when the channel's order id is taken in this shop."""
    existing = session.scalar(
        select(Order).where(Order.channel == channel, Order.external_id == external_id)
    )
    if existing is None:
        return
    if existing.status == "cancelled":
        message = N_(
            "Order %(external_id)s was cancelled; a cancelled order is not taken again.",
            external_id=existing.external_id,
        )
    else:
        message = N_(
            "Order %(external_id)s from %(channel)s exists already.",
            external_id=existing.external_id,
            channel=existing.channel,
        )
    raise OrderConflict(message, existing)


def intake(
    session: UrakataSession,
    *,
    actor: Actor,
    data: Any,
    channel: str | None = None,
    now: datetime | None = None,
    ledger: list[audit.PendingEvent] | None = None,
) -> Order:
    """Take an order in: validate, normalise, check, store; held or confirmed (and
    released when its payment clears). Raises :class:`OrderInvalid` or
    :class:`OrderConflict` (the channel's order id is known already).

    ``ledger``: a list to put the order's events on instead of recording them; a file
    import collects every order's events and records them as one batch at the end.

    The order is written once, in the state its checks lead to, and its moves
    (received, then held or confirmed, then released) go on the ledger as one batch at
    the end: the shop's chain head stays locked from there to commit, so the less
    happens after it, the more orders the shop takes in at once. ``now`` is when the
    order is taken in (the ship-by clock starts then); the demo's history passes it.
    """
    now = now or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    values = _loaded(data, tenant.timezone, channel)
    ctx = _context(session, values["channel"], [values])
    if values["external_id"] in ctx.known:
        _refuse_known(session, values["channel"], values["external_id"])
    fresh = _prepared(session, ctx, values, now)
    order = _insert_new(session, fresh)
    if order is None:  # a concurrent sender of the same order id won
        _refuse_known(session, values["channel"], values["external_id"])
    events = _intake_events(fresh)
    if ledger is None:
        audit.record_many(session, actor, events)
    else:
        ledger.extend(events)
    _after_intake(session, order)
    return order


@dataclass(frozen=True)
class TakenIn:
    """What :class:`Intake` did with one body: the new order's id and state, or that
    the shop had its number already (``id`` and ``status`` None)."""

    external_id: str
    id: int | None = None
    status: str | None = None


class Intake:
    """Many orders taken in at once (a checked file's, as ``load_order`` made them in the
    shop's zone), fed in pieces as a file's check hands them out: ``take(loaded)`` for
    each piece, then ``finish(summary)``, inside ``with``. The same checks, holds, states
    and events as :func:`intake`; the catalog, the known numbers and the duplicates are
    read once per piece. Orders whose number the shop has already are skipped (``id``
    None); a number twice is taken once. A body a rule across its fields refuses (a
    discount over the total) raises :class:`OrderInvalid` with its index as ``index``,
    or with ``on_invalid`` is handed to it and left out; the caller's transaction is
    rolled back on any error.

    Every statement goes on the session's connection through one writer thread, in
    order, while the orders are checked here (:class:`~urakata.platform.bulk.Alongside`):
    a piece's lookup (its numbers, duplicate keys and SKUs, and ids drawn ahead for its
    orders) is sent when the piece comes, and the piece is checked once the next one has
    come (the first at once, or at ``finish``), so the lookup of piece n+1 is queued
    before the writing of piece n, and checking a piece overlaps writing the one before.
    New orders and their lines are written ``batch`` at a time (:func:`_insert_many`);
    each piece's confirmation mails are queued and its ledger bodies made
    (:class:`audit.Batch`) as it is checked. ``finish`` records ``summary(taken)`` (the
    import's own event, first) and those events with :func:`audit.record_batch`: the
    shop's chain is locked only from then to commit. A lookup may see orders written by
    this intake (earlier pieces): they count as its own, not as the shop's earlier
    orders (:meth:`_Context.add`). Nothing else may use the session meanwhile.
    """

    def __init__(
        self,
        session: UrakataSession,
        *,
        actor: Actor,
        channel: str,
        now: datetime | None = None,
        on_invalid: Callable[[int, OrderInvalid], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 2_000,
        total: int = 0,
    ):
        self.session, self.actor, self.channel, self.batch = session, actor, channel, batch
        self.now = now or utcnow()
        self.on_invalid, self.progress, self.total = on_invalid, progress, total
        self.tenant_id = session.tenant_id
        zone = session.get(Tenant, session.tenant_id).timezone
        self.ctx = _Context(zone, rules=_clock_rules(session))  # read before the writer starts
        connection = session.connection()
        self._execute = connection.execute
        self.driver = connection.connection.driver_connection
        self.writer = Alongside(self.driver, "orders-writer")
        self.pending: deque[tuple[list[dict], Future]] = deque()
        self.ledger = audit.Batch(self.tenant_id, actor)
        self.known: list[str] = []
        self.fresh: list[_Fresh] = []
        self.given = 0  # orders handed to take(): the index on_invalid gets
        self.sent = 0  # fresh orders sent to the writer

    def __enter__(self) -> Intake:
        self.writer.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.writer.__exit__(*exc_info)

    def take(self, loaded: list[dict]) -> None:
        values = [one if "duplicate_key" in one else _keyed(dict(one), self.channel)
                  for one in loaded]  # fmt: skip
        found = self.writer.send(functools.partial(self._look_up, batch=values))
        self.pending.append((values, found))
        if len(self.pending) > 1 or not self.given:  # (the first at once: nothing is ahead)
            self._check(*self.pending.popleft())

    def _look_up(self, _driver, *, batch: list[dict]) -> _Found:  # (in the writer's thread)
        found = _look_up(self._execute, self.tenant_id, self.channel, batch)
        found.ids = list(self._execute(_ORDER_IDS, {"count": len(batch)}).scalars())
        return found

    def _check(self, values: list[dict], found: Future) -> None:
        ctx = self.ctx
        ctx.add(found.result())
        ids = iter(found.result().ids)
        taken = len(self.fresh)
        for one in values:
            index, self.given = self.given, self.given + 1
            if one["external_id"] in ctx.known:
                self.known.append(one["external_id"])
                continue
            try:
                order = _prepared(self.session, ctx, one, self.now)
            except OrderInvalid as exc:
                exc.index = index
                if self.on_invalid is None:
                    raise
                self.on_invalid(index, exc)
                continue
            ctx.known.add(order.row["external_id"])
            order.id = next(ids)
            self.fresh.append(order)
            if len(self.fresh) - self.sent >= self.batch:
                self._write()
        if not self.sent:  # the writer starts on the first piece, however small
            self._write()
        new = self.fresh[taken:]
        self.ledger.add([event for order in new for event in _intake_events(order)])
        self.writer.send(_confirmation_mails(self.session, new))  # (the outbox has no FK)
        if self.progress:
            self.progress(self.given, max(self.total, self.given))

    def _write(self) -> None:
        if len(self.fresh) > self.sent:
            batch, self.sent = self.fresh[self.sent :], len(self.fresh)
            self.writer.send(functools.partial(_insert_many, batch=batch))

    def finish(
        self, summary: Callable[[list[TakenIn]], audit.PendingEvent] | None = None
    ) -> list[TakenIn]:
        while self.pending:
            self._check(*self.pending.popleft())
        self._write()
        self.writer.close()
        fresh = self.fresh
        taken = [TakenIn(number) for number in self.known] + [
            TakenIn(order.row["external_id"], order.id, order.row["status"]) for order in fresh
        ]
        first = summary(taken) if summary else None
        if first or self.ledger.events:
            audit.record_batch(self.session, self.ledger, first=first)
        # Done: what was kept for the writing goes now (with reference counting, at once;
        # a caller's hook can tie this object in a cycle, which the collector would walk).
        self.fresh, self.ledger, self.on_invalid = [], audit.Batch(self.tenant_id, self.actor), None
        return taken


def _loaded(data: Any, zone: str, channel: str | None) -> dict:
    """The order schema's values, with the channel and the duplicate key."""
    try:
        values = load_order(data, zone=zone)
    except ValidationError as exc:
        raise OrderInvalid(exc.messages) from exc
    return _keyed(values, channel)


def checked_ahead(values: dict, channel: str) -> dict:
    """What intake works out from an order's values alone, worked out ahead: the rule
    across its fields (:class:`OrderInvalid` for a discount over the total), the
    channel, the duplicate key and the address's holds. A file's orders get them where
    the file is checked (:mod:`urakata.tenants.orders.imports.service`), so the error is
    the file's, by row and column, and the process that takes the orders in has less to
    do; :class:`Intake` uses them as they are."""
    items = sum(line["quantity"] * line["unit_price_yen"] for line in values["lines"])
    fees = values.get("shipping_fee_yen", 0) + values.get("fee_yen", 0)
    _refuse_over_discount(values, items + fees - values.get("discount_yen", 0))
    _keyed(values, channel)
    values["address_holds"] = _address_holds(values["ship_to"])
    return values


def _refuse_over_discount(values: dict, total: int) -> None:
    """The one rule across an order's fields: the discount is at most what it is off."""
    if total < 0:
        raise OrderInvalid({"discount_yen": [N_(
            "The discount of %(discount)s yen is more than the order's %(before)s yen.",
            discount=format(values["discount_yen"], ","),
            before=format(total + values["discount_yen"], ","),
        )]})  # fmt: skip


def _keyed(values: dict, channel: str | None) -> dict:
    values["channel"] = channel or values.get("channel") or "api"
    customer, ship = values["customer"], values["ship_to"]
    values["duplicate_key"] = _duplicate_key(customer.get("email", ""), ship, values["lines"])
    return values


@dataclass
class _Fresh:
    """A new order, checked and in the state its checks lead to, not written yet: its
    row (every column but ``id``), its lines' rows (without ``id`` and ``order_id``) and
    its moves for the ledger. Plain values: a file's orders go to COPY as they are, and
    an API order becomes an ORM object only once it is written (:func:`_insert_new`)."""

    row: dict
    lines: list[dict]
    moves: list[tuple[str, dict, dict]]
    id: int | None = None


_ORDER = Order.__table__
_LINE = OrderLine.__table__
_ORDER_COLUMNS = [c.key for c in _ORDER.columns if c.key != "id"]
_LINE_COLUMNS = [c.key for c in _LINE.columns if c.key != "id"]
# Every column's value before the checks fill it in: the scalar defaults, else None
# (holds, created_at and updated_at, whose defaults are callables, are set by _prepared).
_BLANK_ORDER = {
    c.key: c.default.arg if c.default is not None and not c.default.is_callable else None
    for c in _ORDER.columns
    if c.key != "id"
}


def _prepared(session: UrakataSession, ctx: _Context, values: dict, now: datetime) -> _Fresh:
    """The new order, checked and in the state its checks lead to (not written yet)."""
    lines = [dict(line) for line in values["lines"]]
    ship, customer = values["ship_to"], values["customer"]
    ordered_at = values.get("ordered_at") or now
    key = values["duplicate_key"]
    other = _earlier_duplicate(ctx, key, ordered_at)
    address = values["address_holds"] if "address_holds" in values else _address_holds(ship)
    holds = _line_holds(session, lines, ctx.products) + address + _duplicate_holds(other)
    money = _totals(
        lines,
        values.get("shipping_fee_yen", 0),
        values.get("fee_yen", 0),
        values.get("discount_yen", 0),
    )
    _refuse_over_discount(values, money["total_yen"])
    stated = values.get("total_yen")
    if stated is not None and stated != money["total_yen"]:
        message = N_(
            "The order says %(stated)s yen but its lines, fees and discount make %(computed)s yen.",
            stated=format(stated, ","),
            computed=format(money["total_yen"], ","),
        )
        holds.append(hold("totals", "total_yen", message))
    postal = jpaddress.normalise_postal_code(ship["postal_code"]) or ship["postal_code"]
    row = {
        **_BLANK_ORDER,
        "tenant_id": session.tenant_id,
        "channel": values["channel"],
        "external_id": values["external_id"],
        "ordered_at": ordered_at,
        "status": "received",
        "holds": [],
        "version": 1,
        "customer_name": customer["name"],
        "customer_kana": customer.get("kana", ""),
        "customer_email": customer.get("email", ""),
        "customer_phone": _customer_phone(customer.get("phone", "")),
        "ship_name": ship["name"],
        "ship_postal_code": postal,
        "ship_prefecture": ship["prefecture"],
        "ship_city": ship["city"],
        "ship_street": ship["street"],
        "ship_building": ship.get("building", ""),
        "ship_phone": jpaddress.normalise_phone(ship["phone"]) or ship["phone"],
        "delivery_date": values.get("delivery_date"),
        "delivery_slot": values.get("delivery_slot"),
        "gift_wrap": values.get("gift_wrap", False),
        "noshi": values.get("noshi", ""),
        "payment_method": values["payment_method"],
        "payment_status": values.get("payment_status", "unpaid"),
        "shipping_fee_yen": values.get("shipping_fee_yen", 0),
        "fee_yen": values.get("fee_yen", 0),
        "discount_yen": values.get("discount_yen", 0),
        "notes": values.get("notes", ""),
        "duplicate_key": key,
        "created_at": now,
        "updated_at": now,
        **money,
    }
    line_rows = [
        {
            "tenant_id": session.tenant_id,
            "line_no": n,
            "sku": line["sku"],
            "product_id": line["product_id"],
            "name": line["name"],
            "quantity": line["quantity"],
            "unit_price_yen": line["unit_price_yen"],
            "tax_rate": line["tax_rate"],
            "amount_yen": line["amount_yen"],
        }
        for n, line in enumerate(lines, start=1)
    ]
    ctx.mine.setdefault(key, []).append((row["external_id"], ordered_at))
    ctx.own.add(row["external_id"])
    return _Fresh(row, line_rows, _intake_moves(session, row, holds, now, ctx))


def _intake_events(fresh: _Fresh) -> list[audit.PendingEvent]:
    row = fresh.row
    received = audit.PendingEvent(
        "order.received",
        "order",
        fresh.id,
        data={
            "channel": row["channel"],
            "external_id": row["external_id"],
            "lines": len(fresh.lines),
            "total_yen": row["total_yen"],
            "payment_method": row["payment_method"],
        },
    )
    return [received] + [
        audit.PendingEvent(action, "order", fresh.id, changes=changes, data=data)
        for action, changes, data in fresh.moves
    ]


_INSERT_ORDER = (
    pg_insert(_ORDER)
    .on_conflict_do_nothing(index_elements=["tenant_id", "channel", "external_id"])
    .returning(_ORDER.c.id)
)
_INSERT_LINES = pg_insert(_LINE).returning(_LINE.c.id, sort_by_parameter_order=True)


def _insert_new(session: UrakataSession, fresh: _Fresh) -> Order | None:
    """Insert a new order and its lines with two statements and hand them to the session
    as loaded rows; None (nothing written) when the shop has the channel's order id.

    The unit of work would do the same with a savepoint around it (the unique index is
    how a concurrent sender of the same order is caught) and cost more than the checks;
    ``ON CONFLICT DO NOTHING`` waits for that sender's commit and answers without an error.
    Every column is sent, so the statement is always the same one and only ids come back.
    """
    connection = session.connection()
    fresh.id = connection.execute(_INSERT_ORDER, fresh.row).scalar_one_or_none()
    if fresh.id is None:
        return None
    rows = [{**line, "order_id": fresh.id} for line in fresh.lines]
    ids = connection.execute(_INSERT_LINES, rows).scalars().all()
    lines = [_as_loaded(OrderLine(), {**row, "id": line_id}) for row, line_id in zip(rows, ids,
             strict=True)]  # fmt: skip
    order = _as_loaded(Order(), {**fresh.row, "id": fresh.id})
    set_committed_value(order, "lines", lines)
    for line in lines:
        set_committed_value(line, "order", order)
    session.add(order)  # persistent, clean: nothing left to flush
    return order


def _as_loaded(obj, row: dict):
    """``obj`` as if loaded from ``row`` (its columns): detached, nothing left to flush.

    The values go straight into the instance's dict, as a query's loading does;
    ``make_transient_to_detached`` then commits them all at once."""
    instance_dict(obj).update(row)
    make_transient_to_detached(obj)
    return obj


# COPY cannot write a table under row-level security: the rows go into temporary tables
# first and move with one INSERT each, which the policies check. The orders' ids were
# drawn ahead (_ORDER_IDS), so the lines carry them from the start.
_ORDER_IDS = text("SELECT nextval('sales_order_id_seq') FROM generate_series(1, :count)")
_IDS_AND_COLUMNS = ", ".join(["id", *_ORDER_COLUMNS])
_BATCH_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS sales_order_batch ON COMMIT DELETE ROWS AS"
    f" SELECT {_IDS_AND_COLUMNS} FROM sales_order WITH NO DATA;"
    " CREATE TEMP TABLE IF NOT EXISTS order_line_batch ON COMMIT DELETE ROWS AS"
    f" SELECT {', '.join(_LINE_COLUMNS)} FROM order_line WITH NO DATA"
)
_MOVE_BATCH = (
    f"INSERT INTO sales_order ({_IDS_AND_COLUMNS}) SELECT {_IDS_AND_COLUMNS}"
    " FROM sales_order_batch; TRUNCATE sales_order_batch;"
    f" INSERT INTO order_line ({', '.join(_LINE_COLUMNS)})"
    f" SELECT {', '.join(_LINE_COLUMNS)} FROM order_line_batch; TRUNCATE order_line_batch"
)
_COPY_ORDERS = f"COPY sales_order_batch ({_IDS_AND_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_LINES = f"COPY order_line_batch ({', '.join(_LINE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_ORDER_TYPES = copy_types(_ORDER, ["id", *_ORDER_COLUMNS])
_LINE_TYPES = copy_types(_LINE, _LINE_COLUMNS)
_COPY_HOLDS = 1 + _ORDER_COLUMNS.index("holds")
_COPY_ORDER_ID = _LINE_COLUMNS.index("order_id")


def _insert_many(driver, *, batch: list[_Fresh]) -> None:
    """Insert new orders (their ids drawn already) and their lines on the (psycopg)
    connection ``driver``: COPY into temporary tables, then one INSERT each. A number
    inserted meanwhile by another sender fails the whole import on the unique index (the
    import is retried and then counts it as known)."""
    with driver.cursor() as cursor:
        cursor.execute(_BATCH_TABLES)
        with cursor.copy(_COPY_ORDERS) as copy:
            copy.set_types(_ORDER_TYPES)
            for fresh in batch:
                values = [fresh.id, *[fresh.row[key] for key in _ORDER_COLUMNS]]
                values[_COPY_HOLDS] = Jsonb(values[_COPY_HOLDS])
                copy.write_row(values)
        with cursor.copy(_COPY_LINES) as copy:
            copy.set_types(_LINE_TYPES)
            for fresh in batch:
                for line in fresh.lines:
                    values = [line.get(key) for key in _LINE_COLUMNS]
                    values[_COPY_ORDER_ID] = fresh.id
                    copy.write_row(values)
        cursor.execute(_MOVE_BATCH)


def _intake_moves(
    session: UrakataSession, row: dict, holds: list[dict], now: datetime, ctx: _Context
) -> list[tuple[str, dict, dict]]:
    """Put a new order's row in the state its checks lead to; the moves as (action,
    changes, data) for the ledger, as :func:`_move` would record them one by one."""
    version = {"version": row["version"]}
    if holds:
        row["status"], row["holds"] = "on_hold", holds
        changes = {"status": ("received", "on_hold"), "holds": ([], [h["code"] for h in holds])}
        return [("order.held", changes, {**version, **_hold_data(holds)})]
    row["status"], row["confirmed_at"] = "confirmed", now
    moves = [("order.confirmed", {"status": ("received", "confirmed")}, version)]
    if payment_clears(row["payment_method"], row["payment_status"]):
        if ctx.rules is None:
            ctx.rules = _clock_rules(session)
        row.update(ctx.clock(now))
        row["status"], row["released_at"] = "released", now
        moves.append(("order.released", {"status": ("confirmed", "released")},
                      {**version, **_clock_data(row)}))  # fmt: skip
    return moves


# -- moving between states -----------------------------------------------------------------


def _move(
    session: UrakataSession,
    actor: Actor,
    order: Order,
    status: str,
    action: str,
    *,
    holds: list[dict] | None = None,
    data: dict | None = None,
) -> None:
    if status not in TRANSITIONS[order.status]:
        raise IllegalTransition(
            N_(
                "An order in state %(state)s cannot become %(target)s.",
                state=order.status,
                target=status,
            )
        )
    changes: dict[str, tuple[Any, Any]] = {"status": (order.status, status)}
    order.status = status
    if holds is not None:
        new_codes = [h["code"] for h in holds]
        if new_codes != order.hold_codes:
            changes["holds"] = (order.hold_codes, new_codes)
        order.holds = holds
    order.updated_at = utcnow()
    _flush(session, order)
    audit.record(
        session,
        actor,
        action,
        object_type="order",
        object_id=order.id,
        changes=changes,
        data={"version": order.version, **(data or {}), **_hold_data(holds)},
    )


def _hold_data(holds: list[dict] | None) -> dict:
    if not holds:
        return {}
    return {"reasons": [{"code": h["code"], "field": h["field"], "text": h["msgid"] % h["params"]
                         if h["params"] else h["msgid"]} for h in holds]}  # fmt: skip


def payment_clears(method: str, status: str) -> bool:
    """Whether the order may ship as far as money goes (japan.md, "Paying before shipping")."""
    if status == "refunded":
        return False
    if method in ("cod", "other"):
        return True
    if method in ("card", "atobarai"):
        return status in ("authorized", "paid")
    return status == "paid"  # bank_transfer, konbini: prepaid


def _release_if_shippable(
    session: UrakataSession, actor: Actor, order: Order, now: datetime | None = None
) -> None:
    """Release a confirmed order whose payment clears. An order held for its payment
    alone is confirmed again first; one held for anything else stays for an operator."""
    if not payment_clears(order.payment_method, order.payment_status):
        return
    if order.status == "on_hold" and order.holds and set(order.hold_codes) == {"payment"}:
        _move(session, actor, order, "confirmed", "order.confirmed", holds=[],
              data={"reason": "payment_cleared"})  # fmt: skip
    if order.status != "confirmed":
        return
    now = now or utcnow()
    if order.ship_by_at is None:
        _start_clock(session, order, now)
    order.released_at = now
    _move(session, actor, order, "released", "order.released", data=_clock_data(order))


@dataclass(frozen=True)
class _ClockRules:
    cutoff: Any  # datetime.time in the shop's zone
    zone: Any  # ZoneInfo
    calendar: Any  # BusinessCalendar


def _clock_rules(session: UrakataSession) -> _ClockRules:
    """The shop's cutoff, time zone and business calendar (public holidays, the shop's
    and the agency's closed days). Two columns of the settings row, not the row (its logo
    can be half a megabyte)."""
    cutoff, closed_days, agency_days = session.execute(_CLOCK_RULES).one()
    tenant = session.get(Tenant, session.tenant_id)
    return _ClockRules(cutoff, tenant.zone, calendar_for(closed_days or (), agency_days or ()))


# One round trip: the shop's two settings and the agency's closed days beside them.
_CLOCK_RULES = select(
    ShopSettings.same_day_cutoff,
    ShopSettings.closed_days,
    select(func.array_agg(AgencyClosedDay.day)).scalar_subquery(),
)


def _clock_fields(now: datetime, rules: _ClockRules) -> dict:
    """The ship-by clock of an order that became shippable ``now``: the day it must ship
    and the deadline, by the shop's rules (an order's columns)."""
    clock = ship_by(now, cutoff=rules.cutoff, zone=rules.zone, calendar=rules.calendar)
    return {"shippable_at": now, "ship_by_date": clock.ship_date, "ship_by_at": clock.deadline}


def _start_clock(session: UrakataSession, order: Order, now: datetime) -> None:
    for key, value in _clock_fields(now, _clock_rules(session)).items():
        setattr(order, key, value)


def _clock_data(order: Order | dict) -> dict:
    """The clock's part of a release's ledger data, of an order or a new order's row."""
    row = order if isinstance(order, dict) else {"ship_by_date": order.ship_by_date,
                                                 "ship_by_at": order.ship_by_at}  # fmt: skip
    return {"ship_by_date": row["ship_by_date"].isoformat(), "ship_by_at": row["ship_by_at"]}


def get_order(session: UrakataSession, order_id: int) -> Order:
    return get_scoped(session, Order, order_id)


def _checked(session: UrakataSession, order_id: int, version: int | None) -> Order:
    order = get_order(session, order_id)
    if version is not None and order.version != version:
        raise StaleOrder(f"order {order.external_id} is at version {order.version}")
    return order


def put_on_hold(
    session: UrakataSession, *, actor: Actor, order_id: int, version: int, note: str
) -> Order:
    """An operator's manual hold (a customer's call, a suspicion), with a note."""
    order = _checked(session, order_id, version)
    note = " ".join(note.split())[:200]
    if not note:
        raise OrderInvalid({"note": [N_("Say why the order is held.")]})
    if order.status == "on_hold":
        raise IllegalTransition(N_("The order is on hold already."))
    manual = hold("manual", "", N_("Held by %(who)s: %(note)s", who=actor.label, note=note))
    _move(session, actor, order, "on_hold", "order.held", holds=[manual])
    return order


def recheck(session: UrakataSession, order: Order, overrides: Iterable[str] = ()) -> list[dict]:
    """The hold reasons that still apply (facts re-checked, judgements kept unless overridden)."""
    overrides = set(overrides)
    ship = {
        "postal_code": order.ship_postal_code,
        "prefecture": order.ship_prefecture,
        "city": order.ship_city,
        "street": order.ship_street,
        "building": order.ship_building,
        "name": order.ship_name,
        "phone": order.ship_phone,
    }
    lines = [
        {"sku": line.sku, "quantity": line.quantity, "unit_price_yen": line.unit_price_yen}
        for line in order.lines
    ]
    fresh = _line_holds(session, lines) + _address_holds(ship)
    judged = [h for h in order.holds if h["code"] in ("duplicate", "totals", "manual")]
    return [h for h in fresh + judged if h["code"] not in overrides]


def release(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    version: int,
    overrides: Iterable[str] = (),
    now: datetime | None = None,
) -> Order:
    """Release a held order: every reason must be fixed (re-checked) or overridden.
    ``now`` (default: the present) is when; its ship-by clock starts then."""
    order = _checked(session, order_id, version)
    if order.status != "on_hold":
        raise IllegalTransition(N_("Only an order on hold can be released."))
    overrides = set(overrides)
    refused = overrides - OVERRIDABLE
    if refused:
        raise IllegalTransition(
            N_(
                "These reasons cannot be overridden, only fixed: %(codes)s.",
                codes=", ".join(sorted(refused)),
            )
        )
    remaining = recheck(session, order, overrides)
    if remaining:  # refused: nothing is written (the reasons are in the message)
        raise IllegalTransition(
            N_(
                "The order still has hold reasons: %(reasons)s",
                reasons=" / ".join(str(hold_message(h)) for h in remaining),
            )
        )
    order.confirmed_at = now or utcnow()
    data = {"overrides": sorted(overrides)} if overrides else None
    _move(session, actor, order, "confirmed", "order.confirmed", holds=[], data=data)
    _after_confirmed(session, order, now)
    _release_if_shippable(session, actor, order, now)
    return order


def edit_address(session: UrakataSession, *, actor: Actor, order_id: int, data: Any) -> Order:
    """Correct the ship-to; the address checks run again and update the order's holds.

    Once the shipping instructions are made, the parcels still in the warehouse take the
    new address too (:mod:`urakata.tenants.shipping.readdress`), and only an address they
    can ship to is taken; a shipped order's address stays as it left."""
    try:
        values = load_address_patch(data)
    except ValidationError as exc:
        raise OrderInvalid(exc.messages) from exc
    order = _checked(session, order_id, values.pop("version"))
    if order.status == "cancelled":
        raise IllegalTransition(N_("A cancelled order cannot be changed."))
    if order.status == "shipped":
        raise IllegalTransition(
            N_("The order has shipped: its address is the one its parcels left with.")
        )
    before = _ship_to(order)
    if "postal_code" in values:
        raw = values["postal_code"]
        values["postal_code"] = jpaddress.normalise_postal_code(raw) or raw
    if "phone" in values:
        values["phone"] = jpaddress.normalise_phone(values["phone"]) or values["phone"]
    for name, value in values.items():
        setattr(order, f"ship_{name}", value)
    changes = audit.diff(before, _ship_to(order))
    if not changes:
        return order
    problems = _address_holds(_ship_to(order))
    if order.status in IN_SHIPPING:
        if problems:  # no hold from here on: the parcels would wait with a bad address
            raise OrderInvalid({h["field"].removeprefix("ship_to."): [hold_message(h)]
                                for h in problems})  # fmt: skip
        # The shipping package builds on this one: imported here, when it is needed.
        from urakata.tenants.shipping.readdress import readdress_parcels

        readdress_parcels(session, actor=actor, order_id=order.id, ship_to=_ship_to(order))
    if order.status == "on_hold":
        kept = [h for h in order.holds if not h["field"].startswith("ship_to.")]
        order.holds = kept + problems
    items = [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]
    order.duplicate_key = _duplicate_key(order.customer_email, _ship_to(order), items)
    order.updated_at = utcnow()
    _flush(session, order)
    audit.record(
        session,
        actor,
        "order.address_changed",
        object_type="order",
        object_id=order.id,
        changes=changes,
        data={"version": order.version},
    )
    if problems and order.status in ("confirmed", "released", "allocated"):
        # Such an order must not go on with an address it cannot ship to. An allocated one
        # keeps its stock while it waits (allocation only adds what an order lacks).
        _move(session, actor, order, "on_hold", "order.held", holds=problems)
    return order


def _flush(session: UrakataSession, order: Order) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleOrder(f"order {order.external_id} was changed meanwhile") from exc


def _ship_to(order: Order) -> dict[str, str]:
    return {
        "name": order.ship_name,
        "postal_code": order.ship_postal_code,
        "prefecture": order.ship_prefecture,
        "city": order.ship_city,
        "street": order.ship_street,
        "building": order.ship_building,
        "phone": order.ship_phone,
    }


def cancel(
    session: UrakataSession, *, actor: Actor, order_id: int, version: int | None, reason: str
) -> Order:
    order = _checked(session, order_id, version)
    if order.status == "cancelled":
        raise IllegalTransition(N_("The order is cancelled already."))
    order.cancelled_at = utcnow()
    order.cancel_reason = " ".join(reason.split())[:200]
    from urakata.tenants.stock.allocation import release_order_allocation

    release_order_allocation(session, actor=actor, order=order)
    _move(
        session,
        actor,
        order,
        "cancelled",
        "order.cancelled",
        data={"reason": order.cancel_reason},
    )
    return order


def record_payment(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    version: int | None,
    status: str,
    now: datetime | None = None,
) -> Order:
    """The payment's new state (deposit matched, authorised, refunded); a confirmed order
    whose payment now clears is released with its ship-by clock (started at ``now``)."""
    order = _checked(session, order_id, version)
    if status not in ("unpaid", "authorized", "paid", "refunded"):
        raise OrderInvalid({"payment_status": [N_("Choose one of: %(choices)s.",
                            choices="unpaid, authorized, paid, refunded")]})  # fmt: skip
    if order.status == "cancelled":
        raise IllegalTransition(N_("A cancelled order cannot be changed."))
    if status == order.payment_status:
        return order
    before = order.payment_status
    order.payment_status = status
    order.updated_at = utcnow()
    _flush(session, order)
    audit.record(
        session,
        actor,
        "order.payment_recorded",
        object_type="order",
        object_id=order.id,
        changes={"payment_status": (before, status)},
        data={"version": order.version},
    )
    if (
        order.status not in ("received", "on_hold", "confirmed")
        and "on_hold" in TRANSITIONS[order.status]
        and not payment_clears(order.payment_method, status)
    ):
        # Released orders go on to allocation: one whose money is gone must stop here. It
        # was not shippable after all: its ship-by clock starts again when the money clears.
        message = N_(
            "The payment is now %(status)s: the order cannot ship until it clears.",
            status=status,
        )
        order.shippable_at = order.ship_by_date = order.ship_by_at = None
        _move(session, actor, order, "on_hold", "order.held",
              holds=[hold("payment", "payment_status", message)],
              data={"ship_by_cleared": True})  # fmt: skip
    _release_if_shippable(session, actor, order, now)
    return order


# -- finding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    hold: str | None = None
    payment_status: str | None = None
    ship_by_until: date | None = None
    query: str = ""


@dataclass(frozen=True)
class OrderPage:
    items: list[Order]
    next_after: int | None


def list_orders(
    session: UrakataSession,
    filters: OrderFilter = OrderFilter(),
    *,
    after_id=None,
    limit=50,
    with_lines: bool = True,
) -> OrderPage:
    """The bound shop's orders, newest first (keyset by id). ``with_lines=False`` for a
    list that shows no lines: reading ``order.lines`` then raises instead of querying."""
    stmt = _filtered(select(Order), filters).order_by(Order.id.desc()).limit(limit + 1)
    if not with_lines:
        stmt = stmt.options(raiseload(Order.lines))
    if after_id:
        stmt = stmt.where(Order.id < after_id)
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    return OrderPage(items, items[-1].id if len(rows) > limit else None)


# What a queue row shows: no lines, no personal data. An operator's queue spans their shops
# (hundreds of rows a page), so it reads these columns as plain rows, not whole orders.
QUEUE_COLUMNS = (
    Order.id, Order.external_id, Order.channel, Order.status, Order.holds,
    Order.payment_method, Order.payment_status, Order.total_yen, Order.ordered_at,
    Order.ship_by_at, Order.ship_by_date,
)  # fmt: skip


def queue(session: UrakataSession, filters: OrderFilter, limit: int = 200) -> list[Row]:
    """The bound shop's open orders for the operators' queue, soonest ship-by first, as
    rows of :data:`QUEUE_COLUMNS`."""
    stmt = _filtered(select(*QUEUE_COLUMNS), filters)
    if not filters.status:
        stmt = stmt.where(Order.status.in_(("received", "on_hold", "confirmed", "released")))
    order = (Order.ship_by_at.is_(None).desc(), Order.ship_by_at, Order.ordered_at)
    return list(session.execute(stmt.order_by(*order).limit(limit)))


_NO_HOLDS = literal_column("'[]'::jsonb")


def _filtered(stmt, f: OrderFilter):
    if f.status:
        stmt = stmt.where(Order.status == f.status)
    if f.hold:
        # Implied by the next test; it lets PostgreSQL read the partial index of held orders
        # (ix_sales_order_tenant_id_id_held) rather than every order of the shop.
        stmt = stmt.where(Order.holds.op("<>")(_NO_HOLDS))
        stmt = stmt.where(Order.holds.contains([{"code": f.hold}]))
    if f.payment_status:
        stmt = stmt.where(Order.payment_status == f.payment_status)
    if f.ship_by_until:
        stmt = stmt.where(Order.ship_by_date <= f.ship_by_until)
    if f.query:  # literal text: % and _ typed by an operator are not wildcards
        stmt = stmt.where(
            Order.external_id.icontains(f.query, autoescape=True)
            | Order.customer_name.icontains(f.query, autoescape=True)
            | Order.ship_name.icontains(f.query, autoescape=True)
        )
    return stmt


_DAILY_SALES = text(
    """
    SELECT (o.ordered_at AT TIME ZONE :zone)::date AS day, l.sku,
           sum(l.quantity) AS quantity, sum(l.amount_yen) AS amount_yen
      FROM order_line l
      JOIN sales_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id
     WHERE l.tenant_id = :tenant AND o.status <> 'cancelled'
       AND o.ordered_at >= :since AND o.ordered_at < :until
       AND (CAST(:sku AS text) IS NULL OR l.sku = :sku)
     GROUP BY 1, 2 ORDER BY 1, 2
    """
)


@dataclass(frozen=True)
class DailySales:
    day: date
    sku: str
    quantity: int
    amount_yen: int


def daily_sales(
    session: UrakataSession, *, since: date, until: date, sku: str | None = None
) -> list[DailySales]:
    """Units and yen per SKU per local day in [since, until), cancelled orders left out."""
    tenant = session.get(Tenant, session.tenant_id)
    zone = tenant.zone
    start = datetime.combine(since, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(until, datetime.min.time(), tzinfo=zone)
    rows = session.execute(
        _DAILY_SALES,
        {"tenant": session.tenant_id, "zone": tenant.timezone, "since": start, "until": end,
         "sku": sku},
    )  # fmt: skip
    return [DailySales(r.day, r.sku, int(r.quantity), int(r.amount_yen)) for r in rows]


def count_by_status(session: UrakataSession) -> dict[str, int]:
    rows = session.execute(select(Order.status, func.count()).group_by(Order.status))
    return {status: count for status, count in rows}


def record_allocation(
    session: UrakataSession, *, actor: Actor, order: Order, holds: list[dict] | None = None
) -> None:
    """Stock's verdict on a released order (or one on hold for "out_of_stock"), from
    urakata.tenants.stock.allocation: every line promised → "allocated"; otherwise on hold
    with ``holds`` (code "out_of_stock"). Recorded on the ledger like every move."""
    if holds:
        _move(session, actor, order, "on_hold", "order.held", holds=holds)
    else:
        _move(session, actor, order, "allocated", "order.allocated", holds=[])


# Shipping instructions made, parcels not yet handed over.
IN_SHIPPING = ("instructed", "inspected", "packed")
FULFILMENT_MOVES = ("instructed", "inspected", "packed", "shipped", "released")


def record_fulfilment(
    session: UrakataSession, *, actor: Actor, order: Order, status: str, data: dict | None = None
) -> None:
    """Fulfilment's moves of an order (urakata.tenants.fulfilment and .shipping): instructed
    when its shipments are made; inspected, packed and shipped when all its live parcels
    got there; back to released after a short pick. Checked against TRANSITIONS and
    recorded on the ledger as ``order.<status>``, like every move."""
    if status not in FULFILMENT_MOVES:
        raise IllegalTransition(N_("Fulfilment cannot move an order to %(target)s.", target=status))
    _move(session, actor, order, status, f"order.{status}", data=data)


# -- payment holds and the confirmation mail (urakata.tenants.payments, orders.confirmation) --


def hold_for_payment(
    session: UrakataSession, *, actor: Actor, order_id: int, message: Message
) -> Order:
    """Stop an order for its payment (e.g. a 後払い credit check answered NG and the shop
    holds such orders): a ``payment`` hold beside any other reasons it has, on the ledger.
    The hold goes by itself when the payment clears (:func:`_release_if_shippable`)."""
    order = get_order(session, order_id)
    entry = hold("payment", "payment_status", message)
    if order.status == "on_hold":
        holds = [h for h in order.holds if h["code"] != "payment"] + [entry]
        changes = {"holds": (order.hold_codes, [h["code"] for h in holds])}
        order.holds, order.updated_at = holds, utcnow()
        _flush(session, order)
        data = {"version": order.version, **_hold_data(holds)}
        audit.record(session, actor, "order.held", object_type="order", object_id=order.id,
                     changes=changes, data=data)  # fmt: skip
        return order
    if "on_hold" not in TRANSITIONS[order.status]:
        raise IllegalTransition(
            N_("An order in state %(state)s cannot be held.", state=order.status)
        )
    _move(session, actor, order, "on_hold", "order.held", holds=[entry])
    return order


def _after_intake(session: UrakataSession, order: Order) -> None:
    """After :func:`intake`: an order confirmed at once gets its confirmation mail."""
    if order.confirmed_at is not None:
        _after_confirmed(session, order, order.created_at)


def _confirmation_mails(session: UrakataSession, batch: list[_Fresh]) -> Callable[[Any], None]:
    """:func:`_after_intake` for a batch: the COPY that queues the confirmation mails of
    the orders confirmed (not backdated), for the caller to run on the connection."""
    from urakata.tenants.orders import confirmation

    recent = utcnow() - confirmation.BACKFILL
    return confirmation.on_confirmed_many(session, [
        one.id for one in batch
        if one.row["confirmed_at"] is not None and one.row["created_at"] >= recent
    ])  # fmt: skip


def _after_confirmed(session: UrakataSession, order: Order, now: datetime | None) -> None:
    """An order was confirmed at ``now``: queue its confirmation mail (once per order).

    A backdated confirmation (the demo's history, a backfill of old orders) mails nobody.
    """
    from urakata.tenants.orders import confirmation  # it reads orders; orders call it

    if now is None or now >= utcnow() - confirmation.BACKFILL:
        confirmation.on_confirmed(session, order)
