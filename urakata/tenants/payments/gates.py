"""Payment gates: nothing ships before it is paid for (domain/japan.md, "Paying before
shipping").

=============  ===============================================================
card           ships once authorised (an ``authorized`` notice)
cod            ships at once; the driver collects :func:`cod_collection`
bank_transfer  waits for its deposit (statements, ``statements``/``matching``)
konbini        waits for a payment notice; cancelled after the shop's expiry days
atobarai       waits for the credit result: OK ships, 保留 waits, NG cancels or holds
=============  ===============================================================

Whether a method's payment clears is :func:`urakata.tenants.orders.services.payment_clears`;
moving the order (release, hold, cancel) is the order service's, so every move is on the
ledger like any other. Notices (:class:`PaymentEvent`) come by the API or from a person in
the portal, each with the sender's event id: the same notice twice has one effect.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, validates_schema
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message, SingleLine, WholeNumber
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.schemas import LocalDateTime
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid
from urakata.tenants.payments.models import PaymentEvent, PaymentMatch, PaymentSettings
from urakata.tenants.payments.settings import Choice, get_payment_settings

EVENT_TYPES = ("authorized", "paid", "refunded", "voided", "credit_result")
CREDIT_RESULTS = ("ok", "ng", "hold")
OPEN_STATUSES = ("received", "on_hold", "confirmed")  # not yet released, not cancelled
# What each method's payment waits for while it does not clear.
WAITS_FOR = {
    "bank_transfer": "deposit",
    "konbini": "notice",
    "atobarai": "credit",
    "card": "authorisation",
}
# Cash on delivery: the most Yamato B2 (col. 34) and Sagawa e飛伝 (col. 48) collect.
COD_LIMIT_YEN = 300_000
# A konbini payment made just before the deadline may be notified a little after it.
KONBINI_GRACE = timedelta(hours=2)


# -- what waits ---------------------------------------------------------------------------


def waits_for(order: Order) -> str | None:
    """What the order's payment waits for; None when it clears or the order is closed."""
    if order.status == "cancelled":
        return None
    if orders.payment_clears(order.payment_method, order.payment_status):
        return None
    return WAITS_FOR.get(order.payment_method, "payment")


def waiting_clause():
    """SQL for "open, and its payment does not clear" (as :func:`waits_for` decides)."""
    return and_(
        Order.status.in_(OPEN_STATUSES),
        or_(
            and_(Order.payment_method.in_(("bank_transfer", "konbini")),
                 Order.payment_status != "paid"),
            and_(Order.payment_method.in_(("card", "atobarai")),
                 Order.payment_status.not_in(("authorized", "paid"))),
            and_(Order.payment_method.in_(("cod", "other")), Order.payment_status == "refunded"),
        ),
    )  # fmt: skip


def received_yen(session: UrakataSession, order_ids: list[int]) -> dict[int, int]:
    """Yen received by bank deposits (live matches) per order."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(PaymentMatch.order_id, func.sum(PaymentMatch.amount_yen))
        .where(PaymentMatch.order_id.in_(order_ids), PaymentMatch.undone_at.is_(None))
        .group_by(PaymentMatch.order_id)
    )
    return {order_id: int(total) for order_id, total in rows}


@dataclass(frozen=True)
class CodCollection:
    """What the driver collects: the order's total, its consumption tax (B2 col. 35)."""

    amount_yen: int
    tax_yen: int

    @property
    def within_limit(self) -> bool:
        return self.amount_yen <= COD_LIMIT_YEN


def cod_collection(order: Order) -> CodCollection | None:
    """The cash-on-delivery amount shipping puts on the label; None for other methods."""
    if order.payment_method != "cod":
        return None
    return CodCollection(order.total_yen, order.tax_8_yen + order.tax_10_yen)


def konbini_due_date(order, settings: PaymentSettings, zone: ZoneInfo) -> date:
    """The last local day to pay: the order's day plus the shop's expiry days (``order``:
    anything with an ``ordered_at``, such as an :class:`Order` or a :class:`WaitingOrder`)."""
    return order.ordered_at.astimezone(zone).date() + timedelta(days=settings.konbini_expiry_days)


