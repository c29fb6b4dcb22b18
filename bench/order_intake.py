"""Taking orders in over the API, against the same rows inserted by raw psycopg.

Four client threads, each with its own ``http.client`` connection, POST orders of five
lines (real Japan Post addresses, active products of the shop, card payments, each with
its own ``Idempotency-Key``) to ``/api/v1/orders`` of a gunicorn started here on the
bench database, as production runs it (``urakata.portal.wsgi:app``, production mode, the
application role). Every order goes the whole way: API key, idempotency claim, schema,
SKU / address / duplicate checks, totals, ledger events, ship-by clock, 201 with the
order. No relay or worker runs: whatever reaches the outbox waits there. The API has no
rate limit to lift (Settings limits logins only).

The baseline, in the same run and rounds alternating: four threads with their own
psycopg connections (application role, ``SET LOCAL app.tenant_id``, RLS on) INSERT the
same rows — the order and its five lines — in one transaction per order.

Gunicorn runs 2 sync workers (``GUNICORN``): a request is CPU-bound Python (the order
request costs about 4 ms of CPU in-process, 13 statements), so one process per
core is the most the machine can use; more processes (4 sync) only add switching, and
threads (gthread 2×2) share a worker's GIL. Both variants came out lower than 2 sync on
this 2-core machine. Sync workers do not keep connections alive: the clients reconnect
per request (in production the load balancer's connections are short anyway).

Target (issue 8): >= 200 orders/s on this 2-core machine. Nothing is asserted.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.harness import bench_database
from bench.spine import throwaway_redis
from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.devservers import answers_health, free_port
from urakata.tenants.catalog.services import create_product
from urakata.tenants.shop.services import onboard_shop

CLIENTS = 4
ORDERS_PER_CLIENT = 250
ROUNDS = 3
WARMUP_PER_CLIENT = 25
LINES = 5
PRODUCTS = 50
RATE_TARGET = 200
GUNICORN = ("--worker-class=sync", "--workers=2")
ACTOR = Actor.system("bench")

# Japan Post knows each of these: (postal code, prefecture, city, street).
ADDRESSES = (
    ("100-0001", "東京都", "千代田区", "千代田1-1"),
    ("150-0001", "東京都", "渋谷区", "神宮前4-5-6"),
    ("530-0001", "大阪府", "大阪市北区", "梅田3-1-3"),
)
CUSTOMERS = (
    ("山田 花子", "ヤマダ ハナコ", "090-1234-5678"),
    ("佐藤 健太", "サトウ ケンタ", "080-2345-6789"),
    ("鈴木 美咲", "スズキ ミサキ", "03-3210-4567"),
    ("高橋 翔", "タカハシ ショウ", "06-6345-7890"),
)


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    price_yen: int
    tax_rate: int
    product_id: int


@dataclass(frozen=True)
class Round:
    seconds: float
    latencies: list[float]  # seconds per order

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1]


def order_body(n: int, tag: str, items: list[Item]) -> dict:
    """The n-th order of a round: a customer of its own (no duplicate holds), five lines."""
    postal_code, prefecture, city, street = ADDRESSES[n % len(ADDRESSES)]
    name, kana, phone = CUSTOMERS[n % len(CUSTOMERS)]
    picked = [items[(n * 7 + k * 11) % len(items)] for k in range(LINES)]
    return {
        "external_id": f"{tag}-{n:06d}",
        "customer": {"name": name, "kana": kana, "email": f"c{tag}{n}@example.jp", "phone": phone},
        "ship_to": {
            "name": name,
            "postal_code": postal_code,
            "prefecture": prefecture,
            "city": city,
            "street": street,
            "building": "",
            "phone": phone,
        },
        "lines": [
            {"sku": item.sku, "quantity": 1 + (n + k) % 3, "unit_price_yen": item.price_yen}
            for k, item in enumerate(picked)
        ],
        "payment_method": "card",
        "payment_status": "authorized",
        "shipping_fee_yen": 0,
    }


def _bench_products() -> list[dict]:
    teas = ("煎茶", "玉露", "ほうじ茶", "玄米茶", "抹茶")
    return [
        {
            "sku": f"BENCH-{n:03d}",
            "name": f"静岡 {teas[n % len(teas)]} {n} 番 100g",
            "price_yen": 540 + 108 * (n % 20),
            "tax_rate": 8,
            "status": "active",
            "length_mm": 150,
            "width_mm": 100,
            "height_mm": 30,
            "weight_g": 120,
        }
        for n in range(1, PRODUCTS + 1)
    ]


def set_up_shop(db: Database) -> tuple[uuid.UUID, list[Item], str]:
    """A tea shop with its settings, 50 active products and an API key."""
    with db.session() as session, session.begin():
        shop = onboard_shop(
            session,
            actor=ACTOR,
            link_key=b"bench",
            slug="bench-orders",
            name="ベンチ茶舗",
            timezone="Asia/Tokyo",
            admin_email="owner@bench-orders.example",
            admin_name="茶舗 店主",
        ).tenant
    with db.tenant_session(shop.id) as session:
        products = [create_product(session, actor=ACTOR, data=d) for d in _bench_products()]
        items = [Item(p.sku, p.name, p.price_yen, p.tax_rate, p.id) for p in products]
    with db.platform_session() as session:
        _key, token = create_api_key(session, shop.id, "bench: 受注連携", actor=ACTOR)
    return shop.id, items, token


# -- the API ---------------------------------------------------------------------------------


@contextmanager
def gunicorn(
    app_url: str,
    redis_url: str,
    args=GUNICORN,
    app: str = "urakata.portal.wsgi:app",
    extra_env: dict[str, str] | None = None,
) -> Iterator[int]:
    """The portal (or ``app``) under gunicorn on a free port, up when /healthz answers;
    yields the port."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="urakata-bench-gunicorn-")) / "gunicorn.log"
    env = dict(
        os.environ,
        URAKATA_MODE="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=app_url,
        REDIS_URL=redis_url,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    )
    command = [str(Path(sys.executable).parent / "gunicorn"), *args, f"--bind=127.0.0.1:{port}"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, app],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until(lambda: answers_health(port) or server.poll() is not None, 60)
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f}s")
        time.sleep(0.1)


