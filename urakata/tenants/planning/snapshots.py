"""Daily stock snapshots for storage fees, and what a month of them bills.

At the end of each of the shop's local days (Asia/Tokyo unless the shop says otherwise)
the stock of every (bin, SKU) is recorded: the pieces on hand at the day's end (all lots
together) and the pieces received into the bin that day. The figures come from the
movement ledger up to the day's boundary, not from the levels at the moment the job
runs, so a snapshot taken a few minutes (or days) late is still that day's.

A day is taken once: ``stock_snapshot_day`` is claimed first (``ON CONFLICT DO
NOTHING``), so a second run for the same day, or two at once, adds nothing.

A month of snapshots bills three ways (domain/japan.md): per day (piece-days, bin-days),
per bin per month (the bins that held stock on any day), and the 3期制: 積数 = the stock
at the month's opening + on the 10th + on the 20th + the receipts of the month, counted
in cases for SKUs with a case quantity (30 cases in on the 1st and out on the 25th:
0 + 30 + 30 + 30 = 90).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import text

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import Tenant
from urakata.tenants.planning.errors import PlanningInvalid
from urakata.tenants.planning.models import StockSnapshotDay

CATCH_UP_DAYS = 7  # the nightly job also takes the days of the last week it missed

_CLAIM = text(
    """
    INSERT INTO stock_snapshot_day (tenant_id, day, taken_at, rows, pieces, bins, received)
    VALUES (:tenant, :day, :now, 0, 0, 0, 0)
    ON CONFLICT (tenant_id, day) DO NOTHING RETURNING day
    """
)
_ROWS = text(
    """
    INSERT INTO stock_snapshot (tenant_id, day, location_id, product_id, quantity, received)
    SELECT :tenant, :day, m.location_id, m.product_id, sum(m.on_hand_delta),
           coalesce(sum(m.on_hand_delta) FILTER (WHERE m.kind = 'receipt'
                                                   AND m.occurred_at >= :start), 0)
      FROM stock_movement m
     WHERE m.tenant_id = :tenant AND m.occurred_at < :end
     GROUP BY m.location_id, m.product_id
    HAVING sum(m.on_hand_delta) > 0
        OR sum(m.on_hand_delta) FILTER (WHERE m.kind = 'receipt' AND m.occurred_at >= :start) > 0
    """
)
_TOTALS = text(
    """
    UPDATE stock_snapshot_day d
       SET rows = t.rows, pieces = t.pieces, bins = t.bins, received = t.received
      FROM (SELECT count(*) AS rows, coalesce(sum(quantity), 0) AS pieces,
                   count(DISTINCT location_id) FILTER (WHERE quantity > 0) AS bins,
                   coalesce(sum(received), 0) AS received
              FROM stock_snapshot WHERE tenant_id = :tenant AND day = :day) t
     WHERE d.tenant_id = :tenant AND d.day = :day
    RETURNING d.rows, d.pieces, d.bins, d.received
    """
)


def day_bounds(tenant: Tenant, day: date) -> tuple[datetime, datetime]:
    """The UTC instants the shop's local ``day`` starts and ends."""
    start = datetime.combine(day, time.min, tzinfo=tenant.zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tenant.zone)
    return start, end


@dataclass(frozen=True)
class Taken:
    day: date
    taken: bool  # False: the day had been taken already, nothing was added
    rows: int
    pieces: int


def take_snapshot(
    session: UrakataSession, *, actor: Actor, day: date, now: datetime | None = None
) -> Taken:
    """Record the shop's stock at the end of its local ``day`` (see the module)."""
    now = now or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    start, end = day_bounds(tenant, day)
    if end > now:
        raise PlanningInvalid(
            {"day": [N_("The day %(day)s has not ended yet in the shop's time zone.",
                        day=day.isoformat())]}
        )  # fmt: skip
    claimed = session.execute(_CLAIM, {"tenant": tenant.id, "day": day, "now": now}).first()
    if claimed is None:
        found = session.get(StockSnapshotDay, (tenant.id, day))
        return Taken(day, False, found.rows, found.pieces)
    params = {"tenant": tenant.id, "day": day, "start": start, "end": end}
    session.execute(_ROWS, params)
    totals = session.execute(_TOTALS, {"tenant": tenant.id, "day": day}).one()
    audit.record(session, actor, "planning.stock_snapshot_taken", object_type="stock_snapshot",
                 object_id=day.isoformat(),
                 data={"day": day, "rows": totals.rows, "pieces": int(totals.pieces),
                       "bins": totals.bins, "received": int(totals.received)})  # fmt: skip
    return Taken(day, True, totals.rows, int(totals.pieces))


