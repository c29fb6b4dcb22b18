"""Worker processes: a pool of SimpleWorkers with the scheduler on and short maintenance.

Forking per job is ~3.6x slower here (DESIGN §6), so jobs run inside the worker process.
A thread beats for the running job every ``HEARTBEAT_INTERVAL`` seconds, keeping its entry
in RQ's started-job registry alive for ``HEARTBEAT_TTL`` more. A killed worker stops
beating; its job's entry lapses and the next registry cleanup (every
``MAINTENANCE_INTERVAL`` seconds) sends the job back to its queue while it has retries
left, where it runs again (its idempotency key makes the re-run do the work once).
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.job import Job
from rq.worker_pool import WorkerPool

from urakata.worker.queues import QUEUES

log = logging.getLogger(__name__)
MAINTENANCE_INTERVAL = 30  # seconds
HEARTBEAT_INTERVAL = 5  # seconds between a running job's heartbeats
HEARTBEAT_TTL = 30  # a running job not heard of for this long is abandoned


class UrakataWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        # RQ runs maintenance (registry cleanup, scheduler restart) only between dequeues,
        # and an idle worker blocks for worker_ttl - 15 s (405 s by default).
        kwargs.setdefault("worker_ttl", MAINTENANCE_INTERVAL + 15)
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_INTERVAL)
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job: Job) -> int:
        """How long the running job's entry lives without a heartbeat.

        RQ's SimpleWorker sends none while a job runs and keeps the entry for the job's
        whole timeout + 60 s instead: a job of a killed worker waited that long to run
        again (31 minutes for a pick list)."""
        return HEARTBEAT_TTL

    def execute_job(self, job: Job, queue) -> None:
        stop = threading.Event()
        beats = threading.Thread(
            target=self._beat, args=(job, stop), name="job-heartbeat", daemon=True
        )
        beats.start()
        try:
            super().execute_job(job, queue)
        finally:
            stop.set()
            beats.join()

    def _beat(self, job: Job, stop: threading.Event) -> None:
        """Renew the worker's and the running job's entries until the job ends.

        ZADD XX only renews an entry that is there, so a beat racing the job's end cannot
        bring a finished job's entry back."""
        while not stop.wait(self.job_monitoring_interval):
            execution = self.execution
            if execution is None or execution.job_id != job.id:
                continue
            try:
                with self.connection.pipeline() as pipeline:
                    self.heartbeat(HEARTBEAT_TTL, pipeline=pipeline)
                    pipeline.expire(execution.key, HEARTBEAT_TTL)
                    job.started_job_registry.add_execution(
                        execution, pipeline=pipeline, ttl=HEARTBEAT_TTL, xx=True
                    )
                    pipeline.execute()
            except RedisError as exc:  # the next beat tries again
                log.warning("heartbeat of job %s failed: %s", job.id, exc)


def run_workers(redis_url: str, queues: list[str] | None = None, count: int = 2) -> None:
    connection = Redis.from_url(redis_url)
    names = queues or list(QUEUES)
    if count == 1:
        UrakataWorker(names, connection=connection).work(with_scheduler=True)
        return
    WorkerPool(names, connection=connection, num_workers=count, worker_class=UrakataWorker).start()
