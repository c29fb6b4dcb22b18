"""The job runtime: settings, database and Redis of a worker process, and ``tenant_job``.

Every RQ job runs :func:`run`: it opens a session bound to the job's shop (the agency
scope when the job names none), claims the job's idempotency key, calls the registered
function once, marks the outbox row done, and commits once. A second delivery of the same
job finds its key claimed and does nothing. Arguments are ids and plain values only.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from rq import get_current_job

import urakata.model_registry  # noqa: F401 - every mapped table, so foreign keys resolve
from urakata.platform import jobs, outbox
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database, UrakataSession

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a job body may use besides its session."""

    settings: Settings
    db: Database
    redis: Redis
    job_id: str = ""
    job_name: str = ""

    @property
    def actor(self) -> Actor:
        return Actor.job(self.job_name, self.job_id)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable
    queue: str
    retry_intervals: tuple[int, ...] = (10, 60, 300)
    timeout: int = 300
    failure_ttl: int = 7 * 24 * 3600
    # on_failure(session, ctx, exc, final, **args): runs in its own transaction.
    on_failure: Callable | None = field(default=None, compare=False)


REGISTRY: dict[str, JobSpec] = {}


def tenant_job(
    name: str,
    *,
    queue: str,
    retry_intervals: tuple[int, ...] = (10, 60, 300),
    timeout: int = 300,
    on_failure: Callable | None = None,
):
    """Register ``func(session, ctx, **ids)`` as the job ``name`` (see :func:`run`)."""

    def register(func: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"job {name!r} registered twice")
        REGISTRY[name] = JobSpec(name, func, queue, retry_intervals, timeout, on_failure=on_failure)
        return func

    return register


@functools.cache
def context() -> Context:
    """This process's context, built once from the environment at the first job."""
    settings = Settings.from_env()
    return Context(
        settings=settings,
        db=Database.from_url(settings.database_url, pool_size=2, max_overflow=2),
        redis=Redis.from_url(settings.redis_url),
    )


def use_context(ctx: Context | None) -> None:
    """Install a context (tests and in-process runners); None goes back to the environment."""
    context.cache_clear()
    _override.clear()
    if ctx is not None:
        _override.append(ctx)


_override: list[Context] = []


def _context() -> Context:
    return _override[0] if _override else context()


def run(job_name: str, shop_id: str | None, key: str | None, outbox_id: str | None, args: dict):
    """The RQ entry point of every Urakata job.

    ``key`` is the idempotency key (``outbox:<id>`` for outbox jobs). Periodic maintenance
    that is idempotent by construction (reconciling, purging) passes None.
    """
    from urakata.worker.registry import load_jobs

    load_jobs()
    spec = REGISTRY[job_name]
    base = _context()
    current = get_current_job()
    ctx = Context(
        base.settings, base.db, base.redis, job_id=current.id if current else "", job_name=job_name
    )
    scope = uuid.UUID(shop_id) if shop_id else AGENCY_CHAIN_ID
    try:
        with ctx.db.tenant_session(scope) as session:
            owner = uuid.UUID(shop_id) if shop_id else None
            if key is not None and not jobs.claim(session, key, job_name, owner):
                log.info("job %s %s already done; skipping", job_name, key)
                return "already done"
            result = spec.func(session, ctx, **args)
            if outbox_id:
                outbox.mark_done(session, uuid.UUID(outbox_id))
        return result
    except Exception as exc:
        # RQ retries while retries are left; the last failure is final.
        _note_failure(
            ctx, spec, scope, outbox_id, args, exc, final=not current or not current.retries_left
        )
        raise


def _note_failure(ctx: Context, spec: JobSpec, scope, outbox_id, args, exc, *, final: bool):
    """Say where people look that an attempt failed (in its own transaction)."""
    try:
        with ctx.db.tenant_session(scope) as session:
            if final and outbox_id:
                outbox.mark_failed(session, uuid.UUID(outbox_id), f"{type(exc).__name__}: {exc}")
            if spec.on_failure:
                spec.on_failure(session, ctx, exc, final, **args)
    except Exception:  # noqa: BLE001 - the job's own error is what RQ must see
        log.exception("could not record the failure of %s", spec.name)


def enqueue_spec(redis: Redis, spec: JobSpec, *, job_id: str, shop_id, key, outbox_id, args):
    """Put one job on its queue with the spec's retry, timeout and failure TTL."""
    from rq import Queue, Retry

    queue = Queue(spec.queue, connection=redis)
    return queue.enqueue(
        run,
        spec.name,
        str(shop_id) if shop_id else None,
        key,
        str(outbox_id) if outbox_id else None,
        args,
        job_id=job_id,
        unique=True,
        retry=Retry(max=len(spec.retry_intervals), interval=list(spec.retry_intervals)),
        job_timeout=spec.timeout,
        failure_ttl=spec.failure_ttl,
        result_ttl=3600,
        description=f"{spec.name} {shop_id or 'agency'}",
    )


def run_in_session(session: UrakataSession, ctx: Context, name: str, **args):
    """Call a registered job body directly (tests of the body alone)."""
    from urakata.worker.registry import load_jobs

    load_jobs()
    return REGISTRY[name].func(session, ctx, **args)
