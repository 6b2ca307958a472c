"""The patient's 360° view: timeline, notes, trends, the trend chart; RPM care time and billing."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.http import Call, endpoint, page, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.billing import CareTimeIn
from chalicelib.domain.identity import Role
from chalicelib.domain.timeline import NoteIn

bp = Blueprint(__name__)
STAFF = (Role.CLINICIAN, Role.ADMIN)


@endpoint(bp, "/patients/{patient_id}/timeline", methods=["GET"])
def timeline(call: Call, patient_id: str) -> Any:
    q = call.query
    items, cursor = container().record.timeline(
        call.caller, known_id(patient_id), q.get("from"), q.get("to"), q.get("kinds"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(bp, "/patients/{patient_id}/notes", methods=["POST"], status=201, roles=STAFF)
def add_note(call: Call, patient_id: str) -> Any:
    status, note = container().record.add_note(
        call.caller, known_id(patient_id), call.body(NoteIn), call.idempotency_key()
    )
    return to_response(note, status)


@endpoint(bp, "/patients/{patient_id}/trends", methods=["GET"])
def trends(call: Call, patient_id: str) -> Any:
    return container().record.trend(call.caller, known_id(patient_id), call.query.get("type"), call.query.get("days"))


@endpoint(bp, "/patients/{patient_id}/trends/chart.svg", methods=["GET"])
def trend_chart(call: Call, patient_id: str) -> Any:
    svg = container().record.chart(call.caller, known_id(patient_id), call.query.get("type"), call.query.get("days"))
    return Response(
        body=svg,
        status_code=200,
        headers={"Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "private, no-store"},
    )


@endpoint(bp, "/patients/{patient_id}/care-time", methods=["POST"], roles=STAFF)
def log_care_time(call: Call, patient_id: str) -> Any:
    status, entry = container().billing.log_care_time(call.caller, known_id(patient_id), call.body(CareTimeIn))
    return to_response(entry, status)


@endpoint(bp, "/billing/rpm", methods=["GET"], roles=STAFF)
def rpm_report(call: Call) -> Any:
    items, cursor = container().billing.report(call.caller, call.query.get("month"), call.limit(), call.cursor())
    return page(items, cursor)
