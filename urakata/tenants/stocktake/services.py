"""Stocktakes: planning, blind counting and recounts, two-level approval, adjustments.

States: *counting* (lines are counted; a variance above the threshold asks for a
recount) → *review* (submitted; an agency admin who counted none of it approves) →
*shop_review* when the value of the variances exceeds the shop's threshold (the shop
approves, or disputes with a comment: *disputed*, and the agency may recount) →
*posted* (the adjustment movements are on the stock ledger). Nothing touches stock
before *posted*. Services never commit; each step is on the shop's chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, SingleLine, WholeNumber, normalise_code
from urakata.platform.locations import Location
from urakata.platform.tenancy import NotFound, get_scoped
from urakata.tenants.catalog.models import Product
from urakata.tenants.shop.services import get_settings
from urakata.tenants.stock.errors import StockInvalid
from urakata.tenants.stock.ledger import (
    Movement,
    lock_key,
    put_in,
    request_backorder_retry,
    take_out,
    write_movements,
)
from urakata.tenants.stock.models import StockLevel, StockLot, StockMovement
from urakata.tenants.stock.receipts import check_lot, own_bins
from urakata.tenants.stock.schemas import LotNo
from urakata.tenants.stocktake.models import (
    REASONS,
    SCOPES,
    Stocktake,
    StocktakeCount,
    StocktakeLine,
)

OBJECT = "stocktake"
TOP_N_MAX = 500
TOP_MOVERS_DAYS = 30
COUNT_MAX = 1_000_000
THRESHOLD_MAX = 100_000
COMMENT_MAX = 2_000
LIST_STATES = ("counting", "review", "shop_review", "posted", "disputed", "cancelled")


class StocktakeInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class StocktakeState(StocktakeInvalid):
    """The stocktake's state does not allow this step (409)."""


class StaleStocktake(RuntimeError):
    """Someone changed the stocktake since the version given (409)."""


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleStocktake("the stocktake was changed meanwhile") from exc


def get_stocktake(session: UrakataSession, stocktake_id: int) -> Stocktake:
    return get_scoped(session, Stocktake, stocktake_id)


def _locked(session: UrakataSession, stocktake_id: int, version: int | None) -> Stocktake:
    stocktake = get_stocktake(session, stocktake_id)
    session.refresh(stocktake, with_for_update=True)
    if version is not None and stocktake.version != version:
        raise StaleStocktake(f"stocktake {stocktake.number} is at version {stocktake.version}")
    return stocktake


def _state(stocktake: Stocktake, *allowed: str) -> None:
    if stocktake.status not in allowed:
        raise StocktakeState(
            {
                "status": [
                    N_(
                        "Stocktake %(number)s is %(status)s: this step is not possible now.",
                        number=stocktake.number,
                        status=stocktake.status,
                    )
                ]
            }
        )


# --- planning ----------------------------------------------------------------------------------


def _levels_for_scope(session: UrakataSession, scope: str, values: dict, errors: dict):
    stmt = select(StockLevel).order_by(StockLevel.location_id, StockLevel.product_id)
    detail: dict[str, Any] = {}
    if scope == "bins":
        codes = sorted({c.strip().upper() for c in values.get("bins") or [] if c.strip()})
        if not codes:
            errors["bins"] = [N_("Give at least one bin code.")]
            return [], detail
        found = own_bins(session, set(codes))
        missing = [c for c in codes if c not in found]
        if missing:
            errors["bins"] = [
                N_("No bin %(code)s is assigned to this shop.", code=c) for c in missing
            ]
            return [], detail
        detail["bins"] = codes
        stmt = stmt.where(StockLevel.location_id.in_([b.id for b in found.values()]))
    elif scope == "skus":
        skus = sorted({s.strip() for s in values.get("skus") or [] if s.strip()})
        if not skus:
            errors["skus"] = [N_("Give at least one SKU.")]
            return [], detail
        products = dict(
            session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all()
        )
        missing = [s for s in skus if s not in products]
        if missing:
            errors["skus"] = [
                N_("The SKU %(sku)s is not in the shop's catalog.", sku=s) for s in missing
            ]
            return [], detail
        detail["skus"] = skus
        stmt = stmt.where(StockLevel.product_id.in_(products.values()))
    elif scope == "top_movers":
        try:
            n = WholeNumber(minimum=1, maximum=TOP_N_MAX).deserialize(values.get("top_n"))
        except ValidationError as exc:
            errors["top_n"] = exc.messages
            return [], detail
        since = utcnow() - timedelta(days=TOP_MOVERS_DAYS)
        top = list(
            session.scalars(
                select(StockMovement.product_id)
                .where(StockMovement.occurred_at >= since)
                .group_by(StockMovement.product_id)
                .order_by(func.count().desc(), StockMovement.product_id)
                .limit(n)
            )
        )
        detail["top_n"] = n
        stmt = stmt.where(StockLevel.product_id.in_(top))
    return list(session.scalars(stmt)), detail


