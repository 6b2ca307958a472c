"""The patient's 360° view: timeline, notes, trends, the trend chart; RPM care time and billing."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, RootModel

from chalicelib.api.http import Call, Param, endpoint, page, time_param, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.billing import MONTH, CareTime, CareTimeIn, RpmRow
from chalicelib.domain.identity import Role
from chalicelib.domain.timeline import KINDS, NoteIn, PatientNote
from chalicelib.domain.trends import WINDOWS, BpTrend, GlucoseTrend

bp = Blueprint(__name__)
STAFF = (Role.CLINICIAN, Role.ADMIN)
_KIND = "|".join(KINDS)
TREND_QUERY = (
    Param("type", {"type": "string", "enum": ["blood_glucose", "blood_pressure"]}, "Which readings", required=True),
    Param("days", {"type": "integer", "enum": list(WINDOWS), "default": 30}, "The window in local days"),
)


class TimelineRef(BaseModel):
    """What an event is about; which keys are present depends on its kind."""

    model_config = ConfigDict(extra="allow")
    reading_id: str | None = None
    alert_id: str | None = None
    note_id: str | None = None
    message_id: str | None = None
    reminder_id: str | None = None
    appointment_id: str | None = None
    by: str | None = None
    shared: bool | None = None
    level: int | None = None


class TimelineEntry(BaseModel):
    """One event of the patient's timeline, as the API answers it."""

    at: str
    kind: str
    channel: str | None = None
    summary: str
    ref: TimelineRef


class Trend(RootModel[GlucoseTrend | BpTrend]):
    """Glucose or blood-pressure trend over the patient's local days (``type`` tells which)."""


@endpoint(
    bp,
    "/patients/{patient_id}/timeline",
    methods=["GET"],
    summary="Everything that happened to the patient, every channel, newest first",
    response=TimelineEntry,
    paged=True,
    query=(
        time_param("from", "At or after"),
        time_param("to", "At or before"),
        Param(
            "kinds",
            {"type": "string", "pattern": f"^({_KIND})(,({_KIND}))*$"},
            "Comma-separated kinds: " + ", ".join(KINDS),
        ),
    ),
    invalid=True,
)
def timeline(call: Call, patient_id: str) -> Any:
    q = call.query
    items, cursor = container().record.timeline(
        call.caller, known_id(patient_id), q.get("from"), q.get("to"), q.get("kinds"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(
    bp,
    "/patients/{patient_id}/notes",
    methods=["POST"],
    status=201,
    roles=STAFF,
    summary="Add a care-team note to the timeline (200 on a replay)",
    request=NoteIn,
    response=PatientNote,
    replay=True,
    keyed=True,
    conflicts=True,
)
def add_note(call: Call, patient_id: str) -> Any:
    status, note = container().record.add_note(
        call.caller, known_id(patient_id), call.body(NoteIn), call.idempotency_key()
    )
    return to_response(note, status)


@endpoint(
    bp,
    "/patients/{patient_id}/trends",
    methods=["GET"],
    summary="Trend over local days",
    response=Trend,
    query=TREND_QUERY,
)
def trends(call: Call, patient_id: str) -> Any:
    return container().record.trend(call.caller, known_id(patient_id), call.query.get("type"), call.query.get("days"))


@endpoint(
    bp,
    "/patients/{patient_id}/trends/chart.svg",
    methods=["GET"],
    summary="Trend chart with the target band",
    response=str,
    media_type="image/svg+xml",
    query=TREND_QUERY,
)
def trend_chart(call: Call, patient_id: str) -> Any:
    svg = container().record.chart(call.caller, known_id(patient_id), call.query.get("type"), call.query.get("days"))
    return Response(
        body=svg,
        status_code=200,
        headers={"Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "private, no-store"},
    )


@endpoint(
    bp,
    "/patients/{patient_id}/care-time",
    methods=["POST"],
    status=201,
    roles=STAFF,
    summary="Log care-team minutes (RPM; 200 on a replay)",
    request=CareTimeIn,
    response=CareTime,
    replay=True,
    conflicts=True,
)
def log_care_time(call: Call, patient_id: str) -> Any:
    status, entry = container().billing.log_care_time(call.caller, known_id(patient_id), call.body(CareTimeIn))
    return to_response(entry, status)


@endpoint(
    bp,
    "/billing/rpm",
    methods=["GET"],
    roles=STAFF,
    summary="RPM device days and care minutes per patient",
    response=RpmRow,
    paged=True,
    query=(Param("month", {"type": "string", "pattern": MONTH.pattern}, "The month, YYYY-MM (default: this one)"),),
)
def rpm_report(call: Call) -> Any:
    items, cursor = container().billing.report(call.caller, call.query.get("month"), call.limit(), call.cursor())
    return page(items, cursor)
