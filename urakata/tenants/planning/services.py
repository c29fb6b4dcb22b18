"""Reorder points and the low-stock alert; the shop's planning settings.

A SKU's reorder point is set by the shop (``manual``) or kept at the nightly forecast's
suggestion (``suggested``: lead-time demand plus safety stock). Its *available* stock is
the stock list's: free pieces in pick faces and reserve, of lots within the shop's
minimum remaining shelf life.

**Once per crossing.** ``reorder_point.alert_state`` remembers which side of its point a
SKU is on. :func:`check_low_stock` moves SKUs between the two states with conditional
UPDATEs (``… WHERE alert_state = 'ok'``), so however often it runs and however many run
at once, a SKU that falls to or below its point is announced once — a portal notice, one
mail to the shop's admins listing the SKUs that crossed, a ledger event each — and only
again after its stock has risen above the point and fallen again. It runs every few
minutes from cron (and at once when a point is set), not on every movement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.identity import Role, UserAccount, members_of_shop
from urakata.platform.locations import ALLOCATABLE_KINDS
from urakata.platform.mail import queue_mail
from urakata.platform.mailrender import register_kind
from urakata.platform.tenancy import NotFound, Tenant
from urakata.tenants.catalog.services import get_product
from urakata.tenants.planning.errors import StaleRecord
from urakata.tenants.planning.models import LowStockNotice, PlanningSettings, ReorderPoint
from urakata.tenants.planning.schemas import ReorderPointIn, SettingsIn, load
from urakata.tenants.stock.levels import earliest_best_before

MAIL_KIND = "low_stock"
MAIL_LISTED_MAX = 50
SETTINGS_FIELDS = ("horizon_weeks", "lead_time_days", "service_level_pct", "review_days")


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleRecord() from exc


# -- settings ----------------------------------------------------------------------------------


def get_planning_settings(session: UrakataSession) -> PlanningSettings:
    """The shop's planning settings (made with the defaults on first use)."""
    found = session.get(PlanningSettings, session.tenant_id)
    if found is not None:
        return found
    session.execute(
        pg_insert(PlanningSettings.__table__)
        .values(tenant_id=session.tenant_id, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    return session.get(PlanningSettings, session.tenant_id, populate_existing=True)


def update_planning_settings(
    session: UrakataSession, *, actor: Actor, data: dict
) -> PlanningSettings:
    values = load(SettingsIn(), data)
    found = get_planning_settings(session)
    if found.version != values["version"]:
        raise StaleRecord()
    changes = {
        name: (getattr(found, name), values[name])
        for name in SETTINGS_FIELDS
        if getattr(found, name) != values[name]
    }
    if not changes:
        return found
    for name, (_before, after) in changes.items():
        setattr(found, name, after)
    found.updated_at = utcnow()
    _flush(session)
    audit.record(session, actor, "planning.settings_changed", object_type="planning_settings",
                 object_id=session.tenant_id, changes=changes,
                 data={"version": found.version})  # fmt: skip
    return found


# -- reorder points ---------------------------------------------------------------------------


def get_reorder_point(session: UrakataSession, product_id: int) -> ReorderPoint | None:
    get_product(session, product_id)  # NotFound for another shop's product
    return session.get(ReorderPoint, (session.tenant_id, product_id))


def set_reorder_point(
    session: UrakataSession,
    *,
    actor: Actor,
    product_id: int,
    data: dict,
    suggestion: int | None = None,
    now: datetime | None = None,
) -> ReorderPoint:
    """Set a SKU's reorder point (manual pieces, or the forecast's ``suggestion``), then
    check it against the stock at once. ``version`` (when the SKU had a point) guards
    against a concurrent edit (409); a SKU that has a point needs it."""
    values = load(ReorderPointIn(), data)
    product = get_product(session, product_id)
    found = session.get(ReorderPoint, (session.tenant_id, product.id))
    if found is not None and found.version != values["version"]:
        raise StaleRecord()  # changed since read, or made by someone since the form was
    point = values["reorder_point"]
    if values["mode"] == "suggested":
        point = suggestion if suggestion is not None else (found.reorder_point if found else 0)
    before = _point_fields(found)
    if found is None:
        found = ReorderPoint(product_id=product.id, alert_state="ok")
        session.add(found)
    found.mode = values["mode"]
    found.reorder_point = point
    found.lead_time_days = values["lead_time_days"]
    found.updated_at = now or utcnow()
    _flush(session)
    after = _point_fields(found)
    changes = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    audit.record(session, actor, "planning.reorder_point_set", object_type="product",
                 object_id=product.id, changes=changes,
                 data={"sku": product.sku, "version": found.version})  # fmt: skip
    check_low_stock(session, actor=actor, product_ids=[product.id], now=now)
    return found


def clear_reorder_point(
    session: UrakataSession, *, actor: Actor, product_id: int, version: int
) -> None:
    """The SKU has no reorder point any more (no alerts for it)."""
    product = get_product(session, product_id)
    found = session.get(ReorderPoint, (session.tenant_id, product.id))
    if found is None:
        raise NotFound(f"no reorder point for product {product_id}")
    if found.version != version:
        raise StaleRecord()
    before = _point_fields(found)
    session.delete(found)
    _flush(session)
    audit.record(session, actor, "planning.reorder_point_cleared", object_type="product",
                 object_id=product.id, changes={k: (v, None) for k, v in before.items()},
                 data={"sku": product.sku})  # fmt: skip


def _point_fields(found: ReorderPoint | None) -> dict:
    if found is None:
        return {}
    return {
        "mode": found.mode,
        "reorder_point": found.reorder_point,
        "lead_time_days": found.lead_time_days,
    }


def apply_suggestions(session: UrakataSession, *, actor: Actor, suggestions: dict[int, int]) -> int:
    """Move the SKUs kept at the suggestion to the new forecast's; one ledger event per
    SKU whose point changed. Returns how many changed."""
    if not suggestions:
        return 0
    rows = session.execute(
        text(
            """
            UPDATE reorder_point r SET reorder_point = s.point, updated_at = now(),
                   version = r.version + 1
              FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id,
                           unnest(CAST(:points AS int[])) AS point) s
             WHERE r.tenant_id = :tenant AND r.product_id = s.id AND r.mode = 'suggested'
               AND r.reorder_point <> s.point
            RETURNING r.product_id, r.reorder_point
            """
        ),
        {
            "tenant": session.tenant_id,
            "ids": list(suggestions),
            "points": list(suggestions.values()),
        },
    ).all()
    audit.record_many(
        session,
        actor,
        [
            PendingEvent("planning.reorder_point_suggested", "product", r.product_id,
                         data={"reorder_point": r.reorder_point})
            for r in rows
        ],
    )  # fmt: skip
    return len(rows)


# -- what is available ------------------------------------------------------------------------

_AVAILABLE = text(
    """
    SELECT l.product_id, coalesce(sum(l.on_hand - l.allocated) FILTER (
               WHERE loc.kind = ANY(:kinds)
                 AND (l.best_before IS NULL OR l.best_before >= :earliest)), 0) AS available
      FROM stock_level l JOIN location loc ON loc.id = l.location_id
     WHERE l.tenant_id = :tenant AND (CAST(:ids AS bigint[]) IS NULL OR l.product_id = ANY(:ids))
     GROUP BY l.product_id
    """
)


def available_by_product(
    session: UrakataSession, product_ids: list[int] | None = None, now: datetime | None = None
) -> dict[int, int]:
    """Available pieces per SKU (the stock list's figure); SKUs with no stock are absent."""
    rows = session.execute(
        _AVAILABLE,
        {
            "tenant": session.tenant_id,
            "kinds": list(ALLOCATABLE_KINDS),
            "earliest": earliest_best_before(session, now),
            "ids": product_ids,
        },
    )
    return {r.product_id: int(r.available) for r in rows}


# -- the low-stock alert -----------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    product_id: int
    sku: str
    name: str
    available: int
    reorder_point: int


_CANDIDATES = text(
    """
    SELECT r.product_id, r.reorder_point, r.alert_state, p.sku, p.name
      FROM reorder_point r JOIN product p ON p.tenant_id = r.tenant_id AND p.id = r.product_id
     WHERE r.tenant_id = :tenant AND (CAST(:ids AS bigint[]) IS NULL OR r.product_id = ANY(:ids))
    """
)


def _flip(session, ids: list[int], frm: str, to: str, now: datetime) -> set[int]:
    if not ids:
        return set()
    rows = session.execute(
        text(
            "UPDATE reorder_point SET alert_state = :to, state_changed_at = :now"
            " WHERE tenant_id = :tenant AND product_id = ANY(:ids) AND alert_state = :from"
            " RETURNING product_id"
        ),
        {"tenant": session.tenant_id, "ids": ids, "from": frm, "to": to, "now": now},
    )
    return {r.product_id for r in rows}


def low_stock_candidates(session: UrakataSession, now: datetime | None = None) -> int:
    """How many SKUs are on the wrong side of their alert state (the cron sweep asks a
    check of the shops with any)."""
    falling, rising = _pending(session, None, now)
    return len(falling) + len(rising)


def _pending(session, product_ids, now):
    points = session.execute(_CANDIDATES, {"tenant": session.tenant_id, "ids": product_ids}).all()
    if not points:
        return [], []
    available = available_by_product(session, [p.product_id for p in points], now)
    falling, rising = [], []
    for p in points:
        have = available.get(p.product_id, 0)
        if p.alert_state == "ok" and have <= p.reorder_point:
            falling.append(Crossing(p.product_id, p.sku, p.name, have, p.reorder_point))
        elif p.alert_state == "low" and have > p.reorder_point:
            rising.append(Crossing(p.product_id, p.sku, p.name, have, p.reorder_point))
    return falling, rising


def check_low_stock(
    session: UrakataSession,
    *,
    actor: Actor,
    product_ids: list[int] | None = None,
    now: datetime | None = None,
) -> list[Crossing]:
    """Announce the SKUs that fell to or below their reorder point since the last check
    (see the module's docstring); SKUs back above it are ready to be announced again.
    Returns the SKUs announced now."""
    now = now or utcnow()
    falling, rising = _pending(session, product_ids, now)
    risen = _flip(session, [c.product_id for c in rising], "low", "ok", now)
    fell = _flip(session, [c.product_id for c in falling], "ok", "low", now)
    crossed = [c for c in falling if c.product_id in fell]
    events = [
        PendingEvent("planning.stock_recovered", "product", c.product_id,
                     data={"sku": c.sku, "available": c.available,
                           "reorder_point": c.reorder_point})
        for c in rising if c.product_id in risen
    ]  # fmt: skip
    if crossed:
        session.execute(
            LowStockNotice.__table__.insert(),
            [
                {"tenant_id": session.tenant_id, "product_id": c.product_id, "crossed_at": now,
                 "available": c.available, "reorder_point": c.reorder_point, "read_by": ""}
                for c in crossed
            ],
        )  # fmt: skip
        mails = _mail_shop_admins(session, crossed, now)
        events += [
            PendingEvent("planning.low_stock", "product", c.product_id,
                         data={"sku": c.sku, "available": c.available,
                               "reorder_point": c.reorder_point, "mails": mails})
            for c in crossed
        ]  # fmt: skip
    audit.record_many(session, actor, events)
    return crossed


def _mail_shop_admins(session: UrakataSession, crossed: list[Crossing], now: datetime) -> int:
    admins = [
        m.user
        for m in members_of_shop(session, session.tenant_id)
        if m.role == Role.shop_admin.value and m.user.is_active
    ]
    listed = [c.product_id for c in crossed[:MAIL_LISTED_MAX]]
    for user in admins:
        queue_mail(session, kind=MAIL_KIND, to=user.email, locale=user.locale,
                   params={"user_id": str(user.id), "product_ids": listed,
                           "count": len(crossed), "at": now.isoformat()})  # fmt: skip
    return len(admins)


@dataclass(frozen=True)
class NoticeRow:
    id: int
    product_id: int
    sku: str
    name: str
    crossed_at: datetime
    available: int
    reorder_point: int
    read_at: datetime | None


def notices(
    session: UrakataSession, *, unread_only: bool = True, before_id: int | None = None,
    limit: int = 20,
) -> list[NoticeRow]:  # fmt: skip
    """The shop's low-stock notices, newest first (keyset by id)."""
    from urakata.tenants.catalog.models import Product

    stmt = (
        select(LowStockNotice, Product.sku, Product.name)
        .join(Product, Product.id == LowStockNotice.product_id)
        .order_by(LowStockNotice.id.desc())
        .limit(limit)
    )
    if unread_only:
        stmt = stmt.where(LowStockNotice.read_at.is_(None))
    if before_id:
        stmt = stmt.where(LowStockNotice.id < before_id)
    return [
        NoticeRow(n.id, n.product_id, sku, name, n.crossed_at, n.available, n.reorder_point,
                  n.read_at)
        for n, sku, name in session.execute(stmt)
    ]  # fmt: skip


def unread_notice_count(session: UrakataSession) -> int:
    return session.scalar(
        select(func.count()).select_from(LowStockNotice).where(LowStockNotice.read_at.is_(None))
    )


def mark_notices_read(
    session: UrakataSession, *, actor: Actor, notice_ids: list[int], now: datetime | None = None
) -> int:
    """The shop has seen these notices (another shop's ids simply match nothing)."""
    now = now or utcnow()
    rows = session.execute(
        text(
            "UPDATE low_stock_notice SET read_at = :now, read_by = :who"
            " WHERE tenant_id = :tenant AND id = ANY(:ids) AND read_at IS NULL RETURNING id"
        ),
        {"now": now, "who": actor.label[:200], "tenant": session.tenant_id, "ids": notice_ids},
    ).all()
    if rows:
        audit.record(session, actor, "planning.notices_read", object_type="low_stock_notice",
                     object_id=rows[0].id, data={"ids": sorted(r.id for r in rows)})  # fmt: skip
    return len(rows)


# -- the mail ----------------------------------------------------------------------------------


def _mail_context(session: UrakataSession, params: dict, settings) -> dict:
    from urakata.tenants.catalog.models import Product

    tenant = session.get(Tenant, session.tenant_id)
    user = session.get(UserAccount, uuid.UUID(params["user_id"]))
    ids = [int(i) for i in params["product_ids"]]
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    points = {
        r.product_id: r
        for r in session.scalars(select(ReorderPoint).where(ReorderPoint.product_id.in_(ids)))
    }
    available = available_by_product(session, ids)
    rows = [
        {
            "sku": products[i].sku,
            "name": products[i].name,
            "available": available.get(i, 0),
            "reorder_point": points[i].reorder_point if i in points else 0,
        }
        for i in ids
        if i in products
    ]
    return {
        "user": user,
        "shop_name": tenant.name,
        "products": rows,
        "count": params["count"],
        "more": max(params["count"] - len(rows), 0),
        # The portal serves this path (shop.planning).
        "link": f"{settings.public_url}/s/{tenant.slug}/planning",
    }


register_kind(MAIL_KIND, "low_stock.txt", N_("Stock is low: time to reorder"), _mail_context)
