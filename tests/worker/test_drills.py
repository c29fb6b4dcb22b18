"""Failure drills of the worker spine, with real relay and worker processes.

Each drill stops or kills something, so none touches the suite's shared servers (DESIGN §9):
the drills run their own redis-server on a spare port (AOF on, as in production) and their
own committed database, and start ``urakata relay`` and ``urakata worker -n 1`` as
subprocesses, each in its own process group so a SIGKILL takes its scheduler child too.
Nothing sleeps for a fixed time: every wait polls a condition against a deadline.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from tests import factories
from tests.portal_client import PortalClient
from tests.processes import Processes, wait_until
from tests.smtp import LocalSmtpServer
from urakata.platform import outbox
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.dbroles import bootstrap_database, drop_database
from urakata.platform.devservers import find_redis_server, free_port
from urakata.platform.identity import UserAccount
from urakata.platform.jobs import JobExecution
from urakata.platform.mail import MailMessage, queue_mail
from urakata.platform.migrate import upgrade_head
from urakata.platform.outbox import OutboxMessage
from urakata.worker.registry import load_jobs
from urakata.worker.runtime import REGISTRY, enqueue_spec

CLI = [sys.executable, "-m", "urakata.cli"]
SELFTEST = "maintenance.selftest"
# A killed job waits for its started-registry entry to expire (job_timeout 15 s + RQ's 60 s
# margin), for the next registry cleanup and for its first retry (5 s). An idle worker cleans
# only between dequeues, so its dequeue timeout (worker_ttl - 15 s) must not exceed the 30 s
# maintenance interval: ~100 s in all.
RECOVERY_DEADLINE = 180.0


class DrillRedis:
    """A redis-server of the drills' own, restartable on the same port and directory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(find_redis_server()),
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--save", ""),
                *("--maxmemory-policy", "noeviction"),
                *("--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until("the drill Redis answers PING", self._answers, 30)

    def _answers(self) -> bool:
        try:
            return Redis.from_url(self.url, socket_timeout=1).ping()
        except RedisError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: Redis writes its AOF and exits
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class DrillDatabase:
    app_url: str
    db: Database
    world: factories.World


class SpineProcesses(Processes):
    """The relay and worker processes of one drill; every one of them is ended at the end."""

    def spine(self, *command: str, mail_port: int | None = None) -> subprocess.Popen:
        env = {} if mail_port is None else {"MAIL_PORT": str(mail_port)}
        return self.start("-".join(command), [*CLI, *command], **env)

    def relay(self, **kw) -> subprocess.Popen:
        return self.spine("relay", **kw)

    def worker(self, **kw) -> subprocess.Popen:
        return self.spine("worker", "-n", "1", **kw)


# -- servers and processes of the drills -----------------------------------------------------


@pytest.fixture(scope="module")
def drill_redis(tmp_path_factory) -> Iterator[DrillRedis]:
    redis = DrillRedis(tmp_path_factory.mktemp("drill-redis"))
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def drill_database(admin_database_url) -> Iterator[DrillDatabase]:
    """A committed database of the drills' own with a two-shop world; dropped at the end."""
    name = f"urakata_drill_{os.getpid()}"
    owner_url, app_url = bootstrap_database(admin_database_url, name, recreate=True)
    db = None
    try:
        upgrade_head(owner_url)
        db = Database.from_url(app_url)
        world = factories.make_world(db)
        with db.platform_session() as s:  # the seed's welcome mails are no drill's business
            for row in s.scalars(select(OutboxMessage).where(OutboxMessage.done_at.is_(None))):
                row.sent_at = row.done_at = row.created_at
        yield DrillDatabase(app_url, db, world)
    finally:
        if db is not None:
            db.dispose()
        drop_database(admin_database_url, name)


@pytest.fixture(scope="module")
def drill_smtp() -> Iterator[LocalSmtpServer]:
    server = LocalSmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def drill_settings(drill_database, drill_redis, drill_smtp) -> Settings:
    return Settings(
        mode="test",
        secret_key="drill-" + uuid.uuid4().hex,
        database_url=drill_database.app_url,
        redis_url=drill_redis.url,
        mail_host="127.0.0.1",
        mail_port=drill_smtp.port,
        login_rate_limit_ip="1000 per minute",
        login_rate_limit_account="1000 per minute",
        rate_limit_prefix="drill-" + uuid.uuid4().hex[:12],
    )


@pytest.fixture
def redis(drill_redis) -> Iterator[Redis]:
    """The drill Redis, emptied: no job, lock or registry entry of an earlier drill."""
    connection = Redis.from_url(drill_redis.url)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def spine(drill_settings, redis, drill_smtp, tmp_path) -> Iterator[SpineProcesses]:
    env = dict(
        os.environ,
        URAKATA_MODE="test",
        SECRET_KEY=drill_settings.secret_key,
        DATABASE_URL=drill_settings.database_url,
        REDIS_URL=drill_settings.redis_url,
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=str(drill_smtp.port),
        MAIL_DIR="",  # really send, to the drill's SMTP server
        PUBLIC_URL=drill_settings.public_url,
        LOG_LEVEL="INFO",
    )
    processes = SpineProcesses(env, tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


# -- reading what happened ---------------------------------------------------------------------


def _outbox_row(db: Database, row_id: uuid.UUID) -> OutboxMessage:
    with db.platform_session() as s:
        return s.get(OutboxMessage, row_id)


def _selftest_events(db: Database, sleep_ms: int) -> list[AuditEvent]:
    """The agency chain's "spine.selftest" events of the run that slept ``sleep_ms``."""
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "spine.selftest")).all()
    return [e for e in events if e.payload["data"] == {"slept_ms": sleep_ms}]


