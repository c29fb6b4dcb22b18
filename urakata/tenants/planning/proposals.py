"""Reorder proposals: what to order of each SKU now, and the shop's decision on it.

A SKU is proposed when its available stock plus what is on order is at or below its
reorder point (the shop's, or the forecast's suggestion when the shop set none). The
quantity covers the forecast demand over the lead time and the days until the next order
(the shop's ``review_days``) plus the safety stock, less what is there and on order,
rounded up to whole cases when the catalog knows the case quantity.

*On order* is what the shop accepted in the last :data:`ON_ORDER_DAYS` days for the SKU
and has not been received since (no receipt movement of the SKU after the acceptance).

A SKU has at most one open proposal (a partial unique index); the nightly run updates it,
or withdraws it when it is no longer needed. Accepting takes the shop's quantity (the
suggestion, or its own), makes the inbound notice from it, and is recorded on the ledger
with both quantities; a form sent twice finds the proposal decided and changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.tenancy import get_scoped
from urakata.tenants.catalog.models import Product
from urakata.tenants.planning import forecasting
from urakata.tenants.planning.errors import AlreadyDecided, PlanningInvalid, StaleRecord
from urakata.tenants.planning.forecasts import latest_forecasts
from urakata.tenants.planning.models import ReorderPoint, ReorderProposal
from urakata.tenants.planning.schemas import AcceptIn, load
from urakata.tenants.planning.services import available_by_product, get_planning_settings
from urakata.tenants.stock.ledger import shop_today

ON_ORDER_DAYS = 60
FORECAST_MAX_AGE_DAYS = 7  # an older forecast proposes nothing

_ON_ORDER = text(
    """
    SELECT p.product_id, sum(p.quantity) AS pieces
      FROM reorder_proposal p
     WHERE p.tenant_id = :tenant AND p.status = 'accepted' AND p.decided_at >= :since
       AND NOT EXISTS (SELECT 1 FROM stock_movement m
                        WHERE m.tenant_id = p.tenant_id AND m.product_id = p.product_id
                          AND m.kind = 'receipt' AND m.occurred_at > p.decided_at)
     GROUP BY p.product_id
    """
)


def on_order(session: UrakataSession, now: datetime) -> dict[int, int]:
    rows = session.execute(
        _ON_ORDER, {"tenant": session.tenant_id, "since": now - timedelta(days=ON_ORDER_DAYS)}
    )
    return {r.product_id: int(r.pieces) for r in rows}


@dataclass(frozen=True)
class Refresh:
    made: int
    updated: int
    withdrawn: int


_FIGURES = (
    "available", "on_order", "reorder_point", "lead_time_days", "cover_days", "demand",
    "safety_stock", "case_quantity", "suggested_quantity",
)  # fmt: skip


def _wanted(session, now: datetime, today: date) -> dict[int, dict]:
    """{product: the proposal's figures} for every active SKU that should be ordered."""
    settings = get_planning_settings(session)
    products = {p.id: p for p in session.scalars(select(Product).where(Product.status == "active"))}
    forecasts = {
        pid: f
        for pid, f in latest_forecasts(session, list(products)).items()
        if (today - f.starts_on).days <= FORECAST_MAX_AGE_DAYS
    }
    points = {r.product_id: r for r in session.scalars(select(ReorderPoint))}
    available = available_by_product(session, list(forecasts), now)
    ordered = on_order(session, now)
    wanted = {}
    for pid, forecast in forecasts.items():
        product, point = products[pid], points.get(pid)
        lead = (point.lead_time_days if point else None) or forecast.lead_time_days
        reorder_at = point.reorder_point if point else forecast.suggested_reorder_point
        have, coming = available.get(pid, 0), ordered.get(pid, 0)
        if have + coming > reorder_at:
            continue
        cover = lead + settings.review_days
        demand = math.ceil(forecasting.demand_over(forecast.daily, cover) - 1e-9)
        quantity = forecasting.order_quantity(
            demand=demand, safety=forecast.safety_stock, available=have, on_order=coming,
            case_quantity=product.case_quantity,
        )  # fmt: skip
        if quantity > 0:
            wanted[pid] = {
                "available": have, "on_order": coming, "reorder_point": reorder_at,
                "lead_time_days": lead, "cover_days": cover, "demand": demand,
                "safety_stock": forecast.safety_stock, "case_quantity": product.case_quantity,
                "suggested_quantity": quantity,
            }  # fmt: skip
    return wanted


def refresh_proposals(
    session: UrakataSession, *, actor: Actor, now: datetime | None = None
) -> Refresh:
    """Make, update or withdraw the open proposals from the latest forecasts and stock."""
    now = now or utcnow()
    today = shop_today(session, now)
    wanted = _wanted(session, now, today)
    open_ = {
        p.product_id: p
        for p in session.scalars(select(ReorderProposal).where(ReorderProposal.status == "open"))
    }
    events: list[PendingEvent] = []
    made = updated = withdrawn = 0
    for pid, proposal in open_.items():
        if pid not in wanted:
            proposal.status, proposal.decided_at, proposal.updated_at = "withdrawn", now, now
            events.append(PendingEvent("planning.proposal_withdrawn", "reorder_proposal",
                                       proposal.id, data={"product_id": pid}))  # fmt: skip
            withdrawn += 1
            continue
        figures = wanted.pop(pid)
        changes = {k: (getattr(proposal, k), v) for k, v in figures.items()
                   if getattr(proposal, k) != v}  # fmt: skip
        if changes:
            for name, (_before, after) in changes.items():
                setattr(proposal, name, after)
            proposal.proposed_on, proposal.updated_at = today, now
            events.append(PendingEvent("planning.proposal_updated", "reorder_proposal",
                                       proposal.id, changes=changes))  # fmt: skip
            updated += 1
    new = [
        ReorderProposal(product_id=pid, proposed_on=today, status="open", created_at=now,
                        updated_at=now, **figures)
        for pid, figures in wanted.items()
    ]  # fmt: skip
    session.add_all(new)
    session.flush()
    events += [
        PendingEvent("planning.proposal_made", "reorder_proposal", p.id,
                     data={"product_id": p.product_id, **{k: getattr(p, k) for k in _FIGURES}})
        for p in new
    ]  # fmt: skip
    made = len(new)
    audit.record_many(session, actor, events)
    return Refresh(made, updated, withdrawn)


# -- the shop's decision ------------------------------------------------------------------------


def get_proposal(session: UrakataSession, proposal_id: int) -> ReorderProposal:
    return get_scoped(session, ReorderProposal, proposal_id)


def _decidable(session: UrakataSession, proposal_id: int, version: int) -> ReorderProposal:
    proposal = get_proposal(session, proposal_id)
    if proposal.status != "open":
        raise AlreadyDecided()
    if proposal.version != version:
        raise StaleRecord()
    return proposal


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleRecord() from exc


def _inbound_notice(session: UrakataSession, actor: Actor, proposal, product, today) -> str:
    """The inbound notice (入荷予定) of the accepted quantity, due after the lead time."""
    from urakata.tenants.inbound.services import InboundInvalid, create_notice

    try:
        notice = create_notice(
            session, actor, lines=[{"product_id": product.id, "quantity": proposal.quantity}],
            expected_on=today + timedelta(days=proposal.lead_time_days),
            reference=f"RP-{proposal.id}", source="portal",
            note=f"reorder proposal {proposal.id}", key=f"reorder-proposal-{proposal.id}",
        )  # fmt: skip
    except InboundInvalid as exc:
        raise PlanningInvalid(exc.errors) from exc
    return str(getattr(notice, "number", None) or notice.id)


def accept_proposal(
    session: UrakataSession,
    *,
    actor: Actor,
    proposal_id: int,
    data: dict,
    now: datetime | None = None,
) -> ReorderProposal:
    """Accept the proposal with the shop's quantity and turn it into an inbound notice,
    in one transaction (a refusal of the notice refuses the acceptance)."""
    values = load(AcceptIn(), data)
    proposal = _decidable(session, proposal_id, values["version"])
    product = session.get(Product, (session.tenant_id, proposal.product_id))
    now = now or utcnow()
    proposal.status, proposal.quantity = "accepted", values["quantity"]
    proposal.decided_at, proposal.decided_by = now, actor.label[:200]
    proposal.updated_at = now
    _flush(session)
    notice = _inbound_notice(session, actor, proposal, product, shop_today(session, now))
    proposal.inbound_notice_id = notice[:64]
    _flush(session)
    audit.record(session, actor, "planning.proposal_accepted", object_type="reorder_proposal",
                 object_id=proposal.id,
                 changes={"status": ("open", "accepted"),
                          "quantity": (proposal.suggested_quantity, proposal.quantity)},
                 data={"sku": product.sku, "suggested_quantity": proposal.suggested_quantity,
                       "quantity": proposal.quantity, "case_quantity": proposal.case_quantity,
                       "inbound_notice": proposal.inbound_notice_id,
                       "edited": proposal.quantity != proposal.suggested_quantity})  # fmt: skip
    return proposal


def dismiss_proposal(
    session: UrakataSession, *, actor: Actor, proposal_id: int, version: int
) -> ReorderProposal:
    proposal = _decidable(session, proposal_id, version)
    now = utcnow()
    proposal.status, proposal.decided_at = "dismissed", now
    proposal.decided_by, proposal.updated_at = actor.label[:200], now
    _flush(session)
    audit.record(session, actor, "planning.proposal_dismissed", object_type="reorder_proposal",
                 object_id=proposal.id, changes={"status": ("open", "dismissed")},
                 data={"product_id": proposal.product_id})  # fmt: skip
    return proposal


@dataclass(frozen=True)
class ProposalRow:
    proposal: ReorderProposal
    sku: str
    name: str

    def __getattr__(self, name):
        return getattr(self.proposal, name)


def list_proposals(
    session: UrakataSession,
    *,
    status: str = "open",
    query: str = "",
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[ProposalRow], int | None]:
    """Proposals of a status, newest first, a page at a time (keyset by id)."""
    stmt = (
        select(ReorderProposal, Product.sku, Product.name)
        .join(Product, Product.id == ReorderProposal.product_id)
        .where(ReorderProposal.status == status)
        .order_by(ReorderProposal.id.desc())
        .limit(limit + 1)
    )
    if query:
        stmt = stmt.where(
            Product.sku.icontains(query, autoescape=True)
            | Product.name.icontains(query, autoescape=True)
        )
    if before_id:
        stmt = stmt.where(ReorderProposal.id < before_id)
    rows = [ProposalRow(p, sku, name) for p, sku, name in session.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].proposal.id if more else None)