class ApiClient:
    """One client of the shop's systems: its own connection, one order after another."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post_order(self, body: dict) -> None:
        headers = {**self.headers, "Idempotency-Key": f"bench-{body['external_id']}"}
        self.connection.request("POST", "/api/v1/orders", json.dumps(body), headers)
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 201:
            raise RuntimeError(f"POST /api/v1/orders answered {response.status}: {answer[:500]!r}")
        if json.loads(answer)["status"] != "released":
            raise RuntimeError(f"the order was not released: {answer[:500]!r}")

    def close(self) -> None:
        self.connection.close()


def concurrently(work: Callable[[int], list[float]]) -> Round:
    """Run ``work(client)`` in CLIENTS threads started together; their latencies, wall time."""
    results: dict[int, list[float]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(CLIENTS + 1)

    def client(n: int) -> None:
        start.wait()
        try:
            results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 - reported after the round
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return Round(seconds, [lat for n in sorted(results) for lat in results[n]])


def api_round(port: int, token: str, items: list[Item], tag: str, per_client: int) -> Round:
    def work(client: int) -> list[float]:
        api = ApiClient(port, token)
        bodies = [order_body(n, f"{tag}{client}", items) for n in range(per_client)]
        latencies = []
        try:
            for body in bodies:
                began = time.perf_counter()
                api.post_order(body)
                latencies.append(time.perf_counter() - began)
        finally:
            api.close()
        return latencies

    return concurrently(work)


# -- the baseline ----------------------------------------------------------------------------

INSERT_ORDER = """
INSERT INTO sales_order (tenant_id, channel, external_id, ordered_at, status, holds, version,
    customer_name, customer_kana, customer_email, customer_phone, ship_name, ship_postal_code,
    ship_prefecture, ship_city, ship_street, ship_building, ship_phone, gift_wrap, noshi,
    payment_method, payment_status, items_yen, shipping_fee_yen, fee_yen, discount_yen,
    total_yen, tax_8_yen, tax_10_yen, notes, duplicate_key, shippable_at, ship_by_date,
    ship_by_at, confirmed_at, released_at, cancel_reason, created_at, updated_at)
VALUES (%s, 'api', %s, %s, 'released', '[]', 3, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
    false, '', 'card', 'authorized', %s, 0, 0, 0, %s, %s, 0, '', %s, %s, %s, %s, %s, %s, '',
    %s, %s)
RETURNING id
"""
INSERT_LINE = """
INSERT INTO order_line (tenant_id, order_id, line_no, sku, product_id, name, quantity,
    unit_price_yen, tax_rate, amount_yen)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
PREFECTURE_CODES = {"東京都": "13", "大阪府": "27"}


