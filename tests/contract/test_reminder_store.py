"""The ``ReminderStore`` contract (services/reminders.py), on ``FakeReminderStore`` and on ``DynamoReminderStore``.

What ``ReminderService`` relies on: a live reminder's id is taken once (a
deleted one's may be used again); a tombstone is hidden from reads and counts
unless asked for, keeps its first deletion time and leaves the due index; a
replace keeps the unanswered counter and moves the due time with
``next_due_at``; a tick advances a reminder, and steps the missed-readings
watch, only while the due time it read still stands; a dose is recorded once,
closed once, and read by due time then reminder id within inclusive bounds; a
reading restarts the watch only when newer than its anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.timeutil import iso
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STORAGE = ("pk", "sk", "entity", "due_shard", "write_token")


@dataclass
class Backend:
    name: str
    store: Any
    due: Callable[[str, datetime], list[dict[str, Any]]]  # a patient's due items (reminders and watch) at a time
    watch: Callable[[str], dict[str, Any] | None]  # the patient's missed-readings watch, as stored


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        from tests.fakes.reminders import FakeReminderStore

        fake = FakeReminderStore()

        def fake_due(pid: str, now: datetime) -> list[dict[str, Any]]:
            return [
                i for shard in range(16) for page in fake.due_pages(shard, now) for i in page if i["patient_id"] == pid
            ]

        return Backend("fake", fake, fake_due, fake.watch)
    from chalicelib.adapters.due_index import DynamoDueIndex
    from chalicelib.adapters.keys import patient_pk
    from chalicelib.adapters.reminders import DynamoReminderStore

    table = request.getfixturevalue("dynamo_table")
    index = DynamoDueIndex(table)

    def due(pid: str, now: datetime) -> list[dict[str, Any]]:
        found = [i for shard in range(16) for page in index.due_pages(shard, now) for i in page]
        return sorted((i for i in found if i.get("patient_id") == pid), key=lambda i: i["due_at"])

    def watch(pid: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = table.get(patient_pk(pid), "MISSED")
        return found

    return Backend("dynamodb", DynamoReminderStore(table), due, watch)


def at(**delta: float) -> str:
    return iso(T0 + timedelta(**delta))


def reminder(pid: str, rid: str, active: bool = True, next_due: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "reminder_id": rid,
        "patient_id": pid,
        "kind": "medication",
        "times": ["08:00"],
        "days": ["mon", "tue"],
        "label": "Metformin",
        "label_by": "staff",
        "active": active,
        "timezone": "Europe/Paris",
        "next_due_at": next_due if next_due is not None else (at(hours=23) if active else None),
        "created_at": at(),
        "updated_at": at(),
        "request_hash": "h-1",
        **extra,
    }


def fields(record: dict[str, Any] | None) -> dict[str, Any]:
    assert record is not None
    return {k: v for k, v in record.items() if k not in STORAGE}


def dose(pid: str, rid: str, due_at: str, kind: str = "medication") -> dict[str, Any]:
    return {"patient_id": pid, "reminder_id": rid, "kind": kind, "due_at": due_at, "status": "due"}


# -- reminders ---------------------------------------------------------------------------------------


def test_a_reminder_is_created_once_and_reads_back_without_nulls(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    record = reminder(pid, "r-1")

    assert backend.store.create(record) is True
    assert backend.store.create({**record, "label": "Other"}) is False

    got = fields(backend.store.get(pid, "r-1"))
    assert got == {**record, "unanswered": 0, "due_at": record["next_due_at"]}
    assert backend.store.count_live(pid) == 1


def test_an_inactive_reminder_is_stored_without_a_due_time(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert backend.store.create(reminder(pid, "r-1", active=False))

    got = fields(backend.store.get(pid, "r-1"))
    assert "next_due_at" not in got and "due_at" not in got
    assert backend.due(pid, T0 + timedelta(days=30)) == []


def test_an_active_reminder_is_due_at_its_next_due_time_and_not_before(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=2)))

    assert backend.due(pid, T0 + timedelta(hours=1)) == []
    [item] = backend.due(pid, T0 + timedelta(hours=2))
    assert (item["entity"], item["reminder_id"], item["due_at"]) == ("reminder", "r-1", at(hours=2))


def test_reminders_list_in_id_order_and_only_the_patients_own(backend: Backend, ids: Callable[[str], str]) -> None:
    pid, other = ids("p"), ids("q")
    for rid in ("r-b", "r-a", "r-c"):
        backend.store.create(reminder(pid, rid))
    backend.store.create(reminder(other, "r-z"))

    assert [r["reminder_id"] for r in backend.store.of_patient(pid)] == ["r-a", "r-b", "r-c"]
    assert backend.store.count_live(pid) == 3
    assert backend.store.get(pid, "r-z") is None


def test_a_deleted_reminder_is_a_tombstone_off_the_due_index_that_keeps_its_first_deletion_time(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    backend.store.create(reminder(pid, "r-2"))

    backend.store.delete(pid, "r-1", at(minutes=5))
    backend.store.delete(pid, "r-1", at(minutes=9))

    assert backend.store.get(pid, "r-1") is None
    tomb = fields(backend.store.get(pid, "r-1", include_deleted=True))
    assert (tomb["deleted_at"], tomb["active"]) == (at(minutes=5), False)
    assert "next_due_at" not in tomb and "due_at" not in tomb
    assert backend.store.count_live(pid) == 1
    assert [r["reminder_id"] for r in backend.store.of_patient(pid)] == ["r-2"]
    assert backend.due(pid, T0 + timedelta(hours=2)) == []


def test_deleting_a_reminder_that_never_existed_stores_nothing(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    backend.store.delete(pid, "ghost", at())

    assert backend.store.get(pid, "ghost", include_deleted=True) is None


def test_a_deleted_reminders_id_may_be_used_again(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1"))
    backend.store.delete(pid, "r-1", at())

    assert backend.store.create(reminder(pid, "r-1", label="Again")) is True

    got = fields(backend.store.get(pid, "r-1"))
    assert (got["label"], "deleted_at" in got, got["active"]) == ("Again", False, True)


def test_a_replace_read_before_a_delete_does_not_bring_the_reminder_back(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    """A PATCH (or a time-zone move) racing a DELETE: the reminder stays deleted and off the due index."""
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    read = backend.store.get(pid, "r-1")
    backend.store.delete(pid, "r-1", at(minutes=5))

    backend.store.replace({**read, "times": ["10:00"], "next_due_at": at(hours=3)})

    assert backend.store.get(pid, "r-1") is None
    assert backend.store.count_live(pid) == 0
    assert backend.due(pid, T0 + timedelta(hours=4)) == []


def test_replace_rewrites_fields_removes_nulls_keeps_the_counter_and_moves_the_due_time(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    [item] = backend.due(pid, T0 + timedelta(hours=1))
    assert backend.store.advance(item, at(hours=1), at(hours=5))
    read = backend.store.get(pid, "r-1")

    backend.store.replace({**read, "times": ["10:00"], "label": None, "label_by": None, "next_due_at": at(hours=3)})

    got = fields(backend.store.get(pid, "r-1"))
    assert got["times"] == ["10:00"] and "label" not in got and "label_by" not in got
    assert (got["unanswered"], got["next_due_at"], got["due_at"]) == (1, at(hours=3), at(hours=3))
    assert [i["due_at"] for i in backend.due(pid, T0 + timedelta(hours=4))] == [at(hours=3)]


def test_replacing_with_an_inactive_schedule_takes_the_reminder_off_the_due_index(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))

    backend.store.replace({**backend.store.get(pid, "r-1"), "active": False, "next_due_at": None})

    got = fields(backend.store.get(pid, "r-1"))
    assert got["active"] is False and "next_due_at" not in got and "due_at" not in got
    assert backend.due(pid, T0 + timedelta(days=2)) == []


def test_a_reminder_deleted_since_it_was_read_stays_deleted_and_off_the_due_index(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    read = backend.store.get(pid, "r-1")
    backend.store.delete(pid, "r-1", at(minutes=5))

    backend.store.replace({**read, "times": ["10:00"], "next_due_at": at(hours=3)})  # a PATCH that lost the race

    assert backend.store.get(pid, "r-1") is None
    tomb = fields(backend.store.get(pid, "r-1", include_deleted=True))
    assert tomb["times"] == ["08:00"] and "next_due_at" not in tomb
    assert backend.due(pid, T0 + timedelta(days=2)) == []


def test_replacing_a_reminder_that_does_not_exist_stores_nothing(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    backend.store.replace(reminder(pid, "ghost"))

    assert backend.store.get(pid, "ghost", include_deleted=True) is None


def test_a_due_reminder_advances_once_counting_it_unanswered(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    [item] = backend.due(pid, T0 + timedelta(hours=1))

    first = backend.store.advance(item, at(hours=1), at(days=1, hours=1))
    again = backend.store.advance(item, at(hours=1), at(days=1, hours=1))  # a stale, repeated tick

    assert (first, again) == (True, False)
    got = fields(backend.store.get(pid, "r-1"))
    assert (got["unanswered"], got["last_fired_at"], got["next_due_at"]) == (1, at(hours=1), at(days=1, hours=1))
    assert backend.due(pid, T0 + timedelta(hours=2)) == []
    assert [i["due_at"] for i in backend.due(pid, T0 + timedelta(days=1, hours=1))] == [at(days=1, hours=1)]


def test_a_reminder_with_no_next_occurrence_leaves_the_due_index(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    [item] = backend.due(pid, T0 + timedelta(hours=1))

    assert backend.store.advance(item, at(hours=1), None)

    got = fields(backend.store.get(pid, "r-1"))
    assert "next_due_at" not in got and "due_at" not in got
    assert backend.due(pid, T0 + timedelta(days=30)) == []


def test_a_deleted_reminder_does_not_advance(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    [item] = backend.due(pid, T0 + timedelta(hours=1))
    backend.store.delete(pid, "r-1", at())

    assert backend.store.advance(item, at(hours=1), at(days=1)) is False


def test_an_answer_restarts_the_unanswered_streak(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(reminder(pid, "r-1", next_due=at(hours=1)))
    item = backend.due(pid, T0 + timedelta(hours=1))[0]
    backend.store.advance(item, at(hours=1), at(hours=2))
    item = backend.due(pid, T0 + timedelta(hours=2))[0]
    backend.store.advance(item, at(hours=2), at(hours=3))
    assert fields(backend.store.get(pid, "r-1"))["unanswered"] == 2

    backend.store.answered(pid, "r-1")

    assert fields(backend.store.get(pid, "r-1"))["unanswered"] == 0


# -- doses -------------------------------------------------------------------------------------------


def test_a_dose_is_recorded_once(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    first = backend.store.create_dose(dose(pid, "r-1", at(hours=1)))
    again = backend.store.create_dose({**dose(pid, "r-1", at(hours=1)), "status": "done"})

    assert (first, again) == (True, False)
    [got] = backend.store.doses_between(pid, at(), at(hours=2))
    assert fields(got) == dose(pid, "r-1", at(hours=1))


def test_doses_read_by_due_time_then_reminder_within_inclusive_bounds(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid, other = ids("p"), ids("q")
    for rid, hours in (("r-b", 2), ("r-a", 2), ("r-a", 1), ("r-a", 0), ("r-a", 3), ("r-c", 4)):
        backend.store.create_dose(dose(pid, rid, at(hours=hours)))
    backend.store.create_dose(dose(other, "r-a", at(hours=2)))

    found = backend.store.doses_between(pid, at(hours=1), at(hours=3))

    assert [(d["due_at"], d["reminder_id"]) for d in found] == [
        (at(hours=1), "r-a"),
        (at(hours=2), "r-a"),
        (at(hours=2), "r-b"),
        (at(hours=3), "r-a"),
    ]


def test_a_due_dose_is_closed_once(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create_dose(dose(pid, "r-1", at(hours=1)))
    [read] = backend.store.doses_between(pid, at(), at(hours=2))

    first = backend.store.mark_done(read, at(hours=1, minutes=5), "sms")
    again = backend.store.mark_done(read, at(hours=1, minutes=9), "acknowledged")

    assert (first, again) == (True, False)
    [got] = backend.store.doses_between(pid, at(), at(hours=2))
    assert (got["status"], got["done_at"], got["done_by"]) == ("done", at(hours=1, minutes=5), "sms")


def test_a_dose_that_was_never_recorded_is_not_closed(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert backend.store.mark_done(dose(pid, "r-1", at()), at(), "sms") is False
    assert backend.store.doses_between(pid, at(hours=-1), at(hours=1)) == []


# -- the missed-readings watch ----------------------------------------------------------------------------


def test_a_watch_starts_once_and_keeps_its_anchor(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    backend.store.track_missed(pid, at(), at(days=3))
    backend.store.track_missed(pid, at(hours=5), at(days=3, hours=5))

    got = fields(backend.watch(pid))
    assert got == {"patient_id": pid, "anchor": at(), "stage": 0, "due_at": at(days=3)}
    [item] = backend.due(pid, T0 + timedelta(days=3))
    assert (item["entity"], item["stage"]) == ("missed", 0)
    assert backend.due(pid, T0 + timedelta(days=2)) == []


def test_a_due_watch_steps_once_and_then_leaves_the_due_index(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.track_missed(pid, at(), at(days=3))
    [item] = backend.due(pid, T0 + timedelta(days=3))

    nudged = backend.store.missed_step(item, 1, at(days=7))
    again = backend.store.missed_step(item, 1, at(days=7))  # the same item, a second tick
    [item] = backend.due(pid, T0 + timedelta(days=7))
    alerted = backend.store.missed_step(item, 2, None)

    assert (nudged, again, alerted) == (True, False, True)
    got = fields(backend.watch(pid))
    assert got["stage"] == 2 and "due_at" not in got
    assert backend.due(pid, T0 + timedelta(days=30)) == []
    assert backend.store.missed_step(item, 2, None) is False


def test_a_newer_reading_restarts_the_watch_and_an_older_one_changes_nothing(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.track_missed(pid, at(), at(days=3))
    [item] = backend.due(pid, T0 + timedelta(days=3))
    backend.store.missed_step(item, 1, at(days=7))

    backend.store.reading_seen(pid, at(days=4), at(days=7))
    backend.store.reading_seen(pid, at(days=2), at(days=5))  # late, older than the anchor

    assert fields(backend.watch(pid)) == {"patient_id": pid, "anchor": at(days=4), "stage": 0, "due_at": at(days=7)}
    assert backend.store.missed_step(item, 2, None) is False  # the tick read the watch before the reading


def test_a_reading_without_a_watch_starts_none(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    backend.store.reading_seen(pid, at(), at(days=3))

    assert backend.watch(pid) is None
