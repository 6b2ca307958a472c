"""Readings: submit one or a batch, read the history, export as FHIR."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import problems
from chalicelib.api.http import Call, endpoint, page, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.errors import FieldError, InvalidInputError
from chalicelib.domain.readings import BatchIn

bp = Blueprint(__name__)


@endpoint(bp, "/patients/{patient_id}/readings", methods=["POST"])
def post_reading(call: Call, patient_id: str) -> Any:
    body = call.json()
    if not isinstance(body, dict):
        raise InvalidInputError("The body must be a JSON object.", [FieldError("body", "must be an object")])
    outcome = container().readings.record(call.caller, known_id(patient_id), body)
    if outcome.error is not None:
        raise outcome.error
    return to_response(outcome.reading, outcome.status)


@endpoint(bp, "/patients/{patient_id}/readings/batch", methods=["POST"])
def post_batch(call: Call, patient_id: str) -> Any:
    batch = call.body(BatchIn)
    outcomes = container().readings.record_batch(call.caller, known_id(patient_id), batch.readings)
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        assert outcome is not None
        if outcome.reading is not None:
            results.append(
                {"index": index, "status": outcome.status, "reading": outcome.reading.model_dump(mode="json")}
            )
        else:
            assert outcome.error is not None
            error = problems.describe(outcome.error, prefix=f"readings[{index}]")
            results.append({"index": index, "status": error["status"], "error": error})
    return {"results": results}


@endpoint(bp, "/patients/{patient_id}/readings", methods=["GET"])
def list_readings(call: Call, patient_id: str) -> Any:
    q = call.query
    items, cursor = container().readings.history(
        call.caller, known_id(patient_id), q.get("type"), q.get("from"), q.get("to"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(bp, "/patients/{patient_id}/export", methods=["GET"])
def export_patient(call: Call, patient_id: str) -> Any:
    document = container().readings.export(call.caller, known_id(patient_id))
    return Response(body=json.dumps(document), status_code=200, headers={"Content-Type": "application/fhir+json"})
