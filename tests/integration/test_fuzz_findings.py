"""What an outside fuzzer found: inputs a client can send that answered 500, each now a 4xx naming the field.

Each test drives the app in-process against the emulators (the stream through
``stream_runner``) and checks the problem+json names the field it should.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body


def _fields(response: Any) -> list[str]:
    return [error["field"] for error in body(response).get("errors", [])]


@pytest.fixture(scope="module")
def pid(api: Api, clinic: dict[str, Any]) -> str:
    pid = f"p-fz-{uuid.uuid4().hex[:8]}"
    assert api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"]).status_code == 201
    return pid


# -- readings history: a range the wrong way round ---------------------------------------------------


def test_history_range_the_wrong_way_round_is_422_from_the_service_for_every_caller(api: Api, pid: str) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.errors import InvalidInputError
    from chalicelib.domain.identity import Principal, Role

    later, earlier = "2026-11-22T10:00:00Z", "2026-11-21T10:00:00Z"
    with pytest.raises(InvalidInputError) as raised:
        bootstrap.container().readings.history(Principal(pid, Role.PATIENT), pid, None, later, earlier, 50, None)
    assert [e.field for e in raised.value.errors] == ["from"]

    response = api.call("GET", f"/patients/{pid}/readings?from={later}&to={earlier}", as_=("patient", pid))
    assert response.status_code == 422, response.body
    assert _fields(response) == ["from"]
    same = api.call("GET", f"/patients/{pid}/readings?from={later}&to={later}", as_=("patient", pid))
    assert same.status_code == 200, same.body


# -- appointments: a remind_before offset too large for a timedelta -----------------------------------


def _starts(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0).isoformat()


def _book(api: Api, clinic: dict[str, Any], pid: str, **extra: Any) -> Any:
    sent = {"appointment_id": f"v-{uuid.uuid4().hex[:8]}", "starts_at": _starts(days=5), "kind": "phone", **extra}
    return api.call("POST", f"/patients/{pid}/appointments", sent, as_=clinic["c1"])


@pytest.mark.parametrize("offset", ["PT93220304502791905987M", "P99999999999999D", "PT9999999999H", "P\u0661D"])
def test_an_offset_too_large_for_a_timedelta_is_422_naming_remind_before(
    api: Api, clinic: dict[str, Any], pid: str, offset: str
) -> None:
    booked = _book(api, clinic, pid, remind_before=[offset])
    assert booked.status_code == 422, booked.body
    assert _fields(booked) == ["remind_before"], _fields(booked)

    aid = body(_book(api, clinic, pid))["appointment_id"]
    patched = api.call(
        "PATCH", f"/patients/{pid}/appointments/{aid}", {"remind_before": ["PT2H", offset]}, as_=clinic["c1"]
    )
    assert patched.status_code == 422, patched.body
    assert _fields(patched) == ["remind_before"], _fields(patched)


# -- appointments: times at the edge of the calendar -------------------------------------------------

EDGES = ["0001-01-01T00:30:00Z", "9999-12-31T23:30:00-14:00", "0001-01-01T00:30:00+14:00", "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize("starts_at", EDGES)
def test_a_start_at_the_edge_of_the_calendar_is_422_naming_starts_at(
    api: Api, clinic: dict[str, Any], pid: str, starts_at: str
) -> None:
    booked = _book(api, clinic, pid, starts_at=starts_at, remind_before=["P1D"])
    assert booked.status_code == 422, booked.body
    assert _fields(booked) == ["starts_at"]

    aid = body(_book(api, clinic, pid))["appointment_id"]
    patched = api.call(
        "PATCH",
        f"/patients/{pid}/appointments/{aid}",
        {"starts_at": starts_at, "remind_before": ["P1D"]},
        as_=clinic["c1"],
    )
    assert patched.status_code == 422, patched.body
    assert _fields(patched) == ["starts_at"]


def test_appointments_start_within_the_last_year_and_the_next_five(api: Api, clinic: dict[str, Any], pid: str) -> None:
    for starts_at, status in (
        (_starts(days=-400), 422),
        (_starts(days=5 * 366 + 30), 422),
        (_starts(days=-300), 201),
        (_starts(days=4 * 365), 201),
    ):
        booked = _book(api, clinic, pid, starts_at=starts_at, remind_before=["P1D"])
        assert booked.status_code == status, (starts_at, booked.body)
        if status == 422:
            assert _fields(booked) == ["starts_at"]


def test_a_patch_that_resends_an_unchanged_start_outside_the_window_is_not_refused_for_it(
    api: Api, clinic: dict[str, Any], pid: str
) -> None:
    """A form sends every field back: the stored time is no change, even once it is more than a year old."""
    from chalicelib import bootstrap

    aid = body(_book(api, clinic, pid))["appointment_id"]
    old = (datetime.now(UTC) - timedelta(days=400)).replace(microsecond=0)
    table = bootstrap.container().table  # an appointment booked long ago (no API books one in the past)
    table.client.update_item(
        TableName=table.name,
        Key={"pk": {"S": f"PATIENT#{pid}"}, "sk": {"S": f"APPT#{aid}"}},
        UpdateExpression="SET starts_at = :s",
        ExpressionAttributeValues={":s": {"S": old.isoformat().replace("+00:00", "Z")}},
    )
    stored = body(api.call("GET", f"/patients/{pid}/appointments/{aid}", as_=clinic["c1"]))["starts_at"]

    resent = api.call(
        "PATCH", f"/patients/{pid}/appointments/{aid}", {"starts_at": stored, "location": "Room 2"}, as_=clinic["c1"]
    )
    moved = api.call(
        "PATCH", f"/patients/{pid}/appointments/{aid}", {"starts_at": _starts(days=-500)}, as_=clinic["c1"]
    )

    assert resent.status_code == 200, resent.body
    assert moved.status_code == 422 and _fields(moved) == ["starts_at"]


# -- PATCH (and PUT) with explicit nulls -------------------------------------------------------------


def test_an_appointment_patch_with_nulls_is_422_naming_each_required_field(
    api: Api, clinic: dict[str, Any], pid: str
) -> None:
    root = f"/patients/{pid}/appointments"
    aid = body(_book(api, clinic, pid, kind="video", location="Room 2", join_url="https://visit.example/x"))[
        "appointment_id"
    ]
    sent = {"starts_at": None, "location": None, "join_url": None, "remind_before": None, "status": "completed"}

    patched = api.call("PATCH", f"{root}/{aid}", sent, as_=clinic["c1"])

    assert patched.status_code == 422, patched.body
    assert sorted(_fields(patched)) == ["remind_before", "starts_at"]
    for field in ("starts_at", "remind_before", "status"):
        one = api.call("PATCH", f"{root}/{aid}", {field: None}, as_=clinic["c1"])
        assert one.status_code == 422, (field, one.body)
        assert _fields(one) == [field]
    unchanged = body(api.call("GET", f"{root}/{aid}", as_=clinic["c1"]))
    assert unchanged["status"] == "scheduled" and unchanged["location"] == "Room 2"

    # location and join_url are optional: null clears them.
    cleared = api.call("PATCH", f"{root}/{aid}", {"location": None, "join_url": None}, as_=clinic["c1"])
    assert cleared.status_code == 200, cleared.body
    assert body(cleared)["location"] is None and body(cleared)["join_url"] is None
    again = body(api.call("GET", f"{root}/{aid}", as_=clinic["c1"]))
    assert again["location"] is None and again["join_url"] is None and again["starts_at"] == unchanged["starts_at"]


def test_a_reminder_patch_with_nulls_is_422_naming_each_required_field(api: Api, pid: str) -> None:
    me = ("patient", pid)
    created = api.call(
        "POST", f"/patients/{pid}/reminders", {"kind": "medication", "times": ["08:00"], "label": "pills"}, as_=me
    )
    assert created.status_code == 201, created.body
    path = f"/patients/{pid}/reminders/{body(created)['reminder_id']}"

    patched = api.call("PATCH", path, {"times": None, "days": None, "label": None, "active": True}, as_=me)

    assert patched.status_code == 422, patched.body
    assert sorted(_fields(patched)) == ["days", "times"]
    for field in ("times", "days", "active"):
        one = api.call("PATCH", path, {field: None}, as_=me)
        assert one.status_code == 422, (field, one.body)
        assert _fields(one) == [field]

    # The label is optional: null clears it.
    cleared = api.call("PATCH", path, {"label": None}, as_=me)
    assert cleared.status_code == 200, cleared.body
    assert body(cleared)["label"] is None and body(cleared)["times"] == ["08:00"] and body(cleared)["active"]


def _null_cases() -> list[tuple[str, str, str, str]]:
    from chalicelib.domain.clinic import OnCallIn
    from chalicelib.domain.patients import ClinicianIn, ConsentIn, PatientPatch
    from chalicelib.domain.targets import TargetsIn

    cases = []
    for who in ("admin", "patient"):
        cases += [(who, "PATCH", "/patients/{pid}", field) for field in PatientPatch.model_fields]
    cases += [("admin", "PUT", "/patients/{pid}/targets", field) for field in TargetsIn.model_fields]
    cases += [("admin", "PUT", "/patients/{pid}/targets", f"glucose.{f}") for f in ("low", "critical_high")]
    cases += [("admin", "PUT", "/patients/{pid}/targets", f"blood_pressure.{f}") for f in ("systolic_high",)]
    cases += [("patient", "PUT", "/patients/{pid}/consents/sms", field) for field in ConsentIn.model_fields]
    cases += [("admin", "PUT", "/clinicians/c-fz-null", field) for field in ClinicianIn.model_fields]
    cases += [("admin", "PUT", "/clinic/on-call", field) for field in OnCallIn.model_fields]
    return cases


@pytest.mark.parametrize(("who", "method", "path", "field"), _null_cases())
def test_a_null_in_any_patch_or_put_field_is_never_a_500(
    api: Api, pid: str, who: str, method: str, path: str, field: str
) -> None:
    """A null on a field that may not be null is 422 naming it; on one that may be cleared it clears it."""
    bases: dict[str, dict[str, Any]] = {
        "/patients/{pid}/targets": {"reason": "fuzz"},
        "/patients/{pid}/consents/sms": {"granted": True},
        "/clinicians/c-fz-null": {"given_name": "Rui"},
        "/clinic/on-call": {"clinician_ids": []},
    }
    sent: dict[str, Any] = dict(bases.get(path, {}))
    head, _, tail = field.partition(".")
    sent[head] = {tail: None} if tail else None
    caller = ("admin", "a-1") if who == "admin" else ("patient", pid)

    response = api.call(method, path.format(pid=pid), sent, as_=caller)

    assert response.status_code < 500, response.body
    if response.status_code == 422:
        assert _fields(response) and all(f.split(".")[0].split("[")[0] == head for f in _fields(response))


# -- a reading names the alert it opened or joined ------------------------------------------------------


def _glucose(value: float) -> dict[str, Any]:
    measured = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return {"reading_id": f"r-{uuid.uuid4().hex[:12]}", "type": "blood_glucose", "value": value, "unit": "mg/dL"} | {
        "measured_at": measured
    }


def test_a_reading_that_opened_or_joined_an_alert_names_it_in_the_history(
    api: Api, clinic: dict[str, Any], app: Any, stream_runner: Any
) -> None:
    from chalicelib import bootstrap
    from devstack.runner import LocalEventRunner

    pid = f"p-fz-{uuid.uuid4().hex[:8]}"
    assert api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"]).status_code == 201
    me = ("patient", pid)
    opening, normal, joining = _glucose(40), _glucose(112), _glucose(45)
    answers = [api.call("POST", f"/patients/{pid}/readings", sent, as_=me) for sent in (opening, normal, joining)]
    assert [a.status_code for a in answers] == [201, 201, 201]

    stream_runner.drain()

    # A retry answers as the first time did (docs/api.md "Retries are safe"), alert or not.
    replay = api.call("POST", f"/patients/{pid}/readings", opening, as_=me)
    assert replay.status_code == 200 and body(replay) == body(answers[0])

    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["admin"]))["items"]
    # Two lows also open a recurrent-lows alert; each reading names its own condition's alert.
    assert sorted(a["kind"] for a in alerts) == ["critical_low", "recurrent_lows"], alerts
    alert_id = next(a["alert_id"] for a in alerts if a["kind"] == "critical_low")

    def named() -> dict[str, Any]:
        items = body(api.call("GET", f"/patients/{pid}/readings", as_=me))["items"]
        return {r["reading_id"]: r["alert_id"] for r in items}

    expected = {opening["reading_id"]: alert_id, normal["reading_id"]: None, joining["reading_id"]: alert_id}
    assert named() == expected
    alert = body(api.call("GET", f"/alerts/{alert_id}", as_=clinic["admin"]))
    assert alert["occurrences"] == 2

    # A redelivered stream (a second consumer from its start) changes nothing twice.
    c = bootstrap.container()
    LocalEventRunner(
        app, c.client("dynamodb"), c.client("dynamodbstreams"), c.client("sqs"), c.settings.table_name
    ).drain()
    assert named() == expected
    assert body(api.call("GET", f"/alerts/{alert_id}", as_=clinic["admin"]))["occurrences"] == 2
