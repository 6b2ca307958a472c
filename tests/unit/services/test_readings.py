"""Readings on the fakes: stored once per id, batches, who may write and read, paging, the very-high window.

The fast tier of tests/integration/test_readings.py and tests/e2e/test_readings.py:
``ReadingService`` over ``FakeReadingStore`` (tests/fakes/readings.py), the real
classifier, cursor codec and audit trail; only the ports are faked.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain import fhir
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import (
    ConflictError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
    RecordTooLargeError,
)
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.timeutil import iso
from chalicelib.services.audit import AuditTrail
from chalicelib.services.readings import Outcome, ReadingService
from tests.fakes import FakeAuditLog, FakeClock, FakePatientAccess, FakePatients
from tests.fakes.readings import FakeReadingStore

PATIENT = Principal("p-1", Role.PATIENT, "req-1")
ANA = Principal("c-ana", Role.CLINICIAN, "req-2")  # on p-1's care team
BOB = Principal("c-bob", Role.CLINICIAN, "req-3")  # on nobody's
ADMIN = Principal("admin-1", Role.ADMIN, "req-4")


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.patients = FakePatients()
        self.visible = FakePatientAccess(self.patients)
        self.store = FakeReadingStore()
        self.audit_log = FakeAuditLog()
        self._ids = itertools.count(1)
        self.service = ReadingService(
            self.store,
            self.visible,
            AuditTrail(self.audit_log, self.clock),
            CursorCodec(b"unit-test-secret"),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._ids)}",
            cache_seconds=60.0,
        )
        for pid in ("p-1", "p-2"):
            self.patients.put(
                {
                    "patient_id": pid,
                    "given_name": "Ada",
                    "family_name": "Lovelace",
                    "care_team": ["c-ana"],
                    "timezone": "UTC",
                    "language": "en",
                    "created_at": iso(self.clock()),
                    "updated_at": iso(self.clock()),
                }
            )

    def at(self, **ago: float) -> str:
        return iso(self.clock() - timedelta(**ago))

    def post(self, payload: dict[str, Any], principal: Principal = PATIENT, pid: str = "p-1") -> Outcome:
        return self.service.record(principal, pid, payload)

    def history(self, principal: Principal = PATIENT, pid: str = "p-1", **query: Any) -> tuple[list[str], str | None]:
        args = {"reading_type": None, "start": None, "end": None, "limit": 50, "cursor": None, **query}
        items, cursor = self.service.history(principal, pid, **args)
        return [r.reading_id for r in items], cursor


def glucose(value: float = 110, rid: str | None = "r-1", minutes_ago: float = 5, **extra: Any) -> dict[str, Any]:
    return {"type": "blood_glucose", "value": value, "unit": "mg/dL", "_ago": minutes_ago, "reading_id": rid, **extra}


def pressure(
    systolic: int = 128, diastolic: int = 82, rid: str | None = "bp-1", minutes_ago: float = 5
) -> dict[str, Any]:
    return {
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "_ago": minutes_ago,
        "reading_id": rid,
    }


@pytest.fixture
def world() -> World:
    return World()


def sent(world: World, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a client sends it: ``measured_at`` that many minutes before now, no null id."""
    body = {k: v for k, v in payload.items() if k != "_ago" and v is not None}
    return {**body, "measured_at": world.at(minutes=payload["_ago"])}


def record(world: World, payload: dict[str, Any], principal: Principal = PATIENT, pid: str = "p-1") -> Outcome:
    return world.post(sent(world, payload), principal, pid)


# -- stored once per id -------------------------------------------------------------------------------


def test_a_new_reading_is_stored_and_answered_201_with_its_classification(world: World) -> None:
    outcome = record(world, glucose(110))

    assert outcome.status == 201 and outcome.reading is not None
    assert outcome.reading.reading_id == "r-1" and outcome.reading.classification.severity == "normal"
    assert world.store.count("p-1") == 1


def test_a_reading_without_an_id_gets_one_from_the_server(world: World) -> None:
    outcome = record(world, glucose(rid=None))

    assert outcome.status == 201 and outcome.reading is not None and outcome.reading.reading_id == "r-1"


