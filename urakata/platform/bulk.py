"""Helpers for bulk work: a file of 50,000 rows, a batch of ledger events."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