def order_rows(shop: uuid.UUID, body: dict, items: dict[str, Item]) -> tuple[tuple, list]:
    """The values the order service stores for ``body``: its order row and its line rows."""
    now = datetime.now(UTC)
    ship, customer = body["ship_to"], body["customer"]
    amounts = [line["quantity"] * line["unit_price_yen"] for line in body["lines"]]
    total = sum(amounts)
    ship_by = now + timedelta(days=1)
    order = (
        shop, body["external_id"], now, customer["name"], customer["kana"], customer["email"],
        customer["phone"].replace("-", ""), ship["name"], ship["postal_code"].replace("-", ""),
        PREFECTURE_CODES[ship["prefecture"]], ship["city"], ship["street"], ship["building"],
        ship["phone"].replace("-", ""), total, total, total * 8 // 108,
        hashlib.sha256(body["external_id"].encode()).digest(), now, ship_by.date(), ship_by,
        now, now, now, now,
    )  # fmt: skip
    lines = []
    for n, (line, amount) in enumerate(zip(body["lines"], amounts, strict=True), start=1):
        item = items[line["sku"]]
        lines.append(
            (n, item.sku, item.product_id, item.name, line["quantity"], line["unit_price_yen"],
             item.tax_rate, amount)
        )  # fmt: skip
    return order, lines


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def psycopg_round(
    app_url: str, shop: uuid.UUID, items: list[Item], tag: str, per_client: int
) -> Round:
    by_sku = {item.sku: item for item in items}
    set_tenant = f"SET LOCAL app.tenant_id = '{uuid.UUID(str(shop))}'"

    def work(client: int) -> list[float]:
        bodies = [order_body(n, f"{tag}{client}", items) for n in range(per_client)]
        latencies = []
        with psycopg.connect(libpq_url(app_url), autocommit=True) as conn:
            for body in bodies:
                began = time.perf_counter()
                order, lines = order_rows(shop, body, by_sku)
                with conn.transaction(), conn.cursor() as cursor:
                    cursor.execute(set_tenant)
                    order_id = cursor.execute(INSERT_ORDER, order).fetchone()[0]
                    cursor.executemany(INSERT_LINE, [(shop, order_id, *line) for line in lines])
                latencies.append(time.perf_counter() - began)
        return latencies

    return concurrently(work)


# -- the run ---------------------------------------------------------------------------------


def main(gunicorn_args: tuple[str, ...] = GUNICORN) -> None:
    total = CLIENTS * ORDERS_PER_CLIENT
    print(
        f"\nOrder intake over the API: {CLIENTS} clients × {ORDERS_PER_CLIENT} orders of"
        f" {LINES} lines, {ROUNDS} rounds (gunicorn {' '.join(gunicorn_args)})"
    )
    with bench_database("urakata_bench_orders") as bench, throwaway_redis() as redis_url:
        db = Database.from_url(bench.app_url)
        shop, items, token = set_up_shop(db)
        db.dispose()
        api, raw = [], []
        with gunicorn(bench.app_url, redis_url, gunicorn_args) as port:
            api_round(port, token, items, "W", WARMUP_PER_CLIENT)
            psycopg_round(bench.app_url, shop, items, "w", WARMUP_PER_CLIENT)
            for n in range(ROUNDS):
                api.append(api_round(port, token, items, f"A{n}", ORDERS_PER_CLIENT))
                raw.append(psycopg_round(bench.app_url, shop, items, f"P{n}", ORDERS_PER_CLIENT))
        stored = _stored(bench.admin_url, shop)
    _report(api, raw, total, stored)


def _stored(admin_url: str, shop: uuid.UUID) -> dict[str, int]:
    with psycopg.connect(libpq_url(admin_url)) as conn:
        rows = conn.execute(
            "SELECT channel, status, count(*) FROM sales_order WHERE tenant_id = %s GROUP BY 1, 2",
            (shop,),
        ).fetchall()
        counts = {f"{channel}/{status}": n for channel, status, n in rows}
        counts["outbox"] = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return counts


def _report(api: list[Round], raw: list[Round], total: int, stored: dict[str, int]) -> None:
    print(f"  medians of {len(api)} rounds of {total:,} orders each")
    print(f"    {'':<26} {'orders/s':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for label, rounds in (("POST /api/v1/orders", api), ("raw psycopg INSERTs", raw)):
        rate = statistics.median(r.rate for r in rounds)
        p50 = statistics.median(r.percentile(50) for r in rounds)
        p95 = statistics.median(r.percentile(95) for r in rounds)
        print(f"    {label:<26} {rate:9,.0f} {p50 * 1e3:8.1f} {p95 * 1e3:8.1f}")
    rate = statistics.median(r.rate for r in api)
    ratio = rate / statistics.median(r.rate for r in raw)
    print(
        f"  API / raw psycopg = {ratio:.2f}x; {rate:,.0f} orders/s"
        f" ({'meets' if rate >= RATE_TARGET else 'BELOW'} the {RATE_TARGET} orders/s target)"
    )
    api_orders = sum(n for key, n in stored.items() if key.startswith("api/"))
    released = stored.get("api/released", 0)
    print(
        f"  stored: {api_orders:,} orders (API and baseline), {released:,} released;"
        f" outbox rows waiting (no relay): {stored['outbox']:,}"
    )


if __name__ == "__main__":
    main()