def test_a_retry_of_the_same_reading_answers_200_the_same_reading_and_writes_nothing(world: World) -> None:
    body = sent(world, glucose(112.0))
    first = world.post(body)
    world.clock.advance(minutes=3)

    again = world.post(body)

    assert (first.status, again.status) == (201, 200)
    assert again.reading == first.reading  # 112.0 answers as 112 both times: what the store reads back
    assert world.store.writes == 1


def test_the_same_id_with_another_body_is_a_conflict_and_the_first_stays(world: World) -> None:
    record(world, glucose(110))

    outcome = record(world, glucose(180))

    assert outcome.status == 409 and isinstance(outcome.error, ConflictError)
    [stored] = world.store.every("p-1")
    assert stored["value"] == 110 and world.store.writes == 1


def test_a_replay_does_not_answer_the_alert_named_on_the_reading_since(world: World) -> None:
    body = sent(world, glucose(45))
    world.post(body)
    world.store.name_alert("p-1", "r-1", "a-1")

    again = world.post(body)

    assert again.status == 200 and again.reading is not None and again.reading.alert_id is None


def test_the_same_reading_id_under_two_patients_is_two_readings(world: World) -> None:
    assert record(world, glucose(), ADMIN, "p-1").status == 201
    assert record(world, glucose(), ADMIN, "p-2").status == 201


def test_an_invalid_reading_is_refused_before_anything_is_stored(world: World) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        record(world, glucose(900))
    assert world.store.writes == 0


def test_a_reading_measured_more_than_six_hours_ago_is_late_and_gets_no_act_now_advice(world: World) -> None:
    outcome = record(world, glucose(45, minutes_ago=7 * 60))

    assert outcome.reading is not None
    assert "late" in outcome.reading.classification.flags


# -- who may write ------------------------------------------------------------------------------------


def test_a_patient_posts_only_for_themselves(world: World) -> None:
    with pytest.raises(NotFoundError):
        record(world, glucose(), PATIENT, "p-2")
    assert world.store.writes == 0


def test_a_clinician_of_the_care_team_records_for_their_patient_with_clinic_as_source(world: World) -> None:
    outcome = record(world, glucose(source="clinic"), ANA)

    assert outcome.status == 201 and outcome.reading is not None and outcome.reading.source == "clinic"
    [stored] = world.store.every("p-1")
    assert (stored["created_by"], stored["created_role"]) == ("c-ana", "clinician")


def test_a_patient_may_not_claim_a_clinic_reading(world: World) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        record(world, glucose(source="clinic"))


def test_a_clinician_outside_the_care_team_gets_404_for_writing(world: World) -> None:
    with pytest.raises(NotFoundError):
        record(world, glucose(), BOB)


def test_an_unknown_patient_is_404(world: World) -> None:
    with pytest.raises(NotFoundError):
        record(world, glucose(), ADMIN, "p-404")


def test_the_patients_own_writes_read_their_record_once_per_cache_period(world: World) -> None:
    for n in range(3):
        record(world, glucose(rid=f"r-{n}"))

    assert world.visible.reads == 1


def test_a_clinician_write_always_reads_a_fresh_record_so_a_team_change_applies_at_once(world: World) -> None:
    record(world, glucose(rid="r-a"), ANA)
    world.patients.records["p-1"]["care_team"] = ["c-zed"]

    with pytest.raises(NotFoundError):
        record(world, glucose(rid="r-b"), ANA)


# -- batches ------------------------------------------------------------------------------------------


def test_a_batch_stores_the_new_replays_the_known_and_names_the_invalid_by_index(world: World) -> None:
    record(world, glucose(110, "r-old"))
    payloads = [
        sent(world, glucose(120, "r-new")),
        sent(world, glucose(110, "r-old")),
        {"type": "blood_glucose", "unit": "mg/dL", "measured_at": world.at(minutes=1)},  # no value
        sent(world, glucose(150, "r-old")),
        sent(world, pressure(rid="bp-new")),
    ]

    outcomes = world.service.record_batch(PATIENT, "p-1", payloads)

    assert [o.status if o else None for o in outcomes] == [201, 200, 422, 409, 201]
    assert outcomes[2] is not None and outcomes[2].reading is None and outcomes[2].error is not None
    assert world.store.count("p-1") == 3


