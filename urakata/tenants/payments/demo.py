"""The demo's payments: bank-transfer orders waiting for their deposits, a statement that
matches some by itself and leaves the desk every kind of case to work by hand, konbini and
後払い orders waiting for their notices, the shops' bank accounts for the mails.

``examples/bank_statement_sample.csv`` (Shift_JIS, as a bank exports it) pays two of the
orders still waiting: upload it on 花火茶舗's statements page to see them matched.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from urakata.platform.audit import Actor
from urakata.platform.db import Database, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.orders import services as orders
from urakata.tenants.payments import gates, statements
from urakata.tenants.payments.settings import update_payment_settings

SHOP_SYSTEM = Actor(type="api_key", id="demo", label="demo: 受注連携", request_id="")
BANK_ACCOUNTS = {
    "hanabi-tea": {"bank_name": "静岡銀行", "bank_branch": "呉服町支店",
                   "bank_account_number": "1234567", "bank_account_holder": "ｶ)ﾊﾅﾋﾞﾁﾔﾎ",
                   "reminder_after_days": "3"},
    "kumo-apparel": {"bank_name": "三井住友銀行", "bank_branch": "渋谷駅前支店",
                     "bank_account_number": "7654321", "bank_account_holder": "ｸﾓｱﾊﾟﾚﾙ(ｶ",
                     "atobarai_ng_policy": "cancel"},
}  # fmt: skip
SEN, GYO = "HT-SEN-100", "HT-GYO-50"  # 花火茶舗's sencha (¥1,080) and gyokuro (¥2,160)


@dataclass(frozen=True)
class Waiting:
    number: str
    name: str
    kana: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    days_ago: int
    method: str = "bank_transfer"


# 花火茶舗: who waits, and (below) what the bank statement brings.
HANABI = (
    Waiting("BT-5001", "佐藤 花子", "サトウ ハナコ", ((SEN, 3),), 2),
    Waiting("BT-5002", "株式会社山本商店", "カブシキガイシャ ヤマモトショウテン", ((GYO, 6),), 3),
    Waiting("BT-5003", "高橋 美咲", "タカハシ ミサキ", ((GYO, 1),), 2),
    Waiting("BT-5004", "高橋 美咲", "タカハシ ミサキ", ((SEN, 2),), 1),  # the same amount again
    Waiting("BT-5005", "田中 健", "タナカ ケン", ((GYO, 3),), 4),
    Waiting("BT-5006", "伊藤 由美", "イトウ ユミ", ((SEN, 2),), 2),
    Waiting("BT-5007", "渡辺 翔", "ワタナベ ショウ", ((SEN, 1),), 3),
    Waiting("BT-5008", "渡辺 翔", "ワタナベ ショウ", ((GYO, 1),), 3),
    Waiting("BT-5009", "小林 さくら", "コバヤシ サクラ", ((SEN, 4),), 5),
    Waiting("BT-5010", "中村 大輔", "ナカムラ ダイスケ", ((GYO, 2),), 6),
    Waiting("CV-5011", "加藤 直子", "カトウ ナオコ", ((SEN, 1), (GYO, 1)), 1, "konbini"),
    Waiting("AB-5012", "吉田 恵", "ヨシダ メグミ", ((GYO, 2),), 1, "atobarai"),
)
# (days ago, yen, remitter as the bank prints it): exact ×2, ambiguous, short, over,
# bundled, an unknown payer (her amount is 小林's: the desk offers that order).
HANABI_STATEMENT = (
    (1, 3_240, "ｻﾄｳ ﾊﾅｺ"),
    (1, 12_960, "ｶ)ﾔﾏﾓﾄｼﾖｳﾃﾝ"),
    (1, 2_160, "ﾀｶﾊｼ ﾐｻｷ"),
    (0, 6_000, "ﾀﾅｶ ｹﾝ"),
    (0, 3_000, "ｲﾄｳ ﾕﾐ"),
    (0, 3_240, "ﾜﾀﾅﾍﾞ ｼﾖｳ"),
    (0, 4_320, "ｺﾊﾞﾔｼ ﾖｼｵ"),
)
KUMO = (
    Waiting("BT-7001", "森 結衣", "モリ ユイ", (), 2),
    Waiting("BT-7002", "森 結衣", "モリ ユイ", (), 1),
)


def seed_payments(db: Database, tenants: dict[str, Tenant]) -> None:
    """Payment settings, waiting orders and an imported statement for two demo shops."""
    now = utcnow()
    for slug, account in BANK_ACCOUNTS.items():
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        with db.tenant_session(tenant.id) as session:
            update_payment_settings(session, actor=SHOP_SYSTEM, version=0, data=account)
    if "hanabi-tea" in tenants:
        _seed_hanabi(db, tenants["hanabi-tea"], now)
    if "kumo-apparel" in tenants:
        _seed_kumo(db, tenants["kumo-apparel"], now)


def _order(session, tenant: Tenant, plan: Waiting, lines: list[dict], now: datetime):
    ordered = now - timedelta(days=plan.days_ago, hours=3)
    data = {
        "external_id": plan.number,
        "ordered_at": ordered.isoformat(),
        "customer": {"name": plan.name, "kana": plan.kana,
                     "email": f"{plan.number.lower()}@customers.example"},
        "ship_to": {"name": plan.name, "postal_code": "420-0858", "prefecture": "静岡県",
                    "city": "静岡市葵区", "street": f"伝馬町{plan.days_ago + 1}-{len(plan.number)}",
                    "phone": "054-200-1234"},
        "lines": lines,
        "payment_method": plan.method,
        "payment_status": "unpaid",
    }  # fmt: skip
    # Taken in when ordered: the older ones have waited days (the reminder lists them).
    return orders.intake(session, actor=SHOP_SYSTEM, data=data, channel="api", now=ordered)


def _seed_hanabi(db: Database, tenant: Tenant, now: datetime) -> None:
    prices = {SEN: 1_080, GYO: 2_160}
    with db.tenant_session(tenant.id) as session:
        for plan in HANABI:
            lines = [{"sku": sku, "quantity": q, "unit_price_yen": prices[sku]}
                     for sku, q in plan.lines]  # fmt: skip
            order = _order(session, tenant, plan, lines, now)
            if plan.method == "atobarai":
                held = {"event_id": f"np-{plan.number}-1", "type": "credit_result",
                        "result": "hold", "note": "審査中（本人確認）"}  # fmt: skip
                gates.record_event(session, actor=SHOP_SYSTEM, order_id=order.id, source="api",
                                   data=held)  # fmt: skip
    _import(db, tenant, HANABI_STATEMENT, now, "静岡銀行_入出金明細.csv")


def _seed_kumo(db: Database, tenant: Tenant, now: datetime) -> None:
    with db.tenant_session(tenant.id) as session:
        first = session.execute(
            select(Product.sku, Product.price_yen)
            .where(Product.status == "active").order_by(Product.sku).limit(1)
        ).first()  # fmt: skip
        if first is None:
            return
        sku, price = first
        for plan in KUMO:
            _order(session, tenant, plan, [{"sku": sku, "quantity": 1, "unit_price_yen": price}],
                   now)  # fmt: skip
    # One transfer, two orders of that amount by the same customer: a person decides.
    _import(db, tenant, ((0, price, "ﾓﾘ ﾕｲ"),), now, "三井住友_明細.csv")


def _import(db: Database, tenant: Tenant, rows, now: datetime, filename: str) -> None:
    zone = tenant.zone
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["取引日", "摘要", "お預入金額", "お引出金額", "差引残高"])
    balance = 1_250_000
    for days_ago, amount, remitter in rows:
        balance += amount
        day = (now - timedelta(days=days_ago)).astimezone(zone).strftime("%Y/%m/%d")
        writer.writerow([day, f"振込 {remitter}", f"{amount:,}", "", f"{balance:,}"])
    writer.writerow([now.astimezone(zone).strftime("%Y/%m/%d"), "ﾃｽｳﾘﾖｳ", "", "440", balance - 440])
    with db.tenant_session(tenant.id) as session:
        statements.import_statement(session, actor=SHOP_SYSTEM, filename=filename, now=now,
                                    data=buffer.getvalue().encode("cp932"))  # fmt: skip
