"""The failure drills' stack: servers, processes and a two-shop world of their own.

Every drill stops, kills or restarts something, so none may touch the suite's shared
servers. Each drill gets a fresh stack (``stack`` fixture): its own PostgreSQL and Redis
(``DevServers`` under the test's temp directory, on spare ports, restartable on the same
ports), a migrated database with two shops (bins, a catalog with JANs, stock, an API key
each), a real SMTP server, and the processes production runs: the portal under gunicorn,
``urakata relay`` and ``urakata worker``, each in a process group of its own so that a
SIGKILL takes its children (the worker's scheduler) too. Nothing sleeps for a fixed time:
every wait polls a condition against a deadline and fails with the processes' logs.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests import factories
from tests.portal_client import csrf_from
from tests.processes import Processes as BaseProcesses
from tests.processes import wait_until
from tests.smtp import LocalSmtpServer
from tests.tenants.fulfilment.conftest import JAN, PRODUCTS
from tests.tenants.fulfilment.conftest import order_body as shipping_order_body
from tests.tenants.stock.conftest import ADMIN, BINS_A, BINS_B, Shop
from urakata.platform.apikeys import create_api_key
from urakata.platform.db import Database
from urakata.platform.dbroles import bootstrap_database
from urakata.platform.devservers import DevServerError, DevServers, answers_health, free_port
from urakata.platform.locations import create_locations
from urakata.platform.migrate import upgrade_head
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.catalog.services import create_product
from urakata.tenants.stock.bins import assign_bins

DATABASE = "urakata_drill"
CLI = [sys.executable, "-m", "urakata.cli"]
GUNICORN = [
    str(Path(sys.executable).parent / "gunicorn"),
    "--worker-class=gthread",
    "--workers=2",
    "--threads=4",
    "--graceful-timeout=5",
]


# -- servers -----------------------------------------------------------------------------------


class DrillServers(DevServers):
    """Throwaway PostgreSQL and Redis that a drill may stop and start again on their ports."""

    def stop_postgres(self) -> None:
        self._stop_postgres()

    def start_postgres(self) -> None:
        port = self.info.postgres_port
        self._start_postgres(60)
        assert self.info.postgres_port == port, "PostgreSQL came back on another port"

    def stop_redis(self) -> None:
        self._stop_redis()

    def start_redis(self) -> None:
        port = self.info.redis_port
        self._start_redis(60)
        assert self.info.redis_port == port, "Redis came back on another port"

    def redis_answers(self) -> bool:
        try:
            return bool(Redis.from_url(self.redis_url, socket_timeout=1).ping())
        except RedisError:
            return False


# -- processes ---------------------------------------------------------------------------------


class Processes(BaseProcesses):
    """The portal, relay and worker processes of one drill; all are ended at the end."""

    def relay(self, **env: str) -> subprocess.Popen:
        return self.start("relay", [*CLI, "relay"], **env)

    def worker(self, *queues: str, count: int = 1) -> subprocess.Popen:
        return self.start("worker", [*CLI, "worker", "-n", str(count), *queues])

    def portal(self, port: int) -> subprocess.Popen:
        command = [*GUNICORN, f"--bind=127.0.0.1:{port}", "urakata.portal.wsgi:app"]
        process = self.start("gunicorn", command)
        wait_until(
            "gunicorn answers /healthz",
            lambda: process.poll() is not None or answers_health(port),
            60,
            self,
        )
        assert process.poll() is None, self.tails()
        return process


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self):
        return json.loads(self.text)


class Browser:
    """An HTTP client of the portal with its own cookies (the login cookie is Secure in
    production mode; a browser behind TLS would send it, so this one does)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body, sent)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            for raw in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(raw).items():
                    self.cookies[name] = morsel.value
            return Answer(response.status, dict(response.headers.items()), text)
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, data: dict) -> Answer:
        token = csrf_from(self.get(path).text)
        body = urllib.parse.urlencode({"csrf_token": token, **data}).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def login(self, email: str, password: str = factories.PASSWORD) -> None:
        answer = self.post_form("/login", {"email": email, "password": password})
        assert answer.status == 302, answer.text[:2000]


