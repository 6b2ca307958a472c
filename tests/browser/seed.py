"""Seeding the browser tier's stack through the JSON API, as a clinic and its patients would fill it.

Everything a page shows is written the way production writes it: an admin
creates the clinicians and the patients, the patient posts readings, the table
stream (``/_local/drain``) opens the alerts, the care team sends messages and a
patient answers by SMS (``/_local/inbound-sms``).  Nothing is written to the
table directly, so a page that shows the seeded data shows what the services
made of it.

Each test that depends on a panel's order gets a clinician of its own
(:func:`clinician`): the stack lives for the whole session, and a shared
``c-1`` would collect every other test's patients.
"""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # conftest imports this module lazily (its fixtures seed through it)
    from tests.browser.conftest import Api

ADMIN = ("admin", "a-1")
_phones = itertools.count(1)
_RUN = random.Random().randrange(100, 999)  # keeps phone numbers apart between runs on a kept stack


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ago(**delta: float) -> str:
    return iso(datetime.now(UTC) - timedelta(**delta))


def clinician(api: Api, cid: str | None = None, given_name: str = "Ines") -> str:
    """A clinician with the contact fields the worklist needs (no phone is a configuration error)."""
    cid = cid or new_id("c-br")
    api.call(
        "PUT",
        f"/clinicians/{cid}",
        {
            "given_name": given_name,
            "phone": "+15551239002",
            "email": f"{cid}@clinic.example",
            "escalation_contacts": [],
        },
        as_=ADMIN,
    )
    return cid


@dataclass
class Patient:
    pid: str
    given_name: str
    family_name: str
    phone: str
    team: list[str] = field(default_factory=list)
    timezone: str = "America/New_York"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def url(self) -> str:
        return f"/console/patients/{self.pid}"

    @property
    def role(self) -> tuple[str, str]:
        return ("patient", self.pid)


def born(name: str) -> date:
    """A birth date between 1940 and 1989 that depends only on the name."""
    rng = random.Random(name)
    return date(rng.randint(1940, 1989), rng.randint(1, 12), rng.randint(1, 28))


def patient(api: Api, team: list[str], given_name: str, family_name: str, **overrides: Any) -> Patient:
    """A patient on ``team``'s panel, created by an admin (a unique phone, so inbound SMS finds them)."""
    pid = new_id("p-br")
    phone = f"+1555{_RUN}{next(_phones):04d}"
    body: dict[str, Any] = {
        "patient_id": pid,
        "given_name": given_name,
        "family_name": family_name,
        "phone": phone,
        "email": f"{pid}@example.org",
        "timezone": "America/New_York",
        "language": "en",
        "conditions": ["diabetes", "hypertension"],
        "glucose_profile": "standard",
        "care_team": team,
        "channels": ["sms", "email"],
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        # A birth date and an MRN of the clinic's own, the same for a name on every run.
        "birth_date": born(given_name + family_name).isoformat(),
        "mrn": f"MRN-{sum(map(ord, given_name + family_name)) * 37 % 900000 + 100000}",
    }
    body.update(overrides)
    api.call("POST", "/patients", body, as_=ADMIN)
    return Patient(pid, given_name, family_name, phone, list(team), str(body["timezone"]))


def consent(api: Api, who: Patient, channel: str) -> None:
    """The patient agrees in the app to messages on ``channel`` (full content: a clinician's words may go out)."""
    body = {"granted": True, "source": "app", "full_content": True}
    api.call("PUT", f"/patients/{who.pid}/consents/{channel}", body, as_=who.role)


def glucose(value: float, measured_at: str, context: str = "fasting") -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": context,
        "measured_at": measured_at,
        "source": "device",
        "device_id": "meter-9",
    }


def pressure(systolic: int, diastolic: int, measured_at: str, pulse: int = 72) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "pulse": pulse,
        "unit": "mmHg",
        "measured_at": measured_at,
        "source": "device",
        "device_id": "cuff-2",
        "symptoms": [],
    }


def post_readings(api: Api, who: Patient, readings: list[dict[str, Any]]) -> None:
    """Readings as the patient's app posts them (batches of up to 100)."""
    for start in range(0, len(readings), 100):
        answer = api.call(
            "POST", f"/patients/{who.pid}/readings/batch", {"readings": readings[start : start + 100]}, as_=who.role
        )
        refused = [r for r in answer["results"] if r["status"] >= 400]
        assert not refused, refused


