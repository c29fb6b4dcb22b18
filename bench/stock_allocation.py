"""The allocation race: many workers promise the same few SKUs at once; nothing oversells.

50 worker threads, each with its own database connection, make 10,000 allocations of
one piece in all, spread over 10 hot SKUs. Each SKU has 800 pieces (300 in a pick face,
500 in reserve) against a demand of 1,000, so the last fifth of the attempts find
nothing left. The service is :func:`urakata.tenants.stock.allocation.allocate` in a
transaction of its own (``ledger.retrying``), as the allocation job runs it: candidate
levels and the idempotency check in one statement, the conditional UPDATE
(``… WHERE on_hand - allocated >= 1``), the movement, the ``stock.allocated`` event on
the shop's audit chain.

The baseline, in the same run and rounds alternating: 50 threads with their own psycopg
connections (application role, ``SET LOCAL app.tenant_id``, RLS on) run the same SQL —
the same candidate query, the same conditional UPDATE (the next candidate when one
matches no row), the same movement INSERT and the same audit append with the same
canonical body — in one explicit transaction per allocation.

After every round, for both: no level allocated beyond its stock, none negative, every
piece allocated (demand exceeds stock), and the shop's movements add up to its levels
(the daily reconciliation's check). Nothing is asserted: figures are printed, with the
medians of the rounds. Target (issue 11): service ≥ 0.5× the raw SQL.

Both variants are bound by the shop's audit chain: every allocation appends one event,
and the chain's head stays locked from the append to the commit (the WAL flush), so one
shop's allocations commit one after another, a few hundred a second on this machine's
disk whatever the number of workers (4 workers measured about the same rate as 50). The
service's longer Python path between the append and the commit (a session's commit,
under the GIL shared by 50 threads) is what the ratio shows. Threads rather than
processes: 50 busy processes on two cores starve PostgreSQL itself.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import psycopg
from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url

from bench.harness import bench_database
from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import Database, utcnow
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.shop.services import onboard_shop
from urakata.tenants.stock import allocation, ledger
from urakata.tenants.stock.allocation import Need, allocate
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive
from urakata.tenants.stock.reconciliation import compare

WORKERS = 50
SKUS = 10
ALLOCATIONS = 10_000
PICK_FACE, RESERVE = 300, 500  # pieces of each SKU; 800 against a demand of 1,000
ROUNDS = 3
WARMUP = 5  # allocations per worker before the rounds (both variants)
TARGET_RATIO = 0.5
ACTOR = Actor.system("bench: allocation")


@dataclass(frozen=True)
class Round:
    label: str
    seconds: float
    attempts: int
    allocated: int

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds


@dataclass(frozen=True)
class Checks:
    oversold: int  # levels with allocated > on_hand
    negative: int  # levels with a negative figure
    stock: int
    allocated: int
    ledger_ok: bool
    levels: int
    movements: int


# -- setting up ------------------------------------------------------------------------------


def set_up_shop(db: Database) -> uuid.UUID:
    with db.session() as session, session.begin():
        shop = onboard_shop(
            session,
            actor=ACTOR,
            link_key=b"bench",
            slug="bench-stock",
            name="ベンチ倉庫",
            timezone="Asia/Tokyo",
            admin_email="owner@bench-stock.example",
            admin_name="倉庫 店主",
        ).tenant
    return shop.id


def hot_skus(db: Database, shop: uuid.UUID, tag: str) -> list[int]:
    """Ten new SKUs, each with a pick face and a reserve bin of its own, stocked."""
    with db.platform_session() as session:
        made = create_locations(
            session,
            actor=ACTOR,
            data={
                "zone": tag,
                "aisle": "01-02",
                "shelf": "1",
                "bin": f"01-{SKUS:02d}",
                "kind": "pick_face",
            },
        )
        codes = [loc.code for loc in made]
        for loc in made[SKUS:]:
            loc.kind = "reserve"
    with db.tenant_session(shop) as session:
        assign_bins(session, actor=ACTOR, codes=codes)
        products = [
            create_product(
                session,
                actor=ACTOR,
                data={
                    "sku": f"HOT-{tag}-{n:02d}",
                    "name": f"人気商品 {tag} {n}",
                    "price_yen": 1000,
                    "status": "active",
                },
            )
            for n in range(SKUS)
        ]
        lines = [
            {"sku": p.sku, "quantity": PICK_FACE, "location": codes[n]}
            for n, p in enumerate(products)
        ]
        lines += [
            {"sku": p.sku, "quantity": RESERVE, "location": codes[SKUS + n]}
            for n, p in enumerate(products)
        ]
        receive(session, actor=ACTOR, data={"key": f"bench-receipt-{tag}", "lines": lines})
        return [p.id for p in products]


# -- the two variants ----------------------------------------------------------------------------


def race(work: Callable, label: str, attempts: int) -> Round:
    """``work(worker, ready)`` in WORKERS threads, each with its own connection; the clock
    starts when all are connected and ready. Returns the wall time and the pieces."""
    results: dict[int, int] = {}
    errors: list[BaseException] = []
    ready = threading.Barrier(WORKERS + 1)

    def worker(n: int) -> None:
        try:
            results[n] = work(n, ready)
        except BaseException as exc:  # noqa: BLE001 - reported after the round
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return Round(label, seconds, attempts, sum(results.values()))


def service_round(app_url: str, shop: uuid.UUID, products: list[int], tag: str, per: int):
    db = Database.from_url(app_url, pool_size=WORKERS, max_overflow=0)
    held = [db.engine.connect() for _ in range(WORKERS)]  # connected before the clock runs
    for conn in held:
        conn.close()

    def work(worker: int, ready: threading.Barrier) -> int:
        ready.wait()
        pieces = 0
        for i in range(per):
            key = f"{tag}-{worker}-{i}"
            needs = [Need(products[(worker + i) % SKUS], 1)]
            outcome = ledger.retrying(
                db,
                shop,
                lambda s, key=key, needs=needs: allocate(
                    s, actor=ACTOR, key=key, reference_type="bench", reference_id=key, needs=needs
                ),
            )
            pieces += outcome.allocated
        return pieces

    try:
        return race(work, "service", WORKERS * per)
    finally:
        db.dispose()


def _pyformat(sql: str) -> str:
    """A SQLAlchemy text() statement's ``:name`` parameters as psycopg's ``%(name)s``."""
    return re.sub(r"(?<![:\w]):([a-z_]+)", r"%(\1)s", sql)


CANDIDATES = _pyformat(str(allocation._CANDIDATES.text))
ALLOCATE = _pyformat(str(ledger._ALLOCATE.text))
APPEND = _pyformat(str(audit._APPEND.text))
INSERT_MOVEMENT = """
INSERT INTO stock_movement (tenant_id, occurred_at, kind, product_id, location_id, lot_no,
    on_hand_delta, allocated_delta, reference_type, reference_id, reference_line, reason,
    idempotency_key, line_no, actor)
