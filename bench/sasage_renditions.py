"""Sasage renditions per second in a worker, against Pillow doing the same resize alone.

Twelve-megapixel JPEGs (4,000 × 3,000, camera-like noise and EXIF, some stored turned
with orientation 6) are made with Pillow at run time. Each round uploads a batch to a new
SKU's sasage through the photo service (not timed: that is the portal's request), relays
the outbox row to RQ and lets one ``UrakataWorker`` in burst mode run the rendition job:
a tenant-bound session, the job's idempotency key, the originals read from the file store,
two renditions each (web 1,200 px and thumb 320 px: decoded at a reduced JPEG scale,
Lanczos, EXIF orientation applied, sRGB, metadata dropped) written back, progress per
photo to the task row, the ledger event, one commit. It is timed from the job's start to
its end as RQ records them (the worker's own start-up is not the job's cost).

The baseline, in the same run and alternating with it, is Pillow alone on the same bytes
in memory: open, the same reduced-scale decode, the same two resizes and orientation,
JPEG encode into memory. Target: worker >= 0.8x Pillow. Nothing is asserted.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps
from redis import Redis
from rq.job import Job

from bench.harness import bench_database
from bench.spine import throwaway_redis
from urakata.platform import tasks
from urakata.platform.audit import Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product
from urakata.tenants.sasage import images, photos, services
from urakata.tenants.sasage.storage import FileStore
from urakata.tenants.shop.services import onboard_shop
from urakata.worker.process import UrakataWorker
from urakata.worker.relay import relay_once
from urakata.worker.runtime import Context, use_context

SIZE = (4000, 3000)  # 12 megapixels
BATCH = 6  # photos a round: one upload, one job
ROUNDS = 7
TARGET = 0.8
OPERATOR = Actor(type="user", id=str(uuid.uuid4()), label="撮影 ベンチ", request_id="r-bench")


def camera_jpeg(n: int) -> bytes:
    """A 12 MP JPEG with a camera's entropy (noise over a gradient) and EXIF."""
    noise = [Image.effect_noise(SIZE, 28 + 3 * c).point(lambda v, c=c: v * (0.6 + 0.1 * c))
             for c in range(3)]  # fmt: skip
    image = Image.merge("RGB", noise)
    shade = Image.linear_gradient("L").resize(SIZE).convert("RGB")
    image = Image.blend(image, shade, 0.35 + 0.05 * (n % 3))
    draw = ImageDraw.Draw(image)
    draw.ellipse((1000 + 40 * n, 600, 3000, 2600), outline=(240, 240, 235), width=40)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Bench", "Camera 12"
    if n % 2:
        exif[0x0112] = 6  # stored turned, as a camera held upright writes it
    out = BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def pillow_alone(data: bytes) -> None:
    """The same work with nothing around it: bytes in memory to two JPEGs in memory."""
    with Image.open(BytesIO(data)) as image:
        image.draft("RGB", images.fit(image.size, images.RENDITIONS["web"]))
        source = image
        for name, edge in sorted(images.RENDITIONS.items(), key=lambda item: -item[1]):
            resized = source.resize(images.fit(source.size, edge), Image.Resampling.LANCZOS,
                                    reducing_gap=2.0)  # fmt: skip
            source = resized
            upright = ImageOps.exif_transpose(resized)
            upright.save(BytesIO(), "JPEG", quality=images.RENDITION_QUALITY[name])


