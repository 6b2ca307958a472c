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
