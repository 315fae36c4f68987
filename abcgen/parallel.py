"""`ordered_map`: a function over a stream of items in worker processes, results in order,
with a bounded number of items in flight (a book of any size holds a few chunks in memory).

For the commands that read a book tune by tune (`check`, `inspect`): each tune is independent
work of about a millisecond, so a worker per core divides their wall time. Workers are forked
where that is safe (Linux, one thread: they start at once with abcgen imported), else spawned.
"""

import itertools
import multiprocessing
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from abcgen.cpus import usable_cores

CHUNK = 32  # items sent to a worker at once: few round trips, still smooth output
WINDOW_PER_JOB = 4  # chunks in flight per worker: each stays busy, memory stays small
MIN_ITEMS_PER_JOB = 256  # a worker's start (~50 ms) pays off from about this many tunes


def job_count(jobs: int | None, items: int | None = None) -> int:
    """`jobs` when given, else one per usable core (one for fewer than MIN_ITEMS_PER_JOB
    items, when `items` is known)."""
    if jobs is not None:
        return max(1, jobs)
    if items is not None and items < MIN_ITEMS_PER_JOB:
        return 1
    return usable_cores()


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _apply(func: Callable, chunk: list) -> list:
    return [func(item) for item in chunk]


def ordered_map(func: Callable, items: Iterable, jobs: int = 1) -> Iterator:
    """`func(item)` for each item, in order: in this process when `jobs` is 1, else in `jobs`
    worker processes (`func` must be a module-level function; items and results pickle).
    Closing the iterator early stops the workers."""
    if jobs <= 1:
        yield from map(func, items)
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
    try:
        in_flight: deque = deque()
        iterator = iter(items)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            in_flight.append(pool.submit(_apply, func, chunk))
            if len(in_flight) >= WINDOW_PER_JOB * jobs:
                yield from in_flight.popleft().result()
        while in_flight:
            yield from in_flight.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)
