"""The nightly forecast of one shop: 5,000 SKUs with a year of daily sales.

The shop's orders are seeded straight into the bench database (one template order and
product made by the services, cloned by SQL; order lines by COPY): every SKU sells every
day as a Poisson count around its own level (a long tail from ~0.2 to ~20 pieces a
day) with its own weekly pattern, one order a day per block of 100 SKUs, a year long.

Timed, rounds alternating, medians:

* ``service``: :func:`urakata.tenants.planning.forecasts.forecast_shop` in a
  tenant-bound session of the application role, committed — the nightly job's forecast:
  reading the year of sales from the orders (one aggregate), fitting each SKU,
  the 80% range, safety stock and suggested reorder point, the accuracy of stored past
  forecasts, writing every SKU's forecast, the ledger event.
* ``library``: the same statsmodels models fitted and forecast on the same series, held
  in memory already (``ExponentialSmoothing(y, seasonal="add", seasonal_periods=7,
  initialization_method="heuristic").fit(use_brute=False).forecast(h)``), nothing else.

Both run in this one process (no pool for either); which runs first alternates by round.
Printed: SKUs/s of each and the ratio service/library; the target (issue 13) is >= 0.8x:
the app's own overhead stays small next to the fitting. ``BENCH_SKUS`` runs fewer SKUs
(e.g. ``BENCH_SKUS=500``), ``BENCH_ROUNDS`` another number of rounds. Nothing is asserted.
"""

from __future__ import annotations

import io
import os
import statistics
import time
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from bench.harness import bench_database
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders import services as orders
from urakata.tenants.planning import forecasts
from urakata.tenants.shop.services import onboard_shop
from urakata.tenants.stock.ledger import shop_today

SKUS = int(os.environ.get("BENCH_SKUS", "5000"))
DAYS = 365
BLOCK = 100  # SKUs per order
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HORIZON = 28
TARGET_RATIO = 0.8
ACTOR = Actor.system("bench: forecast")


def _columns(conn, table: str, leave_out: set[str]) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " AND is_generated = 'NEVER' AND identity_generation IS NULL ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in leave_out]


def _sales(rng: np.random.Generator) -> np.ndarray:
    """(SKUS, DAYS) pieces sold: each SKU its level and weekly pattern."""
    levels = np.exp(rng.normal(0.3, 1.1, SKUS)).clip(0.2, 20.0)
    weekly = 1 + rng.uniform(0, 0.8, (SKUS, 1)) * np.sin(
        2 * np.pi * (np.arange(DAYS)[None, :] + rng.integers(0, 7, (SKUS, 1))) / 7
    )
    return rng.poisson(levels[:, None] * weekly.clip(0.05, None))