class ApiClient:
    """A shop's system sending orders with its API key."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token

    def post_order(self, body: dict, key: str | None = None) -> Answer:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key or f"drill-{body['external_id']}",
        }
        return Browser(self.port).request(
            "POST", "/api/v1/orders", json.dumps(body).encode(), headers
        )

    def get(self, path: str) -> Answer:
        return Browser(self.port).get(path, Authorization=f"Bearer {self.token}")


def order_body(number: str, *lines: tuple[str, int]) -> dict:
    """An order the shop's checks release at once: a real address, a customer of its own."""
    body = shipping_order_body(*lines, number=number)
    body["customer"]["email"] = f"{number.lower()}@example.jp"
    return body


# -- the world ---------------------------------------------------------------------------------


def _stocked_shop(db: Database, tenant, bins) -> Shop:
    """The shop's bins and the fulfilment tests' catalog (JANs, a lot-tracked tea)."""
    with db.platform_session() as s:
        codes = []
        for zone, aisle, shelf, bin_, kind in bins:
            data = {"zone": zone, "aisle": aisle, "shelf": shelf, "bin": bin_, "kind": kind}
            codes += [m.code for m in create_locations(s, actor=ADMIN, data=data)]
    with db.tenant_session(tenant.id) as s:
        assign_bins(s, actor=ADMIN, codes=codes)
        products = {}
        for d in PRODUCTS:
            data = {"status": "active", "jan": JAN.get(d["sku"]), **d}
            products[d["sku"]] = create_product(s, actor=ADMIN, data=data).id
    return Shop(tenant, products)


def _api_token(db: Database, shop: Shop) -> str:
    with db.platform_session() as s:
        _key, token = create_api_key(s, shop.id, "drill: 受注連携", actor=ADMIN)
    return token


@dataclass
class Stack:
    servers: DrillServers
    db: Database  # the application role, as the processes use it
    admin_url: str  # superuser on the drill database: the census reads past RLS
    world: factories.World
    shop_a: Shop
    shop_b: Shop
    token_a: str
    token_b: str
    smtp: LocalSmtpServer
    processes: Processes
    port: int  # the portal's
    redis: Redis

    def browser(self) -> Browser:
        return Browser(self.port)

    def api(self, shop: Shop) -> ApiClient:
        return ApiClient(self.port, self.token_a if shop is self.shop_a else self.token_b)

    def unfinished_outbox(self) -> list[OutboxMessage]:
        with self.db.platform_session() as s:
            return list(
                s.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None)
                    )
                )
            )

    def drain(self, timeout: float = 60) -> None:
        """Until every outbox row is done: the relay and a worker must be running."""
        wait_until(
            "every outbox job is relayed and done",
            lambda: not self.unfinished_outbox(),
            timeout,
            self.processes,
        )

    def sql(self, query: str, params: dict | None = None) -> list[tuple]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute(query, params or {}).fetchall()

    def census(self, shop: Shop) -> dict[str, tuple[int, str]]:
        """Every row the shop owns, table by table: (count, digest of the rows' text).

        Tenant tables by ``tenant_id``, platform tables that name a shop by ``shop_id``;
        any row added, changed or removed changes the table's entry."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name IN ('tenant_id', 'shop_id')"
                " ORDER BY table_name"
            ).fetchall()
            found = {}
            for table, column in tables:
                found[table] = conn.execute(
                    f"SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')"
                    f' FROM "{table}" t WHERE "{column}" = %s',
                    (shop.id,),
                ).fetchone()
        return found


def settle_seed(stack: Stack) -> None:
    """Run what the seed asked for (welcome mails, requests of jobs) to the end, so a
    drill measures only its own effects; then the SMTP server starts empty."""
    relay = stack.processes.relay()
    worker = stack.processes.worker()
    stack.processes.wait_for_workers(stack.redis)
    stack.drain()
    stack.processes.stop_all()
    assert relay.returncode is not None and worker.returncode is not None
    stack.smtp.messages.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the item: a failed drill prints its processes' logs."""
    report = yield
    if report.when == "call":
        item.drill_failed = report.failed
    return report


