"""The worker spine's speed, on a throwaway Redis and the bench database.

(a) Outbox → relay → worker → done: one ``urakata relay`` and one ``urakata worker -n 1``
    process; a probe job (``maintenance.selftest``, no sleep) is committed to the outbox and
    timed until its row is marked done, one probe after another.
(b) Jobs/s of a ``tenant_job`` with a trivial body (the same probe, enqueued straight to RQ)
    against RQ's own trivial job, worked by the same worker class (``UrakataWorker``) in one
    process in burst mode, rounds alternating. Target: tenant_job >= 0.5x RQ's own.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job

from bench.harness import bench_database
from urakata.platform import outbox
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.devservers import find_redis_server, free_port
from urakata.platform.outbox import OutboxMessage
from urakata.worker.process import UrakataWorker
from urakata.worker.registry import load_jobs
from urakata.worker.runtime import REGISTRY, Context, enqueue_spec, use_context

PROBE = "maintenance.selftest"
POLL = 0.001  # seconds between looks at the outbox row: the latency's resolution


def trivial_job() -> None:
    """RQ's own trivial job: the baseline of (b)."""
    return None


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server of the bench's own (AOF on, as in production); yields its URL."""
    directory = Path(tempfile.mkdtemp(prefix="urakata-bench-redis-"))
    port = free_port()
    server = subprocess.Popen(
        [
            str(find_redis_server()),
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)),
            *("--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"),
            *("--logfile", str(directory / "redis.log")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait("Redis answers", lambda: _pings(url), 30)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def _pings(url: str) -> bool:
    try:
        return Redis.from_url(url, socket_timeout=1).ping()
    except RedisError:
        return False


def _wait(what: str, condition, timeout: float, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {timeout:.0f}s: {what}")
        time.sleep(poll)
    return value


@contextmanager
def spine_processes(settings: Settings) -> Iterator[None]:
    """One relay and one worker process, as production runs them; ended on the way out."""
    env = dict(
        os.environ,
        URAKATA_MODE="test",
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MAIL_DIR="",
    )
    command = [sys.executable, "-m", "urakata.cli"]
    processes = [
        subprocess.Popen(
            [*command, *args],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for args in (["relay"], ["worker", "-n", "1"])
    ]
    try:
        redis = Redis.from_url(settings.redis_url)
        _wait("the worker registers", lambda: Worker.all(connection=redis), 30)
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _probe_latency(db: Database) -> float:
    """Seconds from committing a probe to the outbox until a worker marked it done."""
    started = time.perf_counter()
    with db.tenant_session(AGENCY_CHAIN_ID) as session:
        row = outbox.enqueue(session, PROBE, queue="default", sleep_ms=0)

    def done():
        with db.platform_session() as session:
            return session.get(OutboxMessage, row.id).done_at

    _wait("the probe is done", done, 30, POLL)
    return time.perf_counter() - started


def outbox_latency(settings: Settings, db: Database, rounds: int, warmup: int) -> None:
    with spine_processes(settings):
        for _ in range(warmup):
            _probe_latency(db)
        samples = [_probe_latency(db) for _ in range(rounds)]
    q = statistics.quantiles(samples, n=20)
    print(f"\n(a) Outbox -> relay -> worker -> done, one worker process ({rounds} probes in turn)")
    print(
        f"  latency  median {statistics.median(samples) * 1e3:7.1f} ms"
        f"  p5 {q[0] * 1e3:7.1f}  p95 {q[-1] * 1e3:7.1f}  max {max(samples) * 1e3:7.1f}"
        f"  (polled every {POLL * 1e3:.0f} ms)"
    )


def _burst(redis: Redis) -> None:
    UrakataWorker(["default"], connection=redis).work(
        burst=True, with_scheduler=False, logging_level="WARNING"
    )


def _jobs_per_second(redis: Redis, enqueue_one, jobs: int) -> float:
    """Jobs/s from the first job's start to the last one's end: the worker's start-up and
    teardown (a fixed second or so per burst) are not the jobs' cost."""
    job_ids = [enqueue_one() for _ in range(jobs)]
    _burst(redis)
    done = Job.fetch_many(job_ids, connection=redis)
    if any(job is None or job.get_status() != "finished" for job in done):
        raise RuntimeError("a job of the burst did not finish: nothing to measure")
    first = min(job.started_at for job in done)
    last = max(job.ended_at for job in done)
    return jobs / (last - first).total_seconds()


def job_throughput(settings: Settings, db: Database, jobs: int, rounds: int) -> None:
    load_jobs()
    redis = Redis.from_url(settings.redis_url)
    redis.flushdb()
    use_context(Context(settings=settings, db=db, redis=redis))
    spec = REGISTRY[PROBE]
    queue = Queue("default", connection=redis)

    def tenant_job():
        job_id = str(uuid.uuid4())
        return enqueue_spec(
            redis,
            spec,
            job_id=job_id,
            shop_id=None,
            key=f"bench:{job_id}",
            outbox_id=None,
            args={"sleep_ms": 0},
        ).id

    def rq_job():
        # By name: RQ refuses functions of __main__ (``python -m bench.spine``).
        return queue.enqueue("bench.spine.trivial_job", result_ttl=3600).id

    cases = {"RQ's own trivial job": rq_job, "tenant_job (selftest)": tenant_job}
    try:
        for enqueue_one in cases.values():  # warm up: imports, connections, the chain head
            _jobs_per_second(redis, enqueue_one, 50)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, enqueue_one in cases.items():
                rates[name].append(_jobs_per_second(redis, enqueue_one, jobs))
    finally:
        use_context(None)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\n(b) Jobs/s, one UrakataWorker in burst mode ({rounds} alternating rounds"
        f" of {jobs} jobs, first start to last end)"
    )
    for name, values in rates.items():
        print(
            f"  {name:<24} median {medians[name]:7.0f} jobs/s"
            f"  min {min(values):7.0f}  max {max(values):7.0f}"
        )
    ratio = medians["tenant_job (selftest)"] / medians["RQ's own trivial job"]
    verdict = "meets" if ratio >= 0.5 else "BELOW"
    print(f"  tenant_job / RQ's own = {ratio:.2f}x ({verdict} the 0.5x target)")


def main(latency_rounds: int = 300, jobs: int = 500, rounds: int = 5) -> None:
    with bench_database("urakata_bench_spine") as dbs, throwaway_redis() as redis_url:
        settings = Settings(
            mode="test",
            secret_key="bench-" + uuid.uuid4().hex,
            database_url=dbs.app_url,
            redis_url=redis_url,
        )
        db = Database.from_url(dbs.app_url, pool_size=2, max_overflow=2)
        try:
            outbox_latency(settings, db, latency_rounds, warmup=20)
            job_throughput(settings, db, jobs, rounds)
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
