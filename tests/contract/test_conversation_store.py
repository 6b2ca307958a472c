"""The contract of ``ConversationStore`` and ``PatientEvents``: ``FakeConversationStore``, ``DynamoConversationStore``.

A message or note is stored once per id: a repeat writes nothing and answers the first
request's ``at`` (a message) or note, with its ``request_hash``; a note's timeline event is
written with it.  The conversation and the timeline come newest first; a full page names a
position (even if nothing follows), a shorter one does not.  Timeline events carry their
``event_id`` and ``position`` (``<at>#<event_id>``), bounds are inclusive, and a kind reads
only that kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import TimelineEntry
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes.conversations import FakeConversationStore

        return FakeConversationStore()
    from chalicelib.adapters.conversation import DynamoConversationStore

    return DynamoConversationStore(request.getfixturevalue("dynamo_table"))


def message(message_id: str, at: datetime, text: str = "Hello", **fields: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "thread_id": "th-x",
        "direction": "out",
        "channel": None,
        "at": iso(at),
        "text": text,
        "status": "queued",
        **fields,
    }


def note(note_id: str, pid: str, at: datetime, text: str = "Discussed diet") -> dict[str, Any]:
    return {
        "note_id": note_id,
        "patient_id": pid,
        "by": "c-1",
        "at": iso(at),
        "text": text,
        "share_with_patient": False,
    }


def note_event(pid: str, note_id: str, at: datetime) -> TimelineEntry:
    return TimelineEntry(pid, "note", at, note_id, "Note by c-1", None, {"note_id": note_id, "shared": False})


def texts(page: Any) -> list[str]:
    return [m["text"] for m in page.items]


# -- messages --------------------------------------------------------------------------------


def test_a_message_is_stored_once_per_id(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert store.put_message_once(pid, message("m-1", T0, "Hello"), "h1") is None
    again = store.put_message_once(pid, message("m-1", T0 + timedelta(minutes=5), "Hello again"), "h2")

    assert again is not None and (again["at"], again["request_hash"]) == (iso(T0), "h1")
    assert texts(store.messages(pid, 10, None)) == ["Hello"]


def test_a_stored_message_reads_back_with_its_fields(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_message_once(pid, message("m-1", T0, author="c-1"), "h1")

    [stored] = store.messages(pid, 10, None).items

    expected = {k: v for k, v in message("m-1", T0, author="c-1").items() if v is not None}
    assert {k: stored.get(k) for k in expected} == expected
    assert stored.get("channel") is None


def test_the_same_message_id_is_free_for_another_patient(store: Any, ids: Callable[[str], str]) -> None:
    a, b = ids("pa"), ids("pb")

    assert store.put_message_once(a, message("m-1", T0), "h") is None
    assert store.put_message_once(b, message("m-1", T0), "h") is None
    assert len(store.messages(b, 10, None).items) == 1


def test_messages_page_newest_first_and_a_full_page_names_a_position(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for n in range(5):
        store.put_message(pid, message(f"m-{n}", T0 + timedelta(minutes=n), f"t{n}"))

    first = store.messages(pid, 2, None)
    second = store.messages(pid, 2, first.last_key)
    third = store.messages(pid, 2, second.last_key)

    assert (texts(first), texts(second), texts(third)) == (["t4", "t3"], ["t2", "t1"], ["t0"])
    assert first.last_key is not None and second.last_key is not None and third.last_key is None


def test_an_exactly_full_last_page_still_names_a_position(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for n in range(2):
        store.put_message(pid, message(f"m-{n}", T0 + timedelta(minutes=n), f"t{n}"))

    first = store.messages(pid, 2, None)
    rest = store.messages(pid, 2, first.last_key)

    assert first.last_key is not None and rest.items == [] and rest.last_key is None


def test_a_message_written_again_at_the_same_time_is_overwritten(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_message(pid, message("in-1", T0, "Fine", direction="in", status="received"))
    store.put_message(pid, message("in-1", T0, "Fine", direction="in", status="received"))

    assert texts(store.messages(pid, 10, None)) == ["Fine"]


def test_a_messages_status_and_channel_change(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_message(pid, message("m-1", T0))

    store.update_message(pid, iso(T0), "m-1", "sent", "sms")
    store.update_message(pid, iso(T0), "m-2", "sent", "sms")  # no such message: nothing is created

    [stored] = store.messages(pid, 10, None).items
    assert (stored["status"], stored["channel"]) == ("sent", "sms")


# -- notes and the timeline ------------------------------------------------------------------


def test_a_note_is_stored_once_per_id_with_its_event(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert store.put_note_once(pid, note("n-1", pid, T0), "h1", note_event(pid, "n-1", T0)) is None
    later = T0 + timedelta(minutes=3)
    again = store.put_note_once(pid, note("n-1", pid, later, "Other"), "h2", note_event(pid, "n-1", later))

    assert again is not None
    assert {k: again[k] for k in ("note_id", "patient_id", "by", "at", "text", "share_with_patient")} == note(
        "n-1", pid, T0
    )
    assert again["request_hash"] == "h1"
    events = store.timeline_page(pid, None, "0000", "9999", 10).items
    assert [(e["kind"], e["event_id"], e["at"]) for e in events] == [("note", "n-1", iso(T0))]


def test_timeline_events_come_newest_first_with_their_positions(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for n in range(3):
        store.put_event(pid, "reading", T0 + timedelta(minutes=n), f"r-{n}", f"reading {n}", None, {"n": n})

    page = store.timeline_page(pid, None, "0000", "9999", 10)

    assert [e["position"] for e in page.items] == [f"{iso(T0 + timedelta(minutes=n))}#r-{n}" for n in (2, 1, 0)]
    first = page.items[0]
    assert (first["kind"], first["summary"], first["ref"], first.get("channel")) == (
        "reading",
        "reading 2",
        {"n": 2},
        None,
    )
    assert page.last_key is None


def test_timeline_bounds_are_inclusive_positions(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for n in range(4):
        store.put_event(pid, "reading", T0 + timedelta(minutes=n), f"r-{n}", f"s{n}")
    upper = f"{iso(T0 + timedelta(minutes=2))}#r-2"

    page = store.timeline_page(pid, None, iso(T0 + timedelta(minutes=1)), upper, 10)

    assert [e["event_id"] for e in page.items] == ["r-2", "r-1"]


def test_a_kind_reads_only_that_kind(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_event(pid, "reading", T0, "r-1", "a reading")
    store.put_event(pid, "message_in", T0 + timedelta(minutes=1), "m-1", "a text", "sms")
    store.put_event(pid, "reading", T0 + timedelta(minutes=2), "r-2", "another reading")

    readings = store.timeline_page(pid, "reading", "0000", "9999", 10)
    texts_in = store.timeline_page(pid, "message_in", "0000", "9999", 10)

    assert [e["event_id"] for e in readings.items] == ["r-2", "r-1"]
    assert [(e["event_id"], e["channel"]) for e in texts_in.items] == [("m-1", "sms")]


def test_a_full_timeline_page_names_a_position(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for n in range(2):
        store.put_event(pid, "reading", T0 + timedelta(minutes=n), f"r-{n}", "s")

    assert store.timeline_page(pid, None, "0000", "9999", 2).last_key is not None
    assert store.timeline_page(pid, "reading", "0000", "9999", 2).last_key is not None
    assert store.timeline_page(pid, None, "0000", "9999", 3).last_key is None


def test_an_event_written_again_is_overwritten(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_event(pid, "reading", T0, "r-1", "first")
    store.put_event(pid, "reading", T0, "r-1", "second")

    assert [e["summary"] for e in store.timeline_page(pid, None, "0000", "9999", 10).items] == ["second"]


# -- the summaries the record and the worklist read (DailyBuckets, RpmMonths) -----------------


@pytest.fixture(params=BACKENDS)
def summaries(request: pytest.FixtureRequest) -> tuple[Any, Callable[..., None]]:
    """The store, and how the stream counts a reading in it (``reading_ops`` in one transaction)."""
    if request.param == "fake":
        from tests.fakes.conversations import FakeSummaryStore

        fake = FakeSummaryStore()
        return fake, fake.count_reading
    from chalicelib.adapters.summaries import DynamoSummaryStore

    table = request.getfixturevalue("dynamo_table")
    store = DynamoSummaryStore(table)

    def count(pid: str, reading_type: str, day: str, reading_id: str, value: Any, device_day: bool) -> None:
        table.transact(store.reading_ops(pid, reading_type, day, reading_id, value, device_day))

    return store, count


def test_daily_buckets_hold_each_reading_once_in_its_day(
    summaries: tuple[Any, Callable[..., None]], ids: Callable[[str], str]
) -> None:
    store, count = summaries
    pid = ids("p")
    count(pid, "blood_glucose", "2026-03-01", "r-1", 100, False)
    count(pid, "blood_glucose", "2026-03-01", "r-1", 100, False)  # a redelivery
    count(pid, "blood_glucose", "2026-03-01", "r-2", "LO", False)
    count(pid, "blood_glucose", "2026-03-03", "r-3", 120, False)
    count(pid, "blood_glucose", "2026-02-27", "r-4", 90, False)  # before the window
    count(pid, "blood_pressure", "2026-03-01", "r-5", {"systolic": 120, "diastolic": 80}, False)

    buckets = store.days(pid, "blood_glucose", "2026-02-28", "2026-03-03")

    assert [b["date"] for b in buckets] == ["2026-03-01", "2026-03-03"]
    assert {k: v for k, v in buckets[0].items() if k.startswith("r_")} == {"r_r-1": 100, "r_r-2": "LO"}


def test_rpm_months_hold_the_device_days_once_each(
    summaries: tuple[Any, Callable[..., None]], ids: Callable[[str], str]
) -> None:
    store, count = summaries
    pid, other = ids("p"), ids("q")
    count(pid, "blood_glucose", "2026-03-01", "r-1", 100, True)
    count(pid, "blood_glucose", "2026-03-01", "r-2", 110, True)
    count(pid, "blood_pressure", "2026-03-04", "r-3", {"systolic": 120, "diastolic": 80}, True)
    count(pid, "blood_glucose", "2026-03-05", "r-4", 100, False)  # typed in: not a device day
    count(pid, "blood_glucose", "2026-02-27", "r-5", 100, True)

    found = store.months([(pid, "2026-03"), (pid, "2026-02"), (pid, "2026-01"), (other, "2026-03")])

    assert sorted(found) == [(pid, "2026-02"), (pid, "2026-03")]
    march = found[(pid, "2026-03")]
    assert (march["patient_id"], march["month"]) == (pid, "2026-03")
    assert sorted(march["device_days"]) == ["2026-03-01", "2026-03-04"]
