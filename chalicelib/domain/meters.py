"""Registered meters: the devices whose readings count as RPM device days (docs/api.md "Program lifecycle").

A meter (a glucometer or a BP cuff) is registered to one patient by the care team, from the day it was
handed over.  A reading names its meter by ``device_id`` (the serial the device reports); only a reading
from a meter registered to that patient, of the meter's kind, measured on or after its assignment day,
makes a device day.  A meter belongs to one patient at a time: registering it to a second is 409.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.domain.patients import Strict
from chalicelib.domain.readings import DeviceId

Kind = Literal["glucometer", "bp_cuff"]
READS: dict[str, str] = {"glucometer": "blood_glucose", "bp_cuff": "blood_pressure"}
PREFIX = "meter:"


class MeterIn(Strict):
    serial: DeviceId
    kind: Kind
    assigned_on: date


class Meter(BaseModel):
    device_id: str
    kind: Kind
    assigned_on: str
    registered_at: str
    registered_by: str


def meter_attribute(device_id: str) -> str:
    """The profile attribute holding a registered meter (``meter:<device_id>``)."""
    return f"{PREFIX}{device_id}"


def meters_of(profile: dict[str, Any]) -> list[Meter]:
    return sorted(
        (Meter.model_validate(v) for k, v in profile.items() if k.startswith(PREFIX) and isinstance(v, dict)),
        key=lambda m: (m.assigned_on, m.device_id),
    )


def registered(profile: dict[str, Any], device_id: str | None, reading_type: str, day: str) -> bool:
    """Whether a reading of ``reading_type`` measured on local ``day`` came from a meter registered to the patient."""
    if not device_id:
        return False
    meter = profile.get(meter_attribute(device_id))
    return (
        isinstance(meter, dict)
        and READS.get(str(meter.get("kind"))) == reading_type
        and str(meter.get("assigned_on", "9999")) <= day
    )
