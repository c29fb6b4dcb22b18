"""Carrier files and packing slips: the Yamato B2 CSV of 10,000 shipments, and the packing
slips PDF of a 2,000-shipment wave.

B2 CSV: the shipments' label data is prepared once (varied names, addresses, COD, dates,
slots and cool types); the timed work is ``carrier_file``: every column of the data file's
map filled, formatted and checked against the carrier's limits (full-width widths), then
written as CP932 with CRLF. The same-run baseline is Python's ``csv.writer`` writing the
same prepared rows (the file's 97 cells per row, already filled) and encoding them: the
least any CSV writer has to do. Medians of interleaved rounds. Target: >= 0.5x.

Slips: one page per shipment, built as the wave's slip job builds them (lines per order
line, totals per tax rate, ※ for reduced-rate items) and rendered through
``platform.pdf``; the baseline is WeasyPrint rendering the same HTML alone.

``BENCH_SHIPMENTS`` makes a smaller run: that many B2 shipments, a fifth as many slips.
Nothing is asserted.
"""

from __future__ import annotations

import csv
import io
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from urakata.platform import pdf
from urakata.tenants.fulfilment.models import Shipment, ShipmentLine
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.shipping import documents
from urakata.tenants.shipping.carrier_files import LabelData, build_rows, carrier_file, load_map

