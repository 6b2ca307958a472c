"""The Patient page's editable sections through the console's forms: Messages, Reminders, Targets, Care time, Notes.

Each action is a form POST as a browser sends it (session cookie, CSRF token, same
origin); what it changed is read back through the JSON API, so the console and the
API are seen to share one data path. htmx posts get the section's partial back; a
plain post is redirected to the section (303), or gets the form to correct (422).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, enrol_for_rpm, patient_body
from tests.integration.console_client import Console, text

HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def doctor(api: Api, clinic: dict[str, Any]) -> tuple[str, str]:
    """A clinician of their own: the panel (and the billing report walked for it) holds only these tests' patients."""
    cid = f"c-pa-{uuid.uuid4().hex[:8]}"
    sent = {"given_name": "Rui", "phone": "+15551239001", "email": f"{cid}@clinic.example", "escalation_contacts": []}
    assert api.call("PUT", f"/clinicians/{cid}", sent, as_=clinic["admin"]).status_code == 200
    return ("clinician", cid)


@pytest.fixture
def patient(api: Api, doctor: tuple[str, str]) -> dict[str, str]:
    pid = f"p-pa-{uuid.uuid4().hex[:8]}"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    sent = patient_body(
        pid,
        phone=phone,
        email=f"{pid}@example.org",
        timezone="UTC",
        language="en",
        channels=["sms"],
        quiet_hours={"start": "00:00", "end": "00:00"},
    )
    assert api.call("POST", "/patients", sent, as_=doctor).status_code == 201
    consent = {"granted": True, "source": "app", "full_content": True}
    assert api.call("PUT", f"/patients/{pid}/consents/sms", consent, as_=("patient", pid)).status_code == 200
    # RPM consent from the start of the month, so that this month's care time bills (docs/api.md "Program lifecycle").
    enrol_for_rpm(api, pid, doctor, {}, datetime.now(UTC).date().replace(day=1).isoformat())
    return {"pid": pid, "phone": phone}


@pytest.fixture
def console(api: Api, issuer: Any, doctor: tuple[str, str]) -> Console:
    return Console(api.client, issuer, "clinician", doctor[1])


def _key(html: str, section: str) -> str:
    """The idempotency key the rendered form of ``section`` carries."""
    part = html[html.index(f'<section id="{section}"') :]
    found = re.search(r'name="idempotency_key" value="([^"]+)"', part)
    assert found, part[:500]
    return found.group(1)


def _section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}"')
    return html[start : html.index("</section>", start)]


def _sms_to(phone: str) -> list[str]:
    import json
    import os
    import urllib.request

    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json") as response:
        data = json.loads(response.read())
    return [m["message"] for m in data["sns"].get("SMS", []) if m["phone_number"] == phone]


def _messages(api: Api, pid: str, who: tuple[str, str]) -> list[dict[str, Any]]:
    response = api.call("GET", f"/patients/{pid}/messages", as_=who)
    assert response.status_code == 200, response.body
    return list(body(response)["items"])


# -- Messages -------------------------------------------------------------------------------------


def test_send_answers_the_thread_and_reaches_the_patient_as_the_api_send_does(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str], stream_runner: Any
) -> None:
    pid = patient["pid"]
    words = f"Please check your glucose before lunch {secrets.token_hex(3)}"
    answer = console.post(
        f"/console/patients/{pid}/messages", {"text": words, "idempotency_key": secrets.token_hex(8)}, headers=HX
    )
    assert answer.status_code == 200, text(answer)
    html = text(answer)
    assert html.lstrip().startswith('<section id="messages" aria-labelledby="messages-h">')
    assert '<h2 id="messages-h">Messages</h2>' in html and words in html and "Queued" in html
    assert "Message stored and queued for delivery." in html
    stored = _messages(api, pid, doctor)
    assert [(m["direction"], m["text"]) for m in stored] == [("out", words)]

    stream_runner.drain()
    assert [sms for sms in _sms_to(patient["phone"]) if words in sms], "the message never reached the SMS outbox"
    # The thread now shows the delivery: sent, by SMS.
    again = console.post(
        f"/console/patients/{pid}/messages", {"text": "Thanks", "idempotency_key": secrets.token_hex(8)}, headers=HX
    )
    thread = _section(text(again), "messages")
    first = thread[thread.rindex("<li", 0, thread.index(words)) : thread.index(words)]
    assert "sms" in first and "Sent" in first
    assert thread.index(words) < thread.index("Thanks")  # newest last


