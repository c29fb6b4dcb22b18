"""The demo's inbound notices and stocktakes, made through the services as the portal
would: per shop, notices received weeks ago (one exact, one short with a damaged piece
and an unknown box, the shop's comment and the agency's answer), one being received now,
two expected this week (one sent as CSV, one by API); stocktakes posted, waiting for the
agency admin, waiting for the shop, and one being counted. The apparel shop asks for
sasage on a SKU's first receipt.

Timestamps of the older notices are moved back to when they happened, so dock-to-stock
and the lists read like weeks of work.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from urakata.platform.audit import Actor
from urakata.platform.db import Database, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.inbound import services as inbound
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.models import StockLevel
from urakata.tenants.stocktake import services as stocktakes

SHOP = Actor.system("demo seed: ショップ担当")
OPERATOR = Actor(type="system", id="demo-op", label="demo seed: 入荷担当 佐藤")
COUNTER = Actor(type="system", id="demo-counter", label="demo seed: 棚卸担当 高橋")
ADMIN = Actor(type="system", id="demo-admin", label="demo seed: 管理者 中村")
CARRIERS = (("ヤマト運輸", "4412"), ("佐川急便", "3601"), ("日本郵便", "1180"))


def _products(session, rng: random.Random, n: int) -> list[Product]:
    found = list(
        session.scalars(
            select(Product).where(Product.status == "active", Product.jan.is_not(None))
            .order_by(Product.id)
        )
    )  # fmt: skip
    return rng.sample(found, min(n, len(found)))


def _line(product: Product, quantity: int, today: date, n: int) -> dict:
    line = {"product_id": product.id, "quantity": quantity}
    if product.lot_tracked:
        line["lot"] = f"L{today:%y%m}-{n:02d}"
        line["best_before"] = (today + timedelta(days=240)).isoformat()
    return line


def _notice(session, rng, products, when: date, *, source="portal", reference=""):
    carrier, prefix = rng.choice(CARRIERS)
    lines = [_line(p, rng.choice((6, 12, 24, 40)), when, n) for n, p in enumerate(products)]
    return inbound.create_notice(
        session,
        SHOP,
        lines=lines,
        expected_on=when,
        carrier=carrier,
        tracking_number=f"{prefix}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        reference=reference or f"PO-{when:%Y%m%d}-{rng.randint(10, 99)}",
        source=source,
    )


def _receive(session, notice, *, short: int = 0, damaged: int = 0, unknown: bool = False):
    for n, line in enumerate(notice.lines):
        quantity = line.quantity - (short if n == 0 else 0) - (damaged if n == 1 else 0)
        inbound.receive_item(session, OPERATOR, notice.id, code=line.product.jan, quantity=quantity)
        if damaged and n == 1:
            inbound.receive_item(
                session, OPERATOR, notice.id, code=line.product.jan, quantity=damaged,
                condition="damaged", note="外箱つぶれ・中身破損",
            )  # fmt: skip
    if unknown:
        inbound.receive_item(
            session, OPERATOR, notice.id, code="", quantity=1, condition="unknown",
            description="品番ラベルのない白い箱(同梱物か)",
        )  # fmt: skip


def _put_away_and_close(session, notice, arrived: datetime) -> None:
    waiting = inbound.waiting_items(session, notice.id)
    placements = inbound.suggest_placements(session, waiting)
    if placements:
        inbound.put_away(session, OPERATOR, notice.id, placements=placements)
    closed = inbound.close_notice(session, OPERATOR, notice.id, version=notice.version)
    stocked = arrived + timedelta(minutes=random.Random(notice.id).randint(45, 300))
    for item in inbound.items_of(session, notice.id):
        item.received_at = arrived
        if item.put_away_at:
            item.put_away_at = stocked
    closed.created_at = arrived - timedelta(days=3)
    closed.arrived_at, closed.stocked_at = arrived, stocked
    closed.closed_at = stocked + timedelta(minutes=10)
    closed.dock_to_stock_seconds = int((stocked - arrived).total_seconds())
    session.flush()


def _seed_notices(db: Database, tenant: Tenant, rng: random.Random, now: datetime) -> None:
    today = now.astimezone(tenant.zone).date()
    with db.tenant_session(tenant.id) as session:
        picks = _products(session, rng, 8)
        if len(picks) < 4:
            return
        three_weeks = now - timedelta(days=21)
        exact = _notice(session, rng, picks[0:2], (three_weeks).date())
        _receive(session, exact)
        _put_away_and_close(session, exact, three_weeks.replace(hour=1))
        last_week = now - timedelta(days=8)
        uneven = _notice(session, rng, picks[2:5], last_week.date())
        _receive(session, uneven, short=2, damaged=1, unknown=True)
        _put_away_and_close(session, uneven, last_week.replace(hour=2))
        inbound.add_comment(
            session, SHOP, uneven.id, side="shop",
            body="不足の2点は仕入先に確認中です。不明の白い箱はノベルティなので同梱用に保管してください。",
        )  # fmt: skip
        inbound.add_comment(
            session, OPERATOR, uneven.id, side="agency",
            body="承知しました。白い箱は同梱資材として別置きで保管します。",
        )  # fmt: skip
        busy = _notice(session, rng, picks[5:7], today)
        first = busy.lines[0]
        inbound.receive_item(
            session, OPERATOR, busy.id, code=first.product.jan, quantity=max(1, first.quantity // 2)
        )
        _notice(session, rng, picks[0:3], today + timedelta(days=2), source="csv")
        _notice(session, rng, picks[3:4] + picks[7:8], today + timedelta(days=4), source="api")


def _seed_stocktakes(db: Database, tenant: Tenant, rng: random.Random) -> None:
    with db.tenant_session(tenant.id) as session:
        levels = list(
            session.scalars(
                select(StockLevel)
                .where(StockLevel.on_hand - StockLevel.allocated > 4)
                .order_by(StockLevel.id)
            )
        )
        if len(levels) < 6:
            return
        skus = dict(session.execute(select(Product.id, Product.sku)).all())

        def take(sample, counts, *, blind=True):
            made = stocktakes.plan_stocktake(
                session, ADMIN, scope="skus", skus=sorted({skus[lv.product_id] for lv in sample}),
                blind=blind, recount_threshold=3, note="月次の循環棚卸",
            )  # fmt: skip
            deltas = {
                (lv.product_id, lv.location_id, lv.lot_no): d
                for lv, d in zip(sample, counts, strict=True)
            }
            for line in made.lines:
                delta = deltas.get((line.product_id, line.location_id, line.lot_no), 0)
                found = max(0, stocktakes.on_hand_of(session, line) + delta)
                stocktakes.record_count(session, COUNTER, made.id, line.id, found)
                if line.recount_required:  # a second person confirms the first count
                    stocktakes.record_count(session, OPERATOR, made.id, line.id, found)
            return made

        def finish(made, *, shop_too: bool):
            stocktakes.submit_stocktake(session, COUNTER, made.id, version=made.version)
            reasons = {
                li.id: rng.choice(("loss", "found", "miscount")) for li in made.lines if li.variance
            }
            stocktakes.approve_stocktake(
                session, ADMIN, made.id, version=made.version, reasons=reasons
            )
            if shop_too and made.status == "shop_review":
                stocktakes.decide_as_shop(
                    session,
                    SHOP,
                    made.id,
                    version=made.version,
                    approve=True,
                    comment="確認しました。",
                )

        sample = rng.sample(levels, 6)
        posted = take(sample[0:2], [0, -1])
        finish(posted, shop_too=True)
        # pieces missing worth more than the shop's threshold: the shop's approval waits
        threshold = get_settings(session).stocktake_approval_threshold_yen
        prices = dict(session.execute(select(Product.id, Product.price_yen)).all())
        level = max(sample[2:4], key=lambda lv: (lv.on_hand - lv.allocated) * prices[lv.product_id])
        short = min(level.on_hand - level.allocated, threshold // prices[level.product_id] + 1)
        finish(take([level], [-short]), shop_too=False)
        review = take(sample[4:5], [1])
        stocktakes.submit_stocktake(session, COUNTER, review.id, version=review.version)
        stocktakes.plan_stocktake(session, ADMIN, scope="top_movers", top_n=5, blind=True,
                                  recount_threshold=2, note="動きの多いSKUの週次棚卸")  # fmt: skip


def seed_inbound(db: Database, tenants: dict[str, Tenant]) -> None:
    """Notices and stocktakes for every demo shop (after the stock seed)."""
    now = utcnow()
    for slug, tenant in tenants.items():
        rng = random.Random(f"urakata demo inbound {slug}")
        if slug == "kumo-apparel":
            with db.tenant_session(tenant.id) as session:
                current = get_settings(session)
                update_settings(session, actor=ADMIN, expected_version=current.version,
                                changes={"sasage_on_first_receipt": True})  # fmt: skip
        _seed_notices(db, tenant, rng, now)
        _seed_stocktakes(db, tenant, rng)
