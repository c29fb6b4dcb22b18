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
