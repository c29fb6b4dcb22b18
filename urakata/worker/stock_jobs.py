"""Stock jobs: allocating released orders, retrying orders waiting for stock, the daily
reconciliation of every shop, and the CSV export of a shop's stock list.

Allocation jobs take the shop's orders one transaction each (``ledger.retrying``: a
deadlock or serialization failure runs the order again), so every transaction locks
levels in the fixed order and the audit chain last, and a long batch holds no locks
that waiting requests need. The job's own transaction holds only its idempotency claim
and, when the batch was full, the request for the next one.
"""

from __future__ import annotations

import logging
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from urakata.platform import jobs
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.csvfiles import neutralise
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.tenancy import Tenant, fan_out_across_tenants
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import IllegalTransition, StaleOrder
from urakata.tenants.stock import levels
from urakata.tenants.stock.allocation import allocate_order, orders_to_allocate
from urakata.tenants.stock.errors import DuplicateSubmission, StockContention
from urakata.tenants.stock.ledger import (
    ALLOCATE_JOB,
    BACKORDER_JOB,
    JOB_QUEUE,
    request_job,
    retrying,
)
from urakata.tenants.stock.reconciliation import ShopMismatch, alert_agency, reconcile
from urakata.worker.csv_exports import write_csv_export
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import task_failed

log = logging.getLogger(__name__)
BATCH = 200  # orders per allocation job; a full batch asks for the next one
SWEEP_JOB = "stock.allocation_sweep"
RECONCILE_JOB = "stock.reconcile"
# The same names as urakata.portal.shop.stock_views (the worker may not import the portal).
EXPORT_KIND = "stock.export"
EXPORT_JOB = "stock.export_csv"
EXPORT_QUEUE = "default"
EXPORT_PAGE = 500
AGENCY_ZONE = ZoneInfo("Asia/Tokyo")  # daily boundaries of agency-wide work


def _allocate_each(ctx: Context, shop_id: uuid.UUID, order_ids: list[int]) -> dict[str, int]:
    """Allocate each order in a transaction of its own; count what became of them."""
    counts = {"allocated": 0, "waiting": 0, "skipped": 0}
    for order_id in order_ids:
        try:
            outcome = retrying(
                ctx.db,
                shop_id,
                lambda session, oid=order_id: allocate_order(
                    session, actor=ctx.actor, order_id=oid
                ),
            )
        except (IllegalTransition, StaleOrder, DuplicateSubmission, StockContention) as exc:
            # Changed by someone meanwhile, or too contended: the next run sees it again.
            log.info("order %s of %s not allocated now: %s", order_id, shop_id, exc)
            counts["skipped"] += 1
            continue
        counts["allocated" if outcome.complete else "waiting"] += 1
    return counts


@tenant_job(ALLOCATE_JOB, queue=JOB_QUEUE, retry_intervals=(10, 60, 300), timeout=900)
def allocate_released(session: UrakataSession, ctx: Context) -> dict:
    """Allocate the shop's released orders, the soonest ship-by first."""
    ids = orders_to_allocate(session, limit=BATCH)
    counts = _allocate_each(ctx, session.tenant_id, ids)
    if len(ids) == BATCH:
        request_job(session, ALLOCATE_JOB, session.tenant_id)
    return counts


@tenant_job(BACKORDER_JOB, queue=JOB_QUEUE, retry_intervals=(10, 60, 300), timeout=900)
def retry_backorders(session: UrakataSession, ctx: Context) -> dict:
    """Stock arrived (or was freed): try the orders waiting for it, then released ones."""
    waiting = orders_to_allocate(session, backordered=True, limit=BATCH)
    released = orders_to_allocate(session, limit=max(0, BATCH - len(waiting)))
    counts = _allocate_each(ctx, session.tenant_id, waiting + released)
    if len(waiting) + len(released) == BATCH:
        request_job(session, BACKORDER_JOB, session.tenant_id)
    return counts


def _active_shops(session: UrakataSession) -> list[uuid.UUID]:
    return list(
        session.scalars(select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.slug))
    )


@tenant_job(SWEEP_JOB, queue="maintenance", retry_intervals=(30,), timeout=120)
def allocation_sweep(session: UrakataSession, ctx: Context) -> int:
    """Every minute (cron): ask for an allocation run in each shop with released orders.

    The order service releases orders without knowing about stock; this is how they
    reach allocation within a minute. Returns how many shops were asked.
    """
    released = fan_out_across_tenants(
        ctx.db,
        _active_shops(session),
        lambda s: s.scalar(select(func.count()).where(Order.status == "released")),
    )
    return sum(request_job(session, ALLOCATE_JOB, shop) for shop, n in released.items() if n)


