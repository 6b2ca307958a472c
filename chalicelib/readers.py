"""Reads that run side by side, on one pool of threads kept for the life of the process.

A page's reads (DynamoDB requests) spend most of their time waiting on the network, so a few in
flight at once bring the page down to about its slowest read.  The threads start once per process
(one Lambda environment) rather than once per request: starting a pool of eight for each page cost
20-200 ms of the worklist's render on a busy machine (bench/README.md "console").  boto3 clients are
thread-safe; the callers build their services before they submit.

A read that itself asks for reads side by side (a BatchGetItem of 500 keys inside a page's read) runs
them in its own thread, one after the other: a task of this pool never waits on another task of
it, so the pool cannot deadlock on itself however the calls nest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")

READERS = 8  # requests in flight at once (the DynamoDB client's pool holds 50 connections)
_PREFIX = "carewire-reader"
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def submit(read: Callable[[], T]) -> Future[T]:
    """Start ``read`` on the pool; inside a read of the pool, run it here and now."""
    if threading.current_thread().name.startswith(_PREFIX):
        done: Future[T] = Future()
        try:
            done.set_result(read())
        except Exception as error:  # noqa: BLE001 - handed to whoever asks for the result, as the pool would
            done.set_exception(error)
        return done
    return _executor().submit(read)


def alongside(reads: dict[str, Callable[[], T]]) -> dict[str, T]:
    """Each read's result by name, the reads run side by side (the first error is raised, once all are done)."""
    futures = {name: submit(read) for name, read in reads.items()}
    wait(futures.values())  # none is left running past the request (on Lambda it would freeze mid-call)
    return {name: future.result() for name, future in futures.items()}


def each(reads: list[Callable[[], T]]) -> list[T]:
    """The reads' results in order, the reads run side by side (the first error is raised, once all are done)."""
    futures = [submit(read) for read in reads]
    wait(futures)
    return [future.result() for future in futures]


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix=_PREFIX)
        return _pool