def test_a_double_send_with_one_key_sends_once(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str], stream_runner: Any
) -> None:
    pid = patient["pid"]
    words = f"Your new plan starts tomorrow {secrets.token_hex(3)}"
    key = secrets.token_hex(8)
    for _ in range(2):
        answer = console.post(f"/console/patients/{pid}/messages", {"text": words, "idempotency_key": key}, headers=HX)
        assert answer.status_code == 200, text(answer)
    assert [m["text"] for m in _messages(api, pid, doctor)] == [words]
    stream_runner.drain()
    assert len([sms for sms in _sms_to(patient["phone"]) if words in sms]) == 1
    # Each rendering of the form carries a fresh key: the next message is a new one.
    assert _key(text(answer), "messages") != key


def test_a_message_the_service_holds_shows_in_the_thread_with_its_reason(
    console: Console, patient: dict[str, str], stream_runner: Any
) -> None:
    """The daily cap is the messaging engine's (20 routine messages a local day): the console shows what it did."""
    pid = patient["pid"]
    for n in range(21):
        sent = {"text": f"Reminder {n}", "idempotency_key": secrets.token_hex(8)}
        assert console.post(f"/console/patients/{pid}/messages", sent).status_code == 303
    stream_runner.drain()
    assert len(_sms_to(patient["phone"])) <= 20
    # Any answer with the section shows the thread as it now is (here: an empty message, refused).
    thread = _section(
        text(console.post(f"/console/patients/{pid}/messages", {"idempotency_key": "k"}, headers=HX)), "messages"
    )
    held = [item for item in re.findall(r"<li.*?</li>", thread, re.S) if "Held" in item]
    assert held and all("the patient reached today's limit of messages" in item for item in held)
    assert thread.count("Sent</span>") >= 1


