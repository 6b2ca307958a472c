"""Console page: one patient read whole, and the files it links (charts, CSV of readings, FHIR export).

Every read goes through the services the API uses, with the signed-in principal, so the access
rules (404 outside the panel) and the audit trail are the API's: ``patients.get`` (the header),
``patients.list_consents``, ``patients.get_targets``, ``alerts.page``, ``readings.history``
(logbook, charts, CSV), ``readings.export`` and ``record.timeline``.  The console is for the care
team: a patient or caregiver session gets 403 before anything is read.

Cost (docs/console.md "Fast"): the page never reads the window's readings.  Its statistics come
from the daily buckets (one Query per reading type; glucose over twice the window, once, for the
change against the previous window), the logbook and the timeline are one page each.  Only the
chart and CSV endpoints read the window's readings, page by page through the reading history
(a Query on the time index per page, never one per day).  After the patient (whose zone fixes the
window) the page's reads are independent, and run side by side (chalicelib/readers.py).
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from chalice import Response

from chalicelib import readers
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.console.pages import patient_actions
from chalicelib.console.web import Visit, bp, error_page, file_response, page, render, staff
from chalicelib.domain import console_stats, trends
from chalicelib.domain.errors import FieldError, MalformedRequestError, RecordTooLargeError
from chalicelib.domain.identity import Principal
from chalicelib.domain.patients import Consent, Patient
from chalicelib.domain.readings import Reading
from chalicelib.domain.targets import Targets
from chalicelib.domain.timeline import TimelineEvent
from chalicelib.domain.timeutil import iso, parse_iso

WINDOWS = trends.WINDOWS  # 7, 14, 30, 90 local days, as the API's trends
DEFAULT_DAYS = 14
LOGBOOK_PAGE = 25
TIMELINE_PAGE = 25
ALERTS_SHOWN = 100
HISTORY_PAGE = 500  # the API's largest page: a 90-day window of 10k readings is 20 Queries
MAX_HISTORY_PAGES = 200  # 100k readings: far beyond any window of fingersticks; bounds a runaway loop
GLUCOSE, BLOOD_PRESSURE = "blood_glucose", "blood_pressure"
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


# -- request parsing --------------------------------------------------------------------------


def window_days(query: dict[str, str]) -> int:
    """``?days=``: 7, 14, 30 or 90 (14 when absent); anything else is a 400 naming ``days``."""
    raw = query.get("days")
    if raw is None or raw == "":
        return DEFAULT_DAYS
    if raw not in {str(d) for d in WINDOWS}:
        raise MalformedRequestError("Unknown window.", [FieldError("days", "one of 7, 14, 30, 90")])
    return int(raw)


def window_of(patient: Patient, days: int) -> trends.Window:
    """The ``days`` local days ending today in the patient's zone (the trends' and the buckets' days)."""
    return trends.Window.ending(container().clock(), patient.timezone, days)


def window_start(window: trends.Window, zone: tzinfo) -> str:
    """The first moment of the window's first local day, as the reading history's ``from``."""
    return iso(datetime.combine(window.first, time.min, tzinfo=zone))


# -- formatting (pure) ------------------------------------------------------------------------


def local_time(moment: datetime, zone: tzinfo) -> str:
    """A moment as the patient's wall clock reads it, with the zone's abbreviation (``2025-03-14 07:32 -03``)."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local:%Z}".strip()


def number(value: float | None, places: int = 1) -> str:
    if value is None:
        return "—"
    text = f"{value:.{places}f}"
    return "0" if places == 0 and text == "-0" else text


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def change(value: float | None, places: int = 1, unit: str = "") -> str:
    """A difference with its sign (a minus sign, not a hyphen); an em dash when there is nothing to compare."""
    if value is None:
        return "—"
    rounded = round(value, places)
    if rounded == 0:
        return f"±{0:.{places}f}{unit}"
    sign = "+" if rounded > 0 else "\u2212"  # a minus sign, not a hyphen
    return f"{sign}{abs(rounded):.{places}f}{unit}"


def age_on(patient: Patient, today: date) -> int | None:
    """Whole years since the patient's birth date (None when the care team has not recorded it)."""
    born = patient.birth_date
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR, LF) gets a ``'`` before it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


