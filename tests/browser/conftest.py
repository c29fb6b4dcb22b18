"""The browser harness: the real portal on a spare port, served from its own committed
database, and Debian's Chromium driven by Playwright (never a downloaded browser).

The SAVEPOINT ``db`` fixture of tests/conftest.py cannot serve here: its one connection
cannot be shared by the server's threads, and the browser must see committed rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from redis import Redis
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from tests import factories
from tests.browser.harness import Authenticator, BrowserPortal, screenshot
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.dbroles import bootstrap_database, drop_database
from urakata.platform.identity import Role, UserAccount
from urakata.platform.migrate import upgrade_head

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ACTION_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so the page fixture knows a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser journeys need Debian's Chromium"
            " (apt-get install chromium); Playwright never downloads its own browser here",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser_database(admin_database_url) -> Iterator[str]:
    """A database of its own, migrated; yields the application role's URL."""
    name = f"urakata_browser_{os.getpid()}"
    owner_url, app_url = bootstrap_database(admin_database_url, name, recreate=True)
    try:
        upgrade_head(owner_url)
        yield app_url
    finally:
        drop_database(admin_database_url, name)


def _own_redis_db(redis_url: str) -> str:
    """Another Redis database than the in-process tests': their spine flushes theirs.

    TEST_BROWSER_REDIS_URL names it outright, so that two browser runs side by side do not
    flush each other's queues."""
    if os.environ.get("TEST_BROWSER_REDIS_URL"):
        return os.environ["TEST_BROWSER_REDIS_URL"]
    url = make_url(redis_url.replace("redis://", "postgresql://", 1))
    db = int(url.database or 0)
    return redis_url.rsplit("/", 1)[0] + f"/{14 if db != 14 else 13}"


def _start_spine(settings: Settings) -> list[subprocess.Popen]:
    """A real relay and a real worker process, as the demo and production run them."""
    env = dict(
        os.environ,
        URAKATA_MODE="test",
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MAIL_HOST=settings.mail_host,
        MAIL_PORT=str(settings.mail_port),
        PUBLIC_URL=settings.public_url,
    )
    command = [sys.executable, "-m", "urakata.cli"]
    return [
        subprocess.Popen([*command, "relay"], env=env),
        subprocess.Popen([*command, "worker", "-n", "1"], env=env),
    ]


@pytest.fixture(scope="session")
def portal_server(browser_database, redis_url, smtp_server) -> Iterator[BrowserPortal]:
    """The real portal on 127.0.0.1 at a spare port, seeded with a two-shop world, with a
    relay and a worker process sending its mails."""
    from urakata.portal import create_app

    authenticator = Authenticator()
    world, onboarder = _seed(browser_database, authenticator)
    server = make_server("127.0.0.1", 0, None, threaded=True)
    redis_url = _own_redis_db(redis_url)
    Redis.from_url(redis_url).flushdb()
    settings = Settings(
        mode="test",
        secret_key="browser-" + uuid.uuid4().hex,
        database_url=browser_database,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{server.server_port}",
        mail_host="127.0.0.1",
        mail_port=smtp_server.port,
        login_rate_limit_ip="1000 per minute",
        login_rate_limit_account="1000 per minute",
        rate_limit_prefix="browser-" + uuid.uuid4().hex[:12],
    )
    app = create_app(settings)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="browser-portal", daemon=True)
    thread.start()
    spine = _start_spine(settings)
    try:
        yield BrowserPortal(
            base_url=f"http://127.0.0.1:{server.server_port}",
            world=world,
            onboarder=onboarder,
            authenticator=authenticator,
            mailbox=smtp_server.messages,
        )
    finally:
        for process in spine:
            process.terminate()
        for process in spine:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["urakata.db"].dispose()


def _seed(app_url: str, authenticator: Authenticator) -> tuple[factories.World, UserAccount]:
    """The two-shop world, plus an agency admin who set up TOTP on an earlier visit."""
    db = Database.from_url(app_url)
    try:
        world = factories.make_world(db)
        onboarder = factories.make_user(db, Role.agency_admin, email="onboarder@agency.example")
        secret = pyotp.random_base32()
        with db.platform_session() as session:
            account = session.get(UserAccount, onboarder.id)
            account.totp_secret = secret
            account.totp_enabled_at = datetime.now(UTC)
        authenticator.enrol(onboarder.email, secret)
        return world, onboarder
    finally:
        db.dispose()


@pytest.fixture
def page(request, browser, portal_server) -> Iterator[Page]:
    """A fresh context per test (no cookies carried over), Japanese locale, 1280×900."""
    context = browser.new_context(
        base_url=portal_server.base_url, locale="ja-JP", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()