VALUES (%s, %s, 'allocation', %s, %s, %s, 0, %s, 'bench', %s, NULL, '', %s, 0, %s)
"""


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_allocation(cursor, shop: uuid.UUID, product: int, key: str) -> int:
    """One allocation of one piece, the service's statements in an explicit transaction."""
    now = utcnow()
    cursor.execute(f"SET LOCAL app.tenant_id = '{shop}'")
    rows = cursor.execute(
        CANDIDATES, {"tenant": shop, "key": key, "now": now, "products": [product]}
    ).fetchall()
    # As the service: the key's row aside, the levels in offering order.
    levels = sorted(
        (r for r in rows if r[0] is not None),
        key=lambda r: (r[1], r[4] is None, r[4] or date.min, r[7] != "pick_face", r[8], r[0]),
    )
    for level, _product, location, lot, _best_before, _free, code, *_rest in levels:
        if cursor.execute(
            ALLOCATE, {"tenant": shop, "level": level, "quantity": 1, "now": now}
        ).fetchone():
            cursor.execute(
                INSERT_MOVEMENT, (shop, now, product, location, lot, 1, key, key, ACTOR.label)
            )
            data = {
                "key": key,
                "policy": "all",
                "short": [],
                "takes": [
                    {"product_id": product, "bin": code, "lot_no": lot, "quantity": 1, "line": None}
                ],
            }
            body = audit._body(shop, now, ACTOR, "stock.allocated", "bench", key, None, data)
            cursor.execute(
                APPEND,
                {
                    "chain": shop,
                    "occurred_at": now,
                    "actor_type": ACTOR.type,
                    "actor_id": ACTOR.id,
                    "action": "stock.allocated",
                    "object_type": "bench",
                    "object_id": key,
                    "body": body,
                },
            )
            return 1
    return 0


