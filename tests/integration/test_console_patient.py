"""The console's patient page against the emulators: what a clinician sees, the files it links, who may see it.

Readings are seeded through the JSON API at local noon of chosen days in the
patient's zone (a window's edges never depend on the hour the test runs), the
stream drained so the daily buckets exist, and the numbers below computed by
hand from those readings.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import Api, body, patient_body
from tests.integration.console_client import Console, text

ZONE = ZoneInfo("America/Sao_Paulo")
H2_ORDER = [
    "Alerts",
    "Glucose",
    "Blood pressure",
    "Readings",
    "Timeline",
    "Messages",
    "Reminders",
    "Targets",
    "Care time",
    "Notes",
]
SYMPTOM = '=HYPERLINK("http://evil.example","x")'


class Page(HTMLParser):
    """The parts of a page a test reads: headings, images, links, logbook rows, timeline items."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.h2: list[str] = []
        self.images: list[dict[str, str]] = []
        self.links: list[tuple[str, str]] = []  # (text, href)
        self.readings: list[str] = []  # reading ids of the logbook, in order
        self.cells: dict[str, list[str]] = {}  # glucose statistic -> its row's cells
        self.kinds: list[str] = []
        self.alerts: list[str] = []  # alert ids of the Alerts section, in order
        self.times: list[str] = []  # <time datetime> in the logbook, in order
        self._heading: str | None = None
        self._link: str | None = None
        self._stat: str | None = None
        self._cell: list[str] | None = None
        self._in_logbook = False
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("h1", "h2"):
            self._heading, self._text = tag, []
        elif tag == "img":
            self.images.append(a)
        elif tag == "a":
            self._link, self._text = a.get("href", ""), []
        elif tag == "tr" and "data-reading" in a:
            self.readings.append(a["data-reading"])
            self._in_logbook = True
        elif tag == "tr" and "data-stat" in a:
            self._stat = a["data-stat"]
            self.cells[self._stat] = []
        elif tag in ("td", "th") and self._stat is not None:
            self._cell = []
        elif tag == "time" and self._in_logbook:
            self.times.append(a["datetime"])
        elif tag == "li" and "data-alert" in a:
            self.alerts.append(a["data-alert"])
        elif tag == "li" and "data-kind" in a:
            self.kinds.append(a["data-kind"])

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            (self.h1 if tag == "h1" else self.h2).append(" ".join("".join(self._text).split()))
            self._heading = None
        elif tag == "a" and self._link is not None:
            self.links.append((" ".join("".join(self._text).split()), self._link))
            self._link = None
        elif tag in ("td", "th") and self._cell is not None and self._stat is not None:
            self.cells[self._stat].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._stat = None
            self._in_logbook = False

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def href(self, name: str) -> str:
        found = [href for text_, href in self.links if text_ == name]
        assert found, f"no link named {name!r} in {self.links}"
        return found[0]


def _noon(days_ago: int) -> datetime:
    """Local noon of the day ``days_ago`` local days before today, in the patient's zone."""
    today = datetime.now(UTC).astimezone(ZONE).date()
    return datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=ZONE)


def _glucose(value: float | None, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": f"r-{uuid.uuid4().hex[:16]}",
        "type": "blood_glucose",
        "unit": "mg/dL",
        "context": "before_meal",
        "measured_at": at.isoformat(),
        "source": "device",
        "device_id": "meter-1",
        **({"value": value} if value is not None else {}),
        **extra,
    }


def _bp(systolic: int, diastolic: int, at: datetime) -> dict[str, Any]:
    return {
        "reading_id": f"r-{uuid.uuid4().hex[:16]}",
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "unit": "mmHg",
        "measured_at": at.isoformat(),
        "source": "device",
        "device_id": "cuff-1",
    }


