"""The ``ReadingStore`` contract (services/readings.py), on ``FakeReadingStore`` and on ``DynamoReadingStore``.

What ``ReadingService`` relies on: a reading is stored once per id and a second
put hands back the stored one (nothing written); a batch stores the free ids and
names the taken ones with what is stored; a page resumes right after any record
it returned (``after``); the export reads every reading, glucose then blood
pressure, oldest first; a record reads back without nulls and with integral
numbers as integers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.timeutil import iso
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes.readings import FakeReadingStore

        return FakeReadingStore()
    from chalicelib.adapters.readings import DynamoReadingStore

    return DynamoReadingStore(request.getfixturevalue("dynamo_table"))


def reading(
    pid: str, rid: str, minutes: float = 0, reading_type: str = "blood_glucose", value: float = 110.0, **extra: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {"value": value, "value_mg_dl": value, "unit": "mg/dL", "context": "random"}
    if reading_type == "blood_pressure":
        values = {"systolic": 128, "diastolic": 82, "unit": "mmHg", "pulse": None}
    return {
        "patient_id": pid,
        "reading_id": rid,
        "type": reading_type,
        "measured_at": iso(T0 + timedelta(minutes=minutes)),
        "received_at": iso(T0 + timedelta(minutes=minutes)),
        "source": "app",
        "symptoms": [],
        "classification": {"severity": "normal", "flags": [], "guidance_key": "g", "language": "en"},
        "content_hash": f"hash-{rid}-{value}",
        **values,
        **extra,
    }


def fields(record: dict[str, Any] | None) -> dict[str, Any]:
    """A record's own fields (what the service reads; storage attributes left out)."""
    assert record is not None
    return {k: v for k, v in record.items() if k not in ("pk", "sk", "lsi1sk", "entity", "write_token")}


def test_a_new_reading_is_stored_and_a_second_put_hands_back_the_first(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    first = reading(pid, "r-1", value=110.0)

    assert store.put_new(first) is None
    existing = store.put_new(reading(pid, "r-1", value=180.0))

    assert fields(existing)["value"] == 110 and existing["content_hash"] == first["content_hash"]
    [stored] = store.every(pid)
    assert stored["value"] == 110


def test_a_record_reads_back_without_nulls_and_with_integral_numbers_as_integers(
    store: Any, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    store.put_new(reading(pid, "bp-1", reading_type="blood_pressure", device_id=None))
    store.put_new(reading(pid, "g-1", value=112.0))
    store.put_new(reading(pid, "g-2", minutes=1, value=5.5))

    got = {r["reading_id"]: r for r in store.every(pid)}

    assert "pulse" not in got["bp-1"] and "device_id" not in got["bp-1"]
    assert got["g-1"]["value"] == 112 and isinstance(got["g-1"]["value"], int)
    assert got["g-2"]["value"] == 5.5
    assert got["g-1"]["classification"] == {"severity": "normal", "flags": [], "guidance_key": "g", "language": "en"}


def test_the_same_reading_id_under_two_patients_is_two_readings(store: Any, ids: Callable[[str], str]) -> None:
    a, b = ids("pa"), ids("pb")

    assert store.put_new(reading(a, "r-1")) is None
    assert store.put_new(reading(b, "r-1")) is None


def test_a_batch_stores_the_free_ids_and_names_the_taken_with_what_is_stored(
    store: Any, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    store.put_new(reading(pid, "r-old", value=100.0))

    existing = store.put_many_new(
        [reading(pid, "r-new", 1, value=120.0), reading(pid, "r-old", 2, value=150.0), reading(pid, "r-new2", 3)]
    )

    assert list(existing) == ["r-old"] and fields(existing["r-old"])["value"] == 100
    assert sorted(r["reading_id"] for r in store.every(pid)) == ["r-new", "r-new2", "r-old"]


def test_a_batch_of_only_taken_ids_writes_nothing_and_names_them_all(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_many_new([reading(pid, "r-1"), reading(pid, "r-2", 1)])

    existing = store.put_many_new([reading(pid, "r-1", value=1.0), reading(pid, "r-2", 1, value=2.0)])

    assert sorted(existing) == ["r-1", "r-2"]
    assert [r["value"] for r in store.every(pid)] == [110, 110]


def test_a_batch_of_a_hundred_new_readings_is_stored(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert store.put_many_new([reading(pid, f"r-{n:03d}", n) for n in range(100)]) == {}
    assert len(list(store.every(pid))) == 100


def test_glucose_between_is_inclusive_and_oldest_first(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for minutes in (0, 30, 60, 90):
        store.put_new(reading(pid, f"r-{minutes}", minutes))
    store.put_new(reading(pid, "bp", 45, "blood_pressure"))

    found = store.glucose_between(pid, iso(T0 + timedelta(minutes=30)), iso(T0 + timedelta(minutes=60)))

    assert [r["reading_id"] for r in found] == ["r-30", "r-60"]


@pytest.mark.parametrize("taken", [1, 2, 3])
def test_a_page_resumes_right_after_any_record_it_returned(store: Any, ids: Callable[[str], str], taken: int) -> None:
    pid = ids("p")
    for minutes in range(6):
        store.put_new(reading(pid, f"r-{minutes}", minutes))
    window = (iso(T0), iso(T0 + timedelta(minutes=4)))

    first = store.page(pid, "blood_glucose", *window, 3, None)
    rest = store.page(pid, "blood_glucose", *window, 10, store.after(first.items[taken - 1]))

    assert [r["reading_id"] for r in first.items] == ["r-4", "r-3", "r-2"]
    assert [r["reading_id"] for r in rest.items] == ["r-4", "r-3", "r-2", "r-1", "r-0"][taken:]
    assert rest.last_key is None


def test_a_page_position_is_json_safe(store: Any, ids: Callable[[str], str]) -> None:
    import json

    pid = ids("p")
    store.put_new(reading(pid, "r-1"))
    store.put_new(reading(pid, "r-2", 1))

    page = store.page(pid, "blood_glucose", "0000", "9999", 1, None)

    assert json.loads(json.dumps(page.last_key)) == page.last_key
    assert json.loads(json.dumps(store.after(page.items[0]))) == store.after(page.items[0])


def test_readings_measured_at_the_same_instant_page_by_id_without_loss(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for rid in ("r-a", "r-b", "r-c"):
        store.put_new(reading(pid, rid))

    seen: list[str] = []
    start = None
    for _ in range(5):
        page = store.page(pid, "blood_glucose", "0000", "9999", 1, start)
        seen += [r["reading_id"] for r in page.items]
        if not page.items:
            break
        start = store.after(page.items[-1])

    assert seen == ["r-c", "r-b", "r-a"]


def test_every_reading_is_glucose_then_pressure_each_oldest_first(store: Any, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    store.put_new(reading(pid, "bp-2", 20, "blood_pressure"))
    store.put_new(reading(pid, "g-2", 30))
    store.put_new(reading(pid, "bp-1", 10, "blood_pressure"))
    store.put_new(reading(pid, "g-1", 0))
    store.put_new(reading(ids("other"), "g-x", 5))

    assert [r["reading_id"] for r in store.every(pid)] == ["g-1", "g-2", "bp-1", "bp-2"]