@pytest.fixture
def stack(request) -> Iterator[Stack]:
    """A fresh stack per drill (about 3 s): restarting a server disturbs no other drill.

    Its directory is not under pytest's temp root, whose rotation by another pytest run
    would delete a running server's data."""
    tmp_path = Path(tempfile.mkdtemp(prefix="urakata-drill-"))
    try:
        servers = DrillServers(tmp_path / "servers").start()
    except DevServerError as exc:
        shutil.rmtree(tmp_path, ignore_errors=True)
        pytest.fail(f"cannot start the drill's servers: {exc}", pytrace=False)
    smtp = LocalSmtpServer().start()
    log_dir = tmp_path / "logs"
    keep = False
    processes = None
    db = None
    try:
        owner_url, app_url = bootstrap_database(servers.admin_database_url, DATABASE)
        upgrade_head(owner_url)
        admin_url = (
            make_url(servers.admin_database_url)
            .set(database=DATABASE)
            .render_as_string(hide_password=False)
        )
        # A drill that waits on a lock by mistake fails instead of hanging.
        db = Database.from_url(app_url, connect_args={"options": "-c lock_timeout=30s"})
        world = factories.make_world(db)
        shop_a = _stocked_shop(db, world.shop_a, BINS_A)
        shop_b = _stocked_shop(db, world.shop_b, BINS_B)
        port = free_port()
        env = dict(
            os.environ,
            URAKATA_MODE="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=app_url,
            REDIS_URL=servers.redis_url,
            PUBLIC_URL=f"http://127.0.0.1:{port}",
            MAIL_HOST="127.0.0.1",
            MAIL_PORT=str(smtp.port),
            MAIL_DIR="",  # really send, to the drill's SMTP server
            FILES_DIR=str(tmp_path / "files"),
            LEDGER_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
            LOG_LEVEL="INFO",
        )
        log_dir.mkdir()
        processes = Processes(env, log_dir)
        stack = Stack(
            servers=servers,
            db=db,
            admin_url=admin_url,
            world=world,
            shop_a=shop_a,
            shop_b=shop_b,
            token_a=_api_token(db, shop_a),
            token_b=_api_token(db, shop_b),
            smtp=smtp,
            processes=processes,
            port=port,
            redis=Redis.from_url(servers.redis_url),
        )
        yield stack
    finally:
        if processes is not None:
            if getattr(request.node, "drill_failed", False):
                print(f"\nthe drill's processes (whole logs in {log_dir}):\n{processes.tails()}")
                keep = True
            processes.kill_all()  # the stack is thrown away: no need to wait for anyone
        if db is not None:
            db.dispose()
        smtp.stop()
        servers.stop()
        shutil.rmtree(tmp_path / "servers", ignore_errors=True)
        if not keep:
            shutil.rmtree(tmp_path, ignore_errors=True)


def new_number(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Sent:
    number: str
    body: dict
    status: int  # 0: no HTTP answer at all (connection refused or dropped)
    answer: str
    started: float
    finished: float


class OrderStream:
    """A shop's system sending orders one after another from ``threads`` threads until
    stopped, each order with its own Idempotency-Key; every answer is kept."""

    PACE = 0.05  # seconds between a thread's orders: a steady trickle, not a flood

    def __init__(self, api: ApiClient, prefix: str, threads: int = 1, lines=None):
        self.api = api
        self.prefix = prefix
        self.lines = lines or (("CUP-1", 1), ("POT-1", 1))
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._send, args=(n,), name=f"orders-{n}", daemon=True)
            for n in range(threads)
        ]

    def __enter__(self) -> OrderStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _send(self, thread: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            number = f"{self.prefix}-{thread}-{n:04d}"
            body = order_body(number, *self.lines)
            started = time.monotonic()
            try:
                answer = self.api.post_order(body)
                status, text = answer.status, answer.text
            except OSError as exc:
                status, text = 0, f"{type(exc).__name__}: {exc}"
            self.sent.append(Sent(number, body, status, text, started, time.monotonic()))
            self._stop.wait(self.PACE)

    def answered(self, status: int, after: float = 0.0, before: float = float("inf")) -> list[Sent]:
        """Orders answered ``status`` that were sent after ``after`` and answered before
        ``before`` (monotonic times)."""
        return [
            s
            for s in list(self.sent)
            if s.status == status and s.started > after and s.finished < before
        ]