def seed(bench) -> tuple:
    db = Database.from_url(bench.app_url, pool_size=2, max_overflow=0)
    with db.session() as session, session.begin():
        shop = onboard_shop(
            session,
            actor=ACTOR,
            link_key=b"bench",
            slug="bench-forecast",
            name="ベンチ予測店",
            timezone="Asia/Tokyo",
            admin_email="owner@bench-forecast.example",
            admin_name="予測 店主",
        ).tenant
    with db.tenant_session(shop.id) as session:
        today = shop_today(session)
        product = create_product(
            session,
            actor=ACTOR,
            data={"sku": "F-00000", "name": "予測商品 0", "price_yen": 1000, "status": "active"},
        )
        template = orders.intake(
            session,
            actor=ACTOR,
            channel="api",
            data={
                "external_id": "TEMPLATE",
                "customer": {"name": "山田 太郎"},
                "ship_to": {
                    "name": "山田 太郎",
                    "postal_code": "100-0001",
                    "prefecture": "東京都",
                    "city": "千代田区",
                    "street": "千代田1-1",
                    "phone": "090-1234-5678",
                },
                "lines": [{"sku": "F-00000", "quantity": 1, "unit_price_yen": 1000}],
                "payment_method": "card",
                "payment_status": "authorized",
            },
        )
    sales = _sales(np.random.default_rng(2026))
    first_day = today - timedelta(days=DAYS)
    blocks = (SKUS + BLOCK - 1) // BLOCK
    began = time.perf_counter()
    with psycopg.connect(bench.admin_url, autocommit=False) as conn:  # superuser: COPY past RLS
        conn.execute("UPDATE sales_order SET status = 'cancelled' WHERE id = %s", (template.id,))
        cols = _columns(conn, "product", {"id", "sku", "name"})
        conn.execute(
            f"INSERT INTO product ({', '.join(cols)}, sku, name)"  # noqa: S608 - our own names
            f" SELECT {', '.join(cols)}, 'F-' || lpad(g::text, 5, '0'), '予測商品 ' || g"
            " FROM product, generate_series(1, %s) g WHERE tenant_id = %s AND id = %s",
            (SKUS - 1, shop.id, product.id),
        )
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM product WHERE tenant_id = %s ORDER BY sku", (shop.id,)
            )
        ]
        cols = _columns(conn, "sales_order", {"id", "external_id", "ordered_at", "status"})
        start = datetime.combine(first_day, datetime.min.time(), tzinfo=shop.zone) + timedelta(
            hours=12
        )
        made = conn.execute(
            f"INSERT INTO sales_order ({', '.join(cols)}, external_id, ordered_at, status)"  # noqa: S608
            f" SELECT {', '.join(cols)}, 'BENCH-' || g, %s + (g / %s) * interval '1 day',"
            " 'confirmed' FROM sales_order, generate_series(0, %s) g"
            " WHERE tenant_id = %s AND id = %s RETURNING id, external_id",
            (start, blocks, DAYS * blocks - 1, shop.id, template.id),
        ).fetchall()
        order_of = {int(ext.removeprefix("BENCH-")): oid for oid, ext in made}
        lines = 0
        buffer = io.StringIO()
        for day in range(DAYS):
            for block in range(blocks):
                order_id = order_of[day * blocks + block]
                for n, sku in enumerate(range(block * BLOCK, min(SKUS, (block + 1) * BLOCK))):
                    q = int(sales[sku, day])
                    if q:
                        buffer.write(
                            f"{shop.id}\t{order_id}\t{n + 1}\tF-{sku:05d}\t{ids[sku]}"
                            f"\t予測商品\t{q}\t1000\t10\t{q * 1000}\n"
                        )
                        lines += 1
        with conn.cursor().copy(
            "COPY order_line (tenant_id, order_id, line_no, sku, product_id, name, quantity,"
            " unit_price_yen, tax_rate, amount_yen) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        conn.execute("ANALYZE sales_order")
        conn.execute("ANALYZE order_line")
        conn.commit()
    print(
        f"  seeded {SKUS:,} SKUs, {len(made):,} orders, {lines:,} order lines"
        f" in {time.perf_counter() - began:.1f} s"
    )
    return db, shop, today, sales


def library_round(series: list[np.ndarray]) -> float:
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y in series:
            ExponentialSmoothing(
                y,
                trend=None,
                seasonal="add",
                seasonal_periods=7,
                initialization_method="heuristic",
            ).fit(use_brute=False).forecast(HORIZON)
    return time.perf_counter() - began


def service_round(db: Database, shop_id, now: datetime) -> tuple[float, int]:
    began = time.perf_counter()
    with db.tenant_session(shop_id) as session:
        run = forecasts.forecast_shop(session, actor=ACTOR, now=now)
    return time.perf_counter() - began, run.skus


def main() -> None:
    print(f"\nNightly forecast: 1 shop x {SKUS:,} SKUs x {DAYS} days of sales, {ROUNDS} rounds")
    with bench_database("urakata_bench_forecast") as bench:
        db, shop, today, _sales_matrix = seed(bench)
        now = datetime.now(UTC)
        with db.tenant_session(shop.id) as session:  # the series exactly as the service reads them
            series = list(
                forecasts.sales_histories(session, today=shop_today(session, now)).values()
            )
        samples: dict[str, list[float]] = {"service": [], "library": []}
        for n in range(ROUNDS):
            # Which goes first alternates: the machine's load drifts within a round too.
            for name in ("service", "library") if n % 2 == 0 else ("library", "service"):
                if name == "service":
                    seconds, skus = service_round(db, shop.id, now)
                    samples["service"].append(skus / seconds)
                else:
                    samples["library"].append(len(series) / library_round(series))
            print(
                f"  round {n + 1}: service {samples['service'][-1]:7.1f} SKUs/s,"
                f" library {samples['library'][-1]:7.1f} SKUs/s"
            )
        service = statistics.median(samples["service"])
        library = statistics.median(samples["library"])
        ratio = service / library
        print(
            f"  service (nightly job's forecast) median {service:7.1f} SKUs/s"
            f"  ({SKUS / service:.1f} s for the shop)"
        )
        print(f"  library alone (statsmodels fits)  median {library:7.1f} SKUs/s")
        print(
            f"  ratio service/library {ratio:.2f}x (target >= {TARGET_RATIO}x)"
            f" {'ok' if ratio >= TARGET_RATIO else 'BELOW TARGET'}"
        )
        db.engine.dispose()


if __name__ == "__main__":
    main()
