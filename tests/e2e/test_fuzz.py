"""API fuzzing with schemathesis against /openapi.json on the local stack, with valid tokens.

For every documented operation, schemathesis generates requests from the
schema (bounded: ``FUZZ_EXAMPLES`` each) and checks: no 5xx, the status is
one the document lists, the content type is the documented one, the body
conforms to the response schema, and every 4xx is problem+json.  It runs as a
clinician on a real patient (so generated ids hit data, not only 404s) and as
an admin everywhere.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Http

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def problem_json_for_4xx(ctx: Any, response: Any, case: Any) -> bool | None:
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", response.headers.get("Content-Type", [""]))
        value = content_type[0] if isinstance(content_type, list) else content_type
        if not value.startswith("application/problem+json"):
            raise AssertionError(f"{response.status_code} answered as {value!r}, not problem+json")
        problem = response.json()
        if not {"type", "title", "status", "detail"} <= set(problem) or problem["status"] != response.status_code:
            raise AssertionError(f"not a problem document: {problem}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_json_for_4xx,
]


def _fuzz(http: Http, token: str, examples: int, patient_id: str | None = None) -> list[str]:
    """Every operation, ``examples`` generated requests each; the findings, one line per operation."""
    # Driven through Hypothesis directly: schemathesis's lazy pytest loader does not run on pytest 9.
    schema = schemathesis.openapi.from_url(f"{http.base}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    findings = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same requests on every run: a failure reproduces
            database=None,
        )
        def run(case: Any) -> None:
            if patient_id and case.path_parameters and "patient_id" in case.path_parameters:
                case.path_parameters["patient_id"] = patient_id
            nonlocal sent
            sent += 1
            case.call_and_validate(base_url=http.base, headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as error:  # collect every operation's finding, then fail once
            findings.append(f"{operation.label}: {str(error).splitlines()[0][:300]}")
    operations = len(list(schema.get_all_operations()))
    assert sent >= 2 * operations, f"only {sent} requests for {operations} operations"
    print(f"\nfuzzed {operations} operations with {sent} requests")
    return findings


def test_fuzz_every_operation_as_admin(http: Http, clinic: dict[str, Any]) -> None:
    assert _fuzz(http, http.token("admin", "a-1"), EXAMPLES) == []


def test_fuzz_every_operation_as_the_care_team_on_a_real_patient(http: Http, clinic: dict[str, Any]) -> None:
    # p-1 is on c-1's panel (clinic fixture): generated bodies reach real validation and storage.
    assert _fuzz(http, http.token("clinician", "c-1"), max(3, EXAMPLES // 2), patient_id="p-1") == []


# Values that have answered 500 (security review F13): digits str.isdigit() accepts and int() refuses or
# reads, and ids far beyond DynamoDB's key sizes.
CRAFTED = ("²", "٣", "٣٠", "A" * 2100, "a-" + "٣" * 24, "QUFB" * 700 + ".0123456789abcdef")
REAL = {"patient_id": "p-1", "clinician_id": "c-1"}


def test_fuzz_unicode_digits_and_over_long_ids_in_every_path_and_query_value(
    http: Http, clinic: dict[str, Any]
) -> None:
    """Every path parameter and every query parameter of every operation, in turn, set to each crafted value."""
    schema = schemathesis.openapi.from_url(f"{http.base}/openapi.json")
    headers = {"Authorization": f"Bearer {http.token('admin', 'a-1')}"}
    findings, sent = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        real = {p.name: REAL.get(p.name, "x-1") for p in operation.path_parameters}
        targets = [("path", p.name) for p in operation.path_parameters] + [("query", q.name) for q in operation.query]
        # An empty JSON object where a body is documented: path and query are checked before (or
        # whatever the body's verdict) and must never make a 500.
        body, media_type = ({}, "application/json") if len(operation.body) else (NOT_SET, None)
        for where, name in targets:
            for value in CRAFTED:
                path_parameters = {**real, name: value} if where == "path" else real
                query = {name: value} if where == "query" else {}
                case = operation.Case(path_parameters=path_parameters, query=query, body=body, media_type=media_type)
                sent += 1
                try:
                    case.call_and_validate(
                        base_url=http.base, headers=headers, checks=[not_a_server_error, problem_json_for_4xx]
                    )
                except Exception as error:  # collect every finding, then fail once
                    findings.append(
                        f"{operation.label} {where} {name}={value[:12]!r}: {str(error).splitlines()[0][:200]}"
                    )
    assert sent > 100
    assert findings == []


def test_an_appointment_patched_with_a_numeric_starts_at_is_422_not_500(http: Http, clinic: dict[str, Any]) -> None:
    from datetime import UTC, datetime, timedelta

    root = "/patients/p-1/appointments"
    starts = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    booked = http.call(
        "POST", root, {"appointment_id": "v-fuzz", "starts_at": starts, "kind": "phone"}, as_=clinic["c1"]
    )
    assert booked.status_code in (200, 201), booked.text

    patched = http.call("PATCH", f"{root}/v-fuzz", {"starts_at": 0}, as_=clinic["c1"])

    assert patched.status_code == 422, patched.text
    assert patched.headers["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in patched.json()["errors"]] == ["starts_at"]


# -- The CLI's verdict: does the schema say what the validation enforces? ------------------------------------------
# `schemathesis run` warns "schema validation mismatch" for an operation whose schema-valid (positive) requests
# are all refused as 400/422: the document is looser than the API.  The run below is what an outside tester
# runs, with `warnings.fail-on` set, and the test fails on any such warning.  The hooks only supply what a
# schema cannot say (each rule is in the field's description): times relative to now, ids that exist (the
# clinic fixture's clinician c-1) or that nobody holds yet (a new patient's), reminder offsets within 5 minutes
# to 30 days, a fresh Idempotency-Key.
# Only the fuzzing phase: the coverage phase does not apply hooks, so a time "in the last 365 days" is
# refused there whatever the schema says.
HOOKS = "tests.e2e.test_fuzz"
CLI_CONFIG = """\
[warnings]
fail-on = ["validation_mismatch"]