def _executions(db: Database, key: str) -> int:
    with db.platform_session() as s:
        return len(s.scalars(select(JobExecution).where(JobExecution.key == key)).all())


def _job_status(redis: Redis, job_id: str) -> str | None:
    try:
        return Job.fetch(job_id, connection=redis).get_status()
    except NoSuchJobError:
        return None


def _enqueue_selftest(db: Database, sleep_ms: int) -> OutboxMessage:
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        return outbox.enqueue(s, SELFTEST, queue="default", sleep_ms=sleep_ms)


def _marker(base: int) -> int:
    """A sleep no other run in this database used, so its audit event is recognisable."""
    return base + random.randrange(1000)


# -- the drills --------------------------------------------------------------------------------


def test_redis_stopped_the_portal_keeps_working_and_no_mail_is_lost(
    spine, redis, drill_redis, drill_database, drill_smtp, drill_settings
):
    from urakata.portal import create_app

    db, world = drill_database.db, drill_database.world
    drill_smtp.messages.clear()
    relay = spine.relay()
    spine.worker()
    spine.wait_for_workers(redis, 1)
    with db.platform_session() as s:
        earlier = set(s.scalars(select(OutboxMessage.id)))

    drill_redis.stop()
    app = create_app(drill_settings)  # its Redis is the stopped one
    try:
        portal = PortalClient(app, db)
        people = [world.shop_admin_a, world.shop_admin_b, world.agency_admin]
        for person in people:
            response = portal.post_form("/password/forgot", {"email": person.email})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
    finally:
        app.extensions["urakata.db"].dispose()

    with db.platform_session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(earlier))).all()
    assert [r.job for r in rows] == ["mail.send"] * len(people)
    ids = [r.id for r in rows]

    def relay_failed_and_rows_wait():
        waiting = [_outbox_row(db, i) for i in ids]
        tried = any(r.relay_attempts and "ConnectionError" in r.last_error for r in waiting)
        return tried and all(r.sent_at is None for r in waiting)

    wait_until("the relay tries Redis and the rows wait", relay_failed_and_rows_wait, 30, spine)
    wait_until(
        "the relay logs that Redis refused",
        lambda: "Redis refused the outbox relay" in spine.log(relay),
        30,
        spine,
    )
    assert drill_smtp.messages == []

    drill_redis.start()  # same port, same directory
    wait_until(
        "every waiting mail is relayed, sent and marked done",
        lambda: all(_outbox_row(db, i).done_at for i in ids),
        90,
        spine,
    )
    recipients = sorted(m["To"] for m in drill_smtp.messages)
    assert recipients == sorted(p.email for p in people)  # each once: none lost, none twice


