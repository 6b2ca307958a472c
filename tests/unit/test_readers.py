"""chalicelib/readers.py: reads side by side on one pool, which cannot deadlock however the calls nest."""

from __future__ import annotations

import threading

import pytest

from chalicelib import readers


def test_results_come_back_by_name_and_in_order() -> None:
    assert readers.alongside({"a": lambda: 1, "b": lambda: 2}) == {"a": 1, "b": 2}
    assert readers.each([lambda n=n: n * n for n in range(20)]) == [n * n for n in range(20)]


def test_the_reads_run_on_the_pools_threads_side_by_side() -> None:
    started = threading.Barrier(3, timeout=5)  # three reads must be in flight at once to pass it

    def read() -> str:
        started.wait()
        return threading.current_thread().name

    names = readers.each([read, read, read])
    assert all(name.startswith("carewire-reader") for name in names)


def test_reads_nested_deeper_than_the_pool_is_wide_finish() -> None:
    """Every thread of the pool waits on reads it asked for: they run in the asking thread, no deadlock."""

    def outer(n: int) -> int:
        return sum(readers.each([lambda k=k: k for k in range(n)]))

    assert readers.each([lambda n=n: outer(n) for n in range(readers.READERS * 2)]) == [
        sum(range(n)) for n in range(readers.READERS * 2)
    ]


def test_a_reads_error_reaches_the_caller_nested_or_not() -> None:
    def fails() -> None:
        raise LookupError("no such item")

    with pytest.raises(LookupError):
        readers.alongside({"ok": lambda: 1, "bad": fails})
    with pytest.raises(LookupError):
        readers.each([lambda: readers.each([fails])])
