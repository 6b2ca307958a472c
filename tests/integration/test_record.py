"""The 360° view in-process against moto: timeline, notes, trends, chart, care time, RPM billing."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import Api, body, enrol_for_rpm, patient_body

ZONE = "America/Chicago"


def _runner(app: Any) -> Any:
    from chalicelib import bootstrap
    from devstack.runner import LocalEventRunner

    c = bootstrap.container()
    return LocalEventRunner(
        app, c.client("dynamodb"), c.client("dynamodbstreams"), c.client("sqs"), c.settings.table_name
    )


def _glucose(value: float | None, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "before_meal",
        "measured_at": at.isoformat(),
        "source": "device",
        "device_id": "meter-1",
        **extra,
    }


def _bp(systolic: int, diastolic: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "unit": "mmHg",
        "measured_at": at.isoformat(),
        "source": "device",
        "device_id": "cuff-1",
        **extra,
    }


class Requests:
    """Counts the DynamoDB operations the container's client makes (a botocore hook, nothing patched)."""

    def __init__(self) -> None:
        from chalicelib import bootstrap

        self.client = bootstrap.container().client("dynamodb")
        self.calls: list[str] = []

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def __enter__(self) -> Requests:
        self.client.meta.events.register("before-call.dynamodb", self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        self.client.meta.events.unregister("before-call.dynamodb", self._count)


def _sent_on_the_day(pid: str, reading: dict[str, Any]) -> None:
    """Record ``reading`` as the API would had it arrived a minute after it was measured."""
    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role
    from chalicelib.domain.timeutil import parse_iso
    from chalicelib.services.readings import ReadingService

    c = bootstrap.container()
    arrived = parse_iso(reading["measured_at"]) + timedelta(minutes=1)
    service = ReadingService(c.reading_store, c.patients, c.audit, c.cursors, lambda: arrived, bootstrap.new_id, 0)
    assert service.record(Principal(pid, Role.PATIENT, "on-the-day"), pid, reading).status == 201


@pytest.fixture(scope="module")
def patient(api: Api, app: Any, clinic: dict[str, Any], stream_runner: Any) -> dict[str, Any]:
    """18 local days of device glucose, an SMS-entered and a manual reading, BP on 3 days; stream drained."""
    pid = f"p-360-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, timezone=ZONE, language="en", care_team=["c-1"], phone="+1555" + str(uuid.uuid4().int)[:7])
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    now = datetime.now(UTC) - timedelta(minutes=2)
    since = (now - timedelta(days=45)).astimezone(ZoneInfo(ZONE)).date().isoformat()
    enrol_for_rpm(api, pid, clinic["c1"], {"meter-1": "glucometer", "cuff-1": "bp_cuff"}, since)
    # The meter sends each reading a minute after it is taken: only readings received within 24 h of
    # measurement make device days (F6), so these arrive "on their day" through a service on that clock.
    for n in range(18):
        _sent_on_the_day(pid, _glucose(100 + n * 10, now - timedelta(days=n)))  # 100..270
    readings = [_glucose(60, now - timedelta(days=1, minutes=5))]
    readings.append(_glucose(50, now - timedelta(days=1, minutes=9), source="manual", device_id=None))
    readings.append(_glucose(None, now - timedelta(days=2, minutes=9), meter_flag="LO"))
    readings.append(_glucose(140, now - timedelta(days=40, minutes=9), source="app", device_id=None))
    for n, (s, d) in enumerate([(150, 95), (128, 78), (126, 70)]):
        readings.append(_bp(s, d, now - timedelta(days=n, minutes=3)))
    for reading in readings:
        response = api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid))
        assert response.status_code == 201, response.body
    stream_runner.drain()
    _runner(app).drain()  # a second consumer from the start of the stream: every record delivered again
    days = [(now - timedelta(days=n)).astimezone(ZoneInfo(ZONE)).date().isoformat() for n in range(18)]
    return {"pid": pid, "me": ("patient", pid), "days": days, "now": now}


# -- trends ---------------------------------------------------------------------------