def reading(api: Api, who: Patient, value: float, minutes_ago: float = 1) -> None:
    """One glucose reading, posted alone (as a meter would after a measurement)."""
    api.call("POST", f"/patients/{who.pid}/readings", glucose(value, ago(minutes=minutes_ago)), as_=who.role)


def history(
    api: Api, who: Patient, days: int = 14, lows: int = 0, highs: int = 0, seed: int = 7, newest_days_ago: int = 0
) -> None:
    """A realistic stretch of days, on the patient's own clock: fasting glucose and blood pressure around 07:00,
    an after-meal glucose after lunch on most days.

    Without ``lows`` and ``highs`` every reading is inside clinical.md's targets
    (fasting 84-126, after meals 110-172, blood pressure below 135/85), so the
    history opens no alert of its own.  ``lows`` days get a fasting reading of
    62-67 mg/dL and ``highs`` days an after-meal one of 205-238 (each a routine
    alert, as a late abnormal reading is).  Nothing is measured in the future.
    Deterministic for a ``seed`` and a day, so the screenshots stay alike.
    """
    rng = random.Random(seed)
    zone = ZoneInfo(who.timezone)
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    readings: list[dict[str, Any]] = []
    older = list(range(newest_days_ago + 1, days))
    low_days = set(rng.sample(older, k=min(lows, len(older))))
    high_days = set(rng.sample(older, k=min(highs, len(older))))
    for day in range(newest_days_ago, days):
        if day > newest_days_ago and day not in low_days | high_days and rng.random() < 0.12:
            continue  # a day without readings, as real patients have
        local = today - timedelta(days=day)
        morning = datetime.combine(local, time(6, 40), zone) + timedelta(minutes=rng.randint(0, 70))
        lunch = datetime.combine(local, time(13, 0), zone) + timedelta(minutes=rng.randint(0, 90))
        fasting = rng.randint(62, 67) if day in low_days else rng.randint(84, 126)
        planned = [glucose(fasting, iso(morning), "fasting")]
        planned.append(pressure(rng.randint(112, 134), rng.randint(70, 84), iso(morning + timedelta(minutes=10))))
        if day in high_days or rng.random() < 0.7:
            after = rng.randint(205, 238) if day in high_days else rng.randint(110, 172)
            planned.append(glucose(after, iso(lunch), "after_meal"))
        readings += [r for r in planned if r["measured_at"] <= iso(now - timedelta(minutes=10))]
    if readings:
        post_readings(api, who, readings)


def alerts_of(api: Api, who: Patient, status: str | None = None) -> list[dict[str, Any]]:
    query = f"/alerts?patient_id={who.pid}" + (f"&status={status}" if status else "")
    return list(api.call("GET", query, as_=ADMIN)["items"])


def alert(api: Api, alert_id: str) -> dict[str, Any]:
    return dict(api.call("GET", f"/alerts/{alert_id}", as_=ADMIN))


def critical_alert(api: Api, who: Patient, value: float = 45) -> str:
    """A critical low opened the production way (a reading, then the stream); its id."""
    reading(api, who, value)
    api.drain()
    opened = [a for a in alerts_of(api, who) if a["priority"] == "critical"]
    assert opened, f"no critical alert for {who.pid}"
    return str(opened[0]["alert_id"])


def routine_alert(api: Api, who: Patient, value: float = 64) -> str:
    reading(api, who, value)
    api.drain()
    opened = [a for a in alerts_of(api, who) if a["priority"] == "routine"]
    assert opened, f"no routine alert for {who.pid}"
    return str(opened[0]["alert_id"])


def message(api: Api, who: Patient, text: str, by: str) -> None:
    """A care-team message, as the API sends it."""
    api.call("POST", f"/patients/{who.pid}/messages", {"text": text}, as_=("clinician", by))


def sms_from(api: Api, who: Patient, body: str) -> None:
    """The patient answers by SMS (the two-way topic, locally ``/_local/inbound-sms``; it drains)."""
    answer = api.http.post(f"{api.base}/_local/inbound-sms", json={"from": who.phone, "body": body}, timeout=60)
    assert answer.status_code < 400, answer.text


def messages_of(api: Api, who: Patient) -> list[dict[str, Any]]:
    return list(api.call("GET", f"/patients/{who.pid}/messages", as_=ADMIN)["items"])