SEVERITY_FLAG = {
    "critical_low": "critical",
    "critical_high": "critical",
    "low": "warn",
    "high": "warn",
    "elevated": "warn",
    "normal": "ok",
}


@dataclass(frozen=True)
class LogbookRow:
    """One reading as the logbook and the CSV show it."""

    reading_id: str
    at_utc: str
    at_local: str
    type: str
    value: str
    unit: str
    context: str
    source: str
    severity: str
    category: str
    flags: str
    symptoms: str

    @property
    def flag(self) -> str:
        return SEVERITY_FLAG.get(self.severity, "muted")


def _plain(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def logbook_row(reading: Reading, zone: tzinfo) -> LogbookRow:
    if reading.type == GLUCOSE:
        value = reading.meter_flag or _plain(reading.value)
    else:
        value = f"{_plain(reading.systolic)}/{_plain(reading.diastolic)}"
        if reading.pulse is not None:
            value += f", pulse {_plain(reading.pulse)}"
    c = reading.classification
    return LogbookRow(
        reading_id=reading.reading_id,
        at_utc=iso(reading.measured_at),
        at_local=local_time(reading.measured_at, zone),
        type=reading.type,
        value=value,
        unit=reading.unit,
        context=reading.context or "",
        source=reading.source + (f" ({reading.device_id})" if reading.device_id else ""),
        severity=c.severity,
        category=c.category,
        flags=", ".join(c.flags),
        symptoms=", ".join(reading.symptoms),
    )


CSV_HEADER = (
    "time_local",
    "time_utc",
    "type",
    "value",
    "unit",
    "context",
    "source",
    "severity",
    "category",
    "flags",
    "symptoms",
    "reading_id",
)


def readings_csv(rows: list[LogbookRow]) -> str:
    """The rows as CSV (RFC 4180, CRLF), every cell safe to open in a spreadsheet; a BOM so Excel reads UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            safe_cell(v)
            for v in (
                r.at_local,
                r.at_utc,
                r.type,
                r.value,
                r.unit,
                r.context,
                r.source,
                r.severity,
                r.category,
                r.flags,
                r.symptoms,
                r.reading_id,
            )
        )
    return "\ufeff" + out.getvalue()


@dataclass(frozen=True)
class StatRow:
    key: str
    current: str
    previous: str
    change: str


def glucose_rows(stats: console_stats.GlucoseStats) -> list[StatRow]:
    """The Glucose table: this window, the previous one and the change, rounded for display only."""
    now, before, diff = stats.current, stats.previous, stats.change
    rows = [
        StatRow(
            "readings_per_day",
            number(now.readings_per_day),
            number(before.readings_per_day),
            change(diff.readings_per_day),
        ),
        StatRow(
            "days_with_readings",
            f"{now.days_with_readings} / {now.days}",
            f"{before.days_with_readings} / {before.days}",
            change(diff.days_with_readings, 0),
        ),
        StatRow("mean", number(now.mean_mg_dl, 0), number(before.mean_mg_dl, 0), change(diff.mean_mg_dl, 0)),
    ]
    for key in ("below_54", "below_70", "in_range", "above_180", "above_250"):
        rows.append(
            StatRow(
                key,
                percent(getattr(now, f"{key}_pct")),
                percent(getattr(before, f"{key}_pct")),
                change(getattr(diff, f"{key}_pct"), 1, " pts"),
            )
        )
    return rows


def below_70_count(summary: console_stats.GlucoseSummary) -> int:
    """How many readings were below 70 (the summary keeps the exact share of its count)."""
    return round((summary.below_70_pct or 0.0) * summary.count / 100)


def bp_text(systolic: float | None, diastolic: float | None) -> str:
    if systolic is None or diastolic is None:
        return "—"
    return f"{systolic:.0f}/{diastolic:.0f}"


def with_query(path: str, **params: str | int | None) -> str:
    chosen = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return path + ("?" + urllib.parse.urlencode(chosen) if chosen else "")


# -- reads ------------------------------------------------------------------------------------


def window_readings(
    caller: Principal, patient_id: str, reading_type: str | None, window: trends.Window, zone: tzinfo
) -> list[Reading]:
    """The window's readings, newest first, through the reading history page by page (each page audited)."""
    history = container().readings.history
    start = window_start(window, zone)
    found: list[Reading] = []
    cursor: str | None = None
    for _ in range(MAX_HISTORY_PAGES):
        items, cursor = history(caller, patient_id, reading_type, start, None, HISTORY_PAGE, cursor)
        found += items
        if cursor is None:
            break
    return found


def consent_rows(patient: Patient, consents: list[Consent]) -> list[dict[str, Any]]:
    """Each channel the patient uses (then any other with a consent on file) and where its consent stands."""
    by_channel = {c.channel: c for c in consents}
    channels = list(patient.channels) + sorted(set(by_channel) - set(patient.channels))
    rows = []
    for channel in channels:
        consent = by_channel.get(channel)
        if consent is None:
            state = "none"
        elif consent.opted_out:
            state = "opted_out"
        else:
            state = "granted" if consent.granted else "refused"
        rows.append(
            {
                "channel": channel,
                "preferred": channel in patient.channels,
                "state": state,
                "consent": consent,
                # Its provider reported the address gone (a hard bounce, an invalid number): skipped until it changes.
                "unreachable": channel in patient.unreachable_channels,
            }
        )
    return rows


def _event_row(event: TimelineEvent, zone: tzinfo) -> dict[str, Any]:
    try:
        at = parse_iso(event.at)
        shown = local_time(at, zone)
    except ValueError:
        shown = event.at
    return {"at": event.at, "at_local": shown, "kind": event.kind, "channel": event.channel, "summary": event.summary}


# -- views ------------------------------------------------------------------------------------


@page(bp, "/console/patients/{patient_id}")
def patient_page(visit: Visit, patient_id: str) -> Response:
    caller = staff(visit)
    pid = known_id(patient_id)
    days = window_days(visit.query)
    c = container()
    patient = c.patients.get(caller, pid)  # 404 outside the panel; audited as the API's GET /patients/{pid}
    zone = ZoneInfo(patient.timezone)
    window = window_of(patient, days)
    readings_cursor = visit.query.get("readings") or None
    events_cursor = visit.query.get("timeline") or None
    _ = (c.alerts, c.readings, c.record)  # built here, not raced for by the threads
    # The reads do not depend on one another (each a service call with its access check, its Query and
    # its audit record): side by side, the page waits for the slowest, not for their sum.
    read = readers.alongside(
        {
            "consents": lambda: c.patients.list_consents(caller, pid),
            "open": lambda: c.alerts.page(caller, "open", None, pid, ALERTS_SHOWN, None)[0],
            "acknowledged": lambda: c.alerts.page(caller, "acknowledged", None, pid, ALERTS_SHOWN, None)[0],
            # The window's statistics from the daily buckets (two Queries), audited as the trend API's read.
            "stats": lambda: c.record.window_stats(caller, pid, window),
            "logbook": lambda: c.readings.history(caller, pid, None, None, None, LOGBOOK_PAGE, readings_cursor),
            "timeline": lambda: c.record.timeline(caller, pid, None, None, None, TIMELINE_PAGE, events_cursor),
            # Messages, Reminders, Targets, Care time and Notes: the editable sections' own reads.
            **patient_actions.section_reads(visit, patient),
        }
    )
    opened, acknowledged = read["open"], read["acknowledged"]
    glucose, bp = read["stats"]
    readings, older_readings = read["logbook"]
    events, older_events = read["timeline"]
    here = f"/console/patients/{pid}"
    return render(
        visit,
        "patient.html",
        patient=patient,
        name=f"{patient.given_name} {patient.family_name}",
        age=age_on(patient, c.clock().astimezone(zone).date()),
        consents=consent_rows(patient, read["consents"]),
        alerts=opened + acknowledged,
        open_alerts=len(opened),
        open_alerts_more=len(opened) >= ALERTS_SHOWN,
        days=days,
        windows=[(d, with_query(here, days=d)) for d in WINDOWS],
        window=window,
        glucose=glucose,
        glucose_rows=glucose_rows(glucose),
        glucose_below_70=below_70_count(glucose.current),
        glucose_chart=with_query(f"{here}/charts/glucose.svg", days=days),
        bp=bp,
        bp_text=bp_text,
        percent=percent,
        bp_chart=with_query(f"{here}/charts/bp.svg", days=days),
        logbook=[logbook_row(r, zone) for r in readings],
        logbook_paged=readings_cursor is not None,
        older_readings=with_query(here, days=days, readings=older_readings) + "#readings" if older_readings else None,
        newest_readings=with_query(here, days=days) + "#readings",
        timeline=[_event_row(e, zone) for e in events],
        timeline_paged=events_cursor is not None,
        older_events=with_query(here, days=days, timeline=older_events) + "#timeline" if older_events else None,
        newest_events=with_query(here, days=days) + "#timeline",
        csv_url=with_query(f"{here}/readings.csv", days=days),
        export_url=f"{here}/export.json",
        **patient_actions.sections(read),
    )


def _chart_inputs(visit: Visit, patient_id: str) -> tuple[Principal, Patient, Targets, trends.Window, ZoneInfo]:
    caller = staff(visit)
    pid = known_id(patient_id)
    days = window_days(visit.query)
    c = container()
    patient = c.patients.get(caller, pid)
    targets = c.patients.get_targets(caller, pid)
    return caller, patient, targets, window_of(patient, days), ZoneInfo(patient.timezone)


@page(bp, "/console/patients/{patient_id}/charts/glucose.svg")
def glucose_chart(visit: Visit, patient_id: str) -> Response:
    """Every glucose reading of the window, by day and by time of day, against the patient's band."""
    from chalicelib.domain import reading_charts

    caller, patient, targets, window, zone = _chart_inputs(visit, patient_id)
    readings = window_readings(caller, patient.patient_id, GLUCOSE, window, zone)
    svg = reading_charts.glucose_chart(
        reading_charts.glucose_points(readings, zone),
        targets,
        window.first,
        window.last,
        timezone_label=patient.timezone,
    )
    return file_response(visit, svg, "image/svg+xml; charset=utf-8")


@page(bp, "/console/patients/{patient_id}/charts/bp.svg")
def bp_chart(visit: Visit, patient_id: str) -> Response:
    """Systolic and diastolic of every blood pressure reading of the window, against the patient's targets."""
    from chalicelib.domain import reading_charts

    caller, patient, targets, window, zone = _chart_inputs(visit, patient_id)
    readings = window_readings(caller, patient.patient_id, BLOOD_PRESSURE, window, zone)
    svg = reading_charts.bp_chart(reading_charts.bp_points(readings, zone), targets, window.first, window.last)
    return file_response(visit, svg, "image/svg+xml; charset=utf-8")


@page(bp, "/console/patients/{patient_id}/readings.csv")
def readings_download(visit: Visit, patient_id: str) -> Response:
    """The window's readings, newest first, as a CSV file safe to open in a spreadsheet."""
    caller = staff(visit)
    pid = known_id(patient_id)
    days = window_days(visit.query)
    patient = container().patients.get(caller, pid)
    zone = ZoneInfo(patient.timezone)
    window = window_of(patient, days)
    rows = [logbook_row(r, zone) for r in window_readings(caller, pid, None, window, zone)]
    filename = f"readings-{pid}-{window.first.isoformat()}-to-{window.last.isoformat()}.csv"
    return file_response(visit, readings_csv(rows), "text/csv; charset=utf-8", filename)


@page(bp, "/console/patients/{patient_id}/export.json")
def fhir_export(visit: Visit, patient_id: str) -> Response:
    """The API's FHIR R4 export (``GET /patients/{pid}/export``) as a download for a signed-in clinician."""
    caller = staff(visit)
    pid = known_id(patient_id)
    try:
        document = container().readings.export(caller, pid)
    except RecordTooLargeError:
        detail = (
            "This record is too large for one file. Your clinic's systems can fetch it in parts from "
            f"the API: GET /patients/{pid}/export?everything=true."
        )
        return error_page(visit, 400, "Too large for one file", detail)
    return file_response(visit, json.dumps(document), "application/fhir+json", f"patient-{pid}-fhir.json")