def raw_round(app_url: str, shop: uuid.UUID, products: list[int], tag: str, per: int):
    def work(worker: int, ready: threading.Barrier) -> int:
        pieces = 0
        with psycopg.connect(libpq_url(app_url), autocommit=True) as conn:
            ready.wait()
            for i in range(per):
                key = f"{tag}-{worker}-{i}"
                with conn.transaction(), conn.cursor() as cursor:
                    pieces += raw_allocation(cursor, shop, products[(worker + i) % SKUS], key)
        return pieces

    return race(work, "raw psycopg", WORKERS * per)


# -- checking and the run ------------------------------------------------------------------------


_LEVEL_CHECK = text(
    "SELECT count(*) FILTER (WHERE allocated > on_hand),"
    " count(*) FILTER (WHERE on_hand < 0 OR allocated < 0),"
    " sum(on_hand), sum(allocated) FROM stock_level WHERE product_id = ANY(:products)"
).bindparams(bindparam("products", type_=ARRAY(BigInteger)))


def check(db: Database, shop: uuid.UUID, products: list[int]) -> Checks:
    with db.tenant_session(shop) as session:
        row = session.execute(_LEVEL_CHECK, {"products": products}).one()
        result = compare(session)
    return Checks(
        row[0], row[1], int(row[2]), int(row[3]), result.ok, result.levels, result.movements
    )


def main() -> None:
    per = ALLOCATIONS // WORKERS
    print(
        f"\nStock allocation race: {WORKERS} workers × {per} allocations of one piece on"
        f" {SKUS} hot SKUs ({PICK_FACE + RESERVE} pieces each: {PICK_FACE} in a pick face,"
        f" {RESERVE} in reserve; demand {ALLOCATIONS // SKUS:,} each), {ROUNDS} rounds"
    )
    with bench_database("urakata_bench_stock") as bench:
        db = Database.from_url(bench.app_url, pool_size=2)
        shop = set_up_shop(db)
        warm = hot_skus(db, shop, "W")
        service_round(bench.app_url, shop, warm, "warm-s", WARMUP)
        raw_round(bench.app_url, shop, warm, "warm-r", WARMUP)
        rounds: dict[str, list[Round]] = {"service": [], "raw psycopg": []}
        checks: list[Checks] = []
        for n in range(ROUNDS):
            for label, run in (("service", service_round), ("raw psycopg", raw_round)):
                tag = f"{'S' if label == 'service' else 'R'}{n}"
                products = hot_skus(db, shop, tag)
                done = run(bench.app_url, shop, products, tag, per)
                rounds[label].append(done)
                checks.append(check(db, shop, products))
                print(
                    f"  round {n + 1} {label:<12} {done.attempts:,} in {done.seconds:5.1f} s"
                    f" = {done.rate:6,.0f} allocations/s ({done.allocated:,} allocated,"
                    f" {done.attempts - done.allocated:,} refused: none left)"
                )
        db.dispose()
    _report(rounds, checks)


def _report(rounds: dict[str, list[Round]], checks: list[Checks]) -> None:
    service = statistics.median(r.rate for r in rounds["service"])
    raw = statistics.median(r.rate for r in rounds["raw psycopg"])
    ratio = service / raw
    print(f"  medians: service {service:,.0f} allocations/s, raw psycopg {raw:,.0f}/s")
    print(
        f"  service / raw psycopg = {ratio:.2f}x"
        f" ({'meets' if ratio >= TARGET_RATIO else 'BELOW'} the {TARGET_RATIO}x target)"
    )
    last = checks[-1]
    print(
        f"  checks after every round (both variants): oversold levels"
        f" {sum(c.oversold for c in checks)}, negative levels {sum(c.negative for c in checks)},"
        f" allocated = stock in {sum(c.allocated == c.stock for c in checks)} of {len(checks)}"
        f" rounds ({last.allocated:,} = {last.stock:,} in the last),"
        f" Σ movements = levels: {'OK' if all(c.ledger_ok for c in checks) else 'MISMATCH'}"
        f" ({last.levels} levels, {last.movements:,} movements at the end)"
    )


if __name__ == "__main__":
    main()