def plan_stocktake(
    session: UrakataSession,
    actor: Actor,
    *,
    scope: str,
    bins: list[str] | None = None,
    skus: list[str] | None = None,
    top_n: Any = None,
    blind: bool = True,
    recount_threshold: Any = 0,
    note: str = "",
) -> Stocktake:
    """Plan a count: one line per level of the shop in scope (cycle count by bins, by
    SKUs, of the N SKUs that moved most in 30 days, or a full count)."""
    errors: dict[str, list] = {}
    if scope not in SCOPES:
        raise StocktakeInvalid({"scope": [N_("Choose bins, SKUs, top movers or full.")]})
    try:
        threshold = WholeNumber(minimum=0, maximum=THRESHOLD_MAX).deserialize(
            recount_threshold if recount_threshold not in (None, "") else 0
        )
    except ValidationError as exc:
        errors["recount_threshold"] = exc.messages
        threshold = 0
    try:
        note = SingleLine(max_length=500).deserialize(note or "")
    except ValidationError as exc:
        errors["note"] = exc.messages
    levels, detail = _levels_for_scope(
        session, scope, {"bins": bins, "skus": skus, "top_n": top_n}, errors
    )
    if not errors and not levels:
        errors["scope"] = [N_("There is no stock to count in this scope.")]
    if errors:
        raise StocktakeInvalid(errors)
    prices = dict(
        session.execute(
            select(Product.id, Product.price_yen).where(
                Product.id.in_({lv.product_id for lv in levels})
            )
        ).all()
    )
    stocktake = Stocktake(
        number=f"ST-TMP-{uuid.uuid4().hex[:12]}",
        scope=scope,
        scope_detail=detail,
        blind=bool(blind),
        recount_threshold=threshold,
        note=note,
        planned_by=actor.label[:200],
    )
    stocktake.lines = [
        StocktakeLine(
            product_id=lv.product_id,
            location_id=lv.location_id,
            lot_no=lv.lot_no,
            unit_price_yen=prices.get(lv.product_id, 0),
        )
        for lv in levels
    ]
    session.add(stocktake)
    session.flush()
    stocktake.number = f"ST-{stocktake.id:06d}"
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.planned",
        object_type=OBJECT,
        object_id=stocktake.id,
        data={
            "number": stocktake.number,
            "scope": scope,
            "detail": detail,
            "blind": stocktake.blind,
            "recount_threshold": threshold,
            "lines": len(levels),
        },
    )
    return stocktake


# --- counting ----------------------------------------------------------------------------------


def on_hand_of(session: UrakataSession, line: StocktakeLine) -> int:
    return (
        session.scalar(
            select(StockLevel.on_hand).where(
                StockLevel.product_id == line.product_id,
                StockLevel.location_id == line.location_id,
                StockLevel.lot_no == line.lot_no,
            )
        )
        or 0
    )


def record_count(
    session: UrakataSession,
    actor: Actor,
    stocktake_id: int,
    line_id: int,
    quantity: Any,
) -> StocktakeLine:
    """Record what the counter found in one line. The first count fixes the system
    quantity it is compared with; a variance above the threshold asks for a recount,
    and the recount's figure stands. Every count is kept."""
    stocktake = _locked(session, stocktake_id, None)
    _state(stocktake, "counting")
    line = next((li for li in stocktake.lines if li.id == line_id), None)
    if line is None:
        raise NotFound(f"no line {line_id} in stocktake {stocktake_id}")
    try:
        counted = WholeNumber(minimum=0, maximum=COUNT_MAX).deserialize(quantity)
    except ValidationError as exc:
        raise StocktakeInvalid({f"lines[{line_id}].quantity": exc.messages}) from exc
    if line.counts and not line.recount_required:
        raise StocktakeInvalid(
            {f"lines[{line_id}].quantity": [N_("This line is counted already.")]}
        )
    now = utcnow()
    if line.system_qty is None:
        line.system_qty = on_hand_of(session, line)
    round_ = line.counts + 1
    line.counts = round_
    line.counted_qty = counted
    line.counted_by = [*line.counted_by, actor.id or actor.label]
    variance = counted - line.system_qty
    line.recount_required = round_ == 1 and abs(variance) > stocktake.recount_threshold
    session.add(
        StocktakeCount(
            line_id=line.id,
            round=round_,
            quantity=counted,
            system_qty=line.system_qty,
            counted_by_id=actor.id or actor.label,
            counted_by_name=actor.label[:200],
            counted_by_user=actor.user_id,
            counted_at=now,
        )
    )
    stocktake.updated_at = now
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.counted",
        object_type=OBJECT,
        object_id=stocktake.id,
        data={
            "line": line.id,
            "sku": line.product.sku,
            "bin": line.location.code,
            "lot_no": line.lot_no,
            "round": round_,
            "quantity": counted,
            "system_qty": line.system_qty,
            "recount_required": line.recount_required,
        },
    )
    return line


