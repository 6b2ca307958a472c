"""The ``Reviews`` contract (services/worklist.py), on ``FakeReviewStore`` and ``DynamoReviewStore``.

What "Mark reviewed" and its undo rely on: a mark lands only over the review the caller saw (``None``: never
reviewed) and keeps the one it replaced; an undo lands only for the reviewer, on that very review, once, and
puts the replaced one back (``None`` for never); every answer is the review as it now is, and says whether
this request changed it.  Reviews of a whole panel come back at once; a patient never reviewed is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.conftest import BACKENDS

T1, T2, T3 = "2026-03-02T09:00:00.000Z", "2026-03-02T10:00:00.000Z", "2026-03-02T11:00:00.000Z"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes.worklist import FakeReviewStore

        return FakeReviewStore()
    from chalicelib.adapters.reviews import DynamoReviewStore

    return DynamoReviewStore(request.getfixturevalue("dynamo_table"))


def state(review: dict[str, Any]) -> tuple[Any, ...]:
    return (review["reviewed_at"], review["reviewed_by"], review["changed"], review["has_previous"])


def test_a_first_mark_lands_over_never(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    review = store.mark(pid, T1, "c-ana", None)

    assert state(review) == (T1, "c-ana", True, True)
    assert (review["previous_at"], review["previous_by"]) == (None, None)
    assert state(store.many([pid])[pid]) == (T1, "c-ana", False, True)


def test_a_mark_over_the_review_seen_keeps_the_one_it_replaced(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.mark(pid, T1, "c-ana", None)

    review = store.mark(pid, T2, "c-eve", T1)

    assert state(review) == (T2, "c-eve", True, True)
    assert (review["previous_at"], review["previous_by"]) == (T1, "c-ana")


def test_a_mark_over_a_review_not_seen_changes_nothing(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.mark(pid, T1, "c-ana", None)

    stale = store.mark(pid, T2, "c-eve", None)  # the page still said "never"
    wrong = store.mark(pid, T3, "c-eve", T2)

    assert state(stale) == (T1, "c-ana", False, True)
    assert state(wrong) == (T1, "c-ana", False, True)


def test_an_undo_puts_back_the_replaced_review_once(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.mark(pid, T1, "c-ana", None)
    store.mark(pid, T2, "c-eve", T1)

    undone = store.undo(pid, T2, "c-eve")
    again = store.undo(pid, T2, "c-eve")
    earlier = store.undo(pid, T1, "c-ana")  # only the last review can be undone, and this one has no previous

    assert state(undone) == (T1, "c-ana", True, False)
    assert state(again) == (T1, "c-ana", False, False)
    assert state(earlier) == (T1, "c-ana", False, False)


def test_undoing_the_first_review_leaves_never_and_a_new_mark_lands(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.mark(pid, T1, "c-ana", None)

    undone = store.undo(pid, T1, "c-ana")
    marked = store.mark(pid, T2, "c-ana", None)

    assert state(undone) == (None, None, True, False)
    assert state(marked) == (T2, "c-ana", True, True)
    assert (marked["previous_at"], marked["previous_by"]) == (None, None)


def test_only_the_reviewer_can_undo(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.mark(pid, T1, "c-ana", None)

    assert state(store.undo(pid, T1, "c-eve")) == (T1, "c-ana", False, True)


def test_an_undo_of_nothing_answers_never(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert state(store.undo(pid, T1, "c-ana")) == (None, None, False, False)
    assert store.many([pid]) == {}


def test_a_whole_panel_is_read_at_once(store: Any, ids: Callable[[str], str]) -> None:
    pids = [f"{ids('p')}-{n:03d}" for n in range(120)]
    for pid in pids[:110]:
        store.mark(pid, T1, "c-ana", None)

    found = store.many(pids)

    assert sorted(found) == sorted(pids[:110])
    assert {(r["patient_id"], r["reviewed_by"]) for r in found.values()} == {(pid, "c-ana") for pid in pids[:110]}
