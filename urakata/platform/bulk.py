"""Helpers for bulk work: a file of 50,000 rows, a batch of ledger events."""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy.dialects import postgresql


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around work that builds many objects which stay
    alive until it ends (the rows of a file, their planned values): each collector pass
    walks them all again, which costs more than the work. Reference counting still frees
    everything that dies; one collection runs when the collector is enabled again."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Alongside:
    """Statements that run on one (psycopg) connection in a thread, in the order they are
    sent, while the caller's thread goes on computing: ``send(fn)`` queues ``fn(driver)``
    and returns a future of its result.

    The database's work and Python's overlap (a thread waiting on the server releases
    the GIL). Nothing else may use the connection until the block is left, which waits
    for everything sent; the first error stops what is queued after it (their futures
    hold that error) and is raised by the next ``send`` or on leaving the block (unless
    the block raised)."""

    def __init__(self, driver, name: str = "alongside"):
        self.driver = driver
        self.failure: BaseException | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._open = False

    def __enter__(self) -> Alongside:
        self._thread.start()
        self._open = True
        return self

    def send(self, statement: Callable[[Any], Any]) -> Future:
        self._raise()
        done: Future = Future()
        self._queue.put((statement, done))
        return done

    def __exit__(self, *exc_info) -> None:
        self.close(raising=exc_info[0] is None)

    def close(self, raising: bool = True) -> None:
        """Wait for everything sent and stop the thread (leaving the block does it)."""
        if self._open:
            self._open = False
            self._queue.put(None)
            self._thread.join()  # never leave the connection to the thread
        if raising:
            self._raise()

    def _raise(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            statement, done = item
            if self.failure is not None:
                done.set_exception(self.failure)
                continue
            try:
                done.set_result(statement(self.driver))
            except BaseException as exc:  # raised in the caller's thread
                self.failure = exc
                done.set_exception(exc)


class ChildDied(RuntimeError):
    """The forked process stopped without saying why (killed, out of memory)."""


def can_fork() -> bool:
    """Whether a second process would run beside this one (a fork, and two CPUs)."""
    return hasattr(os, "fork") and len(os.sched_getaffinity(0)) > 1


@contextmanager
def forked(produce: Callable[..., Iterable], *args: Any) -> Iterator[Iterator]:
    """Run the generator ``produce(*args)`` in a forked process and iterate here what it
    yields, as it yields it: pure Python work (a file's checks) on the second CPU while
    this process does its own (writing what came before).

    The child shares nothing with this process after the fork but the pipe: it must not
    use a connection it inherited (it only computes) and leaves with ``os._exit``, which
    runs no finalizer that could talk on those connections. What it yields and raises
    comes across pickled; an error it raises is raised here. Leaving the block early
    (an error here) kills the child; it is always reaped.
    """
    receiver, sender = multiprocessing.Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the child
        try:
            receiver.close()
            for item in produce(*args):
                sender.send((True, item))
            sender.send((False, None))
        except BaseException as exc:  # handed to the parent, which raises it
            try:
                sender.send((False, exc))
            except Exception:  # an error that does not pickle: said in words
                sender.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        finally:
            os._exit(0)
    sender.close()

    def items() -> Iterator:
        while True:
            try:
                more, item = receiver.recv()
            except EOFError:
                raise ChildDied("the checking process stopped") from None
            if more:
                yield item
            elif item is None:
                return
            else:
                raise item

    try:
        yield items()
    finally:
        receiver.close()
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # (when it is still running: this side failed)
        os.waitpid(pid, 0)


def copy_types(table, names: Iterable[str]) -> tuple[str, ...]:
    """The PostgreSQL type of each of ``table``'s columns ``names`` (a SQLAlchemy table), as
    binary COPY needs them named (``Copy.set_types``): the binary format is about three
    times cheaper to make than the text one, and it must match the column's type."""
    dialect = postgresql.dialect()
    return tuple(
        re.sub(r"\(.*\)", "", table.c[name].type.compile(dialect=dialect)).lower() for name in names
    )
