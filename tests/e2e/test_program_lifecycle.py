"""The program lifecycle over HTTP: pause during a hospital stay, resume without a burst, discharge, re-enrolment.

Patients keep the default quiet hours (21:00-08:00) and an 08:00 medication reminder, as a clinic sets them;
the stage clock travels from one 08:00 to the next.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_safety_net import ADMIN, about, alerts, clinician, glucose, outbox, phone, post, stage_now, travel

NEW_YORK = ZoneInfo("America/New_York")


def enrol(http: Http, doctor: str, **fields: Any) -> dict[str, Any]:
    """A patient enrolled by the admin on ``doctor``'s team, SMS consented, with an 08:00 dose reminder."""
    pid = f"p-pl-{uuid.uuid4().hex[:8]}"
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone(),
        "timezone": "America/New_York",
        "channels": ["sms"],
        "care_team": [doctor],
        "conditions": ["diabetes"],
        **fields,
    }
    created = http.call("POST", "/patients", body, as_=ADMIN)
    assert created.status_code == 201, created.text
    http.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid))
    reminder = http.call(
        "POST", f"/patients/{pid}/reminders", {"kind": "medication", "times": ["08:00"]}, as_=("patient", pid)
    )
    assert reminder.status_code == 201, reminder.text
    return {"pid": pid, **body, "due": parse_iso(reminder.json()["next_due_at"])}


def reminders_to(http: Http, number: str) -> list[dict[str, Any]]:
    return [m for m in outbox(http, number) if "dose" in (m["body"] or "")]


def closing_to(http: Http, number: str) -> list[dict[str, Any]]:
    return [m for m in outbox(http, number) if "program has ended" in (m["body"] or "")]