def test_glucose_trend_in_local_days_counts_each_reading_once_and_reads_one_query(
    api: Api, patient: dict[str, Any]
) -> None:
    with Requests() as requests:
        response = api.call("GET", f"/patients/{patient['pid']}/trends?type=blood_glucose&days=14", as_=patient["me"])
    assert response.status_code == 200, response.body
    trend = body(response)
    # 14 device days (100..230), the 60 and the manual 50 on day 1, LO on day 2 — after two stream deliveries.
    assert trend["count"] == 17
    assert trend["days_with_readings"] == 14
    assert trend["min_mg_dl"] == 50 and trend["max_mg_dl"] == 230
    numbers = [100 + n * 10 for n in range(14)] + [60, 50]
    assert trend["mean_mg_dl"] == round(sum(numbers) / len(numbers), 1)
    assert trend["below_70_pct"] == round(100 * 3 / 17, 1)  # 60, 50, LO
    assert trend["below_54_pct"] == round(100 * 2 / 17, 1)  # 50, LO
    assert trend["time_in_range_pct"] == round(100 * 9 / 17, 1)  # 100..180
    assert trend["above_180_pct"] == round(100 * 5 / 17, 1)  # 190..230
    assert trend["above_250_pct"] == 0.0
    assert [d["date"] for d in trend["daily"]] == sorted(patient["days"][:14])
    day1 = next(d for d in trend["daily"] if d["date"] == patient["days"][1])
    assert (day1["count"], day1["min"], day1["max"]) == (3, 50, 110)
    # One profile read (scope), one Query for up to 14 buckets; the audit record goes to the audit table.
    assert requests.calls.count("Query") == 1
    assert requests.calls.count("GetItem") <= 1
    assert "Scan" not in requests.calls


def test_bp_trend_means_category_and_goal(api: Api, patient: dict[str, Any]) -> None:
    trend = body(api.call("GET", f"/patients/{patient['pid']}/trends?type=blood_pressure&days=7", as_=patient["me"]))
    assert trend["count"] == 3
    assert (trend["mean_systolic"], trend["mean_diastolic"]) == (134.7, 81.0)
    assert trend["category_of_mean"] == "stage_1"
    assert trend["at_goal_pct"] == round(100 * 2 / 3, 1)
    assert trend["days_with_readings"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?type=blood_glucose&days=10", "days"),
        ("?type=weight", "type"),
        ("", "type"),
        ("?type=blood_glucose&days=x", "days"),
    ],
)
def test_bad_trend_queries_name_the_field(api: Api, patient: dict[str, Any], query: str, field: str) -> None:
    response = api.call("GET", f"/patients/{patient['pid']}/trends{query}", as_=patient["me"])
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body(response)["errors"][0]["field"] == field


