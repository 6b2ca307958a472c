"""What a submission must look like before it is judged (docs/clinical.md, Plausibility)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from chalicelib.api.problems import validation_fields
from chalicelib.domain.readings import ReadingIn

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADAPTER: TypeAdapter[Any] = TypeAdapter(ReadingIn)
GLUCOSE = {"type": "blood_glucose", "value": 112, "unit": "mg/dL", "measured_at": "2026-11-22T07:41:00-03:00"}
BP = {"type": "blood_pressure", "systolic": 142, "diastolic": 91, "measured_at": "2026-11-22T07:45:00-03:00"}


def fields_of(payload: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        ADAPTER.validate_python(payload, context={"now": NOW})
    return {f["field"] for f in validation_fields(raised.value)}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**GLUCOSE, "value": 9.9}, "value"),
        ({**GLUCOSE, "value": 600.1}, "value"),
        ({**GLUCOSE, "unit": "mmol/L", "value": 0.5}, "value"),
        ({**GLUCOSE, "unit": "mmol/L", "value": 33.4}, "value"),
        ({**GLUCOSE, "value": "112"}, "value"),
        ({**GLUCOSE, "value": True}, "value"),
        ({**GLUCOSE, "value": float("nan")}, "value"),
        ({**GLUCOSE, "value": float("inf")}, "value"),
        ({**GLUCOSE, "value": None}, "value"),
        ({**GLUCOSE, "meter_flag": "HI"}, "value"),
        ({**GLUCOSE, "meter_flag": "MID", "value": None}, "meter_flag"),
        ({**GLUCOSE, "unit": "g/L"}, "unit"),
        ({**GLUCOSE, "context": "brunch"}, "context"),
        ({**GLUCOSE, "source": "fax"}, "source"),
        ({**GLUCOSE, "measured_at": "2026-11-22T07:41:00"}, "measured_at"),
        ({**GLUCOSE, "measured_at": "yesterday"}, "measured_at"),
        ({**GLUCOSE, "measured_at": 1795320000}, "measured_at"),
        ({**GLUCOSE, "measured_at": (NOW + timedelta(minutes=5, seconds=1)).isoformat()}, "measured_at"),
        ({**GLUCOSE, "measured_at": (NOW - timedelta(days=365, seconds=1)).isoformat()}, "measured_at"),
        ({**GLUCOSE, "reading_id": "has space"}, "reading_id"),
        ({**GLUCOSE, "extra": 1}, "extra"),
        ({**BP, "systolic": 49}, "systolic"),
        ({**BP, "systolic": 301}, "systolic"),
        ({**BP, "diastolic": 19}, "diastolic"),
        ({**BP, "diastolic": 201, "systolic": 250}, "diastolic"),
        ({**BP, "diastolic": 142}, "diastolic"),
        ({**BP, "diastolic": 150}, "diastolic"),
        ({**BP, "pulse": 24}, "pulse"),
        ({**BP, "pulse": 251}, "pulse"),
        ({**BP, "unit": "kPa"}, "unit"),
        ({k: v for k, v in BP.items() if k != "systolic"}, "systolic"),
        ({**BP, "type": "weight"}, "type"),
        ({k: v for k, v in BP.items() if k != "type"}, "type"),
    ],
)
def test_implausible_or_malformed_readings_name_the_field(payload: dict[str, Any], field: str) -> None:
    assert field in fields_of(payload)


@pytest.mark.parametrize(
    "payload",
    [
        GLUCOSE,
        {**GLUCOSE, "value": 10},
        {**GLUCOSE, "value": 600},
        {**GLUCOSE, "unit": "mmol/L", "value": 0.6},
        {**GLUCOSE, "unit": "mmol/L", "value": 33.3},
        {**GLUCOSE, "value": None, "meter_flag": "LO"},
        {**GLUCOSE, "measured_at": (NOW + timedelta(minutes=5)).isoformat()},
        {**GLUCOSE, "measured_at": (NOW - timedelta(days=365)).isoformat()},
        {**BP, "systolic": 50, "diastolic": 20, "pulse": 25},
        {**BP, "systolic": 300, "diastolic": 200, "pulse": 250},
    ],
)
def test_plausible_edges_are_accepted(payload: dict[str, Any]) -> None:
    ADAPTER.validate_python(payload, context={"now": NOW})
