"""Importing 50,000 products from CSV end to end, against PostgreSQL COPY of the same file.

The import is what the portal's job runs: decode and parse the file, map its header,
validate every row with the catalog's field rules, check SKUs and codes against the shop
(locking the products it changes), COPY the rows into a TEMP staging table, merge them
into ``product`` with ``INSERT … ON CONFLICT``, sync barcodes and append one ledger event
per product, all in one tenant-bound transaction that commits. Each round imports into a
new shop (inserts); a second figure re-imports the file with every price changed into
a shop that has it (updates).

The baseline, in the same run, is COPY of the same rows as the shop's tables hold them:
the 50,000 product rows and their 150,000 barcode rows, read back from the warm-up shop,
into two tables made ``LIKE product`` and ``LIKE product_barcode`` ``INCLUDING ALL``
(the same columns, checks, unique keys and indexes; no row-level security and no
foreign key, which COPY cannot load through). The ratio is taken against it: it is what
bulk loading these rows costs on this machine. The issue's two targets agree with this
baseline (10,000 rows/s is 0.15x of roughly 66,000), not with COPY of the CSV into a
bare table without indexes, which is also printed: 0.15x of that would be seven times
the rows/s target.

Targets (issue 6): >= 10,000 rows/s and >= 0.15x the COPY baseline. Nothing is asserted.
"""

from __future__ import annotations

import statistics
import time
import uuid

from bench.harness import bench_database, copy_shaped, stored_rows
from urakata.platform.audit import Actor
from urakata.platform.codes import gtin_check_digit, itf14_for
from urakata.platform.db import Database, make_engine
from urakata.platform.tenancy import create_tenant
from urakata.tenants.catalog import csvio

ROWS = 50_000
ROUNDS = 3
RATE_TARGET = 10_000
RATIO_TARGET = 0.15
SHAPED = ("product", "product_barcode")  # the baseline copies the rows of these tables
ACTOR = Actor(type="user", id=str(uuid.uuid4()), label="商品 登録", request_id="r-bench")
HEADER = (
    "商品コード,JANコード,商品名,商品名(英語),販売価格,税率,販売開始日時,状態,縦(mm),横(mm),"
    "高さ(mm),重量(g),温度帯,ロット管理,ケース入数,ITF-14,バーコード"
)
BASELINE_TABLE = """
CREATE TABLE bench_copy_product (
    sku text, jan text, name text, name_en text, price_yen integer, tax_rate integer,
    sale_starts_at timestamptz, status text, length_mm integer, width_mm integer,
    height_mm integer, weight_g integer, temperature_zone text, lot_tracked text,
    case_quantity integer, case_itf14 text, barcodes text
)
"""


def jan(n: int) -> str:
    body = f"45{n:010d}"
    return body + str(gtin_check_digit(body))