def take_due_snapshots(
    session: UrakataSession, *, actor: Actor, now: datetime | None = None
) -> list[Taken]:
    """The nightly job: every ended local day of the last week not taken yet (normally
    just yesterday), never a day before the shop existed."""
    now = now or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    today = now.astimezone(tenant.zone).date()
    first = max(
        today - timedelta(days=CATCH_UP_DAYS), tenant.created_at.astimezone(tenant.zone).date()
    )
    taken = session.execute(
        text("SELECT day FROM stock_snapshot_day WHERE tenant_id = :t AND day >= :first"),
        {"t": tenant.id, "first": first},
    ).scalars()
    done = set(taken)
    days = [first + timedelta(n) for n in range((today - first).days)]
    return [take_snapshot(session, actor=actor, day=d, now=now) for d in days if d not in done]


# -- what a month bills --------------------------------------------------------------------------


@dataclass(frozen=True)
class DayUsage:
    day: date
    pieces: int
    bins: int
    skus: int
    received: int


@dataclass(frozen=True)
class BinUsage:
    code: str
    days: int  # days of the month it held stock
    max_pieces: int


@dataclass
class MonthUsage:
    month: date
    days: list[DayUsage]
    piece_days: int
    bin_days: int
    bins_used: int  # bins that held stock on any day: the per-bin-per-month count
    # 3期制: (pieces, cases) of the opening, the 10th, the 20th, the month's receipts
    opening: tuple[int, int] | None
    on_10th: tuple[int, int] | None
    on_20th: tuple[int, int] | None
    receipts: tuple[int, int]
    missing: list[date] = field(default_factory=list)  # days the 3期制 needs, not taken

    @property
    def sekisu(self) -> tuple[int, int] | None:
        """積数 in pieces and in cases; None until the days it needs are taken."""
        parts = (self.opening, self.on_10th, self.on_20th, self.receipts)
        if any(p is None for p in parts):
            return None
        return sum(p[0] for p in parts), sum(p[1] for p in parts)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


_BY_DAY = text(
    """
    SELECT day, coalesce(sum(quantity), 0) AS pieces,
           count(DISTINCT location_id) FILTER (WHERE quantity > 0) AS bins,
           count(DISTINCT product_id) FILTER (WHERE quantity > 0) AS skus,
           coalesce(sum(received), 0) AS received
      FROM stock_snapshot WHERE tenant_id = :tenant AND day >= :first AND day < :following
     GROUP BY day ORDER BY day
    """
)
_PER_SKU = text(
    """
    SELECT s.product_id, p.case_quantity,
           sum(s.quantity) FILTER (WHERE s.day = :opening) AS opening,
           sum(s.quantity) FILTER (WHERE s.day = :d10) AS on_10th,
           sum(s.quantity) FILTER (WHERE s.day = :d20) AS on_20th,
           sum(s.received) FILTER (WHERE s.day >= :first AND s.day < :following) AS receipts
      FROM stock_snapshot s JOIN product p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
     WHERE s.tenant_id = :tenant AND s.day >= :opening AND s.day < :following
     GROUP BY s.product_id, p.case_quantity
    """
)


def _cases(pieces: int, case_quantity: int | None) -> int:
    return math.ceil(pieces / case_quantity) if case_quantity else pieces


