"""Readings as patients submit them: shapes, units and plausibility (docs/clinical.md).

A submission is validated against a clock passed in the validation context
(``{"now": datetime}``), so "not in the future" and "not older than a year"
are testable at any instant.  Numbers are strict: ``"112"`` or ``true`` is not
a glucose value, and NaN/Infinity are refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from chalicelib.domain.patients import ID_PATTERN, NOT_BLANK
from chalicelib.domain.timeutil import UtcTime, iso

MMOL_TO_MG_DL = 18.0
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=365)
GLUCOSE_MG_DL = (10.0, 600.0)
GLUCOSE_MMOL_L = (0.6, 33.3)
SYSTOLIC = (50.0, 300.0)
DIASTOLIC = (20.0, 200.0)
PULSE = (25.0, 250.0)

Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
ReadingId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Context = Literal["fasting", "before_meal", "after_meal", "bedtime", "random"]
Source = Literal["app", "device", "manual", "sms", "clinic"]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Symptom = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


def _in_range(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} {unit}")


class _ReadingBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reading_id: ReadingId | None = None
    measured_at: AwareDatetime = Field(
        description="RFC 3339 with a UTC offset; not older than 365 days, at most 5 minutes ahead of the server"
    )
    source: Source = Field(default="app", description="clinic only from a staff caller")
    device_id: DeviceId | None = None
    symptoms: list[Symptom] = Field(default_factory=list, max_length=20)

    @field_validator("source")
    @classmethod
    def _clinic_only_from_staff(cls, value: str, info: ValidationInfo) -> str:
        # Provenance is the server's (docs/api.md "Trust rules", F6): "clinic" says the care team entered it,
        # so only a staff caller (``{"staff": True}`` in the context) may send it.
        if value == "clinic" and not (info.context or {}).get("staff"):
            raise ValueError("clinic is for readings the care team enters; use app, device, manual or sms")
        return value

    @field_validator("measured_at", mode="before")
    @classmethod
    def _rfc3339_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 date-time string with a UTC offset")
        return value

    @field_validator("measured_at")
    @classmethod
    def _recent(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = (info.context or {}).get("now")
        if now is not None:
            if value > now + MAX_FUTURE:
                raise ValueError("must not be more than 5 minutes in the future")
            if value < now - MAX_AGE:
                raise ValueError("must not be older than 365 days")
        return value


class GlucoseIn(_ReadingBase):
    type: Literal["blood_glucose"]
    unit: Literal["mg/dL", "mmol/L"]
    context: Context = "random"
    meter_flag: Literal["LO", "HI"] | None = None
    # Declared after unit and meter_flag so its validator can see them.
    value: Number | None = Field(
        default=None,
        validate_default=True,
        description="10 to 600 mg/dL or 0.6 to 33.3 mmol/L; required unless meter_flag is sent (never both)",
        json_schema_extra={"minimum": GLUCOSE_MMOL_L[0], "maximum": GLUCOSE_MG_DL[1]},
    )

    @field_validator("value")
    @classmethod
    def _value_or_flag(cls, value: float | None, info: ValidationInfo) -> float | None:
        flag = info.data.get("meter_flag")
        if value is None and flag is None:
            raise ValueError("value is required unless meter_flag is LO or HI")
        if value is not None and flag is not None:
            raise ValueError("send either value or meter_flag, not both")
        unit = info.data.get("unit")
        if value is not None and unit == "mg/dL":
            _in_range("value", value, GLUCOSE_MG_DL, "mg/dL")
        elif value is not None and unit == "mmol/L":
            _in_range("value", value, GLUCOSE_MMOL_L, "mmol/L")
        return value

    @property
    def value_mg_dl(self) -> float | None:
        if self.value is None:
            return None
        return self.value if self.unit == "mg/dL" else round(self.value * MMOL_TO_MG_DL, 1)


class BloodPressureIn(_ReadingBase):
    type: Literal["blood_pressure"]
    systolic: Number = Field(json_schema_extra={"minimum": SYSTOLIC[0], "maximum": SYSTOLIC[1]})
    diastolic: Number = Field(
        description="lower than systolic", json_schema_extra={"minimum": DIASTOLIC[0], "maximum": DIASTOLIC[1]}
    )
    pulse: Number | None = Field(default=None, json_schema_extra={"minimum": PULSE[0], "maximum": PULSE[1]})
    unit: Literal["mmHg"] = "mmHg"

    @field_validator("systolic")
    @classmethod
    def _systolic(cls, value: float) -> float:
        _in_range("systolic", value, SYSTOLIC, "mmHg")
        return value

    @field_validator("diastolic")
    @classmethod
    def _diastolic(cls, value: float, info: ValidationInfo) -> float:
        _in_range("diastolic", value, DIASTOLIC, "mmHg")
        systolic = info.data.get("systolic")
        if systolic is not None and value >= systolic:
            raise ValueError("diastolic must be lower than systolic")
        return value

    @field_validator("pulse")
    @classmethod
    def _pulse(cls, value: float | None) -> float | None:
        if value is not None:
            _in_range("pulse", value, PULSE, "beats/min")
        return value


ReadingIn = Annotated[GlucoseIn | BloodPressureIn, Field(discriminator="type")]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[Any] = Field(min_length=1, max_length=100)


def content_hash(reading: GlucoseIn | BloodPressureIn) -> str:
    """Fingerprint of what was submitted (the instant, not its offset, counts)."""
    data = reading.model_dump(exclude={"reading_id"})
    data["measured_at"] = iso(reading.measured_at)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()
    return digest[:16].hex()


class Classification(BaseModel):
    severity: Literal["critical_low", "low", "normal", "elevated", "high", "critical_high"]
    category: str
    interpretation: Literal["LL", "L", "N", "H", "HH"]
    flags: list[str]
    guidance: str


class Reading(BaseModel):
    """A stored reading as the API answers it."""

    reading_id: str
    patient_id: str
    type: Literal["blood_glucose", "blood_pressure"]
    value: int | float | None = None
    unit: str
    value_mg_dl: int | float | None = None
    context: Context | None = None
    meter_flag: Literal["LO", "HI"] | None = None
    systolic: int | float | None = None
    diastolic: int | float | None = None
    pulse: int | float | None = None
    measured_at: UtcTime
    received_at: UtcTime
    source: Source
    device_id: str | None = None
    symptoms: list[str] = Field(default_factory=list)
    classification: Classification
    alert_id: str | None = None
