"""The console's Worklist page: what a clinician sees, in which order, and what "Mark reviewed" changes.

Data arrives the way production gets it: patients enrolled and readings posted through the JSON API, the
table stream run (``stream_runner.drain()``), so alerts, ``last_reading_at`` and the RECENT items the
triage reads are the stream's own.  The module's clinician is fresh, so their panel is only what is made here.
"""

from __future__ import annotations

import html
import re
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, enrol_for_rpm, patient_body
from tests.integration.console_client import Console, text
from tests.integration.test_record import _sent_on_the_day

ROW = re.compile(r'<tr><th scope="row"><a href="/console/patients/([^"]+)">([^<]+)</a></th>(.*?)</tr>', re.S)


def _at(**ago: float) -> str:
    return (datetime.now(UTC) - timedelta(**ago)).isoformat().replace("+00:00", "Z")


def _glucose(value: float, **ago: float) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": _at(**(ago or {"minutes": 1})),
        "source": "app",
    }


def _clinician(api: Api, clinic: dict[str, Any], **fields: Any) -> str:
    cid = f"c-wl-{uuid.uuid4().hex[:8]}"
    profile = {"given_name": "Nora", "family_name": "Nurse", "email": f"{cid}@clinic.example"}
    profile.update({"phone": "+15551239003", "escalation_contacts": [], **fields})
    response = api.call(
        "PUT", f"/clinicians/{cid}", {k: v for k, v in profile.items() if v is not None}, as_=clinic["admin"]
    )
    assert response.status_code == 200, response.body
    return cid


def _patient(api: Api, clinic: dict[str, Any], team: list[str], given: str, family: str) -> str:
    pid = f"p-wl-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, care_team=team, given_name=given, family_name=family, timezone="UTC", language="en")
    created = api.call("POST", "/patients", sent, as_=clinic["admin"])
    assert created.status_code == 201, created.body
    return pid


def _post(api: Api, pid: str, reading: dict[str, Any]) -> None:
    response = api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid))
    assert response.status_code in (200, 201), response.body


def _rows(page: str) -> list[tuple[str, str, str]]:
    """(patient id, name, the rest of the row's HTML) of each row, in order."""
    return [(pid, html.unescape(name), rest) for pid, name, rest in ROW.findall(page)]


def _worklist_json(api: Api, cid: str) -> dict[str, Any]:
    response = api.call("GET", "/worklist", as_=("clinician", cid))
    assert response.status_code == 200, response.body
    return {row["patient_id"]: row for row in body(response)["items"]}


@pytest.fixture(scope="module")
def panel(api: Api, clinic: dict[str, Any], stream_runner: Any, issuer: Any) -> dict[str, Any]:
    """A clinician whose panel has, in the order of need: a critical alert, a routine alert, stale data, the rest."""
    cid = _clinician(api, clinic)
    team = [cid, "c-2"]
    ok = _patient(api, clinic, [cid], "Olga", "Okay")
    stale = _patient(api, clinic, team, "Sam", "Stale")
    routine = _patient(api, clinic, team, "Rita", "Routine")
    critical = _patient(api, clinic, team, "Carla", "Critical")
    elsewhere = _patient(api, clinic, ["c-2"], "Eve", "Elsewhere")
    _post(api, ok, _glucose(120))
    _post(api, ok, _glucose(130, days=20))  # a device's history: not among the RECENT item's 15 days
    _post(api, stale, _glucose(110, days=4))
    _post(api, routine, _glucose(65))
    _post(api, critical, _glucose(45))
    _post(api, elsewhere, _glucose(45))
    stream_runner.drain()
    return {
        "cid": cid,
        "console": Console(api.client, issuer, "clinician", cid),
        "ok": ok,
        "stale": stale,
        "routine": routine,
        "critical": critical,
        "elsewhere": elsewhere,
    }


