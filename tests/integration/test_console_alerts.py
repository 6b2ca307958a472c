"""The console's Alerts page: what a clinician sees and what the buttons change, on the real stack.

Alerts are opened the way production opens them: a patient posts a reading
through the JSON API and the table stream runs.  Each test module gets a
clinician of its own, so the panel's alerts are only the ones made here.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body
from tests.integration.console_client import Console, text

ARTICLE = re.compile(r'<article class="alert-card[^"]*" id="alert-([^"]+)"')


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _glucose(value: float) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": _ago(1),
        "source": "app",
        "device_id": "meter-9",
    }


def _clinician(api: Api, clinic: dict[str, Any]) -> str:
    cid = f"c-al-{uuid.uuid4().hex[:8]}"
    response = api.call(
        "PUT",
        f"/clinicians/{cid}",
        {"given_name": "Ines", "phone": "+15551239002", "email": f"{cid}@clinic.example", "escalation_contacts": []},
        as_=clinic["admin"],
    )
    assert response.status_code == 200, response.body
    return cid


def _alert(api: Api, stream_runner: Any, clinic: dict[str, Any], team: list[str], value: float, **names: str) -> str:
    """A patient on ``team`` whose glucose ``value`` opens one alert; its id."""
    pid = f"p-al-{uuid.uuid4().hex[:8]}"
    created = api.call("POST", "/patients", patient_body(pid, care_team=team, **names), as_=clinic["admin"])
    assert created.status_code == 201, created.body
    posted = api.call("POST", f"/patients/{pid}/readings", _glucose(value), as_=("patient", pid))
    assert posted.status_code in (200, 201), posted.body
    stream_runner.drain()
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["admin"]))["items"]
    assert len(alerts) == 1, alerts
    return str(alerts[0]["alert_id"])


def _stored(api: Api, clinic: dict[str, Any], alert_id: str) -> dict[str, Any]:
    response = api.call("GET", f"/alerts/{alert_id}", as_=clinic["admin"])
    assert response.status_code == 200, response.body
    return dict(body(response))


@pytest.fixture(scope="module")
def panel(api: Api, clinic: dict[str, Any], stream_runner: Any, issuer: Any) -> dict[str, Any]:
    """A clinician with (in opening order) a critical, a routine and a second critical alert, the first acknowledged."""
    cid = _clinician(api, clinic)
    team = [cid, "c-2"]
    first = _alert(api, stream_runner, clinic, team, 45, given_name="Carla", family_name="First")
    routine = _alert(api, stream_runner, clinic, team, 65, given_name="Rita", family_name="Routine")
    second = _alert(api, stream_runner, clinic, team, 48, given_name="Cora", family_name="Second")
    acked = api.call("POST", f"/alerts/{first}/acknowledge", {"note": "seen"}, as_=("clinician", cid))
    assert acked.status_code == 200, acked.body
    actor = _clinician(api, clinic)  # the action tests' alerts stay off the listing tests' panel
    return {
        "cid": cid,
        "console": Console(api.client, issuer, "clinician", cid),
        "actor": actor,
        "acting": Console(api.client, issuer, "clinician", actor),
        "first": first,
        "routine": routine,
        "second": second,
    }


def test_the_page_lists_critical_first_open_before_acknowledged_then_routine(panel: dict[str, Any]) -> None:
    response = panel["console"].get("/console/alerts")
    page = text(response)

    assert response.status_code == 200
    assert "<h1>Alerts</h1>" in page
    # Newest first within a segment would put the routine alert (opened second) before the first critical one.
    assert ARTICLE.findall(page) == [panel["second"], panel["first"], panel["routine"]]
    assert "Cora Second" in page and "Rita Routine" in page
    assert 'href="/console/patients/' in page
    assert "Critical low glucose" in page and "Low glucose" in page
    assert "seen" in page  # the acknowledgment's note
    assert 'rel="next"' not in page  # three alerts fit on one page


def test_the_cursor_walks_every_segment_once_in_order(panel: dict[str, Any]) -> None:
    from chalicelib.console.pages.alerts import live_alerts
    from chalicelib.domain.identity import Principal, Role

    me = Principal(panel["cid"], Role.CLINICIAN)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        items, cursor = live_alerts(me, cursor, size=1)
        seen.extend(a.alert_id for a in items)
        if cursor is None:
            break

    assert seen == [panel["second"], panel["first"], panel["routine"]]


def test_a_forged_cursor_is_a_400_page(panel: dict[str, Any]) -> None:
    assert panel["console"].get("/console/alerts?cursor=9:x").status_code == 400
    assert panel["console"].get("/console/alerts?cursor=0:forged.sig").status_code == 400


def test_acknowledge_in_place_answers_the_card_with_its_new_status_and_changes_the_store(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any]
) -> None:
    alert_id = _alert(api, stream_runner, clinic, [panel["actor"]], 46, given_name="Hana", family_name="Htmx")

    response = panel["acting"].post(
        f"/console/alerts/{alert_id}/acknowledge",
        {"note": "calling her now", "back": "/console/alerts", "named": "1"},
        headers={"HX-Request": "true"},
    )
    fragment = text(response)

    assert response.status_code == 200
    assert fragment.lstrip().startswith('<article class="alert-card critical acknowledged"')
    assert "<html" not in fragment
    assert re.search(r'role="status"[^>]*>\s*Acknowledged\.', fragment)
    assert "Hana Htmx" in fragment
    assert ">Acknowledge</button>" not in fragment and ">Resolve</button>" in fragment
    stored = _stored(api, clinic, alert_id)
    assert stored["status"] == "acknowledged" and stored["acknowledged_by"] == panel["actor"]
    assert [n["text"] for n in stored["notes"]] == ["calling her now"]


def test_resolve_without_javascript_redirects_back_and_keeps_the_note(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any]
) -> None:
    alert_id = _alert(api, stream_runner, clinic, [panel["actor"]], 66)

    response = panel["acting"].post(
        f"/console/alerts/{alert_id}/resolve", {"note": "=treated with juice", "back": "/console/alerts?cursor=0:"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/alerts?cursor=0:"
    stored = _stored(api, clinic, alert_id)
    assert stored["status"] == "resolved" and stored["resolved_by"] == panel["actor"]
    assert [n["text"] for n in stored["notes"]] == ["=treated with juice"]
    assert alert_id not in ARTICLE.findall(text(panel["acting"].get("/console/alerts")))


@pytest.mark.parametrize("back", ["https://evil.example/console/", "//evil.example/console", "/api/x", "/console\\@x"])
def test_back_never_leaves_the_console(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any], back: str
) -> None:
    alert_id = _alert(api, stream_runner, clinic, [panel["actor"]], 67)

    response = panel["acting"].post(f"/console/alerts/{alert_id}/acknowledge", {"back": back})

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/alerts"


def test_a_stale_acknowledge_answers_the_current_state_and_who_acted(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any]
) -> None:
    alert_id = _alert(api, stream_runner, clinic, [panel["actor"], "c-2"], 47)
    assert api.call("POST", f"/alerts/{alert_id}/acknowledge", as_=clinic["c2"]).status_code == 200

    in_place = panel["acting"].post(f"/console/alerts/{alert_id}/acknowledge", {}, headers={"HX-Request": "true"})
    plain = panel["acting"].post(f"/console/alerts/{alert_id}/acknowledge", {})

    assert in_place.status_code == 200
    assert "Already acknowledged by c-2." in text(in_place)
    assert 'class="alert-card critical acknowledged"' in text(in_place)
    assert plain.status_code == 200
    assert "Already acknowledged by c-2." in text(plain) and "<h1>" in text(plain)
    assert _stored(api, clinic, alert_id)["acknowledged_by"] == "c-2"

    assert api.call("POST", f"/alerts/{alert_id}/resolve", as_=clinic["c2"]).status_code == 200
    late = panel["acting"].post(f"/console/alerts/{alert_id}/resolve", {}, headers={"HX-Request": "true"})
    assert late.status_code == 200
    assert "Already resolved by c-2." in text(late)
    assert "<button" not in text(late)  # nothing left to do on a resolved alert


def test_one_alert_has_its_page_with_actions_and_the_patient_link(panel: dict[str, Any]) -> None:
    response = panel["console"].get(f"/console/alerts/{panel['second']}")
    page = text(response)

    assert response.status_code == 200
    assert "<h1>Alert for Cora Second</h1>" in page
    assert ">Acknowledge</button>" in page and ">Resolve</button>" in page
    assert re.search(r'<label for="alert-[^"]+-note">Note<span class="visually-hidden">', page)


def test_an_alert_outside_the_panel_is_a_404_page_and_cannot_be_acted_on(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any]
) -> None:
    # Another clinician's patient (not c-9's: other files page through c-9's panel and expect it empty).
    other = f"c-al-{uuid.uuid4().hex[:6]}"
    person = {"given_name": "Ora", "phone": "+15551239002"}
    registered = api.call("PUT", f"/clinicians/{other}", person, as_=clinic["admin"])
    assert registered.status_code in (200, 201), registered.body
    theirs = _alert(api, stream_runner, clinic, [other], 44)

    shown = panel["console"].get(f"/console/alerts/{theirs}")
    acted = panel["console"].post(f"/console/alerts/{theirs}/acknowledge", {}, headers={"HX-Request": "true"})

    assert shown.status_code == 404 and "<h1>Not found</h1>" in text(shown)
    assert acted.status_code == 404
    assert _stored(api, clinic, theirs)["status"] == "open"
    assert panel["console"].get("/console/alerts/not-an-alert-id").status_code == 404


def test_a_patient_session_gets_403_pages(api: Api, clinic: dict[str, Any], issuer: Any, panel: dict[str, Any]) -> None:
    patient = Console(api.client, issuer, "patient", "p-1")

    assert patient.get("/console/alerts").status_code == 403
    assert patient.get(f"/console/alerts/{panel['second']}").status_code == 403
    assert patient.post(f"/console/alerts/{panel['second']}/acknowledge", {}).status_code == 403


def test_a_post_without_csrf_token_or_from_another_origin_is_refused(
    api: Api, clinic: dict[str, Any], panel: dict[str, Any]
) -> None:
    path = f"/console/alerts/{panel['second']}/acknowledge"

    no_token = panel["console"].post(path, {}, csrf=False)
    wrong_token = panel["console"].post(path, {"csrf_token": "x" * 43})
    elsewhere = panel["console"].post(path, {}, origin="https://evil.example")

    assert [no_token.status_code, wrong_token.status_code, elsewhere.status_code] == [403, 403, 403]
    assert _stored(api, clinic, panel["second"])["status"] == "open"


def test_names_and_notes_are_escaped(
    api: Api, clinic: dict[str, Any], stream_runner: Any, panel: dict[str, Any]
) -> None:
    alert_id = _alert(api, stream_runner, clinic, [panel["actor"]], 43, given_name="<b>Eve</b>", family_name="X")
    api.call(
        "POST",
        f"/alerts/{alert_id}/acknowledge",
        {"note": "<script>alert(1)</script>"},
        as_=("clinician", panel["actor"]),
    )

    page = text(panel["acting"].get(f"/console/alerts/{alert_id}"))

    assert "<script>alert(1)</script>" not in page and html.escape("<script>alert(1)</script>") in page
    assert "<b>Eve</b>" not in page