SHIPMENTS = int(os.environ.get("BENCH_SHIPMENTS", "10000"))
SLIPS = max(1, SHIPMENTS // 5)
ROUNDS = 5
RATIO_TARGET = 0.5
NAMES = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健", "渡辺 さくら", "ｲﾄｳ ﾘｮｳ")
CITIES = (("東京都", "千代田区", "千代田1-1"), ("大阪府", "大阪市北区", "梅田3丁目1-1"),
          ("北海道", "札幌市中央区", "北一条西2丁目"), ("福岡県", "福岡市博多区", "博多駅前2-1-1"),
          ("愛知県", "名古屋市中村区", "名駅1丁目1-4"))  # fmt: skip
SLOTS = ("", "", "am", "14-16", "16-18", "18-20", "19-21")
ZONE = ZoneInfo("Asia/Tokyo")


def labels(count: int) -> list[LabelData]:
    rng = random.Random(15)
    ship = date(2026, 12, 1)
    made = []
    for n in range(count):
        prefecture, city, street = CITIES[n % len(CITIES)]
        cod = rng.random() < 0.2
        made.append(LabelData(
            reference=f"SH{n + 1:010d}", ship_date=ship,
            to_postal_code=f"{1000001 + n % 900000:07d}", to_address=f"{prefecture}{city}{street}",
            to_address_1=f"{prefecture}{city}", to_address_2=street,
            to_building=f"メゾン{n % 97}号室" if n % 3 else "", to_name=NAMES[n % len(NAMES)],
            to_phone=f"090-{n % 10000:04d}-{(n * 7) % 10000:04d}",
            sender_postal_code="1500001", sender_address="東京都渋谷区神宮前1-2-3",
            sender_address_1="東京都渋谷区神宮前1-2-3", sender_address_2="",
            sender_name="あかり雑貨 物流センター", sender_phone="03-1234-5678",
            invoice_kind="takkyubin_cod" if cod else "takkyubin",
            cool=("none", "none", "none", "chilled", "frozen")[n % 5],
            delivery_date=ship + timedelta(days=2) if n % 4 == 0 else None,
            delivery_slot=SLOTS[n % len(SLOTS)], item_name_1="雑貨",
            cod_amount_yen=rng.randrange(1000, 50000) if cod else None,
            cod_tax_yen=rng.randrange(90, 4500) if cod else None,
            billing_customer_code="012345678901", freight_code="01",
        ))  # fmt: skip
    return made


def csv_writer(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("cp932")


def b2_figures() -> None:
    prepared = labels(SHIPMENTS)
    column_map = load_map("yamato_b2")
    rows = build_rows(column_map, prepared)  # the baseline's input: cells already filled
    ours, base = [], []
    assert carrier_file(column_map, prepared) == csv_writer(rows)  # the same bytes
    for _ in range(ROUNDS):
        start = time.perf_counter()
        carrier_file(column_map, prepared)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        csv_writer(rows)
        base.append(time.perf_counter() - start)
    ours_rate = SHIPMENTS / statistics.median(ours)
    base_rate = SHIPMENTS / statistics.median(base)
    print(f"B2 CSV, {SHIPMENTS:,} shipments, 97 columns, CP932/CRLF (medians of {ROUNDS})")
    print(f"  carrier_file (fill, check widths, encode): {ours_rate:>12,.0f} rows/s")
    print(f"  csv.writer over the prepared rows:         {base_rate:>12,.0f} rows/s")
    ratio = ours_rate / base_rate
    verdict = "meets" if ratio >= RATIO_TARGET else "misses"
    print(f"  ratio {ratio:.2f}x ({verdict} the {RATIO_TARGET}x target)")


def slip_documents(count: int):
    """Transient shipments, orders and lines (never stored): what the slip job reads."""
    shipments, orders, lines = [], {}, {}
    for n in range(count):
        order = Order(id=n + 1, external_id=f"#{10001 + n}",
                      ordered_at=datetime(2026, 11, 30, 3, 0, tzinfo=UTC))  # fmt: skip
        orders[order.id] = order
        shipment = Shipment(id=n + 1, order_id=order.id, part=1, ship_name=NAMES[n % len(NAMES)],
                            ship_postal_code="1000001", ship_prefecture="13",
                            ship_city="千代田区", ship_street="千代田1-1",
                            ship_building="", gift_message="")  # fmt: skip
        picks = []
        for k in range(1 + n % 3):
            line_id = (n + 1) * 10 + k
            rate = 8 if k == 1 else 10
            lines[line_id] = OrderLine(id=line_id, line_no=k + 1, sku=f"SKU-{k}",
                                       name=("有田焼 湯呑み", "深蒸し煎茶 100g", "常滑焼 急須")[k],
                                       unit_price_yen=1080 * (k + 1), tax_rate=rate)  # fmt: skip
            picks.append(ShipmentLine(order_line_id=line_id, quantity=1 + k, sku=f"SKU-{k}"))
        shipment.lines = picks
        shipments.append(shipment)
    return shipments, orders, lines


def slips_html(count: int) -> str:
    shipments, orders, lines = slip_documents(count)
    slips = [documents.slip_data(s, orders[s.order_id], lines, 1, ZONE) for s in shipments]
    shop = {"name": "あかり雑貨", "address": "東京都渋谷区神宮前1-2-3", "phone": "03-1234-5678",
            "logo": "", "message": "またのご利用をお待ちしております。",
            "hide_prices": False}  # fmt: skip
    return (
        documents._env()
        .get_template("slips.html")
        .render(shop=shop, slips=slips, hide_prices=False, title="W-000001")
    )


def slip_figures() -> None:
    from weasyprint import HTML

    pdf.render("<p>warm</p>")  # a warm worker: fonts configured once per process
    start = time.perf_counter()
    rendered = pdf.render(slips_html(SLIPS))
    ours = time.perf_counter() - start
    html = slips_html(SLIPS)
    start = time.perf_counter()
    HTML(string=html).write_pdf()
    base = time.perf_counter() - start
    print(f"Packing slips, a wave of {SLIPS:,} shipments ({rendered.pages:,} pages)")
    print(f"  build + render through platform.pdf: {ours:8.1f} s, {rendered.pages / ours:6.1f}"
          " pages/s")  # fmt: skip
    print(f"  WeasyPrint alone on the same HTML:   {base:8.1f} s, {rendered.pages / base:6.1f}"
          " pages/s")  # fmt: skip
    print(f"  the app adds {100 * (ours / base - 1):+.0f}% to raw rendering")


def main() -> None:
    b2_figures()
    slip_figures()


if __name__ == "__main__":
    main()