def add_found(
    session: UrakataSession,
    actor: Actor,
    stocktake_id: int,
    *,
    code: str,
    location: str,
    lot_no: str = "",
    quantity: Any,
) -> StocktakeLine:
    """Count goods the list did not expect (a SKU found in a bin where the ledger has
    none): a new line, its system quantity what the ledger holds there (usually 0)."""
    stocktake = _locked(session, stocktake_id, None)
    _state(stocktake, "counting")
    errors: dict[str, list] = {}
    code = normalise_code(code or "")
    product = session.scalar(
        select(Product).where((Product.sku == code) | (Product.jan == code)).limit(1)
    )
    if product is None:
        errors["code"] = [N_("The SKU %(sku)s is not in the shop's catalog.", sku=code or "—")]
    bin_code = normalise_code(location or "").upper()
    bins = own_bins(session, {bin_code}) if bin_code else {}
    allowed = stocktake.scope_detail.get("bins")
    if bin_code not in bins or (allowed and bin_code not in allowed):
        errors["location"] = [N_("No bin %(code)s is in this stocktake.", code=bin_code or "—")]
    try:
        lot = LotNo().deserialize(lot_no or "")
    except ValidationError as exc:
        errors["lot_no"], lot = exc.messages, ""
    if product is not None:
        check_lot(errors, "", product, lot, None)
        if lot and not session.scalar(
            select(StockLot.id).where(StockLot.product_id == product.id, StockLot.lot_no == lot)
        ):
            errors.setdefault("lot_no", []).append(
                N_("Lot %(lot)s of %(sku)s was never received.", lot=lot, sku=product.sku)
            )
    if not errors and any(
        (li.product_id, li.location_id, li.lot_no) == (product.id, bins[bin_code].id, lot)
        for li in stocktake.lines
    ):
        errors["code"] = [N_("%(sku)s in %(bin)s is on the list already: count it there.",
                             sku=product.sku, bin=bin_code)]  # fmt: skip
    try:
        WholeNumber(minimum=1, maximum=COUNT_MAX).deserialize(quantity)
    except ValidationError as exc:
        errors["quantity"] = exc.messages
    if errors:
        raise StocktakeInvalid(errors)
    line = StocktakeLine(
        product_id=product.id,
        location_id=bins[bin_code].id,
        lot_no=lot,
        unit_price_yen=product.price_yen,
    )
    stocktake.lines.append(line)
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.line_found",
        object_type=OBJECT,
        object_id=stocktake.id,
        data={"line": line.id, "sku": product.sku, "bin": bin_code, "lot_no": lot},
    )
    return record_count(session, actor, stocktake.id, line.id, quantity)


def counts_of(session: UrakataSession, stocktake: Stocktake) -> dict[int, list[StocktakeCount]]:
    rows = session.scalars(
        select(StocktakeCount)
        .where(StocktakeCount.line_id.in_([li.id for li in stocktake.lines]))
        .order_by(StocktakeCount.id)
    )
    found: dict[int, list[StocktakeCount]] = {}
    for row in rows:
        found.setdefault(row.line_id, []).append(row)
    return found