def konbini_expires_at(order: Order, settings: PaymentSettings, zone: ZoneInfo) -> datetime:
    """When an unpaid konbini order is cancelled: after the due day, plus a grace period."""
    next_day = konbini_due_date(order, settings, zone) + timedelta(days=1)
    return datetime.combine(next_day, time(0), tzinfo=zone).astimezone(UTC) + KONBINI_GRACE


# -- notices -------------------------------------------------------------------------------


class EventConflict(RuntimeError):
    """The event id was used before for another notice (409)."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


class PaymentEventIn(Schema):
    """A payment notice. ``event_id`` is the sender's id: send it again, nothing changes."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": N_("Unknown field."), "type": N_("Send a JSON object.")}
    context_zone = "Asia/Tokyo"

    event_id = SingleLine(max_length=100, required=True)
    type = Choice(choices=EVENT_TYPES, required=True)
    result = Choice(choices=CREDIT_RESULTS)
    amount_yen = WholeNumber(minimum=1, maximum=10_000_000_000)
    occurred_at = LocalDateTime()
    note = SingleLine(max_length=200)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if not data.get("event_id"):
            raise ValidationError(N_("Give the notice's id."), "event_id")
        if data.get("type") == "credit_result" and "result" not in data:
            raise ValidationError(
                N_("A credit result is one of: %(choices)s.", choices=", ".join(CREDIT_RESULTS)),
                "result",
            )
        if data.get("type") != "credit_result" and "result" in data:
            raise ValidationError(N_("Only a credit_result has a result."), "result")


def load_event(data: Any, zone: str) -> dict:
    schema = PaymentEventIn()
    schema.context_zone = zone
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise OrderInvalid(messages) from exc


def _kind(values: dict) -> str:
    if values["type"] == "credit_result":
        return f"credit_{values['result']}"
    return values["type"]


def _digest(order_id: int, values: dict) -> bytes:
    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
    canonical = json.dumps({"order": order_id, **body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).digest()


# Which notices fit which payment method.
_FITS = {
    "authorized": ("card",),
    "paid": ("card", "bank_transfer", "cod", "konbini", "atobarai", "other"),
    "refunded": ("card", "bank_transfer", "cod", "konbini", "atobarai", "other"),
    "voided": ("card", "atobarai"),
    "credit_ok": ("atobarai",),
    "credit_ng": ("atobarai",),
    "credit_hold": ("atobarai",),
}


@dataclass(frozen=True)
class EventOutcome:
    event: PaymentEvent
    order: Order
    replayed: bool  # the same notice came before: nothing changed now


def record_event(
    session: UrakataSession,
    *,
    actor: Actor,
    order_id: int,
    data: Any,
    source: str,
    now: datetime | None = None,
) -> EventOutcome:
    """Record a payment notice and apply it to the order's gate.

    Raises :class:`OrderInvalid` (422: a field, or a notice that does not fit the order's
    payment method or amount), :class:`IllegalTransition` (409: a cancelled order),
    :class:`EventConflict` (409: the event id was used for another notice) and
    ``NotFound`` (another shop's order or none). Services never commit.
    """
    tenant = session.get(Tenant, session.tenant_id)
    values = load_event(data, tenant.timezone)
    digest = _digest(order_id, values)
    known = _known(session, values["event_id"], order_id, digest)
    if known is not None:
        return known
    order = orders.get_order(session, order_id)
    kind = _kind(values)
    _check_fits(session, order, kind, values.get("amount_yen"))
    event = _claim(session, order, values, kind, digest, source, actor)
    if event is None:  # a concurrent sender of the same notice won: its answer
        return _known(session, values["event_id"], order_id, digest)
    before = order.status
    _apply(session, actor, order, kind, now)
    event.effect = _effect(before, order)
    audit.record(session, actor, "order.payment_event", object_type="order", object_id=order.id,
                 data={"event_id": event.event_id, "kind": kind, "source": source,
                       "amount_yen": event.amount_yen, "effect": event.effect})  # fmt: skip
    return EventOutcome(event, order, replayed=False)


def _known(session, event_id: str, order_id: int, digest: bytes) -> EventOutcome | None:
    event = session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == event_id))
    if event is None:
        return None
    if event.order_id != order_id or event.digest != digest:
        raise EventConflict(
            N_(
                "The event id %(event_id)s was used before for another notice; give each"
                " notice its own id.",
                event_id=event_id,
            )  # fmt: skip
        )
    return EventOutcome(event, orders.get_order(session, order_id), replayed=True)