def test_a_worker_killed_mid_job_leaves_the_job_to_run_again_with_one_effect(
    spine, redis, drill_database
):
    db = drill_database.db
    spine.relay()
    worker = spine.worker()
    sleep_ms = _marker(3000)
    row = _enqueue_selftest(db, sleep_ms)
    job_id = str(row.id)
    wait_until(
        "the worker starts the slow job",
        lambda: _job_status(redis, job_id) == "started",
        30,
        spine,
    )

    spine.kill(worker)
    killed_at = time.monotonic()
    assert _outbox_row(db, row.id).done_at is None
    assert _selftest_events(db, sleep_ms) == []  # the killed run's transaction rolled back
    spine.worker()
    wait_until(
        "a new worker runs the abandoned job again",
        lambda: _outbox_row(db, row.id).done_at,
        RECOVERY_DEADLINE,
        spine,
    )
    print(f"recovered {time.monotonic() - killed_at:.1f}s after the SIGKILL")

    assert len(_selftest_events(db, sleep_ms)) == 1
    assert _executions(db, f"outbox:{row.id}") == 1


def test_the_same_job_delivered_three_times_to_real_workers_has_one_effect(
    spine, redis, drill_database
):
    db = drill_database.db
    spine.relay()
    spine.worker()
    spine.worker()  # two workers: deliveries race on the idempotency key
    load_jobs()
    sleep_ms = _marker(300)
    row = _enqueue_selftest(db, sleep_ms)
    duplicates = [f"{row.id}-{n}" for n in range(3)]
    for job_id in duplicates:
        enqueue_spec(
            redis,
            REGISTRY[SELFTEST],
            job_id=job_id,
            shop_id=None,
            key=f"outbox:{row.id}",
            outbox_id=row.id,
            args=row.args,
        )
    deliveries = [str(row.id), *duplicates]  # the relay's own delivery is a fourth
    wait_until(
        "every delivery finishes",
        lambda: all(_job_status(redis, j) == "finished" for j in deliveries),
        60,
        spine,
    )

    results = sorted(Job.fetch(j, connection=redis).return_value() for j in deliveries)
    assert results == ["already done", "already done", "already done", "ok"]
    assert len(_selftest_events(db, sleep_ms)) == 1
    assert _executions(db, f"outbox:{row.id}") == 1
    assert _outbox_row(db, row.id).done_at is not None


def test_a_refused_mail_is_counted_and_scheduled_for_a_retry_by_a_real_worker(
    spine, redis, drill_database
):
    db, shop = drill_database.db, drill_database.world.shop_a
    refusing = LocalSmtpServer(refuse=True).start()
    try:
        spine.relay(mail_port=refusing.port)
        spine.worker(mail_port=refusing.port)
        with db.tenant_session(shop.id) as s:
            admin = s.scalar(
                select(UserAccount).where(UserAccount.email == f"admin@{shop.slug}.example")
            )
            message = queue_mail(
                s,
                kind="password_reset",
                to=admin.email,
                locale="ja",
                params={"user_id": str(admin.id), "token_id": str(uuid.uuid4()), "shop_name": ""},
            )
            row = s.scalar(
                select(OutboxMessage).where(OutboxMessage.args["mail_id"].astext == str(message.id))
            )
        job_id = str(row.id)

        def first_attempt_failed_and_retry_scheduled():
            with db.tenant_session(shop.id) as s:
                mail = s.scalar(select(MailMessage).where(MailMessage.id == message.id))
            scheduled = ScheduledJobRegistry("mail", connection=redis).get_job_ids(cleanup=False)
            if mail.attempts == 1 and job_id in scheduled:
                return mail, Job.fetch(job_id, connection=redis)
            return None

        mail, job = wait_until(
            "the first attempt is refused and a retry is scheduled",
            first_attempt_failed_and_retry_scheduled,
            30,
            spine,
        )
    finally:
        spine.stop_all()
        refusing.stop()

    assert (mail.status, mail.attempts) == ("queued", 1)
    assert "550" in mail.last_error
    assert job.get_status() == "scheduled"
    load_jobs()
    assert job.retries_left == len(REGISTRY["mail.send"].retry_intervals) - 1
    assert refusing.messages == []
    kept = _outbox_row(db, row.id)
    assert kept.sent_at is not None and kept.done_at is None and kept.failed_at is None
