"""Retention's rules: when a discharged record's period is over, and what of a reading stays."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import retention as rules
from chalicelib.domain.episodes import DischargeIn, discharged, enrolment_episode

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2080, 12, 31), timezones=st.just(UTC))


@given(moments, st.integers(min_value=1, max_value=15))
def test_a_record_is_kept_the_whole_period_never_a_day_short(at: datetime, years: int) -> None:
    until = rules.retained_until(at, years)
    assert until.year == at.year + years
    assert (until.month, until.day) >= (at.month, at.day)
    assert until.time() == at.time()
    if (at.month, at.day) != (2, 29):
        assert (until.month, until.day) == (at.month, at.day)


def test_a_leap_day_discharge_is_kept_until_the_first_of_march() -> None:
    at = datetime(2028, 2, 29, 15, 30, tzinfo=UTC)
    assert rules.retained_until(at, 6) == datetime(2034, 3, 1, 15, 30, tzinfo=UTC)
    assert rules.retained_until(at, 4) == datetime(2032, 2, 29, 15, 30, tzinfo=UTC)


def test_a_discharge_names_its_de_identification_time_from_the_configured_period() -> None:
    record = {"patient_id": "p-1", "created_at": "2026-01-05T10:00:00Z", "timezone": "Europe/Lisbon"}
    at = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    done = discharged(enrolment_episode(record), DischargeIn(reason="moved"), date(2026, 12, 3), at, 8)
    assert done.deidentify_after == "2034-12-03T23:30:00.000Z"


EPISODE = {"episode_id": "ep-1", "status": "discharged", "deidentify_after": "2032-12-03T10:00:00Z"}


def test_only_the_current_discharged_episode_is_de_identified() -> None:
    assert rules.still_discharged({"episode_id": "ep-1", "status": "discharged"}, EPISODE)
    # Re-enrolled: a newer episode is current, open or discharged again.
    assert not rules.still_discharged({"episode_id": "ep-2", "status": "open"}, EPISODE)
    assert not rules.still_discharged({"episode_id": "ep-2", "status": "discharged"}, EPISODE)
    assert not rules.still_discharged({"episode_id": "ep-1", "status": "open"}, EPISODE)
    assert not rules.still_discharged(None, EPISODE)
    assert not rules.still_discharged({"episode_id": "ep-1", "status": "discharged"}, {**EPISODE, "status": "paused"})


def test_the_period_is_over_at_its_moment_not_a_second_before() -> None:
    end = datetime(2032, 12, 3, 10, 0, tzinfo=UTC)
    assert rules.due(EPISODE, end)
    assert not rules.due(EPISODE, end - timedelta(seconds=1))
    assert not rules.due({**EPISODE, "deidentify_after": None}, end + timedelta(days=9999))


READING: dict[str, Any] = {
    "pk": "PATIENT#p-hester-quayle",
    "sk": "READING#p-hester-quayle-2026-12-01-0800",
    "lsi1sk": "READING#blood_glucose#2026-12-01T08:00:00Z#p-hester-quayle-2026-12-01-0800",
    "entity": "reading",
    "reading_id": "p-hester-quayle-2026-12-01-0800",
    "patient_id": "p-hester-quayle",
    "type": "blood_glucose",
    "value": 52,
    "unit": "mg/dL",
    "value_mg_dl": 52,
    "context": "fasting",
    "measured_at": "2026-12-01T08:00:00Z",
    "received_at": "2026-12-01T08:00:04Z",
    "source": "device",
    "device_id": "GM-4471-SERIAL",
    "symptoms": ["shaky after the party at Maria's"],
    "classification": {
        "severity": "low",
        "category": "level_1_hypoglycemia",
        "interpretation": "L",
        "flags": ["below_target"],
        "guidance": "Hester, take 15 g of fast sugar",
    },
    "alert_id": "a-0123456789abcdef01234567",
    "created_by": "p-hester-quayle",
    "created_role": "patient",
    "request_id": "req-77",
    "note": "after the party at Maria's",
}


def test_a_kept_reading_has_its_measurement_and_nothing_that_says_whose() -> None:
    kept = rules.deidentified_reading(READING, "s-opaque")
    assert kept["pk"] == "DEID#s-opaque"
    assert kept["sk"].startswith("READING#blood_glucose#2026-12-01T08:00:00Z#")
    assert {k: kept[k] for k in ("value", "unit", "context", "measured_at", "source")} == {
        "value": 52,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": "2026-12-01T08:00:00Z",
        "source": "device",
    }
    assert "symptoms" not in kept  # typed by the patient: free text
    assert kept["classification"] == {
        "severity": "low",
        "category": "level_1_hypoglycemia",
        "interpretation": "L",
        "flags": ["below_target"],
    }
    text = json.dumps(kept)
    for gone in ("hester", "GM-4471", "a-0123", "req-77", "Maria", "08:00:04"):
        assert gone not in text


REQUIRED = ("type", "measured_at", "reading_id")


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in REQUIRED),
        st.text(alphabet="QXZ", min_size=8, max_size=20),
        max_size=8,
    )
)
def test_whatever_else_a_reading_carries_is_left_behind(extra: dict[str, str]) -> None:
    # Anything a reading may carry besides what is kept, with values no kept field holds.
    item = {**READING, **extra}
    kept = rules.deidentified_reading(item, "s-1")
    for name, value in extra.items():
        if name in rules.KEPT:
            assert kept[name] == value
        else:
            assert value not in json.dumps(kept)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_kept_readings_key_is_stable_in_a_run_and_unlinkable_across_runs(reading_id: str, other: str) -> None:
    item = {**READING, "reading_id": reading_id}
    assert rules.deidentified_reading(item, "s-a")["sk"] == rules.deidentified_reading(item, "s-a")["sk"]
    assert rules.deidentified_reading(item, "s-a")["sk"] != rules.deidentified_reading(item, "s-b")["sk"]
    if other != reading_id:
        assert rules.reading_token("s-a", reading_id) != rules.reading_token("s-a", other)


def test_only_stored_readings_are_moved() -> None:
    assert rules.is_reading(READING)
    assert not rules.is_reading({**READING, "entity": "event"})
    assert not rules.is_reading({"pk": "PATIENT#p", "sk": "DAY#blood_glucose#2026-12-01", "entity": "reading"})
