"""The demo's warehouse and stock: bins for the three shops (and some free), receipts of
the catalog a month ago and this week (lots with best-before dates, one of them too
close to its date for the tea shop's 30 days), a replenishment, the released orders
allocated — two SKUs a shop run short, so orders wait for stock — and a clean daily check.

Everything goes through the services, as the portal and the jobs would do it.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from urakata.platform.audit import Actor
from urakata.platform.db import Database, utcnow
from urakata.platform.locations import create_locations
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.allocation import allocate_order, orders_to_allocate
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive
from urakata.tenants.stock.reconciliation import reconcile
from urakata.tenants.stock.transfers import transfer

SEED = Actor.system("demo seed: stock")
OPERATOR = Actor.system("demo seed: 入庫担当")
# (zone, aisles, shelves, bins, kind)
LAYOUT = (
    ("A", "01-06", "1-3", "1-4", "pick_face"),  # ambient pick faces
    ("C", "01", "1-2", "1-4", "pick_face"),  # chilled pick faces
    ("R", "01-04", "1-2", "1-4", "reserve"),
    ("T", "01", "1", "1-3", "returns"),
    ("D", "01", "1", "1-3", "damaged"),
)
# Each shop's bins by code prefix; stay free for the admin to hand out.
BINS = {
    "hanabi-tea": ("A-01-", "A-02-", "C-01-", "R-01-", "T-01-1-1", "D-01-1-1"),
    "kumo-apparel": ("A-03-", "A-04-", "R-02-", "T-01-1-2", "D-01-1-2"),
    "sora-cosme": ("A-05-", "R-03-", "T-01-1-3", "D-01-1-3"),
}
SHELF_LIFE = {"hanabi-tea": 30, "sora-cosme": 90}  # minimum remaining days at allocation
SHORT = {  # SKUs received short of the released orders' demand: orders wait for them
    "hanabi-tea": ("HT-GYO-50", "HT-YOK-6"),
    "kumo-apparel": ("KA-DNM-W30", "KA-HOOD-GRY-M"),
    "sora-cosme": ("SC-SUN-50", "SC-LIP-02"),
}
ALLOCATION_BATCH = 50


def _layout(db: Database) -> list[str]:
    codes = []
    with db.platform_session() as session:
        for zone, aisle, shelf, bin_, kind in LAYOUT:
            data = {"zone": zone, "aisle": aisle, "shelf": shelf, "bin": bin_, "kind": kind}
            codes += [loc.code for loc in create_locations(session, actor=SEED, data=data)]
    return codes


def _demand(session) -> dict[int, int]:
    """Pieces of each product in the shop's released orders."""
    rows = session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity))
        .join(Order, (Order.tenant_id == OrderLine.tenant_id) & (Order.id == OrderLine.order_id))
        .where(Order.status == "released", OrderLine.product_id.is_not(None))
        .group_by(OrderLine.product_id)
    )
    return {product_id: int(quantity) for product_id, quantity in rows}


def _bins_by_kind(codes: list[str], product: Product) -> tuple[list[str], list[str]]:
    chilled = product.temperature_zone != "ambient"
    picks = [c for c in codes if c.startswith("C-" if chilled else "A-")] or [
        c for c in codes if c[0] in "AC"
    ]
    reserve = [c for c in codes if c.startswith("R-")]
    return picks, reserve


def _best_before(product: Product, today: date, rng: random.Random) -> tuple[date, date]:
    """An older and a newer lot's dates: sweets keep weeks, tea and cosmetics a year or two."""
    if product.temperature_zone != "ambient":
        return today + timedelta(days=rng.randint(35, 45)), today + timedelta(days=60)
    return today + timedelta(days=rng.randint(150, 240)), today + timedelta(days=400)


