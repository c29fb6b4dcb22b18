"""Worker processes: a pool of SimpleWorkers with the scheduler on and short maintenance.

Forking per job is ~3.6x slower here (DESIGN §6), so jobs run inside the worker process.
A short maintenance interval lets a job abandoned by a killed worker run again within
minutes (RQ's cleanup moves it back to its queue while it has retries left).
"""

from __future__ import annotations

from redis import Redis
from rq import SimpleWorker
from rq.worker_pool import WorkerPool

from urakata.worker.queues import QUEUES

MAINTENANCE_INTERVAL = 30  # seconds


class UrakataWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        # RQ runs maintenance (registry cleanup, scheduler restart) only between dequeues,
        # and an idle worker blocks for worker_ttl - 15 s (405 s by default).
        kwargs.setdefault("worker_ttl", MAINTENANCE_INTERVAL + 15)
        super().__init__(*args, **kwargs)


def run_workers(redis_url: str, queues: list[str] | None = None, count: int = 2) -> None:
    connection = Redis.from_url(redis_url)
    names = queues or list(QUEUES)
    if count == 1:
        UrakataWorker(names, connection=connection).work(with_scheduler=True)
        return
    WorkerPool(names, connection=connection, num_workers=count, worker_class=UrakataWorker).start()