@pytest.fixture(scope="module")
def seeded(api: Api, clinic: dict[str, Any], stream_runner: Any) -> dict[str, Any]:
    """A patient of c-1 with readings in this 14-day window, the one before, and older; another of c-2."""
    pid = f"p-cp-{uuid.uuid4().hex[:8]}"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    sent = patient_body(pid, given_name="Marta", family_name="Quist", care_team=["c-1"], phone=phone)
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    other = f"p-cp-{uuid.uuid4().hex[:8]}"
    sent = patient_body(other, care_team=["c-2"], phone="+1555" + str(uuid.uuid4().int)[:7])
    assert api.call("POST", "/patients", sent, as_=clinic["c2"]).status_code == 201

    now = datetime.now(UTC) - timedelta(minutes=1)
    # This window (today and the 13 days before): 8 glucose readings, one of them now (it opens an alert).
    current = [
        _glucose(50, now),
        _glucose(65, _noon(1)),
        _glucose(100, _noon(1)),
        _glucose(150, _noon(2), symptoms=[SYMPTOM]),
        _glucose(180, _noon(2), device_id="=1+2"),
        _glucose(200, _noon(3)),
        _glucose(260, _noon(3)),
        _glucose(None, _noon(2), meter_flag="LO"),
    ]
    # The previous window (14 to 27 days ago): 4 readings on 2 days, all in range.
    previous = [_glucose(v, _noon(d)) for v, d in ((100, 15), (120, 15), (140, 20), (160, 20))]
    # Older than both windows: 12 more, so the logbook has more than one page (25 a page).
    older = [_glucose(110, _noon(40) - timedelta(hours=n)) for n in range(12)]
    bp = [_bp(150, 95, _noon(1)), _bp(130, 85, _noon(2)), _bp(120, 70, _noon(10)), _bp(140, 90, _noon(12))]
    for reading in current + previous + older + bp:
        response = api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid))
        assert response.status_code == 201, response.body
    stream_runner.drain()
    days_now = {datetime.fromisoformat(r["measured_at"]).astimezone(ZONE).date() for r in current}
    return {
        "pid": pid,
        "other": other,
        "current": current,
        "bp": bp,
        "all": current + previous + older + bp,
        "days_now": days_now,
    }


@pytest.fixture(scope="module")
def nurse(api: Api, clinic: dict[str, Any], issuer: Any) -> Console:
    return Console(api.client, issuer, "clinician", "c-1")


@pytest.fixture(scope="module")
def shown(nurse: Console, seeded: dict[str, Any]) -> tuple[Any, Page]:
    response = nurse.get(f"/console/patients/{seeded['pid']}")
    assert response.status_code == 200, text(response)
    return response, Page(text(response))


# -- the page -------------------------------------------------------------------------------


def test_the_page_names_the_patient_and_its_sections_in_order(shown: tuple[Any, Page]) -> None:
    response, page = shown
    assert page.h1 == ["Marta Quist"]
    assert page.h2 == H2_ORDER
    ids = re.findall(r'\sid="([^"]+)"', text(response))
    assert len(ids) == len(set(ids)), "an id is used twice"
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = text(response)
    assert "diabetes, hypertension" in html and "c-1" in html  # conditions and care team in the header


def test_alerts_shows_open_and_acknowledged_and_the_header_counts_the_open(
    api: Api, nurse: Console, seeded: dict[str, Any], clinic: dict[str, Any]
) -> None:
    pid = seeded["pid"]
    listed = body(api.call("GET", f"/alerts?patient_id={pid}&status=open", as_=clinic["c1"]))["items"]
    assert listed  # the 50 mg/dL of now opened a critical alert (the late readings, routine ones)
    page = Page(text(nurse.get(f"/console/patients/{pid}")))
    assert (str(len(listed)), "#alerts") in page.links
    assert sorted(page.alerts) == sorted(a["alert_id"] for a in listed)
    first = listed[-1]["alert_id"]
    html = text(nurse.get(f"/console/patients/{pid}"))
    assert f'name="back" value="/console/patients/{pid}"' in html  # a plain form comes back here
    back = f"/console/patients/{pid}"
    acted = nurse.post(f"/console/alerts/{first}/acknowledge", {"note": "Called her", "back": back})
    assert acted.status_code == 303 and acted.headers["Location"] == f"/console/patients/{pid}"
    html = text(nurse.get(f"/console/patients/{pid}"))
    page = Page(html)
    assert "Called her" in html  # the card shows the acknowledgement's note
    assert (str(len(listed) - 1), "#alerts") in page.links
    assert sorted(page.alerts) == sorted(a["alert_id"] for a in listed)  # acknowledged, still shown
    assert page.alerts[-1] == first  # after the open ones


