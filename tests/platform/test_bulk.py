"""The bulk helpers: statements on a connection in a thread, and work in a forked process."""

from __future__ import annotations

import os
import signal

import pytest

from urakata.platform.bulk import Alongside, ChildDied, forked
from urakata.platform.csvfiles import CsvUnreadable
from urakata.platform.fields import N_


class _Driver:
    """Stands in for a connection: records what ran on it."""

    def __init__(self):
        self.ran: list[str] = []


def test_statements_run_in_the_order_sent_and_futures_hold_their_results():
    driver = _Driver()
    with Alongside(driver) as writer:
        first = writer.send(lambda d: d.ran.append("a") or 1)
        second = writer.send(lambda d: d.ran.append("b") or 2)
        assert (first.result(), second.result()) == (1, 2)
        writer.send(lambda d: d.ran.append("c"))
    assert driver.ran == ["a", "b", "c"]  # leaving the block waited for the last


def test_the_first_error_stops_what_is_queued_after_it_and_is_raised():
    driver = _Driver()

    def fails(_d):
        raise ValueError("refused by the database")

    with pytest.raises(ValueError, match="refused"), Alongside(driver) as writer:
        writer.send(lambda d: d.ran.append("before"))
        failed = writer.send(fails)
        after = writer.send(lambda d: d.ran.append("after"))
        with pytest.raises(ValueError):
            after.result()  # skipped, with the first error
        assert failed.exception() is after.exception()
    assert driver.ran == ["before"]


def _count(n, fail_at=None):
    for k in range(n):
        if k == fail_at:
            raise CsvUnreadable(N_("The file is not valid CSV near line %(line)d.", line=k))
        yield {"k": k, "pid": os.getpid()}


def test_a_forked_generator_hands_its_items_over_in_order_from_another_process():
    with forked(_count, 5) as items:
        got = list(items)
    assert [item["k"] for item in got] == [0, 1, 2, 3, 4]
    assert {item["pid"] for item in got} != {os.getpid()}


def test_an_error_in_the_child_is_raised_here_with_its_translatable_message():
    with pytest.raises(CsvUnreadable) as caught, forked(_count, 5, 3) as items:
        assert [item["k"] for item in items] == [0, 1, 2]
    assert caught.value.message.msgid == "The file is not valid CSV near line %(line)d."
    assert caught.value.message.params == {"line": 3}


def _killed_after_one():
    yield 1
    os.kill(os.getpid(), signal.SIGKILL)
    yield 2


def test_a_child_that_dies_is_an_error_not_a_short_result():
    with pytest.raises(ChildDied), forked(_killed_after_one) as items:
        assert next(items) == 1
        next(items)


def _endless():
    while True:
        yield os.getpid()


def test_leaving_early_stops_the_child_and_reaps_it():
    with forked(_endless) as items:
        child = next(items)
    with pytest.raises(ChildProcessError):  # reaped already: no zombie
        os.waitpid(child, os.WNOHANG)
    with pytest.raises(ProcessLookupError):  # and not running on
        os.kill(child, 0)
