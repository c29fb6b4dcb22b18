"""A wave's pick list PDF rendered in a worker, against WeasyPrint rendering the same HTML
alone.

The wave holds ``BENCH_SHIPMENTS`` shipments (default 2,000: half single-item, half two
or three items, over 200 SKUs with JANs in 200 bins, every fifth SKU lot-tracked), made
the way the app makes them (orders taken in, allocated, instructed, one wave by rules);
that set-up is not timed. Each worker round asks for the pick list as the portal does
(a shop task and its outbox row), relays the row to RQ and lets one ``UrakataWorker`` in
burst mode run the job: a tenant-bound session, the job's idempotency key, the wave's
lines read and grouped, barcodes drawn, the HTML made, WeasyPrint through the app's
restricted URL fetcher, the PDF stored, progress on the task row, the ledger event, one
commit. It is timed from the job's start to its end as RQ records them. Between rounds
the stored pick list is removed so the job renders again (it renders once per wave).

The baseline, alternating with it in the same run, is WeasyPrint alone on the very HTML
the job rendered (taken from the job's own code path before timing), with a warm font
configuration and the same base stylesheet, into memory. Target: the app adds at most
30% (ratio ≤ 1.30). Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

from redis import Redis
from rq.job import Job
from sqlalchemy import delete, update

from bench.harness import bench_database
from bench.spine import throwaway_redis
from urakata.platform import pdf
from urakata.platform.audit import Actor
from urakata.platform.codes import gtin_check_digit
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.fulfilment import jobs as fulfilment_jobs
from urakata.tenants.fulfilment import picklist
from urakata.tenants.fulfilment.instructions import instruct_order
from urakata.tenants.fulfilment.models import PickList, Wave
from urakata.tenants.fulfilment.waves import WaveRules, build_waves
from urakata.tenants.orders import services as orders
from urakata.tenants.shop.services import onboard_shop
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive
from urakata.worker.process import UrakataWorker
from urakata.worker.relay import relay_once
from urakata.worker.runtime import Context, use_context

SHIPMENTS = int(os.environ.get("BENCH_SHIPMENTS", "2000"))
SKUS = 200
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 1.30
OPERATOR = Actor(type="user", id=str(uuid.uuid4()), label="出荷 ベンチ", request_id="r-bench")


def jan(n: int) -> str:
    body = f"45{n:010d}"
    return body + str(gtin_check_digit(body))


class Bench:
    def __init__(self, db: Database, settings: Settings, redis: Redis):
        self.db, self.settings, self.redis = db, settings, redis
        with db.session() as session, session.begin():
            self.shop = onboard_shop(
                session,
                actor=OPERATOR,
                link_key=b"bench",
                slug="bench-picking",
                name="ベンチ雑貨店",
                timezone="Asia/Tokyo",
                admin_email="admin@bench.example",
                admin_name="ベンチ 店長",
            ).tenant.id
        self.wave_id = self._wave()
        # The set-up's own requests (allocation runs …) go to RQ now and are never worked:
        # each round then relays its one pick-list row.
        while relay_once(Context(settings, db, redis), batch=1_000):
            pass

    def _catalog(self) -> list[str]:
        with self.db.platform_session() as s:
            made = create_locations(
                s,
                actor=OPERATOR,
                data={
                    "zone": "P",
                    "aisle": "01-10",
                    "shelf": "1-4",
                    "bin": "1-5",
                    "kind": "pick_face",
                },
            )
            codes = [m.code for m in made]
        skus = [f"BENCH-{n:03d}" for n in range(SKUS)]
        with self.db.tenant_session(self.shop) as s:
            assign_bins(s, actor=OPERATOR, codes=codes)
            for n, sku in enumerate(skus):
                create_product(
                    s,
                    actor=OPERATOR,
                    data={
                        "sku": sku,
                        "name": f"ベンチ商品 {n:03d} 有田焼 湯呑み",
                        "price_yen": 1200,
                        "status": "active",
                        "jan": jan(n),
                        "lot_tracked": n % 5 == 0,
                    },
                )
        per_sku = SHIPMENTS * 3 // SKUS + 10
        lines = [
            {
                "sku": sku,
                "quantity": per_sku,
                "location": codes[n % len(codes)],
                **({"lot_no": f"L{n:03d}", "best_before": "2027-12-31"} if n % 5 == 0 else {}),
            }
            for n, sku in enumerate(skus)
        ]
        with self.db.tenant_session(self.shop) as s:
            receive(s, actor=OPERATOR, data={"key": "bench-receipt", "lines": lines})
        return skus

    def _order(self, s, skus: list[str], n: int) -> None:
        count = 1 if n % 2 == 0 else 2 + n % 2
        lines = [
            {"sku": skus[(n * 7 + k * 13) % SKUS], "quantity": 1, "unit_price_yen": 1200}
            for k in range(count)
        ]
        body = {
            "external_id": f"#B{n:06d}",
            "customer": {"name": "ベンチ 太郎", "email": f"b{n}@example.jp"},
            "ship_to": {
                "name": "ベンチ 太郎",
                "postal_code": "100-0001",
                "prefecture": "東京都",
                "city": "千代田区",
                "street": f"千代田1-{n}",
                "phone": "090-1234-5678",
            },
            "lines": lines,
            "payment_method": "card",
            "payment_status": "authorized",
        }
        order_id = orders.intake(s, actor=OPERATOR, data=body, channel="api").id
        allocate_order(s, actor=OPERATOR, order_id=order_id)
        instruct_order(s, actor=OPERATOR, order_id=order_id)

    def _wave(self) -> int:
        skus = self._catalog()
        started = time.perf_counter()
        for first in range(0, SHIPMENTS, 50):
            with self.db.tenant_session(self.shop) as s:
                for n in range(first, min(first + 50, SHIPMENTS)):
                    self._order(s, skus, n)
        rules = WaveRules(separate_single=False, max_shipments=SHIPMENTS, max_units=20_000)
        with self.db.tenant_session(self.shop) as s:
            (wave,) = build_waves(s, actor=OPERATOR, rules=rules, key="bench")
            wave_id = wave.id
        print(
            f"  set-up: {SHIPMENTS:,} shipments instructed and waved in "
            f"{time.perf_counter() - started:.0f} s (not timed)"
        )
        return wave_id

    def html(self) -> str:
        with self.db.tenant_session(self.shop) as s:
            data = picklist.collect(s, self.wave_id)
            return picklist.pick_list_html(data, printed_at="2026-11-27 09:00")

    def _forget(self) -> None:
        """Remove the stored pick list, so the job renders again."""
        with self.db.tenant_session(self.shop) as s:
            s.execute(delete(PickList).where(PickList.wave_id == self.wave_id))
            s.execute(update(Wave).where(Wave.id == self.wave_id).values(pick_list_task_id=None))

    def worker_round(self) -> tuple[float, int]:
        """(seconds of the job as RQ records them, pages)."""
        self._forget()
        with self.db.tenant_session(self.shop) as s:
            task = fulfilment_jobs.start_pick_list(s, actor=OPERATOR, wave_id=self.wave_id)
            job_id = str(task.outbox_id)
        relay_once(Context(self.settings, self.db, self.redis))
        UrakataWorker(["pdf"], connection=self.redis).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
        job = Job.fetch(job_id, connection=self.redis)
        if job.get_status() != "finished":
            raise RuntimeError(f"the pick-list job did not finish: {job.get_status()}")
        with self.db.tenant_session(self.shop) as s:
            made = picklist.get_pick_list(s, self.wave_id)
            pages = made.pages
        return (job.ended_at - job.started_at).total_seconds(), pages

    @staticmethod
    def weasyprint_round(html: str, fonts, base) -> tuple[float, int]:
        from weasyprint import HTML

        started = time.perf_counter()
        document = HTML(string=html, base_url=pdf.STATIC_DIR.as_uri() + "/")
        rendered = document.render(stylesheets=[base], font_config=fonts)
        rendered.write_pdf()
        return time.perf_counter() - started, len(rendered.pages)


def main(rounds: int = ROUNDS) -> None:
    print(f"\nPick list PDF: a wave of {SHIPMENTS:,} shipments ({SKUS} SKUs, half multi-item)")
    with bench_database("urakata_bench_picking") as dbs, throwaway_redis() as redis_url:
        settings = Settings(
            mode="test",
            secret_key="bench-" + uuid.uuid4().hex,
            database_url=dbs.app_url,
            redis_url=redis_url,
        )
        db = Database.from_url(dbs.app_url, pool_size=4, max_overflow=2)
        redis = Redis.from_url(redis_url)
        use_context(Context(settings=settings, db=db, redis=redis))
        try:
            bench = Bench(db, settings, redis)
            html = bench.html()
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            fonts = FontConfiguration()
            base = CSS(string=pdf.BASE_CSS, font_config=fonts)
            bench.worker_round()  # warm up: imports, fonts, plans, the chain
            bench.weasyprint_round(html, fonts, base)
            worker, alone = [], []
            for _ in range(rounds):
                worker.append(bench.worker_round())
                alone.append(bench.weasyprint_round(html, fonts, base))
        finally:
            use_context(None)
            db.dispose()
    _report(worker, alone)


def _report(worker: list[tuple[float, int]], alone: list[tuple[float, int]]) -> None:
    w = statistics.median(s for s, _ in worker)
    a = statistics.median(s for s, _ in alone)
    pages_w, pages_a = worker[0][1], alone[0][1]
    print(f"  medians of {len(worker)} alternating rounds:")
    print(
        f"    worker (pick-list job)   {w:7.2f} s  {pages_w} pages  {pages_w / w:6.2f} pages/s"
        f"  (min {min(s for s, _ in worker):.2f}, max {max(s for s, _ in worker):.2f})"
    )
    print(
        f"    WeasyPrint alone         {a:7.2f} s  {pages_a} pages  {pages_a / a:6.2f} pages/s"
        f"  (min {min(s for s, _ in alone):.2f}, max {max(s for s, _ in alone):.2f})"
    )
    ratio = w / a
    verdict = "meets" if ratio <= TARGET else "ABOVE"
    print(
        f"  worker / WeasyPrint alone = {ratio:.2f}x (the app adds {100 * (ratio - 1):.0f}%;"
        f" {verdict} the ≤ {100 * (TARGET - 1):.0f}% target)"
    )


if __name__ == "__main__":
    main()