def test_glucose_statistics_of_the_window_against_the_previous_one(
    shown: tuple[Any, Page], seeded: dict[str, Any]
) -> None:
    # This window: 50 65 100 150 180 200 260 LO (8 readings, 7 numbers); before: 100 120 140 160 on 2 days.
    cells = shown[1].cells
    days = len(seeded["days_now"])  # 4, or 3 in the minute after local midnight (the 50 is "now")
    assert cells["readings_per_day"] == ["Readings per day", "0.6", "0.3", "+0.3"]  # 8/14, 4/14
    assert cells["days_with_readings"] == ["Days with readings", f"{days} / 14", "2 / 14", f"+{days - 2}"]
    assert cells["mean"] == ["Mean (mg/dL)", "144", "130", "+14"]  # 1005/7 = 143.6; 520/4
    assert cells["below_54"] == ["Below 54 mg/dL", "25.0 %", "0.0 %", "+25.0 pts"]  # 50, LO
    assert cells["below_70"] == ["Below 70 mg/dL", "37.5 %", "0.0 %", "+37.5 pts"]  # 50, 65, LO
    assert cells["in_range"] == ["70\u2013180 mg/dL (in range)", "37.5 %", "100.0 %", "\u221262.5 pts"]  # 100 150 180
    assert cells["above_180"] == ["Above 180 mg/dL", "25.0 %", "0.0 %", "+25.0 pts"]  # 200, 260
    assert cells["above_250"] == ["Above 250 mg/dL", "12.5 %", "0.0 %", "+12.5 pts"]  # 260
    assert "GMI" not in text(shown[0])


def test_blood_pressure_means_and_share_at_or_above_target(shown: tuple[Any, Page]) -> None:
    html = " ".join(text(shown[0]).split())
    # 150/95 and 130/85 in the last 7 days; 120/70 and 140/90 too in the window; default target 140/90.
    assert "7-day mean (mmHg)</dt> <dd>140/90</dd>" in html
    assert "14-day mean (mmHg)</dt> <dd>135/85</dd>" in html
    assert "At or above target (140/90)</dt> <dd>50.0 %</dd>" in html  # 150/95 and 140/90


def test_the_charts_are_images_named_for_what_they_show(shown: tuple[Any, Page]) -> None:
    alts = {img["src"]: img["alt"] for img in shown[1].images}
    glucose = next(src for src in alts if "/charts/glucose.svg" in src)
    bp = next(src for src in alts if "/charts/bp.svg" in src)
    assert "Glucose" in alts[glucose] and "8 readings, 3 below 70 mg/dL" in alts[glucose]
    assert "Blood pressure" in alts[bp] and "4 readings, 2 at or above target" in alts[bp]
    assert glucose.endswith("?days=14") and bp.endswith("?days=14")


@pytest.mark.parametrize(("chart", "name"), [("glucose", "Glucose"), ("bp", "Blood pressure")])
def test_chart_endpoints_answer_svg_with_the_accessible_name(
    nurse: Console, seeded: dict[str, Any], chart: str, name: str
) -> None:
    response = nurse.get(f"/console/patients/{seeded['pid']}/charts/{chart}.svg?days=14")
    assert response.status_code == 200, text(response)
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    svg = ET.fromstring(response.body)
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text is not None and title.text.startswith(name)
    assert "<script" not in text(response) and "style=" not in text(response)