def test_send_without_javascript_redirects_to_the_thread(console: Console, patient: dict[str, str]) -> None:
    pid = patient["pid"]
    answer = console.post(f"/console/patients/{pid}/messages", {"text": "Hello", "idempotency_key": "k-1"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/console/patients/{pid}#messages"


def test_an_empty_message_is_the_form_again_with_the_field_marked(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    fields = {"text": "\u202e", "idempotency_key": "k-empty"}  # nothing left once cleaned
    answer = console.post(f"/console/patients/{pid}/messages", fields, headers=HX)
    assert answer.status_code == 200
    html = text(answer)
    assert 'aria-invalid="true"' in html and 'id="message-text-error"' in html
    plain = console.post(f"/console/patients/{pid}/messages", fields)
    assert plain.status_code == 422
    assert "<h1>Ana Silva</h1>" in text(plain) and 'aria-invalid="true"' in text(plain)
    assert _messages(api, pid, doctor) == []


def test_a_send_without_an_idempotency_key_is_refused(console: Console, patient: dict[str, str]) -> None:
    answer = console.post(f"/console/patients/{patient['pid']}/messages", {"text": "Hi"}, headers=HX)
    assert answer.status_code == 400


# -- Reminders ------------------------------------------------------------------------------------


def _reminders(api: Api, pid: str, who: tuple[str, str]) -> list[dict[str, Any]]:
    response = api.call("GET", f"/patients/{pid}/reminders", as_=who)
    assert response.status_code == 200, response.body
    found = body(response)
    return list(found["items"] if isinstance(found, dict) else found)


def test_add_pause_resume_and_edit_a_reminder(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    fields = {
        "kind": "measure_glucose",
        "times": "08:00, 20:00",
        "label": "Before breakfast",
        "active": "on",
        "day_mon": "on",
        "day_wed": "on",
        "idempotency_key": secrets.token_hex(8),
    }
    answer = console.post(f"/console/patients/{pid}/reminders", fields, headers=HX)
    assert answer.status_code == 200, text(answer)
    assert text(answer).lstrip().startswith('<section id="reminders"')
    assert "Reminder added." in text(answer)
    assert console.post(f"/console/patients/{pid}/reminders", fields, headers=HX).status_code == 200  # double click
    [stored] = _reminders(api, pid, doctor)
    assert (stored["kind"], stored["times"], stored["days"], stored["active"]) == (
        "measure_glucose",
        ["08:00", "20:00"],
        ["mon", "wed"],
        True,
    )
    assert stored["label"] == "Before breakfast"
    rid = stored["reminder_id"]

    paused = console.post(f"/console/patients/{pid}/reminders/{rid}/pause", {}, headers=HX)
    assert paused.status_code == 200 and "Reminder paused." in text(paused) and "Resume" in text(paused)
    assert _reminders(api, pid, doctor)[0]["active"] is False
    resumed = console.post(f"/console/patients/{pid}/reminders/{rid}/resume", {})
    assert resumed.status_code == 303 and resumed.headers["Location"] == f"/console/patients/{pid}#reminders"
    assert _reminders(api, pid, doctor)[0]["active"] is True

    edited = console.post(f"/console/patients/{pid}/reminders/{rid}", {"times": "07:30 19:30"}, headers=HX)
    assert edited.status_code == 200 and "Reminder times changed." in text(edited)
    assert _reminders(api, pid, doctor)[0]["times"] == ["07:30", "19:30"]

    wrong = console.post(f"/console/patients/{pid}/reminders/{rid}", {"times": "25:00"}, headers=HX)
    assert wrong.status_code == 200
    assert 'aria-invalid="true"' in text(wrong) and 'value="25:00"' in text(wrong)
    assert _reminders(api, pid, doctor)[0]["times"] == ["07:30", "19:30"]


def test_a_reminder_with_no_day_is_the_form_again(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    fields = {"kind": "medication", "times": "09:00", "idempotency_key": secrets.token_hex(8)}
    answer = console.post(f"/console/patients/{pid}/reminders", fields)
    assert answer.status_code == 422
    assert 'id="reminder-days-error"' in text(answer) and 'value="09:00"' in text(answer)
    assert _reminders(api, pid, doctor) == []


def test_an_unknown_reminder_is_not_found(console: Console, patient: dict[str, str]) -> None:
    answer = console.post(f"/console/patients/{patient['pid']}/reminders/rem-nope/pause", {}, headers=HX)
    assert answer.status_code == 404


# -- Targets --------------------------------------------------------------------------------------


def _targets(api: Api, pid: str, who: tuple[str, str]) -> dict[str, Any]:
    response = api.call("GET", f"/patients/{pid}/targets", as_=who)
    assert response.status_code == 200, response.body
    return dict(body(response))


def test_targets_show_their_source_and_save_a_personal_value(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    fields = {"glucose_profile": "older_complex", "glucose.low": "75", "reason": "frequent lows"}
    answer = console.post(f"/console/patients/{pid}/targets", fields, headers=HX)
    assert answer.status_code == 200, text(answer)
    html = text(answer)
    assert html.lstrip().startswith('<section id="targets"') and "Targets saved." in html
    stored = _targets(api, pid, doctor)
    assert stored["glucose_profile"] == "older_complex"
    assert stored["glucose"]["low"] == 75 and stored["glucose"]["high_fasting"] == 150
    assert stored["reason"] == "frequent lows"

    def row(field: str) -> str:
        dom = "target-" + field.replace(".", "-").replace("_", "-")
        start = html.index(f'<label for="{dom}">')
        return html[start : html.index("</tr>", start)]

    assert "Personal" in row("glucose.low") and 'value="75"' in row("glucose.low")
    assert "Profile" in row("glucose.high_fasting") and "150 mg/dL" in row("glucose.high_fasting")
    assert "Default" in row("glucose.critical_low") and "Default" in row("blood_pressure.systolic_high")


def test_targets_outside_the_hard_limits_show_the_field_error_and_change_nothing(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    before = _targets(api, pid, doctor)
    fields = {"glucose_profile": "standard", "glucose.critical_low": "50", "blood_pressure.systolic_high": "150"}
    answer = console.post(f"/console/patients/{pid}/targets", fields, headers=HX)
    assert answer.status_code == 200
    html = text(answer)
    field = html[html.index('id="target-glucose-critical-low"') :]
    field = field[: field.index("</td>")]
    assert 'aria-invalid="true"' in field and "hard limit" in field and 'value="50"' in field
    assert (
        'aria-describedby="target-glucose-critical-low-limit targets-hint target-glucose-critical-low-error"' in field
    )
    assert 'value="150"' in html  # the other values as entered
    assert _targets(api, pid, doctor) == before

    plain = console.post(f"/console/patients/{pid}/targets", {**fields, "glucose.low": "seventy"})
    assert plain.status_code == 422 and "must be a number" in text(plain)
    assert _targets(api, pid, doctor) == before


# -- Care time ------------------------------------------------------------------------------------


def _rpm(api: Api, pid: str, who: tuple[str, str]) -> dict[str, Any]:
    month = datetime.now(UTC).strftime("%Y-%m")  # the patient lives in UTC
    response = api.call("GET", f"/billing/rpm?month={month}&limit=500", as_=who)
    assert response.status_code == 200, response.body
    return next(r for r in body(response)["items"] if r["patient_id"] == pid)


def _moment(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def _care_form(html: str) -> dict[str, str]:
    at = re.search(r'name="at" value="([^"]+)"', _section(html, "care-time"))
    assert at
    return {"at": at.group(1), "activity": "call"}


def _status(html: str, code: str) -> str:
    part = _section(html, "care-time")
    start = part.index(f'<th scope="row">{code}</th>')
    return re.sub(r"\s+", " ", part[start : part.index("</tr>", start)])


def test_care_time_adds_minutes_and_the_codes_follow(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    fields = {"minutes": "12", "interactive": "on", "activity": "call", "at": _moment(3)}
    answer = console.post(f"/console/patients/{pid}/care-time", fields, headers=HX)
    assert answer.status_code == 200, text(answer)
    html = text(answer)
    assert html.lstrip().startswith('<section id="care-time"') and "Care time logged." in html
    assert _rpm(api, pid, doctor)["care_minutes"] == 12
    assert "Met" in _status(html, "99470")
    assert "12 of 20 minutes" in _status(html, "99457")
    assert "0 of 2 days" in _status(html, "99445")

    # The same form posted again (a double click) is the same entry: no more minutes.
    assert console.post(f"/console/patients/{pid}/care-time", fields, headers=HX).status_code == 200
    assert _rpm(api, pid, doctor)["care_minutes"] == 12

    # The form as answered carries a new moment: the next entry adds up.
    more = {**_care_form(html), "minutes": "10"}
    answer = console.post(f"/console/patients/{pid}/care-time", more)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/console/patients/{pid}#care-time"
    row = _rpm(api, pid, doctor)
    assert row["care_minutes"] == 22 and row["management_codes"] == ["99457"]
    later = text(
        console.post(f"/console/patients/{pid}/care-time", {**fields, "at": _moment(1), "minutes": "1"}, headers=HX)
    )
    assert "Met" in _status(later, "99457") and "Billed as 99457 instead" in _status(later, "99470")
    assert "23 of 40 minutes" in _status(later, "99458")


def test_care_time_without_an_interactive_communication_bills_nothing(
    api: Api, console: Console, patient: dict[str, str]
) -> None:
    pid = patient["pid"]
    fields = {"minutes": "25", "activity": "review", "at": _moment(2)}
    html = text(console.post(f"/console/patients/{pid}/care-time", fields, headers=HX))
    assert "25 of 20 minutes" not in _status(html, "99457")
    assert "needs an interactive communication" in _status(html, "99457")

    wrong = console.post(f"/console/patients/{pid}/care-time", {**fields, "minutes": "ten"}, headers=HX)
    assert 'id="care-minutes-error"' in text(wrong) and 'value="ten"' in text(wrong)


# -- Notes ----------------------------------------------------------------------------------------


def test_notes_are_added_once_and_shown_newest_first(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    key = secrets.token_hex(8)
    for _ in range(2):
        answer = console.post(f"/console/patients/{pid}/notes", {"text": "Called: fine", "idempotency_key": key})
        assert answer.status_code == 303 and answer.headers["Location"] == f"/console/patients/{pid}#notes"
    answer = console.post(
        f"/console/patients/{pid}/notes",
        {"text": "Dose lowered", "share_with_patient": "on", "idempotency_key": secrets.token_hex(8)},
        headers=HX,
    )
    html = text(answer)
    assert html.lstrip().startswith('<section id="notes"') and "Note added." in html
    assert '<label for="note-text">Clinical note</label>' in html
    assert html.index("Dose lowered") < html.index("Called: fine")
    response = api.call("GET", f"/patients/{pid}/timeline?kinds=note", as_=doctor)
    notes = [e for e in body(response)["items"] if e["ref"].get("note_id")]
    assert [(e["summary"].split(": ", 1)[1], e["ref"]["shared"]) for e in notes] == [
        ("Dose lowered", True),
        ("Called: fine", False),
    ]


# -- access ---------------------------------------------------------------------------------------

ROUTES = (
    ("messages", {"text": "Hi", "idempotency_key": "k-access"}),
    ("reminders", {"kind": "custom", "times": "08:00", "day_mon": "on", "idempotency_key": "k-access"}),
    ("targets", {"glucose.low": "75"}),
    ("care-time", {"minutes": "5", "activity": "call", "at": "2026-01-01T00:00:00Z"}),
    ("notes", {"text": "Hi", "idempotency_key": "k-access"}),
)


@pytest.mark.parametrize(("route", "fields"), ROUTES, ids=[r for r, _ in ROUTES])
def test_access_rules(
    api: Api, issuer: Any, console: Console, patient: dict[str, str], route: str, fields: dict[str, str]
) -> None:
    pid = patient["pid"]
    path = f"/console/patients/{pid}/{route}"
    assert console.post(path, fields, csrf=False, headers=HX).status_code == 403
    assert console.post(path, fields, origin="http://evil.example", headers=HX).status_code == 403
    outsider = Console(api.client, issuer, "clinician", "c-2")
    assert outsider.post(path, fields, headers=HX).status_code == 404
    assert outsider.post(f"/console/patients/p-nobody-{uuid.uuid4().hex[:6]}/{route}", fields).status_code == 404
    own = Console(api.client, issuer, "patient", pid)
    assert own.post(path, fields, headers=HX).status_code == 403


def test_nothing_changed_through_refused_posts(
    api: Api, issuer: Any, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    pid = patient["pid"]
    for route, fields in ROUTES:
        Console(api.client, issuer, "clinician", "c-2").post(f"/console/patients/{pid}/{route}", fields)
        Console(api.client, issuer, "patient", pid).post(f"/console/patients/{pid}/{route}", fields)
    assert _messages(api, pid, doctor) == [] and _reminders(api, pid, doctor) == []
    assert _targets(api, pid, doctor)["version"] == 0
    assert _rpm(api, pid, doctor)["care_minutes"] == 0
    timeline = body(api.call("GET", f"/patients/{pid}/timeline?kinds=note", as_=doctor))["items"]
    assert [e for e in timeline if e["ref"].get("note_id")] == []


# -- the contract with the Patient page ---------------------------------------------------------


def test_sections_give_every_partial_its_context(
    api: Api, console: Console, patient: dict[str, str], doctor: tuple[str, str]
) -> None:
    """What pages/patient.py does: ``sections`` of ``section_reads``' results into its render, each partial in order."""
    from chalicelib import bootstrap, readers
    from chalicelib.console.pages.patient_actions import SECTION_TEMPLATES, section_reads, sections
    from chalicelib.console.web import Visit, environment
    from chalicelib.domain.identity import Principal, Role

    pid = patient["pid"]
    console.post(f"/console/patients/{pid}/notes", {"text": "Seen today", "idempotency_key": "k-contract"})
    caller = Principal(subject=doctor[1], role=Role.CLINICIAN, request_id="contract")
    visit = Visit(principal=caller, session=None, path=f"/console/patients/{pid}", query={})
    context = sections(readers.alongside(section_reads(visit, bootstrap.container().patients.get(caller, pid))))
    assert set(context) == {"messages", "reminders", "adherence", "targets", "care_time", "notes"}
    page = (
        environment()
        .from_string("".join('{% include "' + name + '" %}' for name in SECTION_TEMPLATES.values()))
        .render(csrf_token="t", **context)
    )
    headings = re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', page)
    assert headings == [
        ("messages-h", "Messages"),
        ("reminders-h", "Reminders"),
        ("targets-h", "Targets"),
        ("care-time-h", "Care time"),
        ("notes-h", "Notes"),
    ]
    assert "Seen today" in page and page.count('name="csrf_token" value="t"') == 5
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "an id is used twice"
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert target in ids, f"a label for nothing: {target}"


def test_the_care_time_status_reads_the_patient_not_the_panel(api: Api, issuer: Any, clinic: dict[str, Any]) -> None:
    """The codes' status costs the same for a panel of one as for a panel of many: no walk of the billing report."""
    from chalicelib import bootstrap
    from chalicelib.console.pages.patient_actions import care_time_view
    from chalicelib.domain.identity import Principal, Role

    cid = f"c-pa-{uuid.uuid4().hex[:8]}"
    sent = {"given_name": "Rui", "phone": "+15551239001", "email": f"{cid}@clinic.example", "escalation_contacts": []}
    assert api.call("PUT", f"/clinicians/{cid}", sent, as_=clinic["admin"]).status_code == 200
    c = bootstrap.container()
    caller = Principal(subject=cid, role=Role.CLINICIAN, request_id="panel")
    client = c.client("dynamodb")

    def requests_for(pid: str) -> list[str]:
        calls: list[str] = []

        def count(model: Any, **_: Any) -> None:
            calls.append(model.name)

        patient = c.patients.get(caller, pid)
        client.meta.events.register("before-call.dynamodb", count)
        try:
            care_time_view(caller, patient)
        finally:
            client.meta.events.unregister("before-call.dynamodb", count)
        return calls

    first = f"p-pa-{uuid.uuid4().hex[:8]}"
    assert api.call("POST", "/patients", patient_body(first, care_team=[cid]), as_=clinic["admin"]).status_code == 201
    alone = requests_for(first)
    for _ in range(30):
        pid = f"p-pa-{uuid.uuid4().hex[:8]}"
        assert api.call("POST", "/patients", patient_body(pid, care_team=[cid]), as_=clinic["admin"]).status_code == 201
    assert requests_for(first) == alone
    assert sorted(alone) == ["BatchGetItem", "GetItem", "PutItem"]  # the patient, their month, one audit record


def test_a_message_sent_during_the_patients_quiet_hours_waits_for_them_to_end(
    api: Api, console: Console, doctor: tuple[str, str], stream_runner: Any
) -> None:
    """The other tests switch quiet hours off; here they cover now, on the same Send path."""

    now = datetime.now(UTC)
    pid = f"p-pa-{uuid.uuid4().hex[:8]}"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=2)).strftime("%H:%M")}
    sent = patient_body(pid, phone=phone, timezone="UTC", language="en", channels=["sms"], quiet_hours=quiet)
    assert api.call("POST", "/patients", sent, as_=doctor).status_code == 201
    consent = {"granted": True, "source": "app", "full_content": True}
    assert api.call("PUT", f"/patients/{pid}/consents/sms", consent, as_=("patient", pid)).status_code == 200
    words = f"Your appointment moved {secrets.token_hex(3)}"

    answer = console.post(
        f"/console/patients/{pid}/messages", {"text": words, "idempotency_key": secrets.token_hex(8)}, headers=HX
    )
    stream_runner.drain()

    assert answer.status_code == 200 and words in text(answer)
    assert [(m["direction"], m["text"]) for m in _messages(api, pid, doctor)] == [("out", words)]
    assert not [sms for sms in _sms_to(phone) if words in sms], "sent inside the patient's quiet hours"