def note(api: Api, who: Patient, text: str, by: str) -> None:
    api.call("POST", f"/patients/{who.pid}/notes", {"text": text}, as_=("clinician", by))


def reminder(api: Api, who: Patient, by: str, kind: str, times: list[str], label: str) -> None:
    body = {"kind": kind, "times": times, "label": label}
    api.call("POST", f"/patients/{who.pid}/reminders", body, as_=("clinician", by))


def care_time(api: Api, who: Patient, by: str, minutes: int, activity: str = "call") -> None:
    body = {"minutes": minutes, "interactive": True, "activity": activity, "at": ago(hours=2)}
    api.call("POST", f"/patients/{who.pid}/care-time", body, as_=("clinician", by))


def opened(api: Api, who: Patient, priority: str) -> str:
    """The id of ``who``'s open alert of ``priority`` (after a drain)."""
    found = [a for a in alerts_of(api, who, "open") if a["priority"] == priority]
    assert found, f"no open {priority} alert for {who.pid}"
    return str(found[0]["alert_id"])


@dataclass
class Panel:
    """A clinician's panel with one patient for each place in the worklist's order."""

    cid: str
    critical: Patient
    routine: Patient
    stale: Patient
    fine: Patient
    critical_alert: str = ""
    routine_alert: str = ""

    @property
    def in_order(self) -> list[Patient]:
        """console.md's order: open critical alerts, open routine alerts, stale data (3+ days), the rest."""
        return [self.critical, self.routine, self.stale, self.fine]


def worklist_panel(api: Api, cid: str | None = None, days: int = 2, drain: bool = True) -> Panel:
    """Four patients: a critical alert, an open routine alert, no reading for 4 days, and one doing fine.

    Created in the reverse of the expected order (and named so that neither
    alphabetical nor creation order is the expected one), so a page that lists
    them any other way fails the order test.  ``drain=False`` leaves the stream
    (the slow part of seeding: about a quarter of a second per reading) to the
    caller's one drain; the alert ids are then filled in by :func:`find_alerts`.
    """
    cid = clinician(api, cid)
    team = [cid]
    fine = patient(api, team, "Amelia", "Ortiz")
    stale = patient(api, team, "Dmitri", "Keller")
    routine = patient(api, team, "Bruno", "Nakamura")
    critical = patient(api, team, "Chloe", "Haddad")
    history(api, fine, days=days, seed=1)
    post_readings(api, stale, [glucose(118, ago(days=4, hours=2)), pressure(128, 80, ago(days=4, hours=2))])
    history(api, routine, days=days, seed=2, newest_days_ago=1)
    history(api, critical, days=days, seed=3, newest_days_ago=1)
    reading(api, routine, 64)
    reading(api, critical, 45)
    panel = Panel(cid, critical, routine, stale, fine)
    if drain:
        api.drain()
        find_alerts(api, panel)
    return panel


def find_alerts(api: Api, panel: Panel) -> None:
    panel.routine_alert = opened(api, panel.routine, "routine")
    panel.critical_alert = opened(api, panel.critical, "critical")


@dataclass
class Showcase:
    """c-1's panel as the screenshots show it: the worklist's four kinds and one patient with a full record."""

    panel: Panel
    star: Patient  # the patient page's subject: two weeks of readings, messages, notes, reminders, care time

    @property
    def cid(self) -> str:
        return self.panel.cid


def showcase(api: Api, cid: str = "c-1") -> Showcase:
    """Everything posted first and the stream run once (by the patient's SMS answer, which drains)."""
    panel = worklist_panel(api, cid, drain=False)
    star = patient(api, [cid], "Elena", "Petrova", conditions=["type 2 diabetes", "hypertension"])
    history(api, star, days=14, lows=2, highs=2, seed=11)
    consent(api, star, "sms")
    consent(api, star, "email")
    reminder(api, star, cid, "measure_glucose", ["07:30"], "Fasting glucose before breakfast")
    reminder(api, star, cid, "measure_bp", ["08:00", "20:00"], "Blood pressure, seated, after 5 minutes rest")
    care_time(api, star, cid, 12)
    note(api, star, "Metformin increased to 1000 mg twice daily on the 18th; review lows at the next call.", cid)
    message(api, star, "Good morning Elena, your readings look steadier this week. How is the new dose?", cid)
    sms_from(api, star, "Much better thanks. Felt a bit shaky one morning but juice helped")
    find_alerts(api, panel)
    return Showcase(panel, star)