def _receipt_lines(products, demand, codes, slug, today, rng):
    """Last month's and this week's receipt lines for the shop's products on sale."""
    older, newer = [], []
    for n, product in enumerate(products):
        wanted = demand.get(product.id, 0)
        total = wanted * 6 // 10 if product.sku in SHORT[slug] else wanted * 13 // 10 + 24
        if total <= 0:
            continue
        picks, reserve = _bins_by_kind(codes, product)
        pick, store = picks[n % len(picks)], reserve[n % len(reserve)]
        first, second = total * 2 // 3, total - total * 2 // 3
        lot = {}
        if product.lot_tracked:
            early, late = _best_before(product, today, rng)
            stamp = today.strftime("%y%m")
            lot = {"lot_no": f"L{stamp}-{n:02d}A", "best_before": early.isoformat()}
            newer_lot = {"lot_no": f"L{stamp}-{n:02d}B", "best_before": late.isoformat()}
        older.append({"sku": product.sku, "quantity": first - first // 4, "location": store, **lot})
        older.append({"sku": product.sku, "quantity": first // 4, "location": pick, **lot})
        newer.append(
            {
                "sku": product.sku,
                "quantity": second,
                "location": store,
                **(newer_lot if product.lot_tracked else {}),
            }
        )
    return [line for line in older if line["quantity"]], [li for li in newer if li["quantity"]]


def _nearly_expired(products, codes, today) -> list[dict]:
    """A tea lot found close to its date: on hand, never given to an order (30 days)."""
    tea = next((p for p in products if p.lot_tracked and p.temperature_zone == "ambient"), None)
    if tea is None:
        return []
    picks, _reserve = _bins_by_kind(codes, tea)
    return [
        {
            "sku": tea.sku,
            "quantity": 12,
            "location": picks[-1],
            "lot_no": "L-OUTLET",
            "best_before": (today + timedelta(days=12)).isoformat(),
        }
    ]


def _stock_shop(db: Database, tenant: Tenant, codes: list[str], now: datetime) -> None:
    rng = random.Random(f"urakata demo stock {tenant.slug}")
    today = now.astimezone(ZoneInfo(tenant.timezone)).date()
    with db.tenant_session(tenant.id) as session:
        assign_bins(session, actor=SEED, codes=codes)
        if tenant.slug in SHELF_LIFE:
            settings = get_settings(session)
            update_settings(
                session,
                actor=SEED,
                expected_version=settings.version,
                changes={"min_shelf_life_days": SHELF_LIFE[tenant.slug]},
            )
        products = list(
            session.scalars(select(Product).where(Product.status == "active").order_by(Product.sku))
        )
        demand = _demand(session)
    older, newer = _receipt_lines(products, demand, codes, tenant.slug, today, rng)
    if tenant.slug == "hanabi-tea":
        newer += _nearly_expired(products, codes, today)
    month_ago = now - timedelta(days=30)
    with db.tenant_session(tenant.id) as session:
        receive(
            session,
            actor=OPERATOR,
            now=month_ago,
            data={
                "key": f"demo-{tenant.slug}-in-1",
                "reference": "IN-0001",
                "note": "初回入庫",
                "lines": older,
            },
        )
    with db.tenant_session(tenant.id) as session:
        receive(
            session,
            actor=OPERATOR,
            now=now - timedelta(days=2),
            data={
                "key": f"demo-{tenant.slug}-in-2",
                "reference": "IN-0002",
                "note": "追加入庫",
                "lines": newer,
            },
        )
        _replenish(session, older, now - timedelta(days=1), tenant.slug)
    _allocate_released(db, tenant)
    with db.tenant_session(tenant.id) as session:
        reconcile(session, actor=SEED)


def _replenish(session, received: list[dict], when: datetime, slug: str) -> None:
    """Move a fifth of the first SKU's reserve to its pick face."""
    source = received[0]
    target = next(
        (
            line["location"]
            for line in received
            if line["sku"] == source["sku"] and line["location"] != source["location"]
        ),
        None,
    )
    if target is None or source["quantity"] < 5:
        return
    data = {
        "key": f"demo-{slug}-replenish-1",
        "sku": source["sku"],
        "lot_no": source.get("lot_no", ""),
        "from_location": source["location"],
        "to_location": target,
        "quantity": source["quantity"] // 5,
        "reason": "ピッキング棚補充",
    }
    transfer(session, actor=OPERATOR, now=when, data=data)


def _allocate_released(db: Database, tenant: Tenant) -> None:
    """Every released order, the soonest ship-by first, as the allocation job does."""
    while True:
        with db.tenant_session(tenant.id) as session:
            ids = orders_to_allocate(session, limit=ALLOCATION_BATCH)
            for order_id in ids:
                allocate_order(session, actor=SEED, order_id=order_id)
        if len(ids) < ALLOCATION_BATCH:
            return


def seed_stock(db: Database, tenants: dict[str, Tenant]) -> None:
    """The warehouse's bins, each shop's stock and the allocation of its released orders."""
    codes = _layout(db)
    now = utcnow()
    for slug, prefixes in BINS.items():
        mine = [c for c in codes if any(c.startswith(p) or c == p for p in prefixes)]
        _stock_shop(db, tenants[slug], mine, now)
