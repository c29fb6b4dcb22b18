"""The order CSV export job: the shop's orders (the list's filters), one row per line.

The portal starts the task (``portal.shop.order_views.export_orders``); this job reads the
orders in keyset batches, reporting progress to the task row and ``job.meta``, and leaves
the file (base64) in the task's result, where only the shop's own download page finds it.
Cells a spreadsheet would run as formulas are neutralised; times are in the shop's zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from urakata.platform import jpaddress
from urakata.platform.csvfiles import neutralise
from urakata.platform.db import UrakataSession
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import OrderFilter, _filtered, list_orders
from urakata.worker.csv_exports import write_csv_export
from urakata.worker.runtime import Context, tenant_job
from urakata.worker.task_jobs import task_failed

# The same names as urakata.portal.shop.order_views (the worker may not import the portal).
EXPORT_KIND = "orders.export"
EXPORT_JOB = "orders.export_csv"
EXPORT_QUEUE = "default"
BATCH = 500

# (column, Japanese header); values in Japanese where the portal shows them so.
COLUMNS = (
    ("external_id", "注文番号"),
    ("channel", "受注経路"),
    ("ordered_at", "注文日時"),
    ("status", "ステータス"),
    ("holds", "保留理由"),
    ("payment_method", "支払方法"),
    ("payment_status", "入金状況"),
    ("ship_by_at", "出荷期限"),
    ("customer_name", "注文者名"),
    ("customer_kana", "注文者名(カナ)"),
    ("customer_email", "注文者メールアドレス"),
    ("customer_phone", "注文者電話番号"),
    ("ship_name", "お届け先氏名"),
    ("ship_postal_code", "お届け先郵便番号"),
    ("ship_prefecture", "お届け先都道府県"),
    ("ship_city", "お届け先市区町村"),
    ("ship_street", "お届け先番地"),
    ("ship_building", "お届け先建物名"),
    ("ship_phone", "お届け先電話番号"),
    ("delivery_date", "配達希望日"),
    ("delivery_slot", "配達希望時間帯"),
    ("gift_wrap", "ギフト包装"),
    ("noshi", "のし"),
    ("line_no", "明細番号"),
    ("sku", "商品コード"),
    ("name", "商品名"),
    ("quantity", "数量"),
    ("unit_price_yen", "単価(税込)"),
    ("tax_rate", "税率"),
    ("amount_yen", "金額(税込)"),
    ("items_yen", "商品合計"),
    ("shipping_fee_yen", "送料"),
    ("fee_yen", "手数料"),
    ("discount_yen", "値引き"),
    ("total_yen", "注文合計"),
    ("tax_8_yen", "内消費税(8%)"),
    ("tax_10_yen", "内消費税(10%)"),
    ("notes", "備考"),
    ("cancel_reason", "キャンセル理由"),
)
VALUES_JA = {
    "status": {"received": "受付", "on_hold": "保留中", "confirmed": "確認済み",
               "released": "引当待ち", "allocated": "引当済み",
               "cancelled": "キャンセル"},
    "payment_method": {"card": "クレジットカード", "bank_transfer": "銀行振込", "cod": "代金引換",
                       "konbini": "コンビニ払い", "atobarai": "後払い", "other": "その他"},
    "payment_status": {"unpaid": "未入金", "authorized": "与信済み", "paid": "入金済み",
                       "refunded": "返金済み"},
    "channel": {"manual": "手入力", "csv": "CSV取込", "rakuten": "楽天市場"},
    "delivery_slot": {"am": "午前中", "14-16": "14時～16時", "16-18": "16時～18時",
                      "18-20": "18時～20時", "19-21": "19時～21時"},
}  # fmt: skip
LINE_COLUMNS = frozenset({"line_no", "sku", "name", "quantity", "unit_price_yen", "tax_rate",
                          "amount_yen"})  # fmt: skip


def _cell(name: str, value, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if name == "ship_prefecture":
        return jpaddress.PREFECTURES.get(value, value)
    if name == "ship_postal_code" and len(value) == 7 and value.isdigit():
        return jpaddress.format_postal_code(value)
    return VALUES_JA.get(name, {}).get(value, str(value))


def order_rows(order: Order, zone: ZoneInfo) -> Iterator[list[str]]:
    """One row per line of ``order``, every cell a neutralised string."""
    for line in order.lines:
        row = []
        for name, _header in COLUMNS:
            if name == "holds":
                value = " / ".join(order.hold_codes)
            else:
                value = getattr(line if name in LINE_COLUMNS else order, name)
            row.append(neutralise(_cell(name, value, zone)))
        yield row


def _filters(**given) -> OrderFilter:
    until = given.get("ship_by_until")
    return OrderFilter(
        status=given.get("status") or None,
        hold=given.get("hold") or None,
        payment_status=given.get("payment_status") or None,
        ship_by_until=date.fromisoformat(until) if until else None,
        query=given.get("query") or "",
    )


@tenant_job(
    EXPORT_JOB,
    queue=EXPORT_QUEUE,
    retry_intervals=(30, 300),
    timeout=3600,
    on_failure=task_failed,
)
def export_orders(
    session: UrakataSession,
    ctx: Context,
    *,
    task_id: str,
    encoding: str = "utf-8",
    **given,
) -> dict:
    """Write the shop's matching orders as CSV; the file and figures are the task's result."""
    zone = session.get(Tenant, session.tenant_id).zone
    filters = _filters(**given)
    # TODO(orders services): a public count_orders(session, filters) would replace _filtered.
    total = session.scalar(select(func.count()).select_from(_filtered(select(Order.id), filters)
                                                            .subquery()))  # fmt: skip

    def pages():
        after = None
        while True:
            page = list_orders(session, filters, after_id=after, limit=BATCH)
            rows = []
            for order in page.items:
                rows.extend(order_rows(order, zone))
                session.expunge(order)  # batches must not pile up in the identity map
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
        counted="orders",
        file_stem="orders",
        event="orders.exported",
        filters={k: v for k, v in given.items() if v},
    )
