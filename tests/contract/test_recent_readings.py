"""The ``RecentReadings`` contract (services/worklist.py), on ``FakeRecentReadings`` and ``DynamoRecentReadings``.

What the worklist relies on, and what the stream's update promises: each record is there once however often
it is added (a redelivered stream record adds the same string again), records come back by patient for a
whole panel at once (more than a BatchGetItem's 100 keys), a patient without any is left out, and every
addition drops the days 15 to 45 days before its own day and nothing nearer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain.triage import encode_bp, encode_glucose
from tests.contract.conftest import BACKENDS

DAY = date(2026, 3, 2)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes.worklist import FakeRecentReadings

        return FakeRecentReadings()
    from chalicelib.adapters.recent import DynamoRecentReadings

    return DynamoRecentReadings(request.getfixturevalue("dynamo_table"))


def day(days_ago: int) -> str:
    return (DAY - timedelta(days=days_ago)).isoformat()


def test_a_record_added_twice_is_there_once(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    first = encode_glucose("r-1", day(0), 99.5)
    store.add(pid, day(0), first)
    store.add(pid, day(0), first)  # a redelivery
    store.add(pid, day(0), encode_glucose("r-2", day(0), "LO"))
    store.add(pid, day(1), encode_bp("r-3", day(1), 150, 95))

    assert store.recent([pid]) == {pid: ["b|r-3|2026-03-01|150|95", "g|r-1|2026-03-02|99.5", "g|r-2|2026-03-02|LO"]}


def test_a_patient_without_records_is_left_out(store: Any, ids: Callable[[str], str]) -> None:
    pid, other = ids("p"), ids("q")
    store.add(pid, day(0), encode_glucose("r-1", day(0), 100))

    assert list(store.recent([pid, other])) == [pid]
    assert store.recent([]) == {}


def test_a_whole_panel_is_read_at_once(store: Any, ids: Callable[[str], str]) -> None:
    pids = [f"{ids('p')}-{n:03d}" for n in range(130)]
    for pid in pids:
        store.add(pid, day(0), encode_glucose("r-1", day(0), 100))

    found = store.recent(pids + pids[:3])  # a repeated id is asked for once

    assert sorted(found) == sorted(pids)


def test_a_reading_drops_the_days_15_to_45_before_its_own(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for back in (0, 14, 15, 30, 45, 46):
        store.add(pid, day(back), encode_glucose(f"r-{back}", day(back), 100))
    # Added oldest-last above, so the older days were written after the newer ones' pruning: prune again.
    store.add(pid, day(0), encode_glucose("r-new", day(0), 120))

    days = sorted({record.split("|")[2] for record in store.recent([pid])[pid]})

    assert days == [day(46), day(14), day(0)]  # 46 days back is out of reach of one update; never read


def test_an_older_reading_prunes_behind_itself_not_behind_today(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.add(pid, day(20), encode_glucose("r-old", day(20), 100))
    store.add(pid, day(0), encode_glucose("r-today", day(0), 100))
    store.add(pid, day(5), encode_glucose("r-late", day(5), 100))  # a late sync: drops 20..50 days back

    records = store.recent([pid])[pid]

    assert [r.split("|")[1] for r in records] == ["r-late", "r-today"]


# -- device-day marks (the worklist's 30-day count without the RPM months) --------------------


def test_a_device_day_is_marked_once_and_a_record_is_not_a_mark(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.enrol(pid)
    store.add(pid, day(0), None, device_day=True, received_day=day(0))
    store.add(pid, day(0), None, device_day=True, received_day=day(0))  # a redelivery
    store.add(pid, day(3), encode_glucose("r-1", day(3), 100), device_day=False, received_day=day(0))  # by hand
    store.add(pid, day(40), None, device_day=True, received_day=day(10))  # a late sync: 30 days behind receipt

    item = store.items([pid])[pid]
    assert item.device_days == frozenset({day(0), day(40)})
    assert item.records == ["g|r-1|2026-02-27|100"]
    assert item.device_days_from == "0000-01-01"  # enrolled with the marks: complete from the start


def test_a_mark_drops_the_marks_31_to_61_days_before_its_own(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.enrol(pid)
    for back in (1, 30, 31, 45, 61, 62):
        store.add(pid, day(back), None, device_day=True, received_day=day(back))

    store.add(pid, day(0), None, device_day=True, received_day=day(0))

    assert store.items([pid])[pid].device_days == frozenset({day(0), day(1), day(30), day(62)})


def test_marks_of_a_patient_enrolled_before_them_are_complete_from_the_day_after_the_first(
    store: Any, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    store.add(pid, day(2), encode_glucose("r-1", day(2), 100), device_day=True, received_day=day(1))
    store.add(pid, day(0), None, device_day=True, received_day=day(0))

    item = store.items([pid])[pid]
    assert item.device_days_from == day(0)  # the day after the first update's receipt, kept by later ones
    assert item.device_days_between(day(29), day(0)) is None  # the window starts before: not known
    assert item.device_days_between(day(0), day(0)) == 1


def test_a_reading_the_item_could_not_take_moves_completeness_past_its_day_and_never_back(
    store: Any, ids: Callable[[str], str]
) -> None:
    pid, nobody = ids("p"), ids("q")
    store.enrol(pid)
    store.add(pid, day(5), None, device_day=True, received_day=day(5))

    store.forget_marks(pid, day(3))  # a reading received 3 days ago could not be marked
    store.forget_marks(nobody, day(3))  # no item: nothing is written
    assert store.items([pid])[pid].device_days_from == day(2)
    assert list(store.items([pid, nobody])) == [pid]

    store.forget_marks(pid, day(9))  # a redelivered older refusal: not back
    store.add(pid, day(8), None, device_day=True, received_day=day(8))  # nor a redelivered older reading
    assert store.items([pid])[pid].device_days_from == day(2)
    store.forget_marks(pid, day(1))
    assert store.items([pid])[pid].device_days_from == day(0)
    assert store.items([pid])[pid].device_days == frozenset({day(5), day(8)})