def test_the_glucose_chart_draws_every_reading_of_the_window(nurse: Console, seeded: dict[str, Any]) -> None:
    svg = text(nurse.get(f"/console/patients/{seeded['pid']}/charts/glucose.svg?days=14"))
    assert "8 readings over 14 days; 3 below 70 mg/dL, 2 below 54 mg/dL" in svg
    svg = text(nurse.get(f"/console/patients/{seeded['pid']}/charts/glucose.svg?days=30"))
    assert "12 readings over 30 days" in svg  # the previous window's 4 too


def test_a_window_outside_7_14_30_90_is_a_400_naming_days(nurse: Console, seeded: dict[str, Any]) -> None:
    for path in ("", "/charts/glucose.svg", "/readings.csv"):
        response = nurse.get(f"/console/patients/{seeded['pid']}{path}?days=15")
        assert response.status_code == 400
        assert "days" in text(response)


def test_another_window_is_chosen_by_link(nurse: Console, seeded: dict[str, Any], shown: tuple[Any, Page]) -> None:
    assert shown[1].href("7 days") == f"/console/patients/{seeded['pid']}?days=7"
    page = Page(text(nurse.get(shown[1].href("7 days"))))
    assert page.cells["readings_per_day"][1] == "1.1"  # 8 readings / 7 days
    assert any(img["src"].endswith("?days=7") for img in page.images)


# -- the logbook ------------------------------------------------------------------------------


def test_the_logbook_is_newest_first_and_pages_with_older_readings(
    nurse: Console, seeded: dict[str, Any], shown: tuple[Any, Page]
) -> None:
    first = shown[1]
    assert len(first.readings) == 25
    assert first.times == sorted(first.times, reverse=True)
    newest = max(seeded["all"], key=lambda r: datetime.fromisoformat(r["measured_at"]))
    assert first.readings[0] == newest["reading_id"]
    second = Page(text(nurse.get(first.href("Older readings"))))
    assert len(second.readings) == 3
    assert min(first.times) >= max(second.times)
    assert "Older readings" not in [name for name, _ in second.links]
    assert sorted(first.readings + second.readings) == sorted(r["reading_id"] for r in seeded["all"])
    assert second.href("Newest readings").endswith("#readings")


def test_the_timeline_is_newest_first_and_paged(nurse: Console, shown: tuple[Any, Page]) -> None:
    page = shown[1]
    assert len(page.kinds) == 25 and "reading" in page.kinds
    older = Page(text(nurse.get(page.href("Older events"))))
    assert older.kinds  # 32 readings, an alert and its pages: more than a page


# -- downloads --------------------------------------------------------------------------------


def test_csv_of_readings_is_an_attachment_safe_in_a_spreadsheet(
    nurse: Console, seeded: dict[str, Any], shown: tuple[Any, Page]
) -> None:
    url = shown[1].href("CSV of readings")
    assert url == f"/console/patients/{seeded['pid']}/readings.csv?days=14"
    response = nurse.get(url)
    assert response.status_code == 200, text(response)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="readings-')
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["time_local", "time_utc", "type", "value"]
    assert len(rows) - 1 == len(seeded["current"]) + len(seeded["bp"])  # the window's 12, not the older 16
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    cells = {cell for row in rows for cell in row}
    assert "'" + SYMPTOM in cells and "'device (=1+2)" not in cells and "device (=1+2)" in cells
    times = [row[1] for row in rows[1:]]
    assert times == sorted(times, reverse=True)


def test_fhir_export_is_a_download_of_the_apis_bundle(
    api: Api, nurse: Console, seeded: dict[str, Any], clinic: dict[str, Any], shown: tuple[Any, Page]
) -> None:
    url = shown[1].href("FHIR export")
    response = nurse.get(url)
    assert response.status_code == 200, text(response)
    assert response.headers["Content-Type"] == "application/fhir+json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="patient-{seeded["pid"]}-fhir.json"'
    assert response.headers["Cache-Control"] == "no-store"
    bundle = json.loads(response.body)
    assert bundle["resourceType"] == "Bundle"
    assert len(bundle["entry"]) == 1 + len(seeded["all"])
    via_api = body(api.call("GET", f"/patients/{seeded['pid']}/export", as_=clinic["c1"]))
    assert [e["fullUrl"] for e in bundle["entry"]] == [e["fullUrl"] for e in via_api["entry"]]


