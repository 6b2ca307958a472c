"""Retention over HTTP, on a stage of its own whose clock travels six years past a discharge.

Three patients of one clinic: one discharged and never back, one discharged and re-enrolled, one discharged a
year later.  At six years less a day nothing has changed; a minute past six years the first one's record is
de-identified: the API no longer knows them, no item in the table holds their name, numbers, address, notes
or id, their readings stay under an opaque subject, their sign-in is gone, and the job's steps are in the
audit trail.  The other two are untouched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from chalicelib.domain.timeutil import parse_iso
from devstack.stack import Stack, free_port
from tests.e2e import test_program_lifecycle as lifecycle
from tests.e2e.conftest import Http
from tests.e2e.test_safety_net import ADMIN, clinician, glucose, outbox, phone, post, stage_now, travel

LISBON = ZoneInfo("Europe/Lisbon")
# A module of its own stage: the clock goes six years forward and never back, which the session's stage
# (shared by every other e2e module) must not see.


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = Stack(api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(stack: Stack) -> Http:
    return Http(stack.api_url)


def enrol(http: Http, doctor: str, family_name: str) -> dict[str, Any]:
    return lifecycle.enrol(
        http,
        doctor,
        given_name="Zebedee",
        family_name=family_name,
        email=f"{family_name.lower()}@mail.example",
        timezone="Europe/Lisbon",
        channels=["sms", "email"],
    )


def current_episode(http: Http, pid: str, doctor: str) -> dict[str, Any]:
    response = http.call("GET", f"/patients/{pid}/episodes", as_=("clinician", doctor))
    assert response.status_code == 200, response.text
    return dict(response.json()["items"][0])


def discharge(http: Http, pid: str, doctor: str, note: str) -> dict[str, Any]:
    episode = current_episode(http, pid, doctor)["episode_id"]
    response = http.call(
        "POST",
        f"/patients/{pid}/episodes/{episode}/discharge",
        {"reason": "moved", "note": note},
        as_=("clinician", doctor),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def patient_status(http: Http, pid: str) -> int:
    return int(http.call("GET", f"/patients/{pid}", as_=ADMIN).status_code)


def aws(stack: Stack, service: str, url: str) -> Any:
    """A client of the stage's emulator, with the stage's credentials."""
    env = stack.env
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def table_items(stack: Stack, now: datetime) -> list[dict[str, Any]]:
    """Every item of the main table as DynamoDB in AWS holds it at ``now`` (a test may Scan; the app never does).

    Items past their ``expires_at`` (send receipts, delivery claims and daily send counts, 30 days at most) are
    left out: DynamoDB's TTL deletes them in AWS, and DynamoDB Local does not.
    """
    client = aws(stack, "dynamodb", stack.dynamodb_url)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=stack.env.get("CAREWIRE_TABLE", "carewire")):
        items += [i for i in page["Items"] if "expires_at" not in i or int(i["expires_at"]["N"]) > now.timestamp()]
    return items


@pytest.fixture(scope="module")
def story(http: Http) -> dict[str, Any]:
    """Three discharged patients, a re-enrolment, and what the first one left on the record."""
    doctor, _ = clinician(http, phone=phone())
    gone = enrol(http, doctor, "Quillfeather")
    back = enrol(http, doctor, "Marchbanks")
    later = enrol(http, doctor, "Thistlewood")
    now = stage_now(http)
    readings = [post(http, gone["pid"], glucose(v), now - timedelta(hours=h)) for v, h in ((112, 5), (131, 3), (98, 2))]
    critical = post(http, gone["pid"], glucose(38), now - timedelta(minutes=30))  # pages the doctor
    assert critical["classification"]["severity"] == "critical_low"
    device = http.call(
        "POST",
        f"/patients/{gone['pid']}/devices",
        {"platform": "fcm", "token": f"fcm-{uuid.uuid4().hex}"},
        as_=("patient", gone["pid"]),
    )
    assert device.status_code == 201, device.text
    sent = http.call(
        "POST",
        f"/patients/{gone['pid']}/messages",
        {"text": "Zebedee, your new meter is at the pharmacy on Rua Augusta.", "message_id": str(uuid.uuid4())},
        as_=("clinician", doctor),
    )
    assert sent.status_code == 202, sent.text
    post(http, back["pid"], glucose(120), now - timedelta(hours=1))
    note = "Moving to Porto; records to Dr Aldous Penhallow"
    first = discharge(http, gone["pid"], doctor, note)
    discharge(http, back["pid"], doctor, "Going abroad for a semester")
    # The next morning in Lisbon: a goodbye held back by quiet hours has gone out.
    morning = (parse_iso(first["updated_at"]) + timedelta(days=1)).astimezone(LISBON).replace(hour=10, minute=0)
    travel(http, morning)
    assert [m for m in outbox(http, gone["phone"]) if "program" in (m["body"] or "").lower()], outbox(
        http, gone["phone"]
    )
    return {
        "doctor": doctor,
        "gone": gone,
        "back": back,
        "later": later,
        "note": note,
        "readings": [*readings, critical],
        "deidentify_after": parse_iso(first["deidentify_after"]),
        "discharged_at": parse_iso(first["updated_at"]),
    }


def years_later(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def test_a_discharge_says_when_its_record_will_be_de_identified(story: dict[str, Any]) -> None:
    assert story["deidentify_after"] == years_later(story["discharged_at"], 6)


def test_nothing_is_de_identified_before_the_period_is_over(http: Http, story: dict[str, Any]) -> None:
    doctor, back, later = story["doctor"], story["back"], story["later"]
    # A year on, the second patient comes back (a new episode) and the third is discharged.
    travel(http, story["discharged_at"] + timedelta(days=365))
    reopened = http.call(
        "POST",
        f"/patients/{back['pid']}/episodes",
        {"programs": ["diabetes"], "starts_on": (stage_now(http).date()).isoformat()},
        as_=("clinician", doctor),
    )
    assert reopened.status_code == 201, reopened.text
    discharge(http, later["pid"], doctor, "Goals met")

    travel(http, story["deidentify_after"] - timedelta(days=1))
    for p in (story["gone"], back, later):
        assert patient_status(http, p["pid"]) == 200
    readings = http.call("GET", f"/patients/{story['gone']['pid']}/readings", as_=("clinician", doctor))
    assert len(readings.json()["items"]) == 4


def test_a_minute_past_six_years_the_record_is_de_identified(http: Http, stack: Stack, story: dict[str, Any]) -> None:
    gone, doctor = story["gone"], story["doctor"]
    travel(http, story["deidentify_after"] + timedelta(minutes=1))

    # The API no longer knows the patient, to anyone.
    assert patient_status(http, gone["pid"]) == 404
    assert http.call("GET", f"/patients/{gone['pid']}/readings", as_=("clinician", doctor)).status_code == 404
    listed = http.call("GET", "/patients?episode=discharged", as_=("clinician", doctor)).json()["items"]
    assert gone["pid"] not in [p["patient_id"] for p in listed]
    assert story["later"]["pid"] in [p["patient_id"] for p in listed]
    still_open = http.call("GET", "/alerts?status=open", as_=("clinician", doctor)).json()["items"]
    assert [a for a in still_open if a["patient_id"] == gone["pid"]] == []

    # A day later the run has swept once more (for anything a late writer left) and is gone.
    travel(http, story["deidentify_after"] + timedelta(hours=26))

    # No item anywhere in the table names them, reaches them or quotes what was written about them.
    items = table_items(stack, stage_now(http))
    secrets = [gone["pid"], gone["family_name"], gone["phone"], gone["email"], story["note"], "Rua Augusta"]
    secrets += [r["reading_id"] for r in story["readings"]]
    for item in items:
        text = json.dumps(item)
        assert not [s for s in secrets if s in text], item

    # The readings stay, under one opaque subject, with their values and times and nothing that says whose.
    kept = [i for i in items if i["pk"]["S"].startswith("DEID#")]
    assert len({i["pk"]["S"] for i in kept}) == 1
    assert sorted((i["measured_at"]["S"], float(i["value"]["N"])) for i in kept) == sorted(
        (r["measured_at"], float(r["value"])) for r in story["readings"]
    )
    assert {i["classification"]["M"]["severity"]["S"] for i in kept} >= {"critical_low", "normal"}
    for i in kept:
        assert not {"reading_id", "patient_id", "device_id", "alert_id", "created_by", "request_id"} & set(i)

    # Their sign-in is gone with the phone and email it held.
    cognito = aws(stack, "cognito-idp", stack.moto_url)
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=stack.env["CAREWIRE_USER_POOL_ID"], Username=gone["pid"])

    # So is the push endpoint of their phone, which held its token and their id.
    sns = aws(stack, "sns", stack.moto_url)
    endpoints = sns.list_endpoints_by_platform_application(
        PlatformApplicationArn=stack.env["CAREWIRE_FCM_PLATFORM_ARN"]
    )
    assert [e for e in endpoints["Endpoints"] if e["Attributes"].get("CustomUserData") == gone["pid"]] == []

    # The job's steps are audited as the patient's: begun, then finished with what it kept and removed.
    audit = http.call("GET", f"/audit?patient_id={gone['pid']}&limit=100", as_=ADMIN).json()["items"]
    steps = {a["detail"]["step"]: a for a in audit if a["action"] == "deidentify"}
    assert set(steps) == {"begun", "finished", "settled"}
    assert steps["finished"]["actor"] == "retention"
    assert steps["finished"]["detail"]["readings_kept"] == 4
    assert steps["finished"]["detail"]["items_removed"] > 10


def test_a_re_enrolled_patient_and_a_later_discharge_are_kept(http: Http, stack: Stack, story: dict[str, Any]) -> None:
    doctor, back = story["doctor"], story["back"]
    for p in (back, story["later"]):
        profile = http.call("GET", f"/patients/{p['pid']}", as_=("clinician", doctor))
        assert profile.status_code == 200
        assert profile.json()["family_name"] == p["family_name"]
    readings = http.call("GET", f"/patients/{back['pid']}/readings", as_=("clinician", doctor)).json()
    assert len(readings["items"]) == 1
    # The second patient's first discharge, whose period is over, no longer waits on the due index.
    episodes = [
        i
        for i in table_items(stack, stage_now(http))
        if i["pk"]["S"] == f"PATIENT#{back['pid']}" and i["sk"]["S"].startswith("EPISODE#")
    ]
    assert sorted(i["status"]["S"] for i in episodes) == ["discharged", "open"]
    assert [i for i in episodes if "due_at" in i] == []
