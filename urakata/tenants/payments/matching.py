"""The manual matching desk: a person decides what a deposit pays, and can take it back.

A deposit (a bank statement line) in review is matched to one or more waiting
bank-transfer orders: the orders, oldest first, each take what they still have to
receive until the deposit is spent; what is left over is the line's surplus (an
over-payment to refund or to keep as the customer's credit). A deposit short of an
order's due pays part of it: the order keeps waiting for the rest. A line that pays no
order (interest, a supplier's refund) is ignored with a note. Every decision, automatic
or manual, is on the ledger (the line's and each order's timeline) and can be undone:
the orders go back to waiting (a released order is held for its payment) and the line
back to review. Services never commit.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.platform.tenancy import get_scoped
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.payments.gates import received_yen
from urakata.tenants.payments.kana import digits_of
from urakata.tenants.payments.models import BankStatementLine, PaymentEvent, PaymentMatch

NOTE_MAX = 200
SUGGESTIONS = 20


class MatchInvalid(ValueError):
    """What the person must change; ``errors`` maps a field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Message]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class MatchRefused(RuntimeError):
    """The line's state does not allow this (409); ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


class StaleLine(RuntimeError):
    """Someone decided about the deposit since the page was shown (409)."""


def get_line(session: UrakataSession, line_id: int) -> BankStatementLine:
    return get_scoped(session, BankStatementLine, line_id)


def _checked(session: UrakataSession, line_id: int, version: int) -> BankStatementLine:
    line = get_line(session, line_id)
    if line.version != version:
        raise StaleLine(f"deposit {line_id} is at version {line.version}")
    return line


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleLine("the deposit was changed meanwhile") from exc


def live_matches(session: UrakataSession, line_id: int) -> list[PaymentMatch]:
    return list(session.scalars(
        select(PaymentMatch)
        .where(PaymentMatch.line_id == line_id, PaymentMatch.undone_at.is_(None))
        .order_by(PaymentMatch.id)
    ))  # fmt: skip


def match_history(session: UrakataSession, line_id: int) -> list[PaymentMatch]:
    return list(session.scalars(
        select(PaymentMatch).where(PaymentMatch.line_id == line_id).order_by(PaymentMatch.id)
    ))  # fmt: skip


def matches_of_order(session: UrakataSession, order_id: int) -> list[PaymentMatch]:
    return list(session.scalars(
        select(PaymentMatch).where(PaymentMatch.order_id == order_id).order_by(PaymentMatch.id)
    ))  # fmt: skip


def apply_match(
    session: UrakataSession,
    *,
    actor: Actor,
    line: BankStatementLine,
    allocations: list[tuple[Order, int]],
    method: str,
    now: datetime,
) -> None:
    """Record that ``line`` pays these amounts of these orders; an order paid in full now
    has its payment recorded (and, confirmed and not held, is released with its clock)."""
    for order, amount in allocations:
        session.add(PaymentMatch(line_id=line.id, order_id=order.id, amount_yen=amount,
                                 method=method, matched_at=now,
                                 matched_by_name=actor.label[:200]))  # fmt: skip
    line.status = "matched"
    line.surplus_yen = line.amount_yen - sum(amount for _order, amount in allocations)
    line.decided_at, line.decided_by_name = now, actor.label[:200]
    _flush(session)
    received = received_yen(session, [order.id for order, _amount in allocations])
    for order, amount in allocations:
        got = received.get(order.id, 0)
        audit.record(session, actor, "order.deposit_matched", object_type="order",
                     object_id=order.id,
                     data={"line": line.id, "statement": line.statement_id, "amount_yen": amount,
                           "value_date": line.value_date.isoformat(), "method": method,
                           "received_yen": got, "total_yen": order.total_yen})  # fmt: skip
        if got >= order.total_yen and order.payment_status != "paid":
            orders.record_payment(session, actor=actor, order_id=order.id, version=None,
                                  status="paid", now=now)  # fmt: skip
    audit.record(session, actor, "bank_line.matched", object_type="bank_line", object_id=line.id,
                 data={"orders": [o.external_id for o, _a in allocations],
                       "amounts_yen": [a for _o, a in allocations], "method": method,
                       "surplus_yen": line.surplus_yen, "version": line.version})  # fmt: skip


@dataclass(frozen=True)
class MatchResult:
    line: BankStatementLine
    allocations: list[tuple[Order, int, int]]  # (order, amount, still due after)

    @property
    def surplus_yen(self) -> int:
        return self.line.surplus_yen

    @property
    def short(self) -> list[tuple[Order, int]]:
        return [(order, due) for order, _amount, due in self.allocations if due > 0]


def _orders_for(session: UrakataSession, order_ids: list[int]) -> list[Order]:
    wanted = sorted(set(order_ids))
    found = {o.id: o for o in session.scalars(
        select(Order).where(Order.id.in_(wanted)).order_by(Order.id).with_for_update()
    )}  # fmt: skip
    missing = [i for i in wanted if i not in found]
    if missing:
        raise MatchInvalid({"orders": [N_("Order id %(id)s is not one of the shop's orders.",
                                          id=missing[0])]})  # fmt: skip
    return sorted(found.values(), key=lambda o: (o.ordered_at, o.id))


def match_line(
    session: UrakataSession,
    *,
    actor: Actor,
    line_id: int,
    version: int,
    order_ids: list[int],
    now: datetime | None = None,
) -> MatchResult:
    """A person matches a deposit in review to these orders (see the module's rules)."""
    now = now or utcnow()
    line = _checked(session, line_id, version)
    if line.status != "review":
        raise MatchRefused(N_("The deposit is %(status)s already: undo that first.",
                              status=line.status))  # fmt: skip
    if not order_ids:
        raise MatchInvalid({"orders": [N_("Choose the order (or orders) the deposit pays.")]})
    chosen = _orders_for(session, order_ids)
    received = received_yen(session, [o.id for o in chosen])
    remaining, allocations, problems = line.amount_yen, [], []
    for order in chosen:
        due = order.total_yen - received.get(order.id, 0)
        problem = _unpayable(order, due)
        if problem is None and remaining == 0:
            problem = N_("The deposit is spent before order %(number)s; leave it out.",
                         number=order.external_id)  # fmt: skip
        if problem is not None:
            problems.append(problem)
            continue
        take = min(remaining, due)
        remaining -= take
        allocations.append((order, take, due - take))
    if problems:
        raise MatchInvalid({"orders": problems})
    apply_match(session, actor=actor, line=line, method="manual", now=now,
                allocations=[(order, amount) for order, amount, _due in allocations])  # fmt: skip
    return MatchResult(line, allocations)


def _unpayable(order: Order, due: int) -> Message | None:
    number = order.external_id
    if order.status == "cancelled":
        return N_("Order %(number)s is cancelled.", number=number)
    if order.payment_method != "bank_transfer":
        return N_("Order %(number)s is not paid by bank transfer.", number=number)
    if order.payment_status == "paid" or due <= 0:
        return N_("Order %(number)s is paid already.", number=number)
    return None


def undo_line(
    session: UrakataSession,
    *,
    actor: Actor,
    line_id: int,
    version: int,
    now: datetime | None = None,
) -> BankStatementLine:
    """Take a decision back: a matched deposit's orders wait again, the line is in review."""
    now = now or utcnow()
    line = _checked(session, line_id, version)
    if line.status == "review":
        raise MatchRefused(N_("The deposit waits for review: there is nothing to undo."))
    if line.status == "ignored":
        line.status, line.note = "review", ""
        line.decided_at, line.decided_by_name = None, ""
        _flush(session)
        audit.record(session, actor, "bank_line.reopened", object_type="bank_line",
                     object_id=line.id, data={"version": line.version})  # fmt: skip
        return line
    matches = live_matches(session, line.id)
    ids = sorted({m.order_id for m in matches})
    locked = {o.id: o for o in session.scalars(
        select(Order).where(Order.id.in_(ids)).order_by(Order.id).with_for_update()
    )}  # fmt: skip
    for match in matches:
        match.undone_at, match.undone_by_name = now, actor.label[:200]
    line.status, line.surplus_yen = "review", 0
    line.decided_at, line.decided_by_name = None, ""
    _flush(session)
    received = received_yen(session, ids)
    for match in matches:
        order = locked[match.order_id]
        got = received.get(order.id, 0)
        audit.record(session, actor, "order.deposit_unmatched", object_type="order",
                     object_id=order.id,
                     data={"line": line.id, "amount_yen": match.amount_yen, "received_yen": got,
                           "total_yen": order.total_yen})  # fmt: skip
        if _unpay(session, order, got):
            orders.record_payment(session, actor=actor, order_id=order.id, version=None,
                                  status="unpaid", now=now)  # fmt: skip
    audit.record(session, actor, "bank_line.unmatched", object_type="bank_line",
                 object_id=line.id,
                 data={"orders": [locked[m.order_id].external_id for m in matches],
                       "version": line.version})  # fmt: skip
    return line


def _unpay(session: UrakataSession, order: Order, received: int) -> bool:
    """Whether undoing a deposit takes the order's "paid" back. A cancelled order stays as
    it is (its money is the shop's to refund); a payment notice's "paid" stands."""
    if order.status == "cancelled" or order.payment_status != "paid":
        return False
    return received < order.total_yen and not _paid_by_notice(session, order.id)


def _paid_by_notice(session: UrakataSession, order_id: int) -> bool:
    """A payment notice said the order is paid: undoing a deposit does not unsay it."""
    found = select(PaymentEvent.id).where(
        PaymentEvent.order_id == order_id, PaymentEvent.kind == "paid"
    )
    return session.scalar(found.limit(1)) is not None


def ignore_line(
    session: UrakataSession, *, actor: Actor, line_id: int, version: int, note: str
) -> BankStatementLine:
    """The deposit pays no order (interest, a refund to the shop): set it aside, saying why."""
    line = _checked(session, line_id, version)
    note = " ".join((note or "").split())
    if not note:
        raise MatchInvalid({"note": [N_("Say why the deposit pays no order.")]})
    if len(note) > NOTE_MAX:
        raise MatchInvalid({"note": [N_("Use at most %(limit)d characters (this has %(count)d).",
                                        limit=NOTE_MAX, count=len(note))]})  # fmt: skip
    if line.status != "review":
        raise MatchRefused(N_("The deposit is %(status)s already: undo that first.",
                              status=line.status))  # fmt: skip
    line.status, line.note = "ignored", note
    line.decided_at, line.decided_by_name = utcnow(), actor.label[:200]
    _flush(session)
    audit.record(session, actor, "bank_line.ignored", object_type="bank_line", object_id=line.id,
                 data={"note": note, "version": line.version})  # fmt: skip
    return line


# -- what the desk offers ------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    order: Order
    due_yen: int
    score: int
    reasons: tuple[str, ...]  # name, partial_name, amount, number


def suggestions(
    session: UrakataSession, line: BankStatementLine, query: str = ""
) -> list[Suggestion]:
    """Waiting bank-transfer orders that may be what the deposit pays, likeliest first;
    with ``query``, the orders whose number, name or amount due fits it as well."""
    from urakata.tenants.payments.statements import line_name, waiting_transfers  # it imports us

    key = line_name(line)
    found = []
    wanted = _query(query)
    for candidate in waiting_transfers(session):
        reasons = []
        name = candidate.name.name
        if key and name == key.name:
            reasons.append("name")
        elif (
            key
            and name
            and len(min(name, key.name, key=len)) >= 2
            and (name in key.name or key.name in name)
        ):
            reasons.append("partial_name")
        if candidate.due == line.amount_yen:
            reasons.append("amount")
        if key.digits and digits_of(candidate.order.external_id) == key.digits:
            reasons.append("number")
        if wanted and _fits(candidate, wanted):
            reasons.append("search")
        weights = {"name": 4, "partial_name": 2, "amount": 2, "number": 3, "search": 5}
        score = sum(weights[r] for r in reasons)
        if score:
            found.append(Suggestion(candidate.order, candidate.due, score, tuple(reasons)))
    found.sort(key=lambda s: (-s.score, s.order.ordered_at, s.order.id))
    return found[:SUGGESTIONS]


def _query(text: str) -> dict:
    text = unicodedata.normalize("NFKC", text or "").strip()[:100]
    if not text:
        return {}
    plain = text.replace(",", "").replace("¥", "").replace("円", "")
    return {"text": text.lower(), "amount": int(plain) if plain.isdigit() and len(plain) <= 12
            else None}  # fmt: skip


def _fits(candidate, wanted: dict) -> bool:
    order = candidate.order
    if wanted["amount"] is not None and wanted["amount"] in (candidate.due, order.total_yen):
        return True
    text = wanted["text"]
    haystack = (order.external_id, order.customer_name, order.customer_kana)
    return any(text in unicodedata.normalize("NFKC", h or "").lower() for h in haystack)