def submit_stocktake(
    session: UrakataSession, actor: Actor, stocktake_id: int, *, version: int
) -> Stocktake:
    """Counting is done: every line counted, no recount open. It waits for approval."""
    stocktake = _locked(session, stocktake_id, version)
    _state(stocktake, "counting")
    uncounted = [li for li in stocktake.lines if not li.counts]
    recounts = [li for li in stocktake.lines if li.recount_required]
    errors = {}
    if uncounted:
        errors["lines"] = [N_("%(count)d lines are not counted yet.", count=len(uncounted))]
    if recounts:
        errors.setdefault("lines", []).append(
            N_("%(count)d lines wait for their recount.", count=len(recounts))
        )
    if errors:
        raise StocktakeInvalid(errors)
    now = utcnow()
    stocktake.variance_value_yen = sum(li.variance_value_yen for li in stocktake.lines)
    stocktake.status, stocktake.submitted_at, stocktake.updated_at = "review", now, now
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.submitted",
        object_type=OBJECT,
        object_id=stocktake.id,
        changes={"status": ("counting", "review")},
        data={"variance_value_yen": stocktake.variance_value_yen},
    )
    return stocktake


# --- approval ----------------------------------------------------------------------------------


def _reasons(stocktake: Stocktake, reasons: dict[int, str]) -> dict:
    errors: dict[str, list] = {}
    for line in stocktake.lines:
        reason = (reasons.get(line.id) or line.reason or "").strip()
        if line.variance:
            if reason not in REASONS:
                errors[f"lines[{line.id}].reason"] = [
                    N_("Give the reason for the variance of %(sku)s.", sku=line.product.sku)
                ]
            else:
                line.reason = reason
    return errors


def approve_stocktake(
    session: UrakataSession,
    actor: Actor,
    stocktake_id: int,
    *,
    version: int,
    reasons: dict[int, str] | None = None,
) -> Stocktake:
    """An agency admin approves the variances (with a reason for each). Above the shop's
    threshold the shop approves next; otherwise the adjustments post now. Whoever
    counted a line of the stocktake may not approve it."""
    stocktake = _locked(session, stocktake_id, version)
    _state(stocktake, "review")
    me = actor.id or actor.label
    if any(me in li.counted_by for li in stocktake.lines):
        raise StocktakeInvalid(
            {"approver": [N_("You counted this stocktake: another agency admin must approve it.")]}
        )
    errors = _reasons(stocktake, reasons or {})
    if errors:
        raise StocktakeInvalid(errors)
    with session.begin_nested():  # a refused posting leaves the stocktake as it was
        now = utcnow()
        threshold = get_settings(session).stocktake_approval_threshold_yen
        stocktake.shop_threshold_yen = threshold
        stocktake.agency_approved_by, stocktake.agency_approved_at = actor.label[:200], now
        after = "shop_review" if stocktake.variance_value_yen > threshold else "posted"
        stocktake.status, stocktake.updated_at = after, now
        _flush(session)
        audit.record(
            session,
            actor,
            "stocktake.approved_by_agency",
            object_type=OBJECT,
            object_id=stocktake.id,
            changes={"status": ("review", after)},
            data={
                "variance_value_yen": stocktake.variance_value_yen,
                "shop_threshold_yen": threshold,
                "reasons": {str(li.id): li.reason for li in stocktake.lines if li.variance},
            },
        )
        if after == "posted":
            _post(session, actor, stocktake)
    return stocktake


def decide_as_shop(
    session: UrakataSession,
    actor: Actor,
    stocktake_id: int,
    *,
    version: int,
    approve: bool,
    comment: str = "",
) -> Stocktake:
    """The shop approves the variances (the adjustments post) or disputes them; a
    dispute needs a comment saying what is wrong."""
    stocktake = _locked(session, stocktake_id, version)
    _state(stocktake, "shop_review")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise StocktakeInvalid(
            {"comment": [N_("At most %(limit)d characters.", limit=COMMENT_MAX)]}
        )
    if not approve and not comment:
        raise StocktakeInvalid({"comment": [N_("Say why you dispute the count.")]})
    with session.begin_nested():
        now = utcnow()
        after = "posted" if approve else "disputed"
        stocktake.status, stocktake.updated_at = after, now
        stocktake.shop_decided_by, stocktake.shop_decided_at = actor.label[:200], now
        stocktake.shop_comment = comment
        _flush(session)
        audit.record(
            session,
            actor,
            "stocktake.approved_by_shop" if approve else "stocktake.disputed",
            object_type=OBJECT,
            object_id=stocktake.id,
            changes={"status": ("shop_review", after)},
            data={"comment": comment},
        )
        if approve:
            _post(session, actor, stocktake)
    return stocktake