def _check_fits(session, order: Order, kind: str, amount: int | None) -> None:
    if order.status == "cancelled":
        raise IllegalTransition(
            N_(
                "Order %(number)s is cancelled; the payment notice was not recorded.",
                number=order.external_id,
            )  # fmt: skip
        )
    if order.payment_method not in _FITS[kind]:
        raise OrderInvalid({"type": [N_(
            "A %(kind)s notice does not fit order %(number)s, which is paid by %(method)s.",
            kind=kind, number=order.external_id, method=order.payment_method)]})  # fmt: skip
    if kind == "paid" and amount is not None:
        due = order.total_yen - received_yen(session, [order.id]).get(order.id, 0)
        if amount != due:
            raise OrderInvalid({"amount_yen": [N_(
                "The notice says %(amount)s yen but order %(number)s has %(due)s yen to pay.",
                amount=format(amount, ","), number=order.external_id,
                due=format(due, ","))]})  # fmt: skip


def _claim(session, order, values, kind, digest, source, actor) -> PaymentEvent | None:
    """Insert the notice's row; None when its id is taken (the first one's answer counts)."""
    row_id = session.execute(
        insert(PaymentEvent.__table__)
        .values(tenant_id=session.tenant_id, order_id=order.id, event_id=values["event_id"],
                kind=kind, amount_yen=values.get("amount_yen"),
                occurred_at=values.get("occurred_at"), received_at=utcnow(), source=source,
                actor_label=actor.label[:200], note=values.get("note", ""), digest=digest,
                effect="")
        .on_conflict_do_nothing()
        .returning(PaymentEvent.__table__.c.id)
    ).scalar()  # fmt: skip
    if row_id is None:
        return None
    return session.scalar(select(PaymentEvent).where(PaymentEvent.id == row_id))


_STATUS_OF = {"authorized": "authorized", "paid": "paid", "refunded": "refunded",
              "voided": "unpaid", "credit_ok": "authorized"}  # fmt: skip


def _apply(session, actor: Actor, order: Order, kind: str, now: datetime | None) -> None:
    if kind in _STATUS_OF:
        orders.record_payment(session, actor=actor, order_id=order.id, version=None,
                              status=_STATUS_OF[kind], now=now)  # fmt: skip
        return
    # A hold (保留) or an NG after an earlier OK takes the authorisation back.
    if order.payment_status == "authorized":
        orders.record_payment(session, actor=actor, order_id=order.id, version=None,
                              status="unpaid", now=now)  # fmt: skip
    if kind == "credit_ng":
        credit_refused(session, actor=actor, order=order)


def credit_refused(session: UrakataSession, *, actor: Actor, order: Order) -> None:
    """後払い NG: cancel the order or hold it for a person, as the shop decided."""
    policy = get_payment_settings(session).atobarai_ng_policy
    if policy == "cancel":
        orders.cancel(session, actor=actor, order_id=order.id, version=None,
                      reason="後払い審査NG / deferred-payment credit check NG")  # fmt: skip
        return
    message = N_("The deferred-payment credit check answered NG: agree another payment method"
                 " with the customer, or cancel.")  # fmt: skip
    orders.hold_for_payment(session, actor=actor, order_id=order.id, message=message)


