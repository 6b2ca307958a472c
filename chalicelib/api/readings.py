"""Readings: submit one or a batch, read the history, export as FHIR."""

from __future__ import annotations

import json
from typing import Any, Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.api import problems
from chalicelib.api.http import Call, Param, endpoint, page, time_param, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.errors import FieldError, InvalidInputError, MalformedRequestError
from chalicelib.domain.readings import BatchIn, Reading, ReadingIn

bp = Blueprint(__name__)
READING_TYPE = {"type": "string", "enum": ["blood_glucose", "blood_pressure"]}


class ReadingSubmission(RootModel[ReadingIn]):
    """A blood_glucose or blood_pressure reading, told apart by ``type``."""


class ReadingBatch(BaseModel):
    """What ``BatchIn`` accepts: each reading is judged on its own (an invalid one is that item's 422)."""

    readings: list[ReadingIn] = Field(min_length=1, max_length=100)


class BatchItemResult(BaseModel):
    """One reading's outcome: ``reading`` on 200/201, ``error`` (a problem) otherwise."""

    index: int
    status: int
    reading: Reading | None = None
    error: problems.Problem | None = None


class BatchResults(BaseModel):
    results: list[BatchItemResult]


class FhirResource(BaseModel):
    """A FHIR R4 resource (Patient or Observation); the rest of its fields follow the FHIR specification."""

    model_config = ConfigDict(extra="allow")
    resourceType: str  # FHIR names it
    id: str


class FhirEntry(BaseModel):
    fullUrl: str  # FHIR names it
    resource: FhirResource


class FhirBundle(BaseModel):
    """A FHIR R4 ``collection`` Bundle: the Patient, then every reading as Observations."""

    model_config = ConfigDict(extra="allow")
    resourceType: Literal["Bundle"]  # FHIR names it
    type: Literal["collection"]
    timestamp: str
    entry: list[FhirEntry]


@endpoint(
    bp,
    "/patients/{patient_id}/readings",
    methods=["POST"],
    status=201,
    summary="Submit a reading (200 on an identical replay)",
    request=ReadingSubmission,
    response=Reading,
    replay=True,
    conflicts=True,
)
def post_reading(call: Call, patient_id: str) -> Any:
    body = call.json()
    if not isinstance(body, dict):
        raise InvalidInputError("The body must be a JSON object.", [FieldError("body", "must be an object")])
    outcome = container().readings.record(call.caller, known_id(patient_id), body)
    if outcome.error is not None:
        raise outcome.error
    return to_response(outcome.reading, outcome.status)


@endpoint(
    bp,
    "/patients/{patient_id}/readings/batch",
    methods=["POST"],
    summary="Submit up to 100 readings",
    request=ReadingBatch,
    response=BatchResults,
)
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


@endpoint(
    bp,
    "/patients/{patient_id}/readings",
    methods=["GET"],
    summary="Reading history, newest first",
    response=Reading,
    paged=True,
    query=(
        Param("type", READING_TYPE, "Only readings of this type"),
        time_param("from", "Measured at or after"),
        time_param("to", "Measured at or before (not before 'from': 422)"),
    ),
    invalid=True,
)
def list_readings(call: Call, patient_id: str) -> Any:
    q = call.query
    items, cursor = container().readings.history(
        call.caller, known_id(patient_id), q.get("type"), q.get("from"), q.get("to"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(
    bp,
    "/patients/{patient_id}/export",
    methods=["GET"],
    summary="FHIR R4 Bundle of the patient and readings; everything=true: the whole record, a page at a time",
    response=FhirBundle,
    media_type="application/fhir+json",
    query=(
        Param("everything", {"type": "string", "enum": ["true", "false"]}, "The whole record, in pages"),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Entries a page (everything=true)"),
        Param("cursor", {"type": "string"}, "The next page's cursor, from the Bundle's next link"),
    ),
)
def export_patient(call: Call, patient_id: str) -> Any:
    pid = known_id(patient_id)
    everything = call.query.get("everything", "false")
    if everything not in ("true", "false"):
        raise MalformedRequestError("everything must be true or false.", [FieldError("everything", "true or false")])
    if everything == "true":
        limit = call.limit()
        link = f"/patients/{pid}/export?everything=true&limit={limit}"
        document = container().export.page(call.caller, pid, limit, call.cursor(), link)
    else:
        document = container().readings.export(call.caller, pid)
    return Response(body=json.dumps(document), status_code=200, headers={"Content-Type": "application/fhir+json"})