def test_the_page_lists_the_panel_in_the_order_of_need_with_its_flags(panel: dict[str, Any]) -> None:
    response = panel["console"].get("/console")
    page = text(response)

    assert response.status_code == 200
    assert "<h1>Worklist</h1>" in page
    assert "<caption>Patients by need" in page
    rows = _rows(page)
    assert [pid for pid, _, _ in rows] == [panel["critical"], panel["routine"], panel["stale"], panel["ok"]]
    assert [name for _, name, _ in rows] == ["Carla Critical", "Rita Routine", "Sam Stale", "Olga Okay"]
    flags = {pid: re.findall(r'<span class="flag [a-z]+">([^<]+)</span>', rest) for pid, _, rest in rows}
    assert flags[panel["critical"]][:2] == ["Critical alert", "Very low glucose"]
    assert flags[panel["routine"]][:2] == ["Routine alert", "Low glucose"]
    assert flags[panel["stale"]][0] == "No reading for 3+ days"
    assert flags[panel["ok"]][0] == "Meeting targets"
    assert "4 d ago" in {p: r for p, _, r in rows}[panel["stale"]]
    assert ">0/20</td>" in rows[0][2] and "/16</td>" in rows[0][2]
    assert page.count(">Mark reviewed</button>") == 4
    assert panel["elsewhere"] not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_the_api_worklist_carries_the_new_fields(api: Api, panel: dict[str, Any]) -> None:
    rows = _worklist_json(api, panel["cid"])

    assert rows[panel["critical"]]["triage_bucket"] == "very_low"
    assert rows[panel["critical"]]["oldest_unacknowledged_critical_at"] is not None
    assert rows[panel["ok"]]["triage_bucket"] == "meeting_targets"
    assert rows[panel["stale"]]["triage_bucket"] == "meeting_targets"  # 4 days ago is inside the 14
    assert rows[panel["ok"]]["care_minutes_month"] == 0
    assert rows[panel["ok"]]["reviewed_at"] is None and rows[panel["ok"]]["reviewed_by"] is None


