"""The security review's findings (reviews/security-2026-12.md), one test (or a few) per finding, named after it.

docs/api.md "Trust rules": alerts follow the patient's *current* care team (F1), care
teams are managed by admins (F12), provenance is the server's (F6, F17), notes
are staff-only (F18), ids and numbers are validated (F13), audit records say
who, from where and through which client (F5), staff tokens can be revoked
(F15).  Everything through the API, the stream (``stream_runner``) and the
stored items, against the emulators.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, enrol_for_rpm, patient_body

ADMIN = ("admin", "a-1")


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def _clinicians(api: Api, *names: str) -> list[str]:
    """Register fresh clinicians (an admin does); their ids."""
    ids = [f"c-{name}-{uuid.uuid4().hex[:6]}" for name in names]
    for cid in ids:
        response = api.call(
            "PUT",
            f"/clinicians/{cid}",
            {"given_name": "Rui", "phone": "+15551239001", "email": f"{cid}@x.example"},
            as_=ADMIN,
        )
        assert response.status_code == 200, response.body
    return ids


def _enrol(api: Api, care_team: list[str], **overrides: Any) -> str:
    pid = f"p-sec-{uuid.uuid4().hex[:8]}"
    response = api.call(
        "POST", "/patients", patient_body(pid, **{"care_team": care_team, "phone": None, **overrides}), as_=ADMIN
    )
    assert response.status_code == 201, response.body
    return pid


def _glucose(value: float, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": f"r-{uuid.uuid4().hex[:12]}",
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "measured_at": _ago(minutes=1),
        **extra,
    }


def _items(pk: str, prefix: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    table = bootstrap.container().table
    return table.query_all("pk = :p AND begins_with(sk, :s)", {":p": pk, ":s": prefix}, consistent=True)


def _audit(pid: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    return bootstrap.container().audit_table.query_all("pk = :p", {":p": f"PATIENT#{pid}"}, consistent=True)


# -- F1: alerts follow the patient's current care team ----------------------------------------------


def _open_critical_alert(api: Api, stream_runner: Any, pid: str) -> str:
    assert api.call("POST", f"/patients/{pid}/readings", _glucose(40), as_=("patient", pid)).status_code == 201
    stream_runner.drain()
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=ADMIN))["items"]
    assert [a["kind"] for a in alerts] == ["critical_low"], alerts
    return str(alerts[0]["alert_id"])


def _listed(api: Api, cid: str, pid: str) -> list[str]:
    items = body(api.call("GET", "/alerts?status=open&limit=500", as_=("clinician", cid)))["items"]
    return [a["alert_id"] for a in items if a["patient_id"] == pid]


def test_f1_a_clinician_removed_from_the_care_team_gets_404_on_the_patients_alerts_and_one_added_sees_them(
    api: Api, stream_runner: Any
) -> None:
    c_a, c_b, c_f = _clinicians(api, "a", "b", "f")
    pid = _enrol(api, [c_a, c_b])
    aid = _open_critical_alert(api, stream_runner, pid)
    assert _listed(api, c_a, pid) == [aid]
    assert api.call("GET", f"/alerts/{aid}", as_=("clinician", c_f)).status_code == 404

    changed = api.call("PATCH", f"/patients/{pid}", {"care_team": [c_b, c_f]}, as_=ADMIN)

    assert changed.status_code == 200, changed.body
    assert _listed(api, c_a, pid) == []
    assert api.call("GET", f"/alerts/{aid}", as_=("clinician", c_a)).status_code == 404
    assert api.call("POST", f"/alerts/{aid}/acknowledge", as_=("clinician", c_a)).status_code == 404
    # The list entries themselves moved, in the care-team change's own transaction.
    assert _items(f"CLINICIAN#{c_a}", "ALERT#") == []
    assert [e["alert_id"] for e in _items(f"CLINICIAN#{c_f}", "ALERT#open#")] == [aid]
    assert _listed(api, c_f, pid) == [aid]
    assert body(api.call("GET", f"/alerts/{aid}", as_=("clinician", c_f)))["status"] == "open"
    acknowledged = api.call("POST", f"/alerts/{aid}/acknowledge", as_=("clinician", c_f))
    assert acknowledged.status_code == 200, acknowledged.body
    assert body(acknowledged)["acknowledged_by"] == c_f
    assert [e["alert_id"] for e in _items(f"CLINICIAN#{c_f}", "ALERT#acknowledged#")] == [aid]
    assert _items(f"CLINICIAN#{c_a}", "ALERT#") == []
    stored = _items(f"PATIENT#{pid}", "ALERT#")
    assert [a["care_team"] for a in stored] == [[c_b, c_f]]


def test_f1_an_acknowledged_alert_moves_with_the_care_team_too(api: Api, stream_runner: Any) -> None:
    c_a, c_b = _clinicians(api, "a", "b")
    pid = _enrol(api, [c_a])
    aid = _open_critical_alert(api, stream_runner, pid)
    assert api.call("POST", f"/alerts/{aid}/acknowledge", as_=("clinician", c_a)).status_code == 200

    assert api.call("PATCH", f"/patients/{pid}", {"care_team": [c_b]}, as_=ADMIN).status_code == 200

    listed = body(api.call("GET", "/alerts?status=acknowledged&limit=500", as_=("clinician", c_b)))["items"]
    assert aid in [a["alert_id"] for a in listed]
    assert api.call("POST", f"/alerts/{aid}/resolve", as_=("clinician", c_a)).status_code == 404
    assert api.call("POST", f"/alerts/{aid}/resolve", as_=("clinician", c_b)).status_code == 200


def test_f1_a_list_entry_a_care_team_change_did_not_reach_is_not_shown(api: Api, stream_runner: Any) -> None:
    from chalicelib import bootstrap

    c_a, c_b = _clinicians(api, "a", "b")
    pid = _enrol(api, [c_a, c_b])
    aid = _open_critical_alert(api, stream_runner, pid)
    entry = _items(f"CLINICIAN#{c_a}", "ALERT#open#")[0]
    assert api.call("PATCH", f"/patients/{pid}", {"care_team": [c_b]}, as_=ADMIN).status_code == 200
    bootstrap.container().table.put(entry)  # as if a write had raced the change

    assert _listed(api, c_a, pid) == []
    assert api.call("GET", f"/alerts/{aid}", as_=("clinician", c_a)).status_code == 404


# -- F12: care teams are managed by admins ----------------------------------------------------------


@pytest.mark.parametrize("team", [[], ["{other}"], ["{me}", "{other}"], ["{me}"]])
def test_f12_a_clinician_on_the_team_may_not_change_the_care_team_even_to_itself(api: Api, team: list[str]) -> None:
    me, other = _clinicians(api, "me", "other")
    pid = _enrol(api, [me])
    asked = [t.format(me=me, other=other) for t in team]

    response = api.call("PATCH", f"/patients/{pid}", {"care_team": asked}, as_=("clinician", me))

    assert response.status_code == 403, response.body
    assert body(api.call("GET", f"/patients/{pid}", as_=ADMIN))["care_team"] == [me]
    assert api.call("PATCH", f"/patients/{pid}", {"care_team": asked}, as_=("patient", pid)).status_code == 403


def test_f12_an_admin_changes_the_care_team_and_a_clinician_enrolling_still_joins_it(api: Api) -> None:
    me, other = _clinicians(api, "me", "other")
    enrolled = api.call("POST", "/patients", patient_body(None, care_team=[], phone=None), as_=("clinician", me))
    assert enrolled.status_code == 201
    pid = body(enrolled)["patient_id"]
    assert body(enrolled)["care_team"] == [me]

    response = api.call("PATCH", f"/patients/{pid}", {"care_team": [other]}, as_=ADMIN)

    assert response.status_code == 200
    assert body(response)["care_team"] == [other]
    assert api.call("GET", f"/patients/{pid}", as_=("clinician", me)).status_code == 404


# -- F6: device days and "clinic" readings are the server's word ------------------------------------


def test_f6_a_patient_posting_source_clinic_is_422_naming_source_and_the_care_team_may(api: Api) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])

    single = api.call("POST", f"/patients/{pid}/readings", _glucose(112, source="clinic"), as_=("patient", pid))
    batch = api.call(
        "POST",
        f"/patients/{pid}/readings/batch",
        {"readings": [_glucose(112, source="clinic"), _glucose(113, source="manual")]},
        as_=("patient", pid),
    )
    staff = api.call("POST", f"/patients/{pid}/readings", _glucose(112, source="clinic"), as_=("clinician", me))

    assert single.status_code == 422
    assert [e["field"] for e in body(single)["errors"]] == ["source"]
    assert [r["status"] for r in body(batch)["results"]] == [422, 201]
    assert [e["field"] for e in body(batch)["results"][0]["error"]["errors"]] == ["readings[0].source"]
    assert staff.status_code == 201
    assert body(staff)["source"] == "clinic"


def test_f6_back_dated_device_readings_make_no_device_days(api: Api, stream_runner: Any) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me], timezone="UTC")
    now = datetime.now(UTC)
    enrol_for_rpm(api, pid, ("clinician", me), {"x": "glucometer"}, (now - timedelta(days=30)).date().isoformat())
    backdated = [
        _glucose(110, source="device", device_id="x", measured_at=(now - timedelta(days=d, hours=1)).isoformat())
        for d in range(1, 17)
    ]

    stored = api.call("POST", f"/patients/{pid}/readings/batch", {"readings": backdated}, as_=("patient", pid))
    today = api.call(
        "POST", f"/patients/{pid}/readings", _glucose(111, source="device", device_id="x"), as_=("patient", pid)
    )
    stream_runner.drain()

    assert [r["status"] for r in body(stored)["results"]] == [201] * 16
    assert today.status_code == 201
    months = sorted({(now - timedelta(days=d, hours=1)).strftime("%Y-%m") for d in range(0, 17)})
    rows = [
        row
        for month in months
        for row in body(api.call("GET", f"/billing/rpm?month={month}", as_=("clinician", me)))["items"]
        if row["patient_id"] == pid
    ]
    assert sum(row["device_days"] for row in rows) == 1
    assert all(row["device_code"] is None for row in rows)


# -- F17: a patient's consent is recorded in the app; staff never override the patient's withdrawal -


@pytest.mark.parametrize("source", ["paper", "verbal", "web", "sms"])
def test_f17_a_patient_recording_consent_with_another_source_than_app_is_422_naming_source(
    api: Api, source: str
) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])

    response = api.call(
        "PUT", f"/patients/{pid}/consents/sms", {"granted": True, "source": source}, as_=("patient", pid)
    )

    assert response.status_code == 422
    assert [e["field"] for e in body(response)["errors"]] == ["source"]
    assert body(api.call("GET", f"/patients/{pid}/consents", as_=("patient", pid))) == []


def test_f17_staff_consent_never_overrides_the_patients_own_withdrawal(api: Api) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])
    path = f"/patients/{pid}/consents/email"
    verbal = {"granted": True, "source": "verbal", "full_content": True}
    assert api.call("PUT", path, {"granted": True}, as_=("patient", pid)).status_code == 200
    assert api.call("PUT", path, {"granted": False}, as_=("patient", pid)).status_code == 200

    regrant = api.call("PUT", path, verbal, as_=("clinician", me))
    staff_withdrawal = api.call("PUT", path, {"granted": False, "source": "paper"}, as_=("clinician", me))
    regrant_after_it = api.call("PUT", path, verbal, as_=ADMIN)

    assert regrant.status_code == 409
    assert "patient withdrew" in body(regrant)["detail"]
    assert staff_withdrawal.status_code == 200
    assert regrant_after_it.status_code == 409
    consents = body(api.call("GET", f"/patients/{pid}/consents", as_=("patient", pid)))
    assert [(c["granted"], c["full_content"]) for c in consents] == [(False, False)]
    # The patient granting again lifts it; then the care team may record what the patient tells them.
    assert api.call("PUT", path, {"granted": True}, as_=("patient", pid)).status_code == 200
    assert api.call("PUT", path, verbal, as_=("clinician", me)).status_code == 200
    audited = [e["detail"] for e in _audit(pid) if e["resource"] == "consent" and e["action"] == "update"]
    assert {"channel": "email", "granted": True, "full_content": True, "source": "verbal"} in audited


# -- F18: notes are staff-only unless shared; free text loses control characters -------------------

HOSTILE = "x\u202e\u0000\r\nInjected: yes\u2066 =cmd|' /C calc'!A0\u0085\x7f\tend"
CLEANED = "x\nInjected: yes =cmd|' /C calc'!A0\tend"


def _timeline(api: Api, pid: str, who: tuple[str, str], kinds: str) -> list[dict[str, Any]]:
    response = api.call("GET", f"/patients/{pid}/timeline?kinds={kinds}&limit=500", as_=who)
    assert response.status_code == 200, response.body
    return list(body(response)["items"])


def test_f18_a_note_is_staff_only_unless_shared_with_the_patient(api: Api) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])

    private = api.call("POST", f"/patients/{pid}/notes", {"text": "Query adherence."}, as_=("clinician", me))
    shared = api.call(
        "POST",
        f"/patients/{pid}/notes",
        {"text": "Great week!", "share_with_patient": True},
        as_=("clinician", me),
    )
    not_a_bool = api.call(
        "POST", f"/patients/{pid}/notes", {"text": "x", "share_with_patient": "yes"}, as_=("clinician", me)
    )

    assert (private.status_code, body(private)["share_with_patient"]) == (201, False)
    assert (shared.status_code, body(shared)["share_with_patient"]) == (201, True)
    assert not_a_bool.status_code == 422
    seen_by_patient = [e["summary"] for e in _timeline(api, pid, ("patient", pid), "note")]
    seen_by_staff = [e["summary"] for e in _timeline(api, pid, ("clinician", me), "note")]
    assert seen_by_patient == [f"Note by {me}: Great week!"]
    assert sorted(seen_by_staff) == sorted([f"Note by {me}: Great week!", f"Note by {me}: Query adherence."])
    everything = " ".join(e["summary"] for e in _timeline(api, pid, ("patient", pid), "note,task_created"))
    assert "Query adherence" not in everything


def test_f18_the_patient_sees_that_a_task_exists_but_not_its_internal_reason(api: Api) -> None:
    from chalicelib import bootstrap

    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])
    reason = "patient sounded confused on the phone; check with family"
    bootstrap.container().messaging.create_task(pid, f"t-{pid}", "call_patient", reason, datetime.now(UTC))

    mine = _timeline(api, pid, ("patient", pid), "task_created")
    staff = _timeline(api, pid, ("clinician", me), "task_created")

    assert [e["summary"] for e in mine] == ["Task for the care team: call patient"]
    assert [e["summary"] for e in staff] == [f"call patient: {reason}"]


def test_f18_control_characters_and_bidi_overrides_are_stripped_from_notes_messages_and_alert_notes(
    api: Api, stream_runner: Any
) -> None:
    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])
    aid = _open_critical_alert(api, stream_runner, pid)

    note = api.call("POST", f"/patients/{pid}/notes", {"text": HOSTILE}, as_=("clinician", me))
    message = api.call("POST", f"/patients/{pid}/messages", {"text": HOSTILE}, as_=("clinician", me))
    acknowledged = api.call("POST", f"/alerts/{aid}/acknowledge", {"note": HOSTILE}, as_=("clinician", me))
    only_controls = api.call("POST", f"/patients/{pid}/notes", {"text": "\u0000\u202e\r"}, as_=("clinician", me))

    assert body(note)["text"] == CLEANED
    assert [e["summary"] for e in _timeline(api, pid, ("clinician", me), "note")] == [f"Note by {me}: {CLEANED}"]
    assert message.status_code == 202, message.body
    texts = [m["text"] for m in body(api.call("GET", f"/patients/{pid}/messages", as_=("patient", pid)))["items"]]
    assert texts == [CLEANED]
    assert [n["text"] for n in body(acknowledged)["notes"]] == [CLEANED]
    assert only_controls.status_code == 422
    assert [e["field"] for e in body(only_controls)["errors"]] == ["text"]


# -- F13: every id and number in a path or query is validated: 400/404/422, never 500 ---------------

LONG = "A" * 2100


@pytest.fixture(scope="module")
def f13(api: Api) -> dict[str, str]:
    (me,) = _clinicians(api, "me")
    return {"me": me, "pid": _enrol(api, [me])}


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/patients/{pid}/readings?limit=%C2%B2", 400, "limit"),
        ("/patients/{pid}/readings?limit=%D9%A3", 400, "limit"),
        ("/patients/{pid}/adherence?days=%C2%B2", 400, "days"),
        ("/patients/{pid}/adherence?days=%D9%A3%D9%A0", 400, "days"),
        ("/patients/{pid}/trends?type=blood_glucose&days=%D9%A3%D9%A0", 400, "days"),
        ("/billing/rpm?month=%D9%A2%D9%A0%D9%A2%D9%A6-11", 400, "month"),
        (f"/alerts?patient_id={LONG}", 400, "patient_id"),
        ("/alerts?patient_id=p%C2%B2", 400, "patient_id"),
        (f"/patients/{LONG}", 404, None),
        (f"/alerts/{'QUFB' * 700}.0123456789abcdef", 404, None),
        (f"/alerts/{'A' * 1100}.0123456789abcdef", 404, None),
        (f"/alerts/{LONG}/acknowledge", 404, None),
        ("/alerts/a-%D9%A3%D9%A3", 404, None),
    ],
)
def test_f13_crafted_ids_and_numbers_are_4xx_not_500(
    api: Api, f13: dict[str, str], path: str, status: int, field: str | None
) -> None:
    method = "POST" if path.endswith("/acknowledge") else "GET"

    response = api.call(method, path.format(pid=f13["pid"]), as_=("clinician", f13["me"]))

    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    if field:
        assert [e["field"] for e in body(response)["errors"]] == [field]


@pytest.mark.parametrize("query", [f"actor={LONG}", f"patient_id={LONG}", "actor=c%C2%B2", "patient_id="])
def test_f13_crafted_audit_filters_are_400(api: Api, query: str) -> None:
    response = api.call("GET", f"/audit?{query}", as_=ADMIN)

    assert response.status_code == 400, response.body
    assert [e["field"] for e in body(response)["errors"]] == [query.split("=")[0]]


def test_f13_an_appointment_time_sent_as_a_number_is_422(api: Api, f13: dict[str, str]) -> None:
    root, me = f"/patients/{f13['pid']}/appointments", ("clinician", f13["me"])
    starts = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert (
        api.call("POST", root, {"appointment_id": "v-f13", "starts_at": starts, "kind": "phone"}, as_=me).status_code
        == 201
    )

    patched = api.call("PATCH", f"{root}/v-f13", {"starts_at": 0}, as_=me)
    booked = api.call("POST", root, {"starts_at": 1e10, "kind": "phone"}, as_=me)

    assert patched.status_code == 422, patched.body
    assert [e["field"] for e in body(patched)["errors"]] == ["starts_at"]
    assert booked.status_code == 422
    assert body(api.call("GET", f"{root}/v-f13", as_=me))["starts_at"] != "1970-01-01T00:00:00.000Z"


# -- F5: the worklist, SMS consent changes, and where each request came from, in the audit trail ---


def test_f5_the_worklist_writes_one_audit_record_per_patient_shown_in_batches(api: Api) -> None:
    from chalicelib import bootstrap
    from tests.integration.test_record import Requests

    (me,) = _clinicians(api, "me")
    panel = sorted(_enrol(api, [me]) for _ in range(3))

    with Requests() as requests:
        response = api.call("GET", "/worklist", as_=("clinician", me))

    assert response.status_code == 200
    assert sorted(r["patient_id"] for r in body(response)["items"]) == panel
    assert requests.calls.count("PutItem") == 0 and requests.calls.count("TransactWriteItems") == 1
    log = bootstrap.container().audit_table
    for pid in panel:
        entries = log.query_all("pk = :p", {":p": f"PATIENT#{pid}"}, consistent=True)
        assert [(e["actor"], e["action"], e["resource"]) for e in entries if e["resource"] == "worklist"] == [
            (me, "list", "worklist")
        ]


def test_f5_every_audit_record_names_the_tokens_client_the_source_ip_and_the_user_agent(api: Api) -> None:
    from chalicelib import bootstrap

    (me,) = _clinicians(api, "me")
    pid = _enrol(api, [me])
    agent = "CarewireConsole/2.1 " + "x" * 400 + "\u00e9"

    api.call("GET", f"/patients/{pid}", as_=("clinician", me), headers={"User-Agent": agent})

    (read,) = [e for e in _audit(pid) if e["action"] == "read" and e["actor"] == me]
    s = bootstrap.container().settings
    assert read["client_id"] in {*s.app_client_ids, *getattr(s, "staff_app_client_ids", [])}
    assert read["source_ip"] == "127.0.0.1"
    assert read["user_agent"] == agent[:256]
    listed = body(api.call("GET", f"/audit?patient_id={pid}&actor={me}", as_=ADMIN))["items"]
    assert {(e["client_id"], e["source_ip"], e["user_agent"]) for e in listed} == {
        (read["client_id"], "127.0.0.1", agent[:256])
    }


def test_f5_a_consent_changed_by_sms_stop_or_start_is_audited_as_the_patients_own(api: Api) -> None:
    from tests.integration.test_inbound_sms import _phone, _text

    (me,) = _clinicians(api, "me")
    phone = _phone()
    pid = _enrol(api, [me], phone=phone, channels=["sms"], timezone="UTC")

    assert _text(phone, "STOP", "in-stop-f5") == "opt_out"
    assert _text(phone, "START", "in-start-f5") == "opt_in"

    consent = [e for e in _audit(pid) if e["resource"] == "consent"]
    assert [(e["actor"], e["role"], e["action"], e["request_id"]) for e in consent] == [
        (pid, "patient", "update", "sms-in-stop-f5"),
        (pid, "patient", "update", "sms-in-start-f5"),
    ]
    assert [e["detail"]["granted"] for e in consent] == [False, True]
    assert {(e["detail"]["channel"], e["detail"]["source"]) for e in consent} == {("sms", "sms")}


# -- F15: a disabled or signed-out staff user loses access within a minute -------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def session_clock(api: Api) -> Any:
    """The app's session check on a clock the test moves (the window is a minute; nobody sleeps)."""
    from chalicelib import bootstrap
    from chalicelib.adapters.tokens import CognitoSessionCheck

    c = bootstrap.container()
    original = c.session_check
    clock = _Clock()
    c.session_check = CognitoSessionCheck(lambda t: c.client("cognito-idp").get_user(AccessToken=t), clock=clock)
    yield clock
    c.session_check = original