def episodes(http: Http, pid: str, as_: tuple[str, str]) -> list[dict[str, Any]]:
    response = http.call("GET", f"/patients/{pid}/episodes", as_=as_)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def act(http: Http, pid: str, episode_id: str, verb: str, doctor: str, body: Any = None) -> dict[str, Any]:
    response = http.call("POST", f"/patients/{pid}/episodes/{episode_id}/{verb}", body, as_=("clinician", doctor))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_hospital_stay_pauses_reminders_but_a_critical_reading_still_pages(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    p = enrol(http, doctor)
    travel(http, p["due"])
    assert len(reminders_to(http, p["phone"])) == 1

    (current,) = episodes(http, p["pid"], ("clinician", doctor))
    assert (current["episode_id"], current["status"]) == ("ep-00000000-enrolment", "open")  # open since enrolment
    paused = act(http, p["pid"], current["episode_id"], "pause", doctor, {"reason": "hospital stay"})
    assert paused["status"] == "paused"
    assert http.call("GET", f"/patients/{p['pid']}", as_=("clinician", doctor)).json()["episode_status"] == "paused"

    # Three days in hospital: no reminder goes, but a dangerous reading is still judged and pages.
    for day in (1, 2, 3):
        travel(http, p["due"] + timedelta(days=day))
    assert len(reminders_to(http, p["phone"])) == 1
    post(http, p["pid"], glucose(45), p["due"] + timedelta(days=3, minutes=5))
    (alert,) = alerts(http, p["pid"], doctor)
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 1  # the page
    assert any("sugar" in (m["body"] or "").lower() for m in outbox(http, p["phone"]))  # the safety message

    resumed = act(http, p["pid"], current["episode_id"], "resume", doctor)
    assert resumed["status"] == "open" and resumed["pauses"][-1]["resumed_at"]
    travel(http, p["due"] + timedelta(days=3, hours=1))
    assert len(reminders_to(http, p["phone"])) == 1  # no catch-up burst for the skipped days
    travel(http, p["due"] + timedelta(days=4))
    assert len(reminders_to(http, p["phone"])) == 2  # the next occurrence, once
    kinds = [
        e["kind"]
        for e in http.call("GET", f"/patients/{p['pid']}/timeline?limit=100", as_=("clinician", doctor)).json()["items"]
    ]
    assert {"episode_paused", "episode_resumed"} <= set(kinds)


def test_a_pause_with_an_end_resumes_by_itself(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    p = enrol(http, doctor)
    now = stage_now(http)
    (current,) = episodes(http, p["pid"], ("clinician", doctor))
    until = now + timedelta(days=2)
    act(http, p["pid"], current["episode_id"], "pause", doctor, {"until": iso(until), "reason": "travelling"})
    travel(http, until + timedelta(minutes=1))
    (after,) = episodes(http, p["pid"], ("patient", p["pid"]))
    assert after["status"] == "open" and after["pauses"][0]["resumed_at"]


def test_discharge_says_goodbye_once_leaves_the_worklist_and_re_enrolment_is_a_new_episode(http: Http) -> None:
    doctor, body_doctor = clinician(http, phone=phone())
    p = enrol(http, doctor)
    as_doctor = ("clinician", doctor)
    (current,) = episodes(http, p["pid"], as_doctor)
    rows = http.call("GET", "/worklist", as_=as_doctor).json()["items"]
    assert p["pid"] in [r["patient_id"] for r in rows]

    # The stage clock is wherever this worker's earlier tests left it, day or night in New York.
    local = stage_now(http).astimezone(NEW_YORK)
    done = act(http, p["pid"], current["episode_id"], "discharge", doctor, {"reason": "goals met", "note": "A1c 6.8"})
    assert (done["status"], done["discharge_reason"]) == ("discharged", "goals met")
    http.call("POST", "/_local/drain")
    # A goodbye is routine: at night quiet hours hold it until 08:00 (a minute's margin for the calls between).
    if local.hour >= 21 or (local + timedelta(minutes=1)).hour < 8:
        assert closing_to(http, p["phone"]) == []
    travel(http, p["due"])  # 08:00: the goodbye has gone, once; the dose reminder due then does not go
    assert len(closing_to(http, p["phone"])) == 1
    assert reminders_to(http, p["phone"]) == []
    rows = http.call("GET", "/worklist", as_=as_doctor).json()["items"]
    assert p["pid"] not in [r["patient_id"] for r in rows]
    listed = http.call("GET", "/patients?episode=discharged&limit=500", as_=as_doctor).json()["items"]
    assert [x["patient_id"] for x in listed] == [p["pid"]]
    # Read-only for the patient; the schedule no longer sends.
    refused = http.call("PATCH", f"/patients/{p['pid']}", {"language": "es"}, as_=("patient", p["pid"]))
    assert refused.status_code == 409
    travel(http, max(p["due"], stage_now(http)) + timedelta(days=1))
    assert reminders_to(http, p["phone"]) == []
    # A reading that still arrives is judged; a dangerous one pages and brings the row back until handled.
    post(http, p["pid"], glucose(45), stage_now(http) - timedelta(minutes=1))
    (alert,) = alerts(http, p["pid"], doctor)
    assert len(about(outbox(http, body_doctor["phone"]), alert["alert_id"])) == 1
    rows = {r["patient_id"]: r for r in http.call("GET", "/worklist", as_=as_doctor).json()["items"]}
    assert rows[p["pid"]]["episode_status"] == "discharged"
    http.call("POST", f"/alerts/{alert['alert_id']}/acknowledge", {"note": "called"}, as_=as_doctor)
    http.call("POST", f"/alerts/{alert['alert_id']}/resolve", {"note": "fine"}, as_=as_doctor)
    rows = http.call("GET", "/worklist", as_=as_doctor).json()["items"]
    assert p["pid"] not in [r["patient_id"] for r in rows]
    conflict = http.call("POST", f"/patients/{p['pid']}/episodes/{current['episode_id']}/resume", as_=as_doctor)
    assert conflict.status_code == 409

    # Re-enrolment: a new episode, with consent this time; the old one stays in the history.
    body = {
        "programs": ["diabetes", "hypertension"],
        "rpm_consent": {"at": iso(stage_now(http)), "method": "written", "recorded_by": doctor},
        "starts_on": stage_now(http).date().isoformat(),
    }
    created = http.call(
        "POST", f"/patients/{p['pid']}/episodes", body, as_=as_doctor, headers={"Idempotency-Key": "re-1"}
    )
    assert created.status_code == 201, created.text
    replay = http.call(
        "POST", f"/patients/{p['pid']}/episodes", body, as_=as_doctor, headers={"Idempotency-Key": "re-1"}
    )
    assert replay.status_code == 200 and replay.json()["episode_id"] == created.json()["episode_id"]
    second = http.call("POST", f"/patients/{p['pid']}/episodes", body, as_=as_doctor)
    assert second.status_code == 409 and created.json()["episode_id"] in second.json()["detail"]
    history = episodes(http, p["pid"], ("patient", p["pid"]))
    assert [e["status"] for e in history] == ["open", "discharged"]
    rows = http.call("GET", "/worklist", as_=as_doctor).json()["items"]
    assert p["pid"] in [r["patient_id"] for r in rows]


def test_only_the_care_team_changes_an_episode_and_consent_is_recorded_later(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    stranger, _ = clinician(http, phone=phone())
    p = enrol(http, doctor)
    (current,) = episodes(http, p["pid"], ("clinician", doctor))
    assert current["rpm_consent"] is None
    path = f"/patients/{p['pid']}/episodes/{current['episode_id']}"
    assert http.call("POST", path + "/pause", {"reason": "x"}, as_=("patient", p["pid"])).status_code == 403
    assert http.call("POST", path + "/pause", {"reason": "x"}, as_=("clinician", stranger)).status_code == 404
    consent = {"at": iso(stage_now(http)), "method": "verbal", "recorded_by": doctor}
    patched = http.call("PATCH", path, {"rpm_consent": consent}, as_=("clinician", doctor))
    assert patched.status_code == 200 and patched.json()["rpm_consent"]["method"] == "verbal"
    bad = http.call("POST", path + "/discharge", {"reason": "bored"}, as_=("clinician", doctor))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    for until in ("9999-12-31T23:30:00-14:00", iso(stage_now(http) - timedelta(hours=1)), 1796283104):
        late = http.call("POST", path + "/pause", {"until": until, "reason": "x"}, as_=("clinician", doctor))
        assert late.status_code == 422 and late.json()["errors"][0]["field"] == "until", late.text
    assert (
        http.call("POST", f"/patients/{p['pid']}/episodes/ep-nope/resume", as_=("clinician", doctor)).status_code == 404
    )


def test_billing_counts_registered_meters_inside_a_consented_unpaused_episode_only(http: Http) -> None:
    # Noon in New York, so that a day's reading an hour after it stays on that local day (started at 23:30,
    # the "day 3" reading fell on the resume's day, which rightly counts).
    noon = (stage_now(http).astimezone(NEW_YORK) + timedelta(days=1)).replace(hour=12, minute=0, second=0)
    travel(http, noon)
    doctor, _ = clinician(http, phone=phone())
    p = enrol(http, doctor)
    pid, as_doctor = p["pid"], ("clinician", doctor)
    start = stage_now(http)
    # The day before, so that a reading's local day in New York is never before it, whatever the hour in UTC.
    since = (start - timedelta(days=1)).date().isoformat()
    meter = f"gm-{pid}"
    registered = http.call(
        "POST",
        f"/patients/{pid}/devices/meters",
        {"serial": meter, "kind": "glucometer", "assigned_on": since},
        as_=as_doctor,
    )
    assert registered.status_code == 201, registered.text
    elsewhere = enrol(http, doctor)
    taken = http.call(
        "POST",
        f"/patients/{elsewhere['pid']}/devices/meters",
        {"serial": meter, "kind": "glucometer", "assigned_on": since},
        as_=as_doctor,
    )
    assert taken.status_code == 409  # one patient's meter at a time
    (episode,) = episodes(http, pid, as_doctor)
    consent = {"at": iso(start), "method": "verbal", "recorded_by": doctor}
    path = f"/patients/{pid}/episodes/{episode['episode_id']}"
    patched = http.call("PATCH", path, {"rpm_consent": consent, "starts_on": since}, as_=as_doctor)
    assert patched.status_code == 200, patched.text

    def device_reading(day: int, device: str) -> None:
        at = start + timedelta(days=day, hours=1)
        travel(http, at)
        sent = {**glucose(115), "source": "device", "device_id": device}
        post(http, pid, sent, at - timedelta(minutes=1))

    device_reading(0, meter)  # counts
    device_reading(1, "someone-elses-meter")  # an unregistered device: no
    act(http, pid, episode["episode_id"], "pause", doctor, {"reason": "hospital stay"})
    device_reading(3, meter)  # inside the pause, which covers the whole day: no
    travel(http, start + timedelta(days=4))
    act(http, pid, episode["episode_id"], "resume", doctor)
    device_reading(4, meter)  # counts
    act(http, pid, episode["episode_id"], "discharge", doctor, {"reason": "goals met"})
    device_reading(6, meter)  # after discharge: no
    # The meter was handed back at discharge: the next patient can have it.
    handed_on = http.call(
        "POST",
        f"/patients/{elsewhere['pid']}/devices/meters",
        {"serial": meter, "kind": "glucometer", "assigned_on": since},
        as_=as_doctor,
    )
    assert handed_on.status_code == 201, handed_on.text

    months = sorted({(start + timedelta(days=d)).strftime("%Y-%m") for d in range(-1, 8)})
    rows = [
        row
        for month in months
        for row in http.call("GET", f"/billing/rpm?month={month}&limit=500", as_=as_doctor).json()["items"]
        if row["patient_id"] == pid
    ]
    assert sum(row["device_days"] for row in rows) == 2
    periods = [period for row in rows for period in row["program_periods"]]
    # Billing starts with the consent, given at ``start``: its local day in New York.
    assert periods and periods[0][0] == start.astimezone(NEW_YORK).date().isoformat()
