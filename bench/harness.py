"""Shared benchmark plumbing: a throwaway database, interleaved timing, medians."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from urakata.platform.dbroles import bootstrap_database, drop_database
from urakata.platform.devservers import DevServers
from urakata.platform.migrate import upgrade_head


@dataclass(frozen=True)
class BenchDatabase:
    admin_url: str
    owner_url: str
    app_url: str


@contextmanager
def bench_database(name: str = "urakata_bench") -> Iterator[BenchDatabase]:
    """A migrated database on BENCH_DATABASE_URL / TEST_DATABASE_URL, or throwaway servers."""
    admin = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    servers = None
    if not admin:
        servers = DevServers(Path(tempfile.mkdtemp(prefix="urakata-bench-"))).start()
        admin = servers.admin_database_url
    owner_url, app_url = bootstrap_database(admin, name, recreate=True)
    upgrade_head(owner_url)
    from sqlalchemy.engine import make_url

    admin_db = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield BenchDatabase(admin_db, owner_url, app_url)
    finally:
        drop_database(admin, name)
        if servers:
            servers.stop()


def interleaved(cases: dict[str, Callable[[], None]], rounds: int, warmup: int = 50):
    """Time each case ``rounds`` times, alternating, so machine noise hits them alike."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


def report(title: str, samples: dict[str, list[float]], baseline: str) -> dict[str, float]:
    medians = {name: statistics.median(v) for name, v in samples.items()}
    print(f"\n{title}")
    for name, values in samples.items():
        q = statistics.quantiles(values, n=20)
        ratio = medians[name] / medians[baseline]
        print(
            f"  {name:<28} median {medians[name] * 1e3:7.3f} ms"
            f"  p5 {q[0] * 1e3:7.3f}  p95 {q[-1] * 1e3:7.3f}  ratio {ratio:5.2f}x"
        )
    return medians


# -- the import benches' baseline: COPY of the same rows into tables shaped like the shop's


def stored_rows(admin_url: str, shop, tables: tuple[str, ...]) -> list[bytes]:
    """A shop's rows of ``tables`` as COPY text, read back (as a superuser, past row-level
    security) after its import."""
    from urakata.platform.db import make_engine

    engine = make_engine(admin_url)
    try:
        with engine.begin() as conn, conn.connection.driver_connection.cursor() as cursor:
            out = []
            for table in tables:
                sql = f"COPY (SELECT * FROM {table} WHERE tenant_id = '{shop}') TO STDOUT"
                with cursor.copy(sql) as copy:
                    out.append(b"".join(bytes(chunk) for chunk in copy))
        if not out[0].strip():
            raise RuntimeError(f"no rows of shop {shop} read back for the baseline")
        return out
    finally:
        engine.dispose()


def copy_shaped(owner_url: str, tables: tuple[str, ...], rows: list[bytes]) -> float:
    """Seconds to COPY ``rows`` (from :func:`stored_rows`) into tables made ``LIKE`` each
    of ``tables`` ``INCLUDING ALL`` (the same checks, keys and indexes; no row-level
    security or foreign key, which COPY cannot load through), made on first use."""
    from urakata.platform.db import make_engine

    shaped = [f"bench_shaped_{table}" for table in tables]
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            for copy_of, table in zip(shaped, tables, strict=True):
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {copy_of} (LIKE {table} INCLUDING ALL)"
                )
            conn.exec_driver_sql(f"TRUNCATE {', '.join(shaped)}")
        start = time.perf_counter()
        with engine.begin() as conn, conn.connection.driver_connection.cursor() as cursor:
            for copy_of, data in zip(shaped, rows, strict=True):
                with cursor.copy(f"COPY {copy_of} FROM STDIN") as copy:
                    copy.write(data)
        return time.perf_counter() - start
    finally:
        engine.dispose()