def test_the_recent_item_keeps_the_last_15_days_only(panel: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    records = bootstrap.container().recent_readings.recent([panel["ok"]])[panel["ok"]]

    assert [r.split("|")[3] for r in records] == ["120"]  # the 130 of 20 days ago is history


def test_filters_keep_a_bucket_a_care_team_member_and_the_not_reviewed(panel: dict[str, Any]) -> None:
    console = panel["console"]

    by_bucket = _rows(text(console.get("/console?bucket=meeting_targets")))
    by_member = _rows(text(console.get("/console?member=c-2")))
    everything = text(console.get("/console?bucket=&member="))

    assert [pid for pid, _, _ in by_bucket] == [panel["stale"], panel["ok"]]
    assert [pid for pid, _, _ in by_member] == [panel["critical"], panel["routine"], panel["stale"]]
    assert len(_rows(everything)) == 4
    assert '<option value="meeting_targets" selected>' in text(console.get("/console?bucket=meeting_targets"))
    assert 'id="f-not-reviewed"' in everything and '<label for="f-not-reviewed">Not reviewed</label>' in everything
    assert console.get("/console?bucket=purple").status_code == 422


def test_mark_reviewed_in_place_then_undo(api: Api, panel: dict[str, Any]) -> None:
    console, pid, cid = panel["console"], panel["routine"], panel["cid"]
    htmx = {"HX-Request": "true"}

    marked = console.post("/console/reviews", {"p": f"{pid}|", "back": "/console"}, headers=htmx)
    fragment = text(marked)

    assert marked.status_code == 200
    assert marked.headers["HX-Retarget"] == f"#r-{pid}" and marked.headers["HX-Reswap"] == "innerHTML"
    assert "<html" not in fragment and ">Reviewed</span>" in fragment and ">Undo</button>" in fragment
    assert "Rita Routine marked reviewed." in fragment and 'hx-swap-oob="innerHTML"' in fragment
    stored = _worklist_json(api, cid)[pid]
    assert stored["reviewed_by"] == cid and stored["reviewed_today"] is True
    reviewed_at = stored["reviewed_at"]
    # The page now shows the row reviewed, and "not reviewed" leaves it out.
    row = {p: r for p, _, r in _rows(text(console.get("/console")))}[pid]
    assert ">Reviewed</span>" in row and ">Undo</button>" in row and ">Mark reviewed</button>" not in row
    assert pid not in [p for p, _, _ in _rows(text(console.get("/console?not_reviewed=1")))]

    undone = console.post("/console/reviews/undo", {"undo": f"{pid}|{reviewed_at}"}, headers=htmx)

    assert undone.status_code == 200
    assert ">Mark reviewed</button>" in text(undone) and "Review of Rita Routine undone." in text(undone)
    stored = _worklist_json(api, cid)[pid]
    assert stored["reviewed_at"] is None and stored["reviewed_by"] is None
    assert pid in [p for p, _, _ in _rows(text(console.get("/console?not_reviewed=1")))]


def test_mark_reviewed_without_javascript_redirects_back_to_the_filtered_list(api: Api, panel: dict[str, Any]) -> None:
    console, pid = panel["console"], panel["stale"]

    response = console.post("/console/reviews", {"p": f"{pid}|", "back": "/console?member=c-2"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/console?member=c-2"
    assert _worklist_json(api, panel["cid"])[pid]["reviewed_by"] == panel["cid"]
    # Another clinician's page still says "never": their late click answers the review as it is.
    other = console.post("/console/reviews", {"p": f"{pid}|"}, headers={"HX-Request": "true"})
    assert "was reviewed meanwhile" in text(other)


def test_the_review_is_the_care_teams_and_shows_who(
    api: Api, clinic: dict[str, Any], issuer: Any, panel: dict[str, Any]
) -> None:
    pid = panel["critical"]
    colleague = Console(api.client, issuer, "clinician", "c-2")

    assert colleague.post("/console/reviews", {"p": f"{pid}|"}).status_code == 303

    row = {p: r for p, _, r in _rows(text(panel["console"].get("/console")))}[pid]
    assert ">Reviewed</span>" in row and "Rui" in row  # c-2's profile name
    assert ">Undo</button>" not in row  # only the reviewer undoes
    audit = body(api.call("GET", f"/audit?patient_id={pid}&limit=200", as_=clinic["admin"]))["items"]
    assert ("review", "patient", "c-2") in [(a["action"], a["resource"], a["actor"]) for a in audit]


def test_each_row_shown_is_audited_as_the_api_audits_the_worklist(
    api: Api, clinic: dict[str, Any], panel: dict[str, Any]
) -> None:
    panel["console"].get("/console?bucket=very_low")

    audit = body(api.call("GET", f"/audit?patient_id={panel['critical']}&limit=200", as_=clinic["admin"]))["items"]
    assert ("list", "worklist", panel["cid"]) in [(a["action"], a["resource"], a["actor"]) for a in audit]


# -- access --------------------------------------------------------------------------------------


def test_a_patient_session_gets_403(api: Api, issuer: Any, panel: dict[str, Any]) -> None:
    me = Console(api.client, issuer, "patient", panel["ok"])

    assert me.get("/console").status_code == 403
    assert me.post("/console/reviews", {"p": f"{panel['ok']}|"}).status_code == 403


def test_an_admin_is_sent_to_the_clinics_alerts_the_worklist_being_a_clinicians_panel(api: Api, issuer: Any) -> None:
    answer = Console(api.client, issuer, "admin", "a-1").get("/console")

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/alerts"


def test_a_review_without_the_csrf_token_is_403_and_changes_nothing(api: Api, panel: dict[str, Any]) -> None:
    pid = panel["ok"]

    response = panel["console"].post("/console/reviews", {"p": f"{pid}|"}, csrf=False)
    foreign = panel["console"].post("/console/reviews", {"p": f"{pid}|"}, origin="https://evil.example")

    assert (response.status_code, foreign.status_code) == (403, 403)
    assert _worklist_json(api, panel["cid"])[pid]["reviewed_at"] is None


def test_a_patient_outside_the_panel_cannot_be_reviewed(api: Api, panel: dict[str, Any]) -> None:
    assert panel["console"].post("/console/reviews", {"p": f"{panel['elsewhere']}|"}).status_code == 404
    assert panel["console"].post("/console/reviews", {"p": "no such|"}).status_code == 404


def test_a_clinician_without_a_phone_is_told_on_the_page(api: Api, clinic: dict[str, Any], issuer: Any) -> None:
    cid = _clinician(api, clinic, phone=None)

    page = text(Console(api.client, issuer, "clinician", cid).get("/console"))

    assert "Configuration errors" in page and "no phone" in page
    assert "No patients in your panel yet." in page


# -- the stream's RECENT item ----------------------------------------------------------------------


def test_a_redelivered_reading_record_is_in_the_recent_item_once(
    api: Api, clinic: dict[str, Any], stream_runner: Any
) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    stream_runner.drain()
    pid = _patient(api, clinic, ["c-1"], "Reda", "Redelivered")
    stream_runner.drain()
    records = _captured(c, lambda: _post(api, pid, _glucose(101)))
    assert len(records) == 1

    c.changes.handle_batch({"Records": records})
    c.changes.handle_batch({"Records": records})  # the same record delivered again
    stream_runner.drain()  # and a third time, by the session's consumer

    recent = c.recent_readings.recent([pid])[pid]
    assert [r.split("|")[3] for r in recent] == ["101"]
    item = c.table.get(f"PATIENT#{pid}", "RECENT")
    assert item is not None and [k for k in item if k.startswith("d_")] == [f"d_{datetime.now(UTC).date()}"]


def _captured(c: Any, act: Any) -> list[dict[str, Any]]:
    """The reading INSERT records ``act`` causes, as Lambda would be handed them (from the stream's LATEST)."""
    streams = c.client("dynamodbstreams")
    arn = c.client("dynamodb").describe_table(TableName=c.settings.table_name)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = [
        streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]
        for s in shards
    ]
    act()
    found = []
    for iterator in iterators:
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            image = record["dynamodb"].get("NewImage", {})
            if record["eventName"] == "INSERT" and image.get("entity", {}).get("S") == "reading":
                record["dynamodb"].pop("ApproximateCreationDateTime", None)
                found.append(record)
    return found


def test_a_recent_item_that_cannot_grow_never_holds_back_the_readings_alert_or_counts(
    api: Api, clinic: dict[str, Any], stream_runner: Any
) -> None:
    """A device sending every minute could fill the RECENT item to DynamoDB's 400 KB: triage gives way."""
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = _patient(api, clinic, ["c-1"], "Fulla", "Item")
    stream_runner.drain()
    full = {"pk": f"PATIENT#{pid}", "sk": "RECENT", "entity": "recent", "device_days_from": "0000-01-01"}
    c.table.put({**full, "pad": "x" * 409_500})

    _post(api, pid, _glucose(45))  # a critical low
    stream_runner.drain()

    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    assert [a["kind"] for a in alerts] == ["critical_low"]
    trend = body(api.call("GET", f"/patients/{pid}/trends?type=blood_glucose&days=7", as_=clinic["c1"]))
    assert trend["count"] == 1
    item = c.table.get(f"PATIENT#{pid}", "RECENT") or {}
    assert [k for k in item if k.startswith(("d_", "v_"))] == []
    # Today's device day may be missing from the marks: they are complete from tomorrow on, and until the
    # window starts then the worklist counts this patient from the months.
    assert item["device_days_from"] == (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


def test_the_stream_marks_device_days_of_the_last_31_and_the_worklist_counts_them(
    api: Api, clinic: dict[str, Any], stream_runner: Any
) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = _patient(api, clinic, ["c-1"], "Mark", "Days")
    since = (datetime.now(UTC) - timedelta(days=45)).date().isoformat()
    enrol_for_rpm(api, pid, clinic["c1"], {f"meter-{pid}": "glucometer"}, since)
    meter = {"source": "device", "device_id": f"meter-{pid}"}
    for ago in (0, 2, 20, 29, 40):  # each sent by the meter within a minute, as it was measured
        _sent_on_the_day(pid, {**_glucose(110, days=ago, minutes=1), **meter})
    _post(api, pid, {**_glucose(115, days=3), **meter})  # synced three days late: not a device day (F6)
    _post(api, pid, _glucose(120, days=5))  # typed in the app: not a device day
    stream_runner.drain()

    item = c.recent_readings.items([pid])[pid]
    today = datetime.now(UTC).date()
    assert item.device_days_from == "0000-01-01"  # enrolled with the marks
    # Day 40 came last (a late stream) and nothing after it prunes 31-61 days back: kept, outside the window.
    assert item.device_days == {(today - timedelta(days=n)).isoformat() for n in (0, 2, 20, 29, 40)}
    assert _worklist_json(api, "c-1")[pid]["device_days_last_30"] == 4


def test_a_panel_of_105_is_ranked_whole_and_shown_100_at_a_time(
    api: Api, clinic: dict[str, Any], issuer: Any, stream_runner: Any
) -> None:
    cid = _clinician(api, clinic)
    pids = [_patient(api, clinic, [cid], f"P{n:03d}", "Paged") for n in range(105)]
    critical = pids[-1]  # enrolled last: without the ranking it would be on the second page
    _post(api, critical, _glucose(45))
    stream_runner.drain()
    console = Console(api.client, issuer, "clinician", cid)

    first = text(console.get("/console"))
    rows = _rows(first)
    assert len(rows) == 100 and rows[0][0] == critical
    assert "(1\u2013100 of 105)" in first and 'href="/console?page=2" rel="next">Next 100</a>' in first
    second = text(console.get("/console?page=2"))
    assert len(_rows(second)) == 5 and 'href="/console" rel="prev">Previous 100</a>' in second
    assert {p for p, _, _ in rows} | {p for p, _, _ in _rows(second)} == set(pids)
    assert ">No patients on this page." in text(console.get("/console?page=3"))
    # "Not reviewed" is worked down as rows drop out of it: every row it keeps, on one page.
    unreviewed = text(console.get("/console?not_reviewed=1&page=2"))
    assert len(_rows(unreviewed)) == 105 and "Next 100" not in unreviewed and "Previous 100" not in unreviewed

    api_rows = _worklist_json(api, cid)  # the API answers the whole panel
    assert len(api_rows) == 105


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1001", "²", "1.5"])
def test_a_page_that_cannot_be_one_is_a_400_naming_page(panel: dict[str, Any], page: str) -> None:
    answer = panel["console"].get(f"/console?page={urllib.parse.quote(page)}")
    assert answer.status_code == 400 and "page" in text(answer)


def test_the_filters_stay_on_the_other_pages() -> None:
    from chalicelib.console.pages.worklist import page_link

    assert page_link({"bucket": "low", "page": "2", "member": ""}, 3) == "/console?bucket=low&page=3"
    assert page_link({"bucket": "low", "page": "2"}, 1) == "/console?bucket=low"
