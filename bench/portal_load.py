"""The portal under load: 16 operators reading orders at once, on a year of 50 shops.

The world: 50 shops (onboarded by the real service, settings and first admin included)
and 500,000 orders spread over the past year (bigger and smaller shops), with their
lines, their catalog products and one ``order.received`` ledger event each (real hash
chains, the heads moved after them). Shops, people and their memberships go through the
services; products, orders, lines and events by binary COPY (``cursor.copy``), as the
database owner, with explicit ids and the identity sequences moved past them. Orders
older than four days are shipped (some cancelled); the last four days hold the open work
(received, on hold with a reason, confirmed, released, allocated … packed), each with
its payment state and, once shippable, its ship-by clock by the shop's 14:00 cutoff.
What no measured page reads is not seeded: stock, allocations, shipments, payments.

The load: CLIENTS operators (agency staff, each assigned to SHOPS_PER_OPERATOR shops) log
in through the real pages first (password, then the TOTP form with the code of their
known secret), each with its own address behind a trusted proxy (``X-Forwarded-For``,
``TRUSTED_PROXIES=1``) so the per-address login limit sees 16 people. Then each client,
with no think time, goes round its pages: the operator's order queue across its shops,
an order page (a random order of one of its shops; the look is recorded on the shop's
ledger, as it is for staff), the shop dashboard and the shop's own order list.

The baseline, in the same run on the same gunicorn settings: a minimal Flask page that
reads one order by its key (application role, ``SET LOCAL app.tenant_id``, RLS on) and
answers a line of HTML. Rounds alternate portal and baseline so machine noise hits both.

Gunicorn runs ``GUNICORN`` for both; the clients reconnect per request (sync workers do
not keep connections alive). Targets (issue 17): p95 <= 200 ms and throughput >= 0.3x the
baseline. Nothing is asserted; the figures are printed.

Shrink it for a quick run: BENCH_LOAD_SHOPS, BENCH_LOAD_ORDERS, BENCH_LOAD_SECONDS (the
total per side, split over BENCH_LOAD_ROUNDS), BENCH_LOAD_CLIENTS. BENCH_LOAD_GUNICORN
sets other server arguments (both sides). BENCH_LOAD_KEEP=1 keeps the seeded database and
reads its world back on the next run (a kept database is migrated to head, but a revision
edited after it was applied is not applied again: drop the database then).

What bounds it on a 2-core machine is CPU: measured in-process with the test client, a
portal page costs about 9.5 ms of CPU (the queue of five shops and an order page ~9.5 ms,
a list of 50 ~5.5, the dashboard ~2.7: the request's own plumbing, the queries, Jinja),
the baseline 0.6 ms.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.client
import os
import random
import re
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
import pyotp
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from bench.harness import BenchDatabase, bench_database
from bench.order_intake import gunicorn, libpq_url
from bench.spine import throwaway_redis
from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.calendar import calendar_for, ship_by
from urakata.platform.db import Database
from urakata.platform.dbroles import bootstrap_database
from urakata.platform.fields import N_
from urakata.platform.identity import Role, assign_operator, get_user_by_email, invite_user
from urakata.platform.migrate import upgrade_head
from urakata.platform.passwords import hash_password
from urakata.tenants.catalog.models import Product
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.orders.services import hold
from urakata.tenants.shop.services import onboard_shop


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


SHOPS = _env_int("BENCH_LOAD_SHOPS", 50)
ORDERS = _env_int("BENCH_LOAD_ORDERS", 500_000)
SECONDS = _env_int("BENCH_LOAD_SECONDS", 60)
ROUNDS = _env_int("BENCH_LOAD_ROUNDS", 3)
# BENCH_LOAD_KEEP=1: keep the seeded database (named by SEED_VERSION and the sizes) on
# BENCH_DATABASE_URL / TEST_DATABASE_URL and use it again next time; bump SEED_VERSION
# when the seed changes.
KEEP = os.environ.get("BENCH_LOAD_KEEP", "") not in ("", "0")
SEED_VERSION = 1
CLIENTS = _env_int("BENCH_LOAD_CLIENTS", 16)
SHOPS_PER_OPERATOR = 5
PRODUCTS_PER_SHOP = 40
HISTORY_DAYS = 365
OPEN_DAYS = 4  # orders younger than this are still being worked
WARMUP_SECONDS = 5
P95_TARGET_MS = 200
RATIO_TARGET = 0.3
GUNICORN = tuple(
    (os.environ.get("BENCH_LOAD_GUNICORN") or "--worker-class=sync --workers=2").split()
)
PASSWORD = "ベンチ用の長い合言葉 2026"  # noqa: S105 - the bench operators' own
ACTOR = Actor.system("bench")
INTAKE = Actor.system("受注連携")
ZONE = ZoneInfo("Asia/Tokyo")
CUTOFF = clock_time(14, 0)
PAGES = ("order queue", "order page", "shop dashboard", "shop order list")

# (postal code, prefecture code, city, street): addresses Japan Post knows.
ADDRESSES = (
    ("1000001", "13", "千代田区", "千代田1-1"),
    ("1500001", "13", "渋谷区", "神宮前4-5-6"),
    ("5300001", "27", "大阪市北区", "梅田3-1-3"),
    ("4600008", "23", "名古屋市中区", "栄3-5-12"),
    ("8120011", "40", "福岡市博多区", "博多駅前2-1-1"),
    ("0600001", "01", "札幌市中央区", "北一条西4-2"),
    ("9800021", "04", "仙台市青葉区", "中央1-3-1"),
    ("7300011", "34", "広島市中区", "基町6-78"),
)
SURNAMES = (("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"),
            ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"),
            ("中村", "ナカムラ"))  # fmt: skip
GIVEN = (("花子", "ハナコ"), ("健太", "ケンタ"), ("美咲", "ミサキ"), ("翔", "ショウ"),
         ("陽菜", "ヒナ"), ("大輔", "ダイスケ"), ("さくら", "サクラ"), ("蓮", "レン"))  # fmt: skip
GOODS = ("煎茶", "玉露", "ほうじ茶", "手ぬぐい", "湯呑み", "急須", "和紙便箋", "線香", "干し椎茸",
         "梅干し", "柚子胡椒", "昆布")  # fmt: skip
CHANNELS = (("shopify", 40), ("rakuten", 25), ("amazon", 15), ("csv", 10), ("api", 7),
            ("manual", 3))  # fmt: skip
METHODS = (("card", 55), ("cod", 15), ("bank_transfer", 10), ("konbini", 10), ("atobarai", 10))
OPEN_STATUSES = (("received", 10), ("on_hold", 10), ("confirmed", 12), ("released", 20),
                 ("allocated", 12), ("instructed", 8), ("inspected", 5), ("packed", 5),
                 ("shipped", 15), ("cancelled", 3))  # fmt: skip


# -- the world -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    id: uuid.UUID
    slug: str


@dataclass(frozen=True)
class Operator:
    email: str
    secret: str
    shops: tuple[Shop, ...]


@dataclass
class World:
    shops: list[Shop]
    operators: list[Operator]
    orders: dict[uuid.UUID, list[int]]  # order ids of each shop
    counts: dict[str, int] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)  # seconds the seed took, by step


def _weighted(rng: random.Random, pairs) -> list:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights, k=1)[0]


def totp_secret(email: str) -> str:
    """An operator's TOTP secret, made from the address (a kept world is logged into again)."""
    digest = hashlib.sha256(f"urakata bench v{SEED_VERSION} {email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def people(db: Database, shops: int, clients: int) -> tuple[list[Shop], list[Operator]]:
    """The shops (onboarded as the portal does it) and the operators, with TOTP on."""
    made = []
    for n in range(1, shops + 1):
        with db.session() as session, session.begin():
            done = onboard_shop(
                session,
                actor=ACTOR,
                link_key=b"bench",
                slug=f"load-{n:02d}",
                name=f"ベンチ商店 {n:02d}",
                timezone="Asia/Tokyo",
                admin_email=f"owner@load-{n:02d}.example",
                admin_name=f"店主 {n:02d}",
            )
            made.append(Shop(done.tenant.id, done.tenant.slug))
    password_hash = hash_password(PASSWORD)
    operators = []
    for n in range(clients):
        served = tuple(made[(n * SHOPS_PER_OPERATOR + k) % len(made)]
                       for k in range(min(SHOPS_PER_OPERATOR, len(made))))  # fmt: skip
        email = f"op{n:02d}@agency.example"
        secret = totp_secret(email)
        with db.platform_session() as session:
            user = invite_user(session, email, f"作業者 {n:02d}", Role.operator, served[0].id,
                               actor=ACTOR)  # fmt: skip
        for shop in served[1:]:
            with db.platform_session() as session:
                user = get_user_by_email(session, email)
                assign_operator(session, user, shop.id, actor=ACTOR)
        with db.platform_session() as session:
            user = get_user_by_email(session, email)
            user.password_hash = password_hash
            user.totp_secret = secret
            user.totp_enabled_at = datetime.now(UTC)
        operators.append(Operator(email, secret, served))
    return made, operators


FOOD = ("煎茶", "玉露", "ほうじ茶", "干し椎茸", "梅干し", "柚子胡椒", "昆布")  # 8 % (軽減税率)


def _products(shop: Shop, n_shop: int, first_id: int) -> list[dict]:
    now = datetime.now(UTC)
    rows = []
    for k in range(PRODUCTS_PER_SHOP):
        good = GOODS[(n_shop + k) % len(GOODS)]
        rows.append(
            {"tenant_id": shop.id, "id": first_id + k, "sku": f"LD{n_shop:02d}-{k:03d}",
             "jan": None, "name": f"{good} {k + 1} 番", "name_en": "",
             "price_yen": 540 + 110 * (k % 25), "tax_rate": 8 if good in FOOD else 10,
             "sale_starts_at": None, "status": "active", "length_mm": 150, "width_mm": 100,
             "height_mm": 40 + k % 60, "weight_g": 80 + 10 * (k % 40), "size_class": 60,
             "temperature_zone": "ambient", "lot_tracked": False, "case_quantity": None,
             "case_itf14": None, "version": 1, "created_at": now, "updated_at": now}
        )  # fmt: skip
    return rows


_PG_TYPES = {"BIGINT": "int8", "INTEGER": "int4", "DATETIME": "timestamptz", "DATE": "date",
             "BOOLEAN": "bool", "JSONB": "jsonb", "BLOB": "bytea", "CHAR(32)": "uuid",
             "TEXT": "text"}  # fmt: skip


def _columns(table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = tuple(c.name for c in table.columns)
    kinds = tuple(_PG_TYPES.get(str(c.type), "text") for c in table.columns)
    return names, kinds


PRODUCT_COLUMNS, PRODUCT_TYPES = _columns(Product.__table__)
ORDER_COLUMNS, ORDER_TYPES = _columns(Order.__table__)
LINE_COLUMNS, LINE_TYPES = _columns(OrderLine.__table__)
EVENT_COLUMNS = ("tenant_id", "seq", "occurred_at", "actor_type", "actor_id", "action",
                 "object_type", "object_id", "body", "prev_hash", "hash")  # fmt: skip
EVENT_TYPES = ("uuid", "int8", "timestamptz", *["text"] * 5, "bytea", "bytea", "bytea")


@functools.lru_cache(maxsize=4096)
def _clock(local_day: date, same_day_possible: bool):
    moment = datetime.combine(local_day, clock_time(10 if same_day_possible else 16), tzinfo=ZONE)
    return ship_by(moment, cutoff=CUTOFF, zone=ZONE, calendar=calendar_for())


class OrderMaker:
    """Believable orders, in time order, each valid by every CHECK of its table."""

    def __init__(self, rng: random.Random, now: datetime, products: dict[uuid.UUID, list[dict]]):
        self.rng, self.now, self.products = rng, now, products
        self.open_since = now - timedelta(days=OPEN_DAYS)
        self.next_line_id = 1

    def order(self, shop: Shop, order_id: int, ordered_at: datetime) -> tuple[tuple, list[tuple]]:
        rng = self.rng
        channel = _weighted(rng, CHANNELS)
        method = _weighted(rng, METHODS)
        if ordered_at < self.open_since:
            status = "cancelled" if rng.random() < 0.03 else "shipped"
        else:
            status = _weighted(rng, OPEN_STATUSES)
        if status == "confirmed":  # card, COD: released at once; these wait for the money
            method = rng.choice(("bank_transfer", "konbini", "atobarai"))
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        name, kana = f"{surname[0]} {given[0]}", f"{surname[1]} {given[1]}"
        postal, prefecture, city, street = rng.choice(ADDRESSES)
        phone = f"090{rng.randrange(10**8):08d}"
        lines, items = self._lines(shop, order_id, rng)
        shipping = 0 if items >= 5000 else 770
        fee = 330 if method == "cod" else 0
        total = items + shipping + fee
        tax_8 = sum(line[10] for line in lines if line[9] == 8) * 8 // 108
        tax_10 = (total - sum(line[10] for line in lines if line[9] == 8)) * 10 // 110
        payment, holds = self._payment(method, status, order_id, rng)
        shippable = confirmed = released = cancelled = None
        ship_date = ship_at = None
        received_at = ordered_at + timedelta(seconds=rng.randrange(5, 300))
        if status not in ("received", "on_hold"):
            confirmed = received_at + timedelta(seconds=1)
        if status not in ("received", "on_hold", "confirmed", "cancelled"):
            shippable = released = confirmed
            local = shippable.astimezone(ZONE)
            clock = _clock(local.date(), local.time() < CUTOFF)
            ship_date, ship_at = clock.ship_date, clock.deadline
        cancel_reason = ""
        if status == "cancelled":
            cancelled = received_at + timedelta(hours=rng.randrange(1, 20))
            cancel_reason = "お客様のご都合によるキャンセル"
        external = f"{channel[:2].upper()}-{order_id:08d}"
        delivery_slot = rng.choice((None, None, "am", "14-16", "18-20"))
        key = hashlib.sha256(f"{name}|{postal}|{street}|{order_id}".encode()).digest()
        row = {
            "tenant_id": shop.id, "id": order_id, "channel": channel, "external_id": external,
            "ordered_at": ordered_at, "status": status, "holds": Jsonb(holds),
            "version": 1 if status == "received" else 3, "customer_name": name,
            "customer_kana": kana, "customer_email": f"c{order_id}@mail.example.jp",
            "customer_phone": phone, "ship_name": name, "ship_postal_code": postal,
            "ship_prefecture": prefecture, "ship_city": city, "ship_street": street,
            "ship_building": "" if order_id % 3 else f"コーポ{order_id % 50} {order_id % 9 + 1}01",
            "ship_phone": phone, "delivery_date": None, "delivery_slot": delivery_slot,
            "gift_wrap": order_id % 17 == 0, "noshi": "御歳暮" if order_id % 41 == 0 else "",
            "payment_method": method, "payment_status": payment, "items_yen": items,
            "shipping_fee_yen": shipping, "fee_yen": fee, "discount_yen": 0, "total_yen": total,
            "tax_8_yen": tax_8, "tax_10_yen": tax_10, "notes": "", "duplicate_key": key,
            "shippable_at": shippable, "ship_by_date": ship_date, "ship_by_at": ship_at,
            "confirmed_at": confirmed, "released_at": released, "cancelled_at": cancelled,
            "cancel_reason": cancel_reason, "created_at": received_at,
            "updated_at": cancelled or released or received_at,
        }  # fmt: skip
        return tuple(row[c] for c in ORDER_COLUMNS), lines

    def _lines(self, shop: Shop, order_id: int, rng: random.Random) -> tuple[list[tuple], int]:
        catalog = self.products[shop.id]
        count = rng.choices((1, 2, 3, 4, 5), (40, 30, 15, 10, 5), k=1)[0]
        lines, items = [], 0
        for n, product in enumerate(rng.sample(catalog, count), start=1):
            quantity = rng.choices((1, 2, 3), (70, 20, 10), k=1)[0]
            price, tax = product["price_yen"], product["tax_rate"]
            amount = quantity * price
            items += amount
            lines.append((shop.id, self.next_line_id, order_id, n, product["sku"], product["id"],
                          product["name"], quantity, price, tax, amount))  # fmt: skip
            self.next_line_id += 1
        return lines, items

    def _payment(self, method: str, status: str, order_id: int, rng) -> tuple[str, list[dict]]:
        if status == "cancelled":
            return ("refunded" if method == "card" else "unpaid"), []
        if status == "on_hold":
            if order_id % 2:
                message = N_("Held by %(who)s: %(note)s", who="作業者", note="住所変更の連絡あり")
                holds = [hold("manual", "", message)]
            else:
                message = N_(
                    "The same customer ordered the same items to the same address in order"
                    " %(other)s.",
                    other=f"SH-{order_id - 7:08d}",
                )
                holds = [hold("duplicate", "", message)]
            return ("authorized" if method in ("card", "atobarai") else "unpaid"), holds
        if status == "received":
            return ("authorized" if method in ("card", "atobarai") else "unpaid"), []
        if status == "confirmed":  # waiting for the transfer, the konbini or the credit check
            return "unpaid", []
        if method == "cod":
            return ("paid" if status == "shipped" else "unpaid"), []
        if method in ("card", "atobarai"):
            return ("paid" if status == "shipped" else "authorized"), []
        return "paid", []


def _times(rng: random.Random, now: datetime, count: int) -> Iterator[datetime]:
    """``count`` order times over the past year, in order, busier in the day than at night."""
    start = now - timedelta(days=HISTORY_DAYS)
    step = HISTORY_DAYS * 86400 / count
    for n in range(count):
        yield start + timedelta(seconds=n * step + rng.random() * step * 0.9)


def seed_orders(admin_url: str, world: World, orders: int) -> None:
    """Products, orders, lines and their ledger events by COPY, as the database owner."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    products: dict[uuid.UUID, list[dict]] = {}
    for n, shop in enumerate(world.shops):
        products[shop.id] = _products(shop, n + 1, n * PRODUCTS_PER_SHOP + 1)
    weights = [1 + (n % 5) for n in range(len(world.shops))]  # shops of five sizes
    maker = OrderMaker(rng, now, products)
    per_shop: dict[uuid.UUID, list[tuple[int, datetime, dict]]] = {s.id: [] for s in world.shops}
    at = {name: ORDER_COLUMNS.index(name) for name in ("created_at", "total_yen", "payment_method")}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        world.steps[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    with psycopg.connect(libpq_url(admin_url)) as conn, conn.cursor() as cursor:
        with cursor.copy(
            f"COPY product ({', '.join(PRODUCT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(PRODUCT_TYPES)
            for rows in products.values():
                for row in rows:
                    copy.write_row(tuple(row[c] for c in PRODUCT_COLUMNS))
        order_copy = f"COPY sales_order ({', '.join(ORDER_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        line_copy = f"COPY order_line ({', '.join(LINE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        lines: list[tuple] = []
        # The rows are made while a thread sends the previous ones.
        with cursor.copy(order_copy, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.set_types(ORDER_TYPES)
            shops = rng.choices(world.shops, weights, k=orders)
            for order_id, (shop, ordered_at) in enumerate(
                zip(shops, _times(rng, now, orders), strict=True), start=1
            ):
                row, order_lines = maker.order(shop, order_id, ordered_at)
                copy.write_row(row)
                lines.extend(order_lines)
                world.orders.setdefault(shop.id, []).append(order_id)
                per_shop[shop.id].append((order_id, row[at["created_at"]], {
                    "channel": row[2], "external_id": row[3], "lines": len(order_lines),
                    "total_yen": row[at["total_yen"]], "payment_method": row[at["payment_method"]],
                }))  # fmt: skip
        step("orders")
        with cursor.copy(line_copy, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.set_types(LINE_TYPES)
            for line in lines:
                copy.write_row(line)
        step("lines")
        world.counts.update(orders=orders, lines=len(lines))
        world.counts["events"] = _seed_ledger(cursor, per_shop)
        step("ledger")
        for table in ("product", "sales_order", "order_line"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
        conn.commit()
        conn.autocommit = True
        cursor.execute("VACUUM ANALYZE product, sales_order, order_line, audit_event, chain_head")
        step("vacuum")


def _seed_ledger(cursor, per_shop: dict[uuid.UUID, list[tuple[int, datetime, dict]]]) -> int:
    """One ``order.received`` event per order, chained after the shop's existing events."""
    cursor.execute("SELECT tenant_id, seq, hash FROM chain_head")
    heads = {chain: (seq, bytes(digest)) for chain, seq, digest in cursor}
    moved = {}
    copy_events = f"COPY audit_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(copy_events, writer=QueuedLibpqWriter(cursor)) as copy:
        copy.set_types(EVENT_TYPES)
        for chain, events in per_shop.items():
            seq, prev = heads[chain]
            for order_id, at, data in events:
                seq += 1
                body = audit._body(chain, at, INTAKE, "order.received", "order", order_id, None,
                                   data)  # fmt: skip
                digest = audit.event_hash(chain, seq, prev, body)
                copy.write_row((chain, seq, at, INTAKE.type, INTAKE.id, "order.received",
                                "order", str(order_id), body, prev, digest))  # fmt: skip
                moved[chain] = (seq, prev, digest)
                prev = digest
    for chain, (seq, prev, digest) in moved.items():
        cursor.execute(
            "UPDATE chain_head SET seq = %s, prev_hash = %s, hash = %s WHERE tenant_id = %s",
            (seq, prev, digest, chain),
        )
    return sum(len(events) for events in per_shop.values())


@contextmanager
def world_database() -> Iterator[tuple[BenchDatabase, World, float, bool]]:
    """The bench database with its world, the seconds the seed (or the read-back) took, and
    whether it was a kept one."""
    if not KEEP:
        with bench_database("urakata_bench_portal_load") as bench:
            began = time.perf_counter()
            world = build_world(bench)
            yield bench, world, time.perf_counter() - began, False
        return
    admin = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not admin:
        raise RuntimeError("BENCH_LOAD_KEEP needs BENCH_DATABASE_URL or TEST_DATABASE_URL")
    name = f"urakata_bench_load_v{SEED_VERSION}_{SHOPS}_{ORDERS}_{CLIENTS}"
    marker = f"seeded: urakata bench load v{SEED_VERSION}"
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        comment = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    kept = comment is not None and comment[0] == marker
    owner_url, app_url = bootstrap_database(admin, name, recreate=not kept)
    upgrade_head(owner_url)  # a kept world gets the migrations written since
    admin_db = make_url(admin).set(database=name).render_as_string(hide_password=False)
    bench = BenchDatabase(admin_db, owner_url, app_url)
    began = time.perf_counter()
    if kept:
        world = kept_world(admin_db)
    else:
        world = build_world(bench)
        with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
            conn.execute(f"COMMENT ON DATABASE {name} IS '{marker}'")
    yield bench, world, time.perf_counter() - began, kept


def kept_world(admin_url: str) -> World:
    """The world of a kept database, read back (ids, slugs, operators' shops)."""
    with psycopg.connect(libpq_url(admin_url)) as conn:
        rows = conn.execute("SELECT id, slug FROM tenant ORDER BY slug").fetchall()
        shops = {shop_id: Shop(shop_id, slug) for shop_id, slug in rows}
        served: dict[str, list[Shop]] = {}
        for email, shop_id in conn.execute(
            "SELECT u.email, m.shop_id FROM user_account u JOIN membership m ON m.user_id = u.id"
            " JOIN tenant t ON t.id = m.shop_id WHERE m.role = 'operator' ORDER BY u.email, t.slug"
        ):
            served.setdefault(email, []).append(shops[shop_id])
        orders: dict[uuid.UUID, list[int]] = {}
        with conn.cursor() as cursor:
            cursor.execute("SELECT tenant_id, id FROM sales_order ORDER BY tenant_id, id")
            for shop_id, order_id in cursor:
                orders.setdefault(shop_id, []).append(order_id)
        counts = {
            "orders": sum(len(ids) for ids in orders.values()),
            "lines": conn.execute("SELECT count(*) FROM order_line").fetchone()[0],
            "events": conn.execute("SELECT count(*) FROM audit_event").fetchone()[0],
        }
    operators = [Operator(email, totp_secret(email), tuple(s)) for email, s in served.items()]
    return World(list(shops.values()), operators, orders, counts)


def build_world(bench) -> World:
    began = time.perf_counter()
    db = Database.from_url(bench.app_url)
    try:
        shops, operators = people(db, SHOPS, CLIENTS)
    finally:
        db.dispose()
    world = World(shops, operators, {})
    world.steps["shops and people"] = time.perf_counter() - began
    seed_orders(bench.admin_url, world, ORDERS)
    return world


# -- the clients ----------------------------------------------------------------------------

CSRF_RE = re.compile(rb'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One person's browser: its cookies and its address; a new connection per request
    (sync workers close each one)."""

    def __init__(self, port: int, address: str):
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"X-Forwarded-For": self.address, "Accept-Language": "ja"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            page = response.read()
        finally:
            connection.close()
        for value in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, page, response.headers

    def post_form(self, path: str, form: dict):
        status, page, _ = self.request("GET", path)
        match = CSRF_RE.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path} answered {status} without a form: {page[:300]!r}")
        return self.request("POST", path, {"csrf_token": match.group(1).decode(), **form})

    def log_in(self, operator: Operator) -> None:
        """Password, then the second factor, as the login pages ask for them."""
        status, _, headers = self.post_form(
            "/login", {"email": operator.email, "password": PASSWORD}
        )
        if status != 302 or not headers["Location"].endswith("/login/2fa"):
            raise RuntimeError(f"{operator.email}: the password step answered {status}")
        totp = pyotp.TOTP(operator.secret)
        status, _, _ = self.post_form("/login/2fa", {"code": totp.now()})
        if status == 422:  # this code was used in the last 30 s (a kept world, run again)
            time.sleep(totp.interval - time.time() % totp.interval + 0.5)
            status, _, _ = self.post_form("/login/2fa", {"code": totp.now()})
        if status != 302:
            raise RuntimeError(f"{operator.email}: the TOTP step answered {status}")


def portal_plan(world: World, operator: Operator, seed: int) -> Iterator[tuple[str, str]]:
    """An operator's round of pages, without end: queue, an order, a dashboard, a list."""
    rng = random.Random(seed)
    while True:
        shop = rng.choice(operator.shops)
        yield PAGES[0], "/agency/orders"
        yield PAGES[1], f"/s/{shop.slug}/orders/{rng.choice(world.orders[shop.id])}"
        yield PAGES[2], f"/s/{shop.slug}/"
        yield PAGES[3], f"/s/{shop.slug}/orders"


def baseline_plan(world: World, operator: Operator, seed: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    while True:
        shop = rng.choice(operator.shops)
        yield "baseline", f"/orders/{shop.id}/{rng.choice(world.orders[shop.id])}"


@dataclass(frozen=True)
class Round:
    seconds: float
    latencies: dict[str, list[float]]  # seconds, per page

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int, page: str | None = None) -> float:
        values = self.latencies[page] if page else [x for v in self.latencies.values() for x in v]
        return statistics.quantiles(values, n=100)[p - 1]


def load_round(browsers: list[Browser], plans: list[Iterator], seconds: float) -> Round:
    """Every browser requests its plan's pages back to back for ``seconds``; any answer but
    200 stops the run (a page that fails fast would flatter the figures)."""
    samples: list[list[tuple[str, float]]] = [[] for _ in browsers]
    errors: list[BaseException] = []
    start = threading.Barrier(len(browsers) + 1)
    deadline = [0.0]

    def client(n: int) -> None:
        start.wait()
        try:
            while time.perf_counter() < deadline[0]:
                page, path = next(plans[n])
                began = time.perf_counter()
                status, body, _ = browsers[n].request("GET", path)
                samples[n].append((page, time.perf_counter() - began))
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        except BaseException as exc:  # noqa: BLE001 - reported after the round
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    latencies: dict[str, list[float]] = {}
    for client_samples in samples:
        for page, latency in client_samples:
            latencies.setdefault(page, []).append(latency)
    return Round(elapsed, latencies)


# -- the baseline -------------------------------------------------------------------------


def baseline_app():
    """A minimal Flask page doing one indexed read (``bench.portal_load:baseline_app()``)."""
    from flask import Flask, abort
    from sqlalchemy import text

    from urakata.platform.db import make_engine

    app = Flask("baseline")
    engine = make_engine(os.environ["DATABASE_URL"])
    read = text(
        "SELECT external_id, status, total_yen FROM sales_order"
        " WHERE tenant_id = :shop AND id = :order_id"
    )

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/orders/<uuid:shop>/<int:order_id>")
    def one_order(shop: uuid.UUID, order_id: int):
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL app.tenant_id = '{shop}'")
            row = conn.execute(read, {"shop": shop, "order_id": order_id}).one_or_none()
        if row is None:
            abort(404)
        return f"<p>{row.external_id} {row.status} ¥{row.total_yen:,}</p>"

    return app


# -- the run ----------------------------------------------------------------------------------


def main(gunicorn_args: tuple[str, ...] = GUNICORN) -> None:
    per_round = SECONDS / ROUNDS
    print(
        f"\nPortal load: {CLIENTS} operators × {SHOPS_PER_OPERATOR} shops each, {SHOPS} shops,"
        f" {ORDERS:,} orders; {ROUNDS} rounds of {per_round:.0f} s per side"
        f" (gunicorn {' '.join(gunicorn_args)})"
    )
    began = time.perf_counter()
    with world_database() as (bench, world, seeded, kept), throwaway_redis() as redis_url:
        print(
            f"  {'kept world read back' if kept else 'seeded'} in {seeded:.1f} s:"
            f" {len(world.shops)} shops, {world.counts['orders']:,} orders,"
            f" {world.counts['lines']:,} lines, {world.counts['events']:,} ledger events"
        )
        if world.steps:
            print("    " + ", ".join(f"{k} {v:.1f} s" for k, v in world.steps.items()))
        portal, baseline = [], []
        proxy = {"TRUSTED_PROXIES": "1"}
        with (
            gunicorn(bench.app_url, redis_url, gunicorn_args, extra_env=proxy) as port,
            gunicorn(bench.app_url, redis_url, gunicorn_args,
                     app="bench.portal_load:baseline_app()") as base_port,
        ):  # fmt: skip
            browsers = [Browser(port, f"10.0.0.{n + 1}") for n in range(CLIENTS)]
            for browser, operator in zip(browsers, world.operators, strict=True):
                browser.log_in(operator)
            plain = [Browser(base_port, f"10.0.1.{n + 1}") for n in range(CLIENTS)]
            pages = [portal_plan(world, op, n) for n, op in enumerate(world.operators)]
            reads = [baseline_plan(world, op, n) for n, op in enumerate(world.operators)]
            load_round(browsers, pages, WARMUP_SECONDS)
            load_round(plain, reads, WARMUP_SECONDS)
            for _ in range(ROUNDS):
                portal.append(load_round(browsers, pages, per_round))
                baseline.append(load_round(plain, reads, per_round))
        print(f"  seed {seeded:.1f} s, whole run {time.perf_counter() - began:.1f} s")
    report(portal, baseline)


def _median(values) -> float:
    return statistics.median(list(values))


def report(portal: list[Round], baseline: list[Round]) -> dict[str, float]:
    """Requests/s and p50/p95/p99 per page and overall: medians over the rounds."""
    print(f"  medians of {len(portal)} rounds")
    print(f"    {'':<22} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")

    def line(label: str, rounds: list[Round], page: str | None) -> None:
        count = _median(len(r.latencies[page]) if page else r.requests for r in rounds)
        rate = _median((len(r.latencies[page]) if page else r.requests) / r.seconds for r in rounds)
        p50, p95, p99 = (_median(r.percentile(p, page) * 1e3 for r in rounds) for p in (50, 95, 99))
        print(f"    {label:<22} {count:9,.0f} {rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f}")

    for page in PAGES:
        line(page, portal, page)
    line("portal, all pages", portal, None)
    line("baseline (one read)", baseline, None)
    for label, rounds in (("portal", portal), ("baseline", baseline)):
        each = ", ".join(f"{r.rate:.0f}/s p95 {r.percentile(95) * 1e3:.0f} ms" for r in rounds)
        print(f"    rounds, {label}: {each}")
    rate = _median(r.rate for r in portal)
    ratio = _median(p.rate / b.rate for p, b in zip(portal, baseline, strict=True))
    p95 = _median(r.percentile(95) * 1e3 for r in portal)
    worst = max(_median(r.percentile(95, page) * 1e3 for r in portal) for page in PAGES)
    print(
        f"  portal / baseline throughput = {ratio:.2f}x"
        f" ({'meets' if ratio >= RATIO_TARGET else 'BELOW'} the {RATIO_TARGET}x target);"
        f" p95 {p95:.0f} ms overall, {worst:.0f} ms on the slowest page"
        f" ({'meets' if worst <= P95_TARGET_MS else 'ABOVE'} the {P95_TARGET_MS} ms target)"
    )
    return {"rate": rate, "ratio": ratio, "p95_ms": p95, "worst_p95_ms": worst}


if __name__ == "__main__":
    main()