# -- access and audit -------------------------------------------------------------------------

PATHS = ("", "/charts/glucose.svg", "/charts/bp.svg", "/readings.csv", "/export.json")


@pytest.mark.parametrize("path", PATHS)
def test_another_clinicians_patient_is_not_found(nurse: Console, seeded: dict[str, Any], path: str) -> None:
    response = nurse.get(f"/console/patients/{seeded['other']}{path}")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Quist" not in text(response)


@pytest.mark.parametrize("path", PATHS)
def test_a_patient_session_is_refused(api: Api, issuer: Any, seeded: dict[str, Any], path: str) -> None:
    me = Console(api.client, issuer, "patient", seeded["pid"])
    response = me.get(f"/console/patients/{seeded['pid']}{path}")
    assert response.status_code == 403


def test_without_a_session_the_page_sends_to_sign_in(api: Api, seeded: dict[str, Any]) -> None:
    response = api.client.http.get(f"/console/patients/{seeded['pid']}", headers={"Host": "console.test"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/console/sign-in?next=")


def test_a_page_view_is_audited_like_the_apis_reads(
    api: Api, nurse: Console, seeded: dict[str, Any], clinic: dict[str, Any]
) -> None:
    pid = seeded["pid"]
    marker = datetime.now(UTC).isoformat()
    assert nurse.get(f"/console/patients/{pid}").status_code == 200
    assert nurse.get(f"/console/patients/{pid}/charts/glucose.svg").status_code == 200
    query = urllib.parse.urlencode({"patient_id": pid, "actor": "c-1", "limit": 200})
    entries = body(api.call("GET", f"/audit?{query}", as_=clinic["admin"]))["items"]
    seen = {(e["action"], e["resource"]) for e in entries if e["at"] >= marker[:19]}
    assert {
        ("read", "patient"),
        ("read", "consent"),
        ("read", "targets"),
        ("list", "alert"),
        ("read", "trend"),
        ("list", "reading"),
        ("list", "timeline"),
    } <= seen


def test_the_header_shows_age_and_mrn_when_recorded(api: Api, nurse: Console, clinic: dict[str, Any]) -> None:
    pid = f"p-cp-{uuid.uuid4().hex[:8]}"
    today = datetime.now(UTC).astimezone(ZONE).date()
    born = date(today.year - 70, 1, 1) if (today.month, today.day) != (1, 1) else date(today.year - 71, 1, 2)
    sent = patient_body(
        pid, care_team=["c-1"], phone="+1555" + str(uuid.uuid4().int)[:7], birth_date=born.isoformat(), mrn="MRN-0042"
    )
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201, "enrolled"
    html = " ".join(text(nurse.get(f"/console/patients/{pid}")).split())
    assert f'Age</dt> <dd>70 years <span class="muted">(born {born.isoformat()})</span>' in html
    assert "MRN</dt> <dd>MRN-0042</dd>" in html


def test_age_is_whole_years_on_the_day() -> None:
    from chalicelib.console.pages.patient import age_on
    from chalicelib.domain.patients import Patient

    moment = datetime(2025, 1, 1, tzinfo=UTC)
    patient = Patient.model_validate(
        {**patient_body("p-x"), "birth_date": "1960-03-15", "created_at": moment, "updated_at": moment}
    )
    assert age_on(patient, date(2025, 3, 14)) == 64
    assert age_on(patient, date(2025, 3, 15)) == 65
    assert age_on(patient.model_copy(update={"birth_date": None}), date(2025, 3, 15)) is None