def recount_disputed(
    session: UrakataSession, actor: Actor, stocktake_id: int, *, version: int
) -> Stocktake:
    """The agency answers a dispute by counting the lines with a variance again."""
    stocktake = _locked(session, stocktake_id, version)
    _state(stocktake, "disputed")
    for line in stocktake.lines:
        if line.variance:
            line.recount_required = True
    stocktake.status, stocktake.updated_at = "counting", utcnow()
    stocktake.agency_approved_by, stocktake.agency_approved_at = "", None
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.reopened",
        object_type=OBJECT,
        object_id=stocktake.id,
        changes={"status": ("disputed", "counting")},
    )
    return stocktake


def cancel_stocktake(
    session: UrakataSession, actor: Actor, stocktake_id: int, *, version: int
) -> Stocktake:
    stocktake = _locked(session, stocktake_id, version)
    _state(stocktake, "counting", "review", "disputed")
    before = stocktake.status
    stocktake.status, stocktake.updated_at = "cancelled", utcnow()
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.cancelled",
        object_type=OBJECT,
        object_id=stocktake.id,
        changes={"status": (before, "cancelled")},
    )
    return stocktake


def _post(session: UrakataSession, actor: Actor, stocktake: Stocktake) -> int:
    """The adjustment movements, one per line with a variance, in the ledger's lock
    order; a level that cannot give up the pieces (promised to orders) refuses all."""
    now = utcnow()
    changed = sorted(
        (li for li in stocktake.lines if li.variance),
        key=lambda li: lock_key(li.product_id, li.location_id, li.lot_no),
    )
    lots = {li.lot_no for li in changed if li.lot_no}
    lot_dates = {
        (r.product_id, r.lot_no): r.best_before
        for r in session.execute(
            select(StockLot.product_id, StockLot.lot_no, StockLot.best_before).where(
                StockLot.lot_no.in_(lots)
            )
        )
    } if lots else {}  # fmt: skip
    with session.begin_nested():
        for line in changed:
            delta = line.variance
            if delta > 0:
                put_in(
                    session,
                    product_id=line.product_id,
                    location_id=line.location_id,
                    lot_no=line.lot_no,
                    best_before=lot_dates.get((line.product_id, line.lot_no)),
                    quantity=delta,
                    now=now,
                )
            elif not take_out(
                session,
                product_id=line.product_id,
                location_id=line.location_id,
                lot_no=line.lot_no,
                quantity=-delta,
                now=now,
            ):
                raise StockInvalid(
                    {
                        f"lines[{line.id}]": [
                            N_(
                                "%(sku)s in %(bin)s: the pieces to write off are promised"
                                " to orders. Release them first.",
                                sku=line.product.sku,
                                bin=line.location.code,
                            )
                        ]
                    }
                )
            write_movements(
                session,
                actor,
                key=f"stocktake-{stocktake.id}-{line.id}",
                reference_type="adjustment",
                reference_id=stocktake.number,
                movements=[
                    Movement(
                        "adjustment",
                        line.product_id,
                        line.location_id,
                        line.lot_no,
                        on_hand_delta=delta,
                        reference_line=line.id,
                    )
                ],
                reason=f"棚卸 {stocktake.number}: {line.reason}",
                now=now,
            )
    stocktake.posted_at = now
    _flush(session)
    audit.record(
        session,
        actor,
        "stocktake.posted",
        object_type=OBJECT,
        object_id=stocktake.id,
        data={
            "adjustments": [
                {
                    "sku": li.product.sku,
                    "bin": li.location.code,
                    "lot_no": li.lot_no,
                    "delta": li.variance,
                    "reason": li.reason,
                }
                for li in changed
            ]
        },
    )
    if any(li.variance > 0 for li in changed):
        request_backorder_retry(session)
    return len(changed)


# --- lists ------------------------------------------------------------------------------------


@dataclass
class StocktakePage:
    items: list[Stocktake]
    next_before: int | None


def list_stocktakes(
    session: UrakataSession, *, state: str = "", before_id: int | None = None, limit: int = 50
) -> StocktakePage:
    stmt = select(Stocktake).order_by(Stocktake.id.desc()).limit(limit + 1)
    if state:
        stmt = stmt.where(Stocktake.status == state)
    if before_id is not None:
        stmt = stmt.where(Stocktake.id < before_id)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return StocktakePage(rows, rows[-1].id if more else None)


def shop_bins_for_planning(session: UrakataSession) -> list[Location]:
    return list(
        session.scalars(
            select(Location)
            .where(Location.shop_id == session.tenant_id)
            .order_by(Location.pick_sequence, Location.code)
        )
    )