def storage_usage(session: UrakataSession, month: date) -> MonthUsage:
    """The month's storage by day, by bin and by the 3期制 (see the module)."""
    first, following = month_bounds(month)
    params = {"tenant": session.tenant_id, "first": first, "following": following}
    days = [DayUsage(r.day, int(r.pieces), r.bins, r.skus, int(r.received))
            for r in session.execute(_BY_DAY, params)]  # fmt: skip
    bins_used = session.execute(
        text(
            "SELECT count(DISTINCT location_id) FROM stock_snapshot WHERE tenant_id = :tenant"
            " AND day >= :first AND day < :following AND quantity > 0"
        ),
        params,
    ).scalar_one()
    opening_day = first - timedelta(days=1)
    d10, d20 = first.replace(day=10), first.replace(day=20)
    taken = set(
        session.execute(
            text("SELECT day FROM stock_snapshot_day WHERE tenant_id = :tenant AND day = ANY(:d)"),
            {"tenant": session.tenant_id, "d": [opening_day, d10, d20]},
        ).scalars()
    )
    totals = {"opening": [0, 0], "on_10th": [0, 0], "on_20th": [0, 0], "receipts": [0, 0]}
    rows = session.execute(_PER_SKU, {**params, "opening": opening_day, "d10": d10, "d20": d20})
    for r in rows:
        for name in totals:
            pieces = int(getattr(r, name) or 0)
            totals[name][0] += pieces
            totals[name][1] += _cases(pieces, r.case_quantity)

    def part(day: date, name: str):
        return tuple(totals[name]) if day in taken else None

    return MonthUsage(
        month=first,
        days=days,
        piece_days=sum(d.pieces for d in days),
        bin_days=sum(d.bins for d in days),
        bins_used=bins_used,
        opening=part(opening_day, "opening"),
        on_10th=part(d10, "on_10th"),
        on_20th=part(d20, "on_20th"),
        receipts=tuple(totals["receipts"]),
        missing=[d for d in (opening_day, d10, d20) if d not in taken],
    )


_BINS = text(
    """
    SELECT loc.code, count(DISTINCT s.day) FILTER (WHERE s.quantity > 0) AS days,
           max(s.quantity) AS max_pieces
      FROM (SELECT day, location_id, sum(quantity) AS quantity FROM stock_snapshot
             WHERE tenant_id = :tenant AND day >= :first AND day < :following
             GROUP BY day, location_id) s
      JOIN location loc ON loc.id = s.location_id
     WHERE CAST(:after AS text) IS NULL OR loc.code > :after
     GROUP BY loc.code HAVING count(*) FILTER (WHERE s.quantity > 0) > 0
     ORDER BY loc.code LIMIT :limit
    """
)


def bins_in_month(
    session: UrakataSession, month: date, *, after: str | None = None, limit: int = 50
) -> tuple[list[BinUsage], str | None]:
    """The bins that held the shop's stock in the month, by code (keyset pages)."""
    first, following = month_bounds(month)
    rows = session.execute(
        _BINS,
        {"tenant": session.tenant_id, "first": first, "following": following, "after": after,
         "limit": limit + 1},
    ).all()  # fmt: skip
    found = [BinUsage(r.code, r.days, int(r.max_pieces)) for r in rows[:limit]]
    return found, (found[-1].code if len(rows) > limit else None)


def snapshot_rows(
    session: UrakataSession, day: date, *, after: tuple[str, str] | None = None, limit: int = 100
) -> list[dict]:
    """The day's snapshot, by bin and SKU (keyset by (bin, SKU)), for the API."""
    rows = session.execute(
        text(
            """
            SELECT loc.code AS bin, p.sku, s.quantity, s.received
              FROM stock_snapshot s
              JOIN location loc ON loc.id = s.location_id
              JOIN product p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
             WHERE s.tenant_id = :tenant AND s.day = :day
               AND (CAST(:bin AS text) IS NULL OR (loc.code, p.sku) > (:bin, :sku))
             ORDER BY loc.code, p.sku LIMIT :limit
            """
        ),
        {"tenant": session.tenant_id, "day": day, "bin": after[0] if after else None,
         "sku": after[1] if after else None, "limit": limit},
    )  # fmt: skip
    return [dict(r._mapping, day=day) for r in rows]