def test_trends_are_scoped(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    path = f"/patients/{patient['pid']}/trends?type=blood_glucose"
    assert api.call("GET", path, as_=("patient", "p-stranger")).status_code == 404
    assert api.call("GET", path, as_=clinic["c2"]).status_code == 404
    assert api.call("GET", path, as_=clinic["c1"]).status_code == 200


def test_chart_is_an_svg_with_the_band_and_local_dates(api: Api, patient: dict[str, Any]) -> None:
    response = api.call(
        "GET", f"/patients/{patient['pid']}/trends/chart.svg?type=blood_glucose&days=30", as_=patient["me"]
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    svg = response.body.decode() if isinstance(response.body, bytes) else response.body
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg")
    assert "Target 70-180" in svg and "Above 180" in svg
    oldest = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() - timedelta(days=29)
    assert f">{oldest.strftime('%b')} {oldest.day}<" in svg  # the window's first local date labels the axis
    assert "<script" not in svg  # nothing loaded from elsewhere
    assert "Below 54" in svg and "Meter LO" in svg  # the 50 and the LO of the last days are marked
    bp = api.call("GET", f"/patients/{patient['pid']}/trends/chart.svg?type=blood_pressure&days=7", as_=patient["me"])
    assert bp.status_code == 200 and "Systolic" in (bp.body.decode() if isinstance(bp.body, bytes) else bp.body)


def test_the_chart_band_is_the_patients_own_targets(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-360-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, timezone=ZONE, language="en", phone="+1555" + str(uuid.uuid4().int)[:7])
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    personal = {
        "glucose_profile": "older_very_complex",
        "glucose": {"low": 80},
        "blood_pressure": {"systolic_high": 130},
    }
    assert api.call("PUT", f"/patients/{pid}/targets", personal, as_=clinic["c1"]).status_code == 200

    glucose = api.call("GET", f"/patients/{pid}/trends/chart.svg?type=blood_glucose&days=7", as_=clinic["c1"])
    bp = api.call("GET", f"/patients/{pid}/trends/chart.svg?type=blood_pressure&days=7", as_=clinic["c1"])

    texts = [r.body.decode() if isinstance(r.body, bytes) else r.body for r in (glucose, bp)]
    assert "Target 80-200" in texts[0] and "Target 70-180" not in texts[0]
    assert "Systolic 90-130" in texts[1]


# -- timeline ---------------------------------------------------------------------------


def test_timeline_is_newest_first_pages_and_filters_by_kind(
    api: Api, patient: dict[str, Any], clinic: dict[str, Any]
) -> None:
    pid = patient["pid"]
    note = api.call("POST", f"/patients/{pid}/notes", {"text": "Discussed evening snacks."}, as_=clinic["c1"])
    assert note.status_code == 201, note.body
    everything = body(api.call("GET", f"/patients/{pid}/timeline?limit=500", as_=clinic["c1"]))["items"]
    assert everything[0]["kind"] == "note" and "evening snacks" in everything[0]["summary"]
    times = [e["at"] for e in everything]
    assert times == sorted(times, reverse=True)
    readings = [e for e in everything if e["kind"] == "reading"]
    assert len(readings) == 25  # each reading once, though the stream delivered it twice
    assert any("Glucose 60 mg/dL before meal" in e["summary"] for e in readings)

    # pages of 7 walk the same events in the same order
    walked, cursor = [], None
    while True:
        query = f"?limit=7&cursor={cursor}" if cursor else "?limit=7"
        page = body(api.call("GET", f"/patients/{pid}/timeline{query}", as_=clinic["c1"]))
        walked += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert walked == everything

    only = body(api.call("GET", f"/patients/{pid}/timeline?kinds=note,consent_changed&limit=500", as_=clinic["c1"]))
    assert {e["kind"] for e in only["items"]} <= {"note", "consent_changed"}
    assert [e for e in everything if e["kind"] in ("note", "consent_changed")] == only["items"]

    walked, cursor = [], None
    while True:
        query = f"&cursor={cursor}" if cursor else ""
        page = body(api.call("GET", f"/patients/{pid}/timeline?kinds=reading&limit=10{query}", as_=clinic["c1"]))
        walked += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert walked == readings


def test_timeline_time_window_and_request_count(api: Api, patient: dict[str, Any]) -> None:
    pid = patient["pid"]
    everything = body(api.call("GET", f"/patients/{pid}/timeline?limit=500", as_=patient["me"]))["items"]
    middle = everything[len(everything) // 2]["at"]
    with Requests() as requests:
        newer = body(api.call("GET", f"/patients/{pid}/timeline?from={middle}&limit=500", as_=patient["me"]))["items"]
    assert newer == [e for e in everything if e["at"] >= middle]
    assert requests.calls.count("Query") == 1
    older = body(api.call("GET", f"/patients/{pid}/timeline?to={middle}&limit=500", as_=patient["me"]))["items"]
    assert older == [e for e in everything if e["at"] <= middle]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("?kinds=reading,gossip", 400, "kinds"),
        ("?from=yesterday", 400, "from"),
        ("?from=2026-11-20T00:00:00Z&to=2026-11-01T00:00:00Z", 422, "from"),
        ("?limit=0", 400, "limit"),
        ("?cursor=abc.def", 400, "cursor"),
    ],
)
def test_bad_timeline_queries(api: Api, patient: dict[str, Any], query: str, status: int, field: str) -> None:
    response = api.call("GET", f"/patients/{patient['pid']}/timeline{query}", as_=patient["me"])
    assert response.status_code == status, response.body
    assert body(response)["errors"][0]["field"] == field


def test_timeline_scope_and_cursor_binding(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    pid = patient["pid"]
    assert api.call("GET", f"/patients/{pid}/timeline", as_=("patient", "p-stranger")).status_code == 404
    assert api.call("GET", f"/patients/{pid}/timeline", as_=clinic["c2"]).status_code == 404
    cursor = body(api.call("GET", f"/patients/{pid}/timeline?limit=1", as_=clinic["c1"]))["next_cursor"]
    assert cursor
    other = api.call("GET", f"/patients/p-1/timeline?limit=1&cursor={cursor}", as_=clinic["admin"])
    assert other.status_code == 400
    # the same cursor with a different filter is refused too
    assert api.call("GET", f"/patients/{pid}/timeline?kinds=note&cursor={cursor}", as_=clinic["c1"]).status_code == 400


def test_notes_are_for_the_care_team(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    pid = patient["pid"]
    assert api.call("POST", f"/patients/{pid}/notes", {"text": "hi"}, as_=patient["me"]).status_code == 403
    assert api.call("POST", f"/patients/{pid}/notes", {"text": "hi"}, as_=clinic["c2"]).status_code == 404
    empty = api.call("POST", f"/patients/{pid}/notes", {"text": ""}, as_=clinic["c1"])
    assert empty.status_code == 422 and body(empty)["errors"][0]["field"] == "text"
    assert api.call("POST", f"/patients/{pid}/notes", {"text": "ok"}, as_=clinic["admin"]).status_code == 201


# -- RPM billing -------------------------------------------------------------------------


def _month_row(api: Api, who: tuple[str, str], pid: str, month: str) -> dict[str, Any] | None:
    cursor, rows = None, []
    while True:
        query = f"&cursor={cursor}" if cursor else ""
        response = api.call("GET", f"/billing/rpm?month={month}&limit=100{query}", as_=who)
        assert response.status_code == 200, response.body
        page = body(response)
        rows += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return next((r for r in rows if r["patient_id"] == pid), None)


def test_device_days_care_time_and_codes(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    pid = patient["pid"]
    local_now = datetime.now(UTC).astimezone(ZoneInfo(ZONE))
    month = local_now.strftime("%Y-%m")
    expected_days = len({d for d in patient["days"] if d.startswith(month)})  # manual/app-without-device excluded
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    entry = {"minutes": 25, "interactive": True, "activity": "call", "at": at}
    first = api.call("POST", f"/patients/{pid}/care-time", entry, as_=clinic["c1"])
    assert first.status_code == 201, first.body
    again = api.call("POST", f"/patients/{pid}/care-time", entry, as_=clinic["c1"])
    assert again.status_code == 200 and body(again) == body(first)  # a retry adds nothing
    changed = api.call("POST", f"/patients/{pid}/care-time", {**entry, "minutes": 30}, as_=clinic["c1"])
    assert changed.status_code == 409
    later = {
        **entry,
        "at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "minutes": 16,
        "interactive": False,
    }
    assert api.call("POST", f"/patients/{pid}/care-time", later, as_=clinic["c1"]).status_code == 201

    row = _month_row(api, clinic["c1"], pid, month)
    assert row is not None
    assert row["device_days"] == expected_days
    assert row["device_code"] == ("99454" if expected_days >= 16 else "99445" if expected_days >= 2 else None)
    assert (row["care_minutes"], row["interactive"]) == (41, True)
    assert row["management_codes"] == ["99457", "99458"]
    assert _month_row(api, clinic["c2"], pid, month) is None  # not on c-2's panel
    assert _month_row(api, clinic["admin"], pid, month) == row


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"minutes": 0, "interactive": True, "activity": "call"}, "minutes"),
        ({"minutes": "12", "interactive": True, "activity": "call"}, "minutes"),
        ({"minutes": 12, "interactive": "yes", "activity": "call"}, "interactive"),
        ({"minutes": 12, "interactive": True, "activity": "Call!"}, "activity"),
        ({"minutes": 12, "interactive": True, "activity": "call", "at": "2099-01-01T00:00:00Z"}, "at"),
    ],
)
def test_bad_care_time_is_422(
    api: Api, patient: dict[str, Any], clinic: dict[str, Any], entry: dict[str, Any], field: str
) -> None:
    entry.setdefault("at", datetime.now(UTC).isoformat())
    response = api.call("POST", f"/patients/{patient['pid']}/care-time", entry, as_=clinic["c1"])
    assert response.status_code == 422, response.body
    assert body(response)["errors"][0]["field"] == field


