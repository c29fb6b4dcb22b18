"""The daily proof that a shop's movements add up to its levels (DESIGN §7).

:func:`reconcile` sums every movement of the shop per (SKU, bin, lot) and compares the
sums with the levels, both ``on_hand`` and ``allocated``, in one statement (one
snapshot, so allocations running meanwhile cannot make a false alarm). The day's result
is kept (one row per shop and local day; a second run the same day replaces it) and
recorded on the shop's ledger. When a shop's figures disagree, the agency admins are
alerted: their stock page shows it, and :func:`alert_agency` mails each of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from urakata.platform import audit
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.identity import Role, UserAccount, users_with_role
from urakata.platform.mail import queue_mail
from urakata.platform.mailrender import register_kind
from urakata.tenants.stock.ledger import shop_today
from urakata.tenants.stock.models import StockReconciliation

MISMATCHES_KEPT = 100
MAIL_KIND = "stock_mismatch"

# Levels and movement sums side by side; a side that has no row counts as zero.
_COMPARE = text(
    """
    WITH moved AS (
        SELECT product_id, location_id, lot_no, sum(on_hand_delta) AS on_hand,
               sum(allocated_delta) AS allocated, count(*) AS movements
          FROM stock_movement WHERE tenant_id = :tenant
         GROUP BY product_id, location_id, lot_no
    ), levels AS (
        SELECT product_id, location_id, lot_no, on_hand, allocated
          FROM stock_level WHERE tenant_id = :tenant
    )
    SELECT coalesce(l.product_id, m.product_id) AS product_id,
           coalesce(l.location_id, m.location_id) AS location_id,
           coalesce(l.lot_no, m.lot_no) AS lot_no,
           l.on_hand AS level_on_hand, l.allocated AS level_allocated,
           coalesce(m.on_hand, 0) AS moved_on_hand, coalesce(m.allocated, 0) AS moved_allocated,
           coalesce(m.movements, 0) AS movements, l.product_id IS NOT NULL AS has_level,
           p.sku, loc.code
      FROM levels l
      FULL JOIN moved m
        ON m.product_id = l.product_id AND m.location_id = l.location_id AND m.lot_no = l.lot_no
      JOIN product p ON p.tenant_id = :tenant AND p.id = coalesce(l.product_id, m.product_id)
      JOIN location loc ON loc.id = coalesce(l.location_id, m.location_id)
     ORDER BY p.sku, loc.code, 3
    """
)


@dataclass(frozen=True)
class Result:
    ok: bool
    levels: int
    movements: int
    mismatches: list[dict]


def compare(session: UrakataSession) -> Result:
    """Σ movements against the levels of the bound shop (see the module's docstring)."""
    mismatches, levels, movements = [], 0, 0
    for row in session.execute(_COMPARE, {"tenant": session.tenant_id}):
        levels += int(row.has_level)
        movements += int(row.movements)
        level = (row.level_on_hand or 0, row.level_allocated or 0)
        for field, at_level, in_ledger in (
            ("on_hand", level[0], int(row.moved_on_hand)),
            ("allocated", level[1], int(row.moved_allocated)),
        ):
            if at_level != in_ledger:
                mismatches.append(
                    {
                        "sku": row.sku,
                        "bin": row.code,
                        "lot_no": row.lot_no,
                        "field": field,
                        "ledger": in_ledger,
                        "level": at_level,
                    }
                )
    return Result(not mismatches, levels, movements, mismatches)


def reconcile(
    session: UrakataSession, *, actor: Actor, now: datetime | None = None
) -> StockReconciliation:
    """Compare, keep the day's result and record it on the shop's ledger."""
    now = now or utcnow()
    day = shop_today(session, now)
    result = compare(session)
    values = {
        "tenant_id": session.tenant_id,
        "checked_on": day,
        "checked_at": now,
        "ok": result.ok,
        "levels": result.levels,
        "movements": result.movements,
        "mismatches": result.mismatches[:MISMATCHES_KEPT],
        "mismatch_count": len(result.mismatches),
    }
    table = StockReconciliation.__table__
    update = {k: v for k, v in values.items() if k not in ("tenant_id", "checked_on")}
    row_id = session.execute(
        pg_insert(table)
        .values(**values)
        .on_conflict_do_update(index_elements=["tenant_id", "checked_on"], set_=update)
        .returning(table.c.id)
    ).scalar_one()
    audit.record(
        session,
        actor,
        "stock.reconciled",
        object_type="stock_reconciliation",
        object_id=row_id,
        data={
            "day": day,
            "ok": result.ok,
            "levels": result.levels,
            "movements": result.movements,
            "mismatches": len(result.mismatches),
            "first": result.mismatches[:5],
        },
    )
    return session.get(StockReconciliation, (session.tenant_id, row_id), populate_existing=True)


@dataclass(frozen=True)
class ShopMismatch:
    shop_id: uuid.UUID
    slug: str
    name: str
    mismatches: int


def alert_agency(
    session: UrakataSession, *, actor: Actor, day: date, failures: list[ShopMismatch]
) -> int:
    """Mail every active agency admin about the shops whose stock does not add up, and
    record the alert on the agency's chain. ``session`` is bound to the agency scope."""
    if not failures:
        return 0
    admins = [u for u in users_with_role(session, Role.agency_admin) if u.is_active]
    shops = [{"slug": f.slug, "name": f.name, "mismatches": f.mismatches} for f in failures]
    for user in admins:
        queue_mail(
            session,
            kind=MAIL_KIND,
            to=user.email,
            locale=user.locale,
            params={"user_id": str(user.id), "day": day.isoformat(), "shops": shops},
            agency_scope=True,
        )
    audit.record(
        session,
        actor,
        "stock.reconciliation_failed",
        object_type="stock_reconciliation",
        object_id=day.isoformat(),
        data={"day": day, "shops": shops, "mailed": len(admins)},
        chain_id=AGENCY_CHAIN_ID,
    )
    return len(admins)


def _mail_context(session, params: dict, settings) -> dict:
    user = session.get(UserAccount, uuid.UUID(params["user_id"]))
    return {
        "user": user,
        "day": params["day"],
        "shops": params["shops"],
        # The portal serves this path (agency.stock_overview).
        "link": f"{settings.public_url}/agency/stock",
    }


register_kind(
    MAIL_KIND,
    "stock_mismatch.txt",
    N_("Stock does not add up: check the stock ledger"),
    _mail_context,
)