def _effect(before: str, order: Order) -> str:
    if order.status == before:
        return "waiting" if waits_for(order) else "recorded"
    return {"released": "released", "cancelled": "cancelled", "on_hold": "held",
            "confirmed": "confirmed"}.get(order.status, order.status)  # fmt: skip


def events_of(session: UrakataSession, order_id: int, limit: int = 100) -> list[PaymentEvent]:
    return list(session.scalars(
        select(PaymentEvent).where(PaymentEvent.order_id == order_id)
        .order_by(PaymentEvent.id.desc()).limit(limit)
    ))  # fmt: skip


# -- konbini expiry ------------------------------------------------------------------------


def expire_konbini(
    session: UrakataSession, *, actor: Actor, now: datetime | None = None
) -> list[int]:
    """Cancel the bound shop's konbini orders whose payment deadline has passed unpaid;
    their ids. Idempotent: a cancelled order is not found again."""
    now = now or utcnow()
    settings = get_payment_settings(session)
    zone = session.get(Tenant, session.tenant_id).zone
    # Every order past its deadline was ordered before this (days + a day + the grace).
    latest = now - timedelta(days=settings.konbini_expiry_days) - KONBINI_GRACE
    candidates = session.scalars(
        select(Order)
        .where(Order.payment_method == "konbini", Order.payment_status != "paid",
               Order.status.in_(OPEN_STATUSES), Order.ordered_at < latest)
        .order_by(Order.id)
    ).all()  # fmt: skip
    cancelled = []
    for order in candidates:
        if konbini_expires_at(order, settings, zone) > now:
            continue
        due = konbini_due_date(order, settings, zone).isoformat()
        orders.cancel(session, actor=actor, order_id=order.id, version=None,
                      reason=f"コンビニ払い期限切れ({due}) / konbini payment expired")  # fmt: skip
        cancelled.append(order.id)
    return cancelled


# -- waiting orders (the shop's list, the reminder) -------------------------------------------


@dataclass(frozen=True)
class WaitingOrder:
    order_id: int
    number: str
    status: str
    payment_method: str
    payment_status: str
    waits_for: str
    total_yen: int
    received_yen: int
    since: datetime  # confirmed (or ordered, when still held)
    ordered_at: datetime

    @property
    def due_yen(self) -> int:
        return self.total_yen - self.received_yen

    def days(self, now: datetime) -> int:
        return max((now - self.since).days, 0)


def waiting_orders(
    session: UrakataSession,
    *,
    older_than: timedelta = timedelta(0),
    method: str | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> list[WaitingOrder]:
    """The bound shop's open orders whose payment does not clear, waiting longest first."""
    now = now or utcnow()
    since = func.coalesce(Order.confirmed_at, Order.ordered_at)
    stmt = select(Order).where(waiting_clause(), since <= now - older_than)
    if method:
        stmt = stmt.where(Order.payment_method == method)
    found = session.scalars(stmt.order_by(since, Order.id).limit(limit)).all()
    received = received_yen(session, [o.id for o in found])
    return [
        WaitingOrder(o.id, o.external_id, o.status, o.payment_method, o.payment_status,
                     waits_for(o) or "payment", o.total_yen, received.get(o.id, 0),
                     o.confirmed_at or o.ordered_at, o.ordered_at)
        for o in found
    ]  # fmt: skip


def waiting_summary(session: UrakataSession) -> tuple[dict[str, int], datetime | None]:
    """How many of the bound shop's orders wait for what, and since when the oldest."""
    since = func.coalesce(Order.confirmed_at, Order.ordered_at)
    rows = session.execute(
        select(Order.payment_method, func.count(), func.min(since))
        .where(waiting_clause())
        .group_by(Order.payment_method)
    )
    counts: dict[str, int] = {}
    oldest = None
    for method, count, first in rows:
        key = WAITS_FOR.get(method, "payment")
        counts[key] = counts.get(key, 0) + count
        oldest = first if oldest is None or first < oldest else oldest
    return counts, oldest