@tenant_job(RECONCILE_JOB, queue="maintenance", retry_intervals=(300, 1800), timeout=3600)
def reconcile_all(session: UrakataSession, ctx: Context) -> dict:
    """Daily (cron): prove Σ movements = levels in every shop; alert the agency admins
    (once a day) about the shops where it does not hold."""
    shops = {t.id: t for t in session.scalars(select(Tenant).order_by(Tenant.slug))}
    results = fan_out_across_tenants(ctx.db, list(shops), lambda s: reconcile(s, actor=ctx.actor))
    failures = [
        ShopMismatch(shop_id, shops[shop_id].slug, shops[shop_id].name, r.mismatch_count)
        for shop_id, r in results.items()
        if not r.ok
    ]
    day = utcnow().astimezone(AGENCY_ZONE).date()
    mailed = 0
    if failures:
        # A session of its own: the shops' sessions above bound theirs (and, sharing a
        # connection in tests, the transaction's tenant setting) after this one began.
        with ctx.db.tenant_session(AGENCY_CHAIN_ID) as agency:
            if jobs.claim(agency, f"stock.reconcile.alert:{day}", RECONCILE_JOB, None):
                mailed = alert_agency(agency, actor=ctx.actor, day=day, failures=failures)
    return {"shops": len(results), "failed": len(failures), "mailed": mailed}


# -- the CSV export of the stock list --------------------------------------------------------

COLUMNS = (
    ("sku", "商品コード"),
    ("name", "商品名"),
    ("status", "商品ステータス"),
    ("on_hand_total", "在庫数(合計)"),
    ("allocated_total", "引当数(合計)"),
    ("available_total", "引当可能数(合計)"),
    ("code", "ロケーション"),
    ("kind", "ロケーション区分"),
    ("lot_no", "ロット番号"),
    ("best_before", "賞味期限"),
    ("on_hand", "在庫数"),
    ("allocated", "引当数"),
    ("available", "引当可能数"),
    ("state", "状態"),
)
VALUES_JA = {
    "status": {"draft": "準備中", "active": "販売中", "discontinued": "販売終了"},
    "kind": {
        "pick_face": "ピッキング棚",
        "reserve": "保管",
        "returns": "返品",
        "damaged": "破損品",
    },
    "state": {
        "sellable": "引当可",
        "expired": "期限切れ",
        "short_life": "賞味期限が近い",
        "set_aside": "引当対象外",
    },
}


def _cell(name: str, value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return neutralise(VALUES_JA.get(name, {}).get(value, str(value)))


def stock_rows(row: levels.StockRow, level_rows: list[levels.LevelRow]):
    """One row per bin and lot holding the SKU (one row of totals when none does)."""
    totals = {
        "sku": row.sku,
        "name": row.name,
        "status": row.status,
        "on_hand_total": row.on_hand,
        "allocated_total": row.allocated,
        "available_total": row.available,
    }
    for level in level_rows or [None]:
        values = dict(totals)
        if level is not None:
            values.update(
                code=level.code,
                kind=level.kind,
                lot_no=level.lot_no,
                best_before=level.best_before,
                on_hand=level.on_hand,
                allocated=level.allocated,
                state=level.state,
                available=level.available if level.allocatable else 0,
            )
        yield [_cell(name, values.get(name)) for name, _header in COLUMNS]


@tenant_job(
    EXPORT_JOB,
    queue=EXPORT_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def export_stock(
    session: UrakataSession,
    ctx: Context,
    *,
    task_id: str,
    encoding: str = "utf-8",
    query: str = "",
    in_stock_only: bool = False,
) -> dict:
    """Write the shop's stock list (its filters) as CSV; the file is the task's result."""
    now = utcnow()
    total = levels.stock_count(session, query=query, in_stock_only=in_stock_only, now=now)

    def pages():
        after = None
        while True:
            page = levels.stock_list(
                session,
                query=query,
                in_stock_only=in_stock_only,
                after_sku=after,
                limit=EXPORT_PAGE,
                now=now,
            )
            found = levels.levels_of(session, [r.product_id for r in page.items], now)
            rows = [row for item in page.items for row in stock_rows(item, found[item.product_id])]
            yield rows, len(page.items)
            if page.next_after is None:
                return
            after = page.next_after

    return write_csv_export(
        session,
        ctx,
        task_id=task_id,
        encoding=encoding,
        header=[header for _name, header in COLUMNS],
        total=total,
        pages=pages(),
        counted="products",
        file_stem="stock",
        event="stock.exported",
        filters={"query": query, "in_stock_only": in_stock_only},
    )