def _staff_pool() -> str:
    from chalicelib import bootstrap

    s = bootstrap.container().settings
    return str(getattr(s, "staff_user_pool_id", None) or s.user_pool_id)


@pytest.mark.parametrize("revoke", ["admin_disable_user", "admin_user_global_sign_out"])
def test_f15_a_staff_token_of_a_disabled_or_signed_out_user_is_401_within_the_minute(
    api: Api, session_clock: _Clock, revoke: str
) -> None:
    from chalicelib import bootstrap

    (me,) = _clinicians(api, "revoked")
    pid = _enrol(api, [me])
    token = api.issuer.token("clinician", me)
    cognito = bootstrap.container().client("cognito-idp")
    assert api.call("GET", f"/patients/{pid}", token=token).status_code == 200

    getattr(cognito, revoke)(UserPoolId=_staff_pool(), Username=me)
    session_clock.now += 30
    within = api.call("GET", f"/patients/{pid}", token=token)
    session_clock.now += 31
    after = api.call("GET", f"/patients/{pid}", token=token)

    assert within.status_code == 200  # the last answer stands for at most a minute
    assert after.status_code == 401
    assert body(after)["detail"] == "The session has been revoked."
    assert api.call("GET", "/alerts", token=token).status_code == 401  # and stays so, without asking again


# -- F19: an email address a mail system could read as a list or a display name is refused --------


@pytest.mark.parametrize(
    "email", ['a,b<x>"@b.example', "a;b@b.example", '"quoted"@b.example', "Ana <a@b.example>", "a..b@b.example"]
)
def test_f19_an_email_a_mail_system_could_read_as_a_list_or_display_name_is_422_naming_email(
    api: Api, email: str
) -> None:
    (me,) = _clinicians(api, "mail")
    pid = _enrol(api, [me])

    response = api.call("PATCH", f"/patients/{pid}", {"email": email}, as_=("clinician", me))

    assert response.status_code == 422, response.body
    assert [e["field"] for e in body(response)["errors"]] == ["email"]
    assert email.encode() not in response.body  # the value is not echoed back


@pytest.mark.parametrize("email", ["ana.silva+rpm@clinic.example", "o'brien@b.example", "x_y-z@mail.b.example"])
def test_f19_ordinary_addresses_including_an_apostrophe_are_accepted(api: Api, email: str) -> None:
    (me,) = _clinicians(api, "mail")
    pid = _enrol(api, [me])

    response = api.call("PATCH", f"/patients/{pid}", {"email": email}, as_=("clinician", me))

    assert response.status_code == 200, response.body
