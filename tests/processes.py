"""Real processes for the drills: each in a process group of its own, logged to a file,
awaited by polling against deadlines (never a fixed sleep)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from redis import Redis
from rq import Worker

T = TypeVar("T")


def wait_until(what: str, condition: Callable[[], T], timeout: float, logs=None) -> T:
    """Poll ``condition`` until it is truthy; fail naming ``what`` (and the logs of
    ``logs``, a :class:`Processes`) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = logs.tails() if logs is not None else ""
            pytest.fail(f"not within {timeout:.0f}s: {what}\n{tail}", pytrace=False)
        time.sleep(0.1)


class Processes:
    """The processes of one drill; every one of them is ended at the end (``stop_all``)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        name = f"{len(self.processes)}-{name}"
        with (self.log_dir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches its children
            )
        self.processes.append((name, process))
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and its children (the worker's scheduler) at once, as a
        crash or the OOM killer would."""
        signal_group(process, signal.SIGKILL)
        process.wait()

    def log(self, process: subprocess.Popen) -> str:
        name = next(n for n, p in self.processes if p is process)
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def tails(self) -> str:
        return "\n".join(
            f"--- {name} (exit {p.poll()}) ---\n{self.log(p)[-4000:]}" for name, p in self.processes
        )

    def wait_for_workers(self, redis: Redis, count: int = 1) -> None:
        """Until ``count`` workers are registered (a worker cannot start without Redis)."""
        wait_until(
            f"{count} worker(s) register",
            lambda: len(Worker.all(connection=redis)) >= count,
            30,
            self,
        )

    def kill_all(self) -> None:
        for _name, process in self.processes:
            self.kill(process)

    def stop_all(self) -> None:
        for _name, process in self.processes:
            signal_group(process, signal.SIGTERM)
        for _name, process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait()


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Signal the group led by ``process`` while the leader is not yet reaped (so its id
    cannot belong to anyone else's group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