[parameters]
"path.patient_id" = "p-1"
"path.clinician_id" = "c-1"
"""


def _recent_times_and_known_ids(ctx: Any, body: Any) -> Any:
    import uuid
    from datetime import UTC, datetime, timedelta

    operation = ctx.operation
    if operation is None or not isinstance(body, dict):
        return body
    # The stage's clock (other tests move it): the test passes its offset from this machine's.
    offset = timedelta(seconds=float(os.environ.get("CAREWIRE_FUZZ_CLOCK_OFFSET", "0")))
    recent = (datetime.now(UTC) + offset - timedelta(minutes=1)).isoformat()
    route = (operation.method.upper(), operation.path)
    if route == ("POST", "/patients/{patient_id}/readings"):
        body["measured_at"] = recent  # not older than 365 days, not ahead of the server
    elif route == ("POST", "/patients/{patient_id}/readings/batch"):
        for reading in body.get("readings") or []:
            if isinstance(reading, dict):
                reading["measured_at"] = recent
    elif route == ("POST", "/patients/{patient_id}/care-time"):
        body["at"] = recent  # in the past year
    elif route == ("POST", "/patients"):
        body["care_team"] = ["c-1"]  # registered clinicians only
        # An id nobody holds: the same id with another body is a 409 (retry safety), which no schema can say.
        body["patient_id"] = f"p-fz-{uuid.uuid4().hex[:12]}"
    elif route == ("PUT", "/clinicians/{clinician_id}"):
        body.pop("clinician_id", None)  # the body's id must be the path's
    elif operation.path.startswith("/patients/{patient_id}/appointments") and "remind_before" in body:
        body["remind_before"] = ["P1D", "PT2H"]  # 5 minutes to 30 days each (creating or changing one)
    return body


def _fresh_idempotency_key(ctx: Any, headers: Any) -> Any:
    import uuid

    if isinstance(headers, dict) and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = uuid.uuid4().hex  # a reused key with another body is a 409, not a test
    return headers


if os.environ.get("SCHEMATHESIS_HOOKS") == HOOKS:  # loaded by the CLI below, never by pytest
    schemathesis.hook("map_body")(_recent_times_and_known_ids)
    schemathesis.hook("map_headers")(_fresh_idempotency_key)


def test_the_schemathesis_cli_finds_no_schema_validation_mismatch(
    http: Http, clinic: dict[str, Any], tmp_path: Any
) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CLI_CONFIG)
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{http.base}/openapi.json",
        "--header",
        f"Authorization: Bearer {http.token('admin', 'a-1')}",
        "--mode",
        "positive",
        "--phases",
        "fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "1",
        "--checks",
        "not_a_server_error",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    from datetime import UTC, datetime

    stage_now = datetime.fromisoformat(http.call("POST", "/_local/drain").json()["now"].replace("Z", "+00:00"))
    offset = (stage_now - datetime.now(UTC)).total_seconds()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "PYTHONPATH": str(root),
        "CAREWIRE_FUZZ_CLOCK_OFFSET": str(offset),
    }

    run = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=1200)

    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    warnings = json.loads(report.read_text())["warnings"]
    # Server errors are the tests above's to find; this one judges the schema.
    assert warnings["validation_mismatch"] == [], run.stdout[-3000:]