def product_csv(rows: int = ROWS, price_offset: int = 0) -> bytes:
    """Valid products of a tea and sweets shop: 8% food, some chilled, cases with ITF-14."""
    lines = [HEADER]
    for n in range(1, rows + 1):
        code = jan(n)
        chilled = n % 5 == 0
        lines.append(
            ",".join(
                (
                    f"BENCH-{n:06d}",
                    code,
                    f"静岡 深蒸し煎茶 {n} 番 100g" if not chilled else f"水ようかん {n} 号 6個入",
                    f"Fukamushi sencha no. {n}",
                    str(800 + n % 2_000 + price_offset),
                    "8",
                    "2026-12-01 10:00",
                    "販売中",
                    str(100 + n % 200),
                    str(80 + n % 100),
                    str(20 + n % 60),
                    str(100 + n % 3_000),
                    "冷蔵" if chilled else "常温",
                    "はい" if chilled else "いいえ",
                    "24",
                    itf14_for(code, 1),
                    f"HT{n:06d}",
                )
            )
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _new_shop(db: Database, n: int) -> uuid.UUID:
    with db.platform_session() as session:
        return create_tenant(session, f"bench-catalog-{n}", f"ベンチ茶舗 {n}").id


class LedgerClock:
    """Times ``audit.record_many`` inside the import (the call itself is unchanged)."""

    def __init__(self):
        self.seconds = 0.0
        self.real = csvio.audit.record_many

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.real(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def import_file(db: Database, shop: uuid.UUID, data: bytes) -> dict[str, float]:
    """One end-to-end import, committed; returns seconds per phase."""
    phases = {}
    clock = LedgerClock()
    csvio.audit.record_many = clock
    try:
        start = time.perf_counter()
        with db.tenant_session(shop) as session:
            parsed = csvio.read_csv(data)
            phases["decode + parse + map"] = time.perf_counter() - start
            check = csvio.check_import(session, parsed, lock=True)
            assert check.ok, check.errors[:5]
            phases["validate + plan"] = time.perf_counter() - start - sum(phases.values())
            csvio.import_products(session, actor=ACTOR, check=check)
            spent = time.perf_counter() - start - sum(phases.values())
            phases["COPY + merge + barcodes"] = spent - clock.seconds
            phases["ledger (record_many)"] = clock.seconds
            committing = time.perf_counter()
        phases["commit"] = time.perf_counter() - committing
        phases["total"] = time.perf_counter() - start
    finally:
        csvio.audit.record_many = clock.real
    return phases


def copy_file(owner_url: str, data: bytes) -> float:
    engine = make_engine(owner_url)
    try:
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE bench_copy_product")
            driver = conn.connection.driver_connection
            with driver.cursor() as cursor:
                sql = "COPY bench_copy_product FROM STDIN (FORMAT csv, HEADER true)"
                with cursor.copy(sql) as copy:
                    copy.write(data[3:])  # without the BOM, as PostgreSQL expects
        return time.perf_counter() - start
    finally:
        engine.dispose()


def main() -> None:
    data = product_csv()
    repriced = product_csv(price_offset=100)
    print(f"\nCatalog import: {ROWS:,} products from CSV ({len(data) / 1e6:.1f} MB, UTF-8)")
    with bench_database("urakata_bench_catalog") as bench:
        owner = make_engine(bench.owner_url)
        with owner.begin() as conn:
            conn.exec_driver_sql(BASELINE_TABLE)
        owner.dispose()
        db = Database.from_url(bench.app_url)
        shops = [_new_shop(db, n) for n in range(ROUNDS + 1)]
        import_file(db, shops[0], data)  # warm-up: caches, plans, imports
        stored = stored_rows(bench.admin_url, shops[0], SHAPED)
        copy_file(bench.owner_url, data)
        copy_shaped(bench.owner_url, SHAPED, stored)
        imports, updates, copies, shaped = [], [], [], []
        for shop in shops[1:]:
            imports.append(import_file(db, shop, data))
            copies.append(copy_file(bench.owner_url, data))
            shaped.append(copy_shaped(bench.owner_url, SHAPED, stored))
        for shop in shops[1:]:
            updates.append(import_file(db, shop, repriced))
        db.dispose()
    _report(imports, updates, copies, shaped)


def _report(imports, updates, copies, shaped) -> None:
    total = statistics.median(p["total"] for p in imports)
    update_total = statistics.median(p["total"] for p in updates)
    copy, bare = statistics.median(shaped), statistics.median(copies)
    rate, copy_rate = ROWS / total, ROWS / copy
    print(f"  medians of {len(imports)} rounds, each into a new shop (inserts):")
    for phase in imports[0]:
        seconds = statistics.median(p[phase] for p in imports)
        print(f"    {phase:<24} {seconds:7.3f} s  {seconds / total:4.0%}")
    label = f"import ({ROWS:,} new)"
    print(f"  {label:<27}{total:7.3f} s  {rate:>9,.0f} rows/s")
    print(
        f"  re-import, all repriced    {update_total:7.3f} s  {ROWS / update_total:>9,.0f} rows/s"
    )
    print(f"  COPY baseline (same rows)  {copy:7.3f} s  {copy_rate:>9,.0f} rows/s")
    print(
        f"  COPY of the CSV, bare      {bare:7.3f} s  {ROWS / bare:>9,.0f} rows/s"
        "  (not the baseline)"
    )
    ratio = rate / copy_rate
    print(
        f"  import / COPY = {ratio:.2f}x ({'meets' if ratio >= RATIO_TARGET else 'BELOW'}"
        f" the {RATIO_TARGET}x target); {rate:,.0f} rows/s"
        f" ({'meets' if rate >= RATE_TARGET else 'BELOW'} the {RATE_TARGET:,} rows/s target)"
    )


if __name__ == "__main__":
    main()
