"""The contracts of the alert service's smaller ports, on their fakes and on their DynamoDB adapters.

``Patients`` (``DynamoPatientStore``), ``Clinicians`` (``DynamoClinicianStore``),
``AlertReadings`` (``DynamoReadingStore``) and ``Timeline``
(``DynamoMessagingStore``): what is written reads back, missing ids are left
out, readings come in measured-time order within the asked window.
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


@dataclass
class People:
    patients: Any
    clinicians: Any
    readings: Any
    timeline: Any
    add_patient: Callable[[dict[str, Any]], None]
    add_reading: Callable[[dict[str, Any]], None]
    events: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(params=BACKENDS)
def people(request: pytest.FixtureRequest) -> People:
    if request.param == "fake":
        from tests.fakes import FakeClinicians, FakePatients, FakeReadings, FakeTimeline

        patients, clinicians, readings, timeline = FakePatients(), FakeClinicians(), FakeReadings(), FakeTimeline()
        return People(
            patients, clinicians, readings, timeline, patients.put, readings.put, lambda pid: timeline.of(pid)
        )
    from chalicelib.adapters.readings import DynamoReadingStore
    from chalicelib.adapters.stores import DynamoClinicianStore, DynamoPatientStore
    from chalicelib.adapters.timeline import DynamoTimeline

    table = request.getfixturevalue("dynamo_table")
    patients, readings, timeline = DynamoPatientStore(table), DynamoReadingStore(table), DynamoTimeline(table)

    def add_patient(record: dict[str, Any]) -> None:
        assert patients.create(record) is None

    def add_reading(record: dict[str, Any]) -> None:
        assert readings.put_new(record) is None

    def events(pid: str) -> list[dict[str, Any]]:
        return list(reversed(timeline.timeline_page(pid, None, "0000", "9999", 100).items))

    return People(patients, DynamoClinicianStore(table), readings, timeline, add_patient, add_reading, events)


def patient(pid: str, team: list[str]) -> dict[str, Any]:
    return {"patient_id": pid, "care_team": team, "timezone": "Europe/Paris", "language": "fr", "updated_at": iso(T0)}


def test_a_patient_reads_back_with_its_care_team(people: People, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")

    people.add_patient(patient(pid, [cid]))

    got = people.patients.get(pid)
    assert {k: got[k] for k in ("patient_id", "care_team", "timezone", "language")} == {
        "patient_id": pid,
        "care_team": [cid],
        "timezone": "Europe/Paris",
        "language": "fr",
    }
    assert "pk" not in got and "sk" not in got


def test_an_unknown_patient_is_none(people: People, ids: Callable[[str], str]) -> None:
    assert people.patients.get(ids("p")) is None


def test_many_patients_read_at_once_leave_out_the_unknown(people: People, ids: Callable[[str], str]) -> None:
    a, b = ids("pa"), ids("pb")
    people.add_patient(patient(a, ["c"]))
    people.add_patient(patient(b, ["c"]))

    found = people.patients.many([a, b, ids("pz"), a])

    assert sorted(found) == sorted([a, b])
    assert found[a]["care_team"] == ["c"]


def test_clinicians_read_back_by_id_and_unknown_ones_are_left_out(people: People, ids: Callable[[str], str]) -> None:
    a, b = ids("ca"), ids("cb")
    people.clinicians.put({"clinician_id": a, "email": "a@clinic.example", "phone": "+15555550100"})
    people.clinicians.put({"clinician_id": b, "email": "b@clinic.example", "escalation_contacts": [a]})

    found = people.clinicians.many([a, b, ids("cz")])

    assert sorted(found) == sorted([a, b])
    assert found[a]["phone"] == "+15555550100" and "phone" not in found[b]
    assert found[b]["escalation_contacts"] == [a]
    assert "pk" not in found[a]


def test_the_on_call_list_reads_back_in_its_order(people: People, ids: Callable[[str], str]) -> None:
    on_call = [ids("c2"), ids("c1")]

    people.clinicians.put_on_call({"clinician_ids": on_call, "updated_at": iso(T0)})

    assert people.clinicians.on_call()["clinician_ids"] == on_call


def reading(pid: str, rid: str, measured: datetime, reading_type: str = "blood_glucose") -> dict[str, Any]:
    values = {"value": 65.0, "value_mg_dl": 65.0, "unit": "mg/dL"}
    if reading_type == "blood_pressure":
        values = {"systolic": 140, "diastolic": 90, "unit": "mmHg"}
    return {"patient_id": pid, "reading_id": rid, "type": reading_type, "measured_at": iso(measured), **values}


def test_glucose_between_is_inclusive_oldest_first_and_only_glucose(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for minutes, rid in ((0, "r-a"), (30, "r-b"), (60, "r-c"), (90, "r-d")):
        people.add_reading(reading(pid, rid, T0 + timedelta(minutes=minutes)))
    people.add_reading(reading(pid, "r-bp", T0 + timedelta(minutes=45), "blood_pressure"))
    people.add_reading(reading(ids("other"), "r-x", T0 + timedelta(minutes=45)))

    found = people.readings.glucose_between(pid, iso(T0 + timedelta(minutes=30)), iso(T0 + timedelta(minutes=60)))

    assert [r["reading_id"] for r in found] == ["r-b", "r-c"]
    assert found[0]["value_mg_dl"] == 65


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_a_page_of_readings_is_newest_first_and_pages_cover_the_window(
    people: People, ids: Callable[[str], str], limit: int
) -> None:
    pid = ids("p")
    for hours in range(5):
        people.add_reading(reading(pid, f"r-{hours}", T0 + timedelta(hours=hours), "blood_pressure"))
    people.add_reading(reading(pid, "r-g", T0 + timedelta(hours=2), "blood_glucose"))

    seen: list[str] = []
    start = None
    for _ in range(10):
        page = people.readings.page(pid, "blood_pressure", iso(T0), iso(T0 + timedelta(hours=3)), limit, start)
        seen += [r["reading_id"] for r in page.items]
        start = page.last_key
        if not start:
            break

    assert seen == ["r-3", "r-2", "r-1", "r-0"]


def test_a_timeline_event_is_written_once_per_id_and_reads_back(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    people.timeline.put_event(pid, "alert_escalated", T0, "e-1", "first", None, {"alert_id": "a-1"})
    people.timeline.put_event(pid, "alert_escalated", T0, "e-1", "again", None, {"alert_id": "a-1"})
    people.timeline.put_event(pid, "alert_opened", T0 - timedelta(minutes=1), "e-0", "opened")

    found = people.events(pid)
    assert [(e["kind"], e["summary"], e["at"]) for e in found] == [
        ("alert_opened", "opened", iso(T0 - timedelta(minutes=1))),
        ("alert_escalated", "again", iso(T0)),
    ]
    assert found[1]["ref"] == {"alert_id": "a-1"}
