"""The test harness: real PostgreSQL and Redis, a migrated database, two shops in every world.

Servers come from TEST_DATABASE_URL (a superuser URL: the harness creates its own database
and roles in it) and TEST_REDIS_URL, else throwaway ones started under a temp directory by
the same helper as the demo. A server that cannot be had fails the run loudly.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from redis import Redis
from sqlalchemy.engine import make_url

from tests import factories
from urakata.platform.config import Settings
from urakata.platform.db import Database, make_engine
from urakata.platform.dbroles import bootstrap_database, drop_database
from urakata.platform.devservers import DevServerError, DevServers
from urakata.platform.migrate import upgrade_head


@dataclass(frozen=True)
class TestDatabase:
    admin_url: str  # superuser: bypasses RLS; used only to inspect or to prove a point
    owner_url: str  # owns the tables; runs migrations
    app_url: str  # the application role
    name: str


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Throwaway servers, started only when TEST_DATABASE_URL or TEST_REDIS_URL is missing."""
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"):
        yield None
        return
    try:
        dev = DevServers(tmp_path_factory.mktemp("servers")).start()
    except DevServerError as exc:
        pytest.fail(f"cannot start test servers: {exc}", pytrace=False)
    yield dev
    dev.stop()


@pytest.fixture(scope="session")
def admin_database_url(servers) -> str:
    return os.environ.get("TEST_DATABASE_URL") or servers.admin_database_url


@pytest.fixture(scope="session")
def redis_url(servers) -> str:
    url = os.environ.get("TEST_REDIS_URL") or servers.redis_url
    try:
        Redis.from_url(url, socket_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no Redis for the tests
        pytest.fail(f"Redis at {url} does not answer ({exc}); start redis-server", pytrace=False)
    return url


@pytest.fixture(scope="session")
def test_database(admin_database_url) -> TestDatabase:
    name = f"urakata_test_{os.getpid()}"
    try:
        owner_url, app_url = bootstrap_database(admin_database_url, name, recreate=True)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(
            f"cannot create the test database through {make_url(admin_database_url)!r}: {exc}."
            " TEST_DATABASE_URL must be a superuser URL of a running PostgreSQL",
            pytrace=False,
        )
    upgrade_head(owner_url)
    admin = make_url(admin_database_url).set(database=name).render_as_string(hide_password=False)
    yield TestDatabase(admin_url=admin, owner_url=owner_url, app_url=app_url, name=name)
    drop_database(admin_database_url, name)


@pytest.fixture(scope="session")
def app_engine(test_database):
    engine = make_engine(test_database.app_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin_engine(test_database):
    engine = make_engine(test_database.admin_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(app_engine):
    """One app-role connection per test, its transaction rolled back at the end."""
    with app_engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def db(connection) -> Database:
    """Sessions joined to the test's transaction (SAVEPOINT per session transaction)."""
    return Database.joined_to(connection)


@pytest.fixture
def world(db) -> factories.World:
    """Two shops, each with a shop admin, an operator per shop, an agency admin, an auditor."""
    return factories.make_world(db)


@pytest.fixture
def settings(test_database, redis_url, smtp_server) -> Settings:
    return Settings(
        mode="test",
        secret_key="test-" + uuid.uuid4().hex,
        database_url=test_database.app_url,
        redis_url=redis_url,
        mail_host="127.0.0.1",
        mail_port=smtp_server.port,
        # Generous limits: the throttling tests build an app with tight ones.
        login_rate_limit_ip="1000 per minute",
        login_rate_limit_account="1000 per minute",
        rate_limit_prefix="test-" + uuid.uuid4().hex[:12],
    )


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on a spare port; ``.messages`` holds what it received."""
    from tests.smtp import LocalSmtpServer

    server = LocalSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.messages.clear()
    return smtp_server.messages


@pytest.fixture
def app(settings, db):
    from urakata.portal import create_app

    app = create_app(settings, db=db)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def portal(app, db):
    """A browser-like client that logs users in through the real login pages."""
    from tests.portal_client import PortalClient

    return PortalClient(app, db)


class Spine:
    """The outbox relay and a burst SimpleWorker, run in the test's process and transaction."""

    def __init__(self, ctx):
        self.ctx = ctx

    def run(self) -> int:
        """Relay committed outbox rows and work every queue until empty; returns jobs run."""
        from rq import SimpleWorker

        from urakata.worker.queues import QUEUES
        from urakata.worker.relay import relay_once

        relayed = relay_once(self.ctx)
        SimpleWorker(list(QUEUES), connection=self.ctx.redis).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
        return relayed


@pytest.fixture
def spine(db, settings, redis_url):
    """Jobs run for real (RQ on the test Redis) against the test's own transaction."""
    from urakata.worker.runtime import Context, use_context

    redis = Redis.from_url(redis_url)
    redis.flushdb()  # queues of earlier tests must not leak into this one
    use_context(Context(settings=settings, db=db, redis=redis))
    yield Spine(Context(settings=settings, db=db, redis=redis))
    use_context(None)