def test_the_same_id_twice_in_one_batch_is_stored_once(world: World) -> None:
    body = sent(world, glucose(130, "r-twice"))
    other = sent(world, glucose(140, "r-twice"))

    outcomes = world.service.record_batch(PATIENT, "p-1", [body, body, other])

    assert [o.status if o else None for o in outcomes] == [201, 200, 409]
    assert world.store.writes == 1


def test_a_batch_retried_whole_answers_200_for_each_and_writes_nothing(world: World) -> None:
    payloads = [sent(world, glucose(100 + n, f"r-{n}")) for n in range(5)]
    world.service.record_batch(PATIENT, "p-1", payloads)

    again = world.service.record_batch(PATIENT, "p-1", payloads)

    assert [o.status if o else None for o in again] == [200] * 5
    assert world.store.writes == 5


def test_a_batch_of_only_invalid_readings_writes_nothing(world: World) -> None:
    outcomes = world.service.record_batch(PATIENT, "p-1", [{"type": "blood_glucose"}, {"type": "nope"}])

    assert [o.status if o else None for o in outcomes] == [422, 422]
    assert world.store.writes == 0


def test_a_patient_may_not_batch_for_another_patient(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.service.record_batch(PATIENT, "p-2", [sent(world, glucose())])


# -- the very-high window: two glucose readings of 300 mg/dL or more within 6 h ------------------------


def test_one_very_high_glucose_alone_is_high(world: World) -> None:
    outcome = record(world, glucose(320, "r-1", minutes_ago=5))

    assert outcome.reading is not None and outcome.reading.classification.severity == "high"


@pytest.mark.parametrize("hours_apart", [1, 5.9])
def test_a_second_very_high_glucose_within_six_hours_is_critical(world: World, hours_apart: float) -> None:
    record(world, glucose(310, "r-1", minutes_ago=hours_apart * 60 + 5))

    outcome = record(world, glucose(320, "r-2", minutes_ago=5))

    assert outcome.reading is not None
    assert outcome.reading.classification.severity == "critical_high"
    assert "repeated_very_high" in outcome.reading.classification.flags


def test_a_very_high_glucose_more_than_six_hours_away_does_not_count(world: World) -> None:
    record(world, glucose(310, "r-1", minutes_ago=6 * 60 + 30))

    outcome = record(world, glucose(320, "r-2", minutes_ago=5))

    assert outcome.reading is not None and outcome.reading.classification.severity == "high"


def test_a_very_high_reading_measured_later_but_synced_earlier_counts_either_side(world: World) -> None:
    record(world, glucose(310, "r-later", minutes_ago=5))

    outcome = record(world, glucose(320, "r-earlier", minutes_ago=3 * 60))

    assert outcome.reading is not None and outcome.reading.classification.severity == "critical_high"


def test_another_patients_very_high_glucose_does_not_count(world: World) -> None:
    record(world, glucose(310, "r-1"), ADMIN, "p-2")

    outcome = record(world, glucose(320, "r-2"))

    assert outcome.reading is not None and outcome.reading.classification.severity == "high"


def test_a_replay_of_a_very_high_reading_is_not_its_own_companion(world: World) -> None:
    body = sent(world, glucose(320, "r-1"))
    world.post(body)

    again = world.post(body)

    assert again.status == 200 and again.reading is not None
    assert again.reading.classification.severity == "high"


def test_two_very_high_readings_in_one_batch_see_each_other(world: World) -> None:
    outcomes = world.service.record_batch(
        PATIENT, "p-1", [sent(world, glucose(310, "r-1", 60)), sent(world, glucose(320, "r-2", 5))]
    )

    severities = [o.reading.classification.severity for o in outcomes if o and o.reading]
    assert severities == ["high", "critical_high"]


def test_a_meter_hi_counts_as_very_high(world: World) -> None:
    record(world, {"type": "blood_glucose", "unit": "mg/dL", "meter_flag": "HI", "_ago": 30, "reading_id": "r-hi"})

    outcome = record(world, glucose(320, "r-2"))

    assert outcome.reading is not None and outcome.reading.classification.severity == "critical_high"


# -- reading back -------------------------------------------------------------------------------------


def test_history_is_newest_first_across_both_types(world: World) -> None:
    record(world, glucose(rid="g-old", minutes_ago=50))
    record(world, pressure(rid="bp-mid", minutes_ago=30))
    record(world, glucose(rid="g-new", minutes_ago=10))

    assert world.history() == (["g-new", "bp-mid", "g-old"], None)


def test_history_filters_by_type(world: World) -> None:
    record(world, glucose(rid="g-1", minutes_ago=20))
    record(world, pressure(rid="bp-1", minutes_ago=10))

    assert world.history(reading_type="blood_pressure")[0] == ["bp-1"]
    assert world.history(reading_type="blood_glucose")[0] == ["g-1"]


def test_an_unknown_type_is_a_400(world: World) -> None:
    with pytest.raises(MalformedRequestError):
        world.history(reading_type="weight")


def test_history_keeps_to_the_window_inclusive(world: World) -> None:
    for minutes in (40, 30, 20, 10):
        record(world, glucose(rid=f"g-{minutes}", minutes_ago=minutes))

    ids, _ = world.history(start=world.at(minutes=30), end=world.at(minutes=20))

    assert ids == ["g-20", "g-30"]


def test_a_window_from_after_to_is_a_422_not_a_crash(world: World) -> None:
    with pytest.raises(InvalidInputError) as raised:
        world.history(start=world.at(minutes=10), end=world.at(minutes=20))
    assert raised.value.errors[0].field == "from"


@pytest.mark.parametrize("value", ["yesterday", "2026-03-02T09:00:00", "0001-01-01T00:00:00+01:00"])
def test_a_window_bound_that_is_not_an_aware_time_is_a_400(world: World, value: str) -> None:
    with pytest.raises(MalformedRequestError):
        world.history(start=value)


def test_an_unencoded_plus_in_a_bound_arriving_as_a_space_is_read_as_plus(world: World) -> None:
    record(world, glucose(rid="g-1", minutes_ago=10))
    start = (world.clock() - timedelta(minutes=20)).astimezone().isoformat().replace("+", " ")

    assert world.history(start=start)[0] == ["g-1"]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_pages_cover_both_types_newest_first_with_no_repeat_and_no_gap(world: World, limit: int) -> None:
    expected = []
    for minutes in range(70, 0, -10):
        rid = f"x-{minutes}"
        record(world, glucose(rid=rid, minutes_ago=minutes) if minutes % 20 else pressure(rid=rid, minutes_ago=minutes))
        expected.insert(0, rid)

    seen: list[str] = []
    cursor = None
    for _ in range(20):
        ids, cursor = world.history(limit=limit, cursor=cursor)
        assert len(ids) <= limit
        seen += ids
        if cursor is None:
            break

    assert seen == expected


def test_pages_by_type_and_window_carry_on_where_they_left(world: World) -> None:
    for minutes in range(10, 100, 10):
        record(world, pressure(rid=f"bp-{minutes}", minutes_ago=minutes))
        record(world, glucose(rid=f"g-{minutes}", minutes_ago=minutes + 1))
    query = {"reading_type": "blood_pressure", "start": world.at(minutes=75), "end": world.at(minutes=15), "limit": 2}

    first, cursor = world.history(**query)
    second, cursor = world.history(**query, cursor=cursor)
    third, cursor = world.history(**query, cursor=cursor)
    fourth, cursor = world.history(**query, cursor=cursor)

    assert first + second + third + fourth == ["bp-20", "bp-30", "bp-40", "bp-50", "bp-60", "bp-70"]
    assert cursor is None


def test_the_cursor_is_opaque_and_bound_to_its_query(world: World) -> None:
    for minutes in (30, 20, 10):
        record(world, glucose(rid=f"g-{minutes}", minutes_ago=minutes))
    _, cursor = world.history(limit=1)
    assert cursor is not None and "g-" not in cursor and "measured_at" not in cursor

    with pytest.raises(MalformedRequestError):
        world.history(limit=1, cursor=cursor, reading_type="blood_glucose")
    with pytest.raises(MalformedRequestError):
        world.history(ADMIN, "p-2", limit=1, cursor=cursor)
    with pytest.raises(MalformedRequestError):
        world.history(limit=1, cursor=cursor[:-2] + "xx")


def test_a_reading_stored_between_pages_older_than_the_cursor_is_still_listed(world: World) -> None:
    record(world, glucose(rid="g-10", minutes_ago=10))
    record(world, glucose(rid="g-30", minutes_ago=30))
    first, cursor = world.history(limit=1)
    record(world, glucose(rid="g-20", minutes_ago=20))

    rest, _ = world.history(limit=5, cursor=cursor)

    assert first == ["g-10"] and rest == ["g-20", "g-30"]


def test_a_patient_reads_only_their_own_history(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.history(PATIENT, "p-2")


def test_a_clinician_outside_the_care_team_gets_404_for_history(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.history(BOB)


def test_reading_history_is_audited_with_the_count_shown(world: World) -> None:
    record(world, glucose(rid="g-1"))

    world.history(ANA)

    [entry] = world.audit_log.entries
    assert (entry["action"], entry["resource"], entry["patient_id"]) == ("list", "reading", "p-1")
    assert entry["detail"] == {"count": 1}


def test_the_history_late_reading_keeps_its_late_guidance(world: World) -> None:
    record(world, glucose(45, "g-late", minutes_ago=7 * 60))

    [reading], _ = world.service.history(PATIENT, "p-1", None, None, None, 10, None)

    assert "late" in reading.classification.flags


# -- export ---------------------------------------------------------------------------------------------


def test_the_export_is_a_fhir_bundle_of_the_patient_and_every_reading(world: World) -> None:
    record(world, glucose(rid="g-1", minutes_ago=20))
    record(world, pressure(rid="bp-1", minutes_ago=10))

    bundle = world.service.export(ANA, "p-1")

    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert len(bundle["entry"]) == 3  # the patient and two observations
    assert world.audit_log.entries[-1]["detail"] == {"readings": 2}


def _years_of_readings(world: World, count: int) -> None:
    """``count`` stored glucose readings like the one the patient posted, an hour apart."""
    record(world, glucose(rid="g-0", minutes_ago=1, context="fasting", device_id="meter-9", source="device"))
    stored = world.store.get("p-1", "g-0")
    assert stored is not None
    for n in range(1, count):
        world.store.put({**stored, "reading_id": f"g-{n}", "measured_at": world.at(hours=n)})


def _answer_size(document: dict[str, Any]) -> int:
    """The document's bytes as the proxy integration carries it: JSON inside a JSON string."""
    return len(json.dumps(json.dumps(document)))


def test_the_export_fits_in_one_lambda_answer_up_to_its_budget(world: World) -> None:
    _years_of_readings(world, 3_000)  # two years at four a day

    document = world.service.export(ANA, "p-1")

    assert len(document["entry"]) == 3_001
    assert _answer_size(document) <= fhir.DOCUMENT_BUDGET < 6_000_000  # a Lambda answers at most 6 MB
    assert world.audit_log.entries[-1]["detail"] == {"readings": 3_000}


def test_an_export_too_large_for_one_answer_is_refused_naming_everything_before_it_is_read_whole(
    world: World,
) -> None:
    _years_of_readings(world, 10_000)  # seven years at four a day
    audited = len(world.audit_log.entries)

    with pytest.raises(RecordTooLargeError) as refused:
        world.service.export(ANA, "p-1")

    assert [e.field for e in refused.value.errors] == ["everything"]
    assert "everything=true" in refused.value.detail
    assert 3_000 < world.store.exported < 5_000  # read up to the budget, not the other 5,000 and more
    assert len(world.audit_log.entries) == audited  # nothing was handed out


def test_a_clinician_outside_the_care_team_cannot_export(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.service.export(BOB, "p-1")