def test_care_time_and_billing_roles(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    entry = {"minutes": 5, "interactive": True, "activity": "call", "at": datetime.now(UTC).isoformat()}
    assert api.call("POST", f"/patients/{patient['pid']}/care-time", entry, as_=patient["me"]).status_code == 403
    assert api.call("POST", f"/patients/{patient['pid']}/care-time", entry, as_=clinic["c2"]).status_code == 404
    assert api.call("GET", "/billing/rpm?month=2026-11", as_=patient["me"]).status_code == 403
    bad = api.call("GET", "/billing/rpm?month=2026-13", as_=clinic["c1"])
    assert bad.status_code == 400 and body(bad)["errors"][0]["field"] == "month"


def test_worklist_shows_device_days(api: Api, patient: dict[str, Any], clinic: dict[str, Any]) -> None:
    rows = body(api.call("GET", "/worklist", as_=clinic["c1"]))["items"]
    mine = next(r for r in rows if r["patient_id"] == patient["pid"])
    assert mine["device_days_last_30"] == 18


def test_a_billing_page_audits_every_patient_in_batches(api: Api, clinic: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:6]
    doctor = f"c-bill-{tag}"
    clinician = {"given_name": "Bo", "email": f"{doctor}@clinic.example"}
    assert api.call("PUT", f"/clinicians/{doctor}", clinician, as_=clinic["admin"]).status_code == 200
    panel = [f"p-bill-{tag}-{n:02d}" for n in range(27)]
    for pid in panel:
        enrolled = patient_body(pid, care_team=[doctor], phone=None, email=None)
        assert api.call("POST", "/patients", enrolled, as_=clinic["admin"]).status_code == 201

    with Requests() as requests:
        response = api.call("GET", "/billing/rpm?limit=100", as_=("clinician", doctor))
    rows = body(response)["items"]
    assert sorted(r["patient_id"] for r in rows) == panel
    assert requests.calls.count("PutItem") == 0  # was one audit PutItem per row
    # Conditional puts, 100 a transaction: the audit table allows PutItem alone (infra/, F4).
    assert requests.calls.count("TransactWriteItems") == -(-len(rows) // 100)
    assert len(requests.calls) <= 3 + -(-len(rows) // 100)  # panel, profiles, month items: nothing per patient
    audit = body(api.call("GET", f"/audit?patient_id={panel[-1]}&limit=500", as_=clinic["admin"]))["items"]
    assert [(a["action"], a["resource"], a["actor"]) for a in audit if a["resource"] == "billing"] == [
        ("read", "billing", doctor)
    ]


def test_a_reading_audited_but_not_yet_counted_is_counted_when_its_record_comes_again(
    api: Api, app: Any, clinic: dict[str, Any], stream_runner: Any
) -> None:
    """A first delivery that wrote the audit record but not the day's count (as the code before the counts
    rode in that transaction could leave it): the stream's redelivery counts the reading, once."""
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = f"p-cnt-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, timezone=ZONE, language="en", care_team=["c-1"], phone="+1555" + str(uuid.uuid4().int)[:7])
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    reading = _glucose(150, datetime.now(UTC) - timedelta(minutes=5), source="manual", device_id=None)
    assert api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid)).status_code == 201
    stream_runner.drain()
    day = datetime.fromisoformat(reading["measured_at"]).astimezone(ZoneInfo(ZONE)).date().isoformat()
    key = {"pk": {"S": f"PATIENT#{pid}"}, "sk": {"S": f"DAY#blood_glucose#{day}"}}
    c.client("dynamodb").delete_item(TableName=c.settings.table_name, Key=key)  # the count never written

    _runner(app).drain()  # a second consumer from the start of the stream: the record delivered again
    _runner(app).drain()  # and once more

    trend = body(api.call("GET", f"/patients/{pid}/trends?type=blood_glucose&days=7", as_=("patient", pid)))
    assert trend["count"] == 1 and trend["mean_mg_dl"] == 150