class Bench:
    def __init__(self, db: Database, settings: Settings, redis: Redis):
        self.db, self.settings, self.redis = db, settings, redis
        self.store = FileStore.at(settings.files_dir)
        self.rounds = 0
        with db.session() as session, session.begin():
            self.shop = onboard_shop(
                session, actor=OPERATOR, link_key=b"bench", slug="bench-sasage",
                name="ベンチ衣料", timezone="Asia/Tokyo", admin_email="admin@bench.example",
                admin_name="ベンチ 店長",
            ).tenant.id  # fmt: skip

    def _new_request(self) -> int:
        self.rounds += 1
        sku = f"BENCH-{self.rounds:03d}"
        with self.db.tenant_session(self.shop) as session:
            create_product(
                session,
                actor=OPERATOR,
                data={"sku": sku, "name": f"ベンチ商品 {self.rounds}", "price_yen": 1000},
            )
            made = services.request_sasage(session, actor=OPERATOR, data={"skus": [sku]})
            return made[0].id

    def worker_round(self, originals: list[bytes]) -> float:
        """Photos/s of the rendition job, from its start to its end as RQ records them."""
        request_id = self._new_request()
        uploads = [photos.Upload(f"IMG_{n:04d}.JPG", data) for n, data in enumerate(originals)]
        with self.db.tenant_session(self.shop) as session:
            task = photos.add_photos(session, actor=OPERATOR, request_id=request_id,
                                     uploads=uploads, store=self.store)  # fmt: skip
            job_id = str(task.outbox_id)
        relay_once(Context(self.settings, self.db, self.redis))
        UrakataWorker(["default"], connection=self.redis).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
        job = Job.fetch(job_id, connection=self.redis)
        with self.db.tenant_session(self.shop) as session:
            result = tasks.get_task(session, task.id).result
        if job.get_status() != "finished" or result != {"ready": len(originals), "failed": 0}:
            raise RuntimeError(f"the rendition job did not render every photo: {result}")
        return len(originals) / (job.ended_at - job.started_at).total_seconds()

    @staticmethod
    def pillow_round(originals: list[bytes]) -> float:
        started = time.perf_counter()
        for data in originals:
            pillow_alone(data)
        return len(originals) / (time.perf_counter() - started)


def main(rounds: int = ROUNDS) -> None:
    print(f"\nSasage renditions: {BATCH} photos of {SIZE[0]}×{SIZE[1]} (12 MP JPEG) a round")
    originals = [camera_jpeg(n) for n in range(BATCH)]
    print(f"  originals: {statistics.mean(map(len, originals)) / 1e6:.1f} MB on average")
    files = Path(tempfile.mkdtemp(prefix="urakata-bench-files-"))
    with bench_database("urakata_bench_sasage") as dbs, throwaway_redis() as redis_url:
        settings = Settings(mode="test", secret_key="bench-" + uuid.uuid4().hex,
                            database_url=dbs.app_url, redis_url=redis_url,
                            files_dir=str(files))  # fmt: skip
        db = Database.from_url(dbs.app_url, pool_size=4, max_overflow=2)
        redis = Redis.from_url(redis_url)
        use_context(Context(settings=settings, db=db, redis=redis))
        try:
            bench = Bench(db, settings, redis)
            bench.worker_round(originals)  # warm up: imports, plans, decoders, the chain
            bench.pillow_round(originals)
            worker, alone = [], []
            for _ in range(rounds):
                worker.append(bench.worker_round(originals))
                alone.append(bench.pillow_round(originals))
        finally:
            use_context(None)
            db.dispose()
            shutil.rmtree(files, ignore_errors=True)
    _report(worker, alone)


def _report(worker: list[float], alone: list[float]) -> None:
    w, a = statistics.median(worker), statistics.median(alone)
    print(f"  medians of {len(worker)} alternating rounds:")
    print(f"    worker (rendition job)   {w:6.2f} photos/s  {1e3 / w:6.1f} ms a photo"
          f"  (min {min(worker):.2f}, max {max(worker):.2f})")  # fmt: skip
    print(f"    Pillow alone             {a:6.2f} photos/s  {1e3 / a:6.1f} ms a photo"
          f"  (min {min(alone):.2f}, max {max(alone):.2f})")  # fmt: skip
    ratio = w / a
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"  worker / Pillow alone = {ratio:.2f}x ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
