"""Retention: what is left of a patient's record once it has been kept for the retention period after discharge.

A discharged patient's record is kept whole for the configured period (``retention_years``, six by default:
docs/api.md "Program lifecycle"), counted from the discharge.  Then the record is de-identified:

- the readings stay, moved under an opaque subject id nobody keeps a link to: their values, units, context,
  classification (without its guidance text), source kind and measurement time (not the symptoms, which
  a patient types);
- everything else goes: the profile (names, contacts, language, zone, care team, meters), consents, devices,
  messages, notes, timeline, alerts, tasks, reminders, appointments, episodes, summaries, and every item
  outside the patient's partition that names them (the phone lookup, the care team's panels and alert
  lists, meter owners).

A reading's own id is the client's and may say who took it, so the moved reading is keyed by a digest of
the subject and that id: the same reading lands on the same key however often a run is retried, and
nothing outside the run can tell which reading it was.  The subject id lives only on the run's subject
item, in the partition and never on the due index, deleted with the rest at the end.

This is pseudonymisation with the link destroyed, not HIPAA Safe Harbor: measurement times keep their full
date (docs/design.md "Retention").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.timeutil import parse_iso

DEFAULT_YEARS = 6
# Readings keep these attributes (and, of their classification, the parts that are not text).
KEPT = (
    "type",
    "value",
    "unit",
    "value_mg_dl",
    "context",
    "meter_flag",
    "systolic",
    "diastolic",
    "pulse",
    "measured_at",
    "source",
)
KEPT_CLASSIFICATION = ("severity", "category", "interpretation", "flags")
# The partition's items a sweep leaves for later: the profile (whose contacts and care team say what to remove
# outside the partition; removed when the sweep is done), the run's state and its subject (removed last).
RUN = "RETENTION"
SUBJECT = "RETENTION_SUBJECT"
LAST = frozenset({"PROFILE", RUN, SUBJECT})


def retained_until(discharged_at: datetime, years: int) -> datetime:
    """The moment a record discharged at ``discharged_at`` may be de-identified: ``years`` later, in UTC.

    A discharge on 29 February is kept until 1 March of the target year (never a day short).
    """
    start = discharged_at.astimezone(UTC)
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, month=3, day=1)


def still_discharged(summary: dict[str, Any] | None, episode: dict[str, Any]) -> bool:
    """Whether the profile's ``summary`` still names the discharged ``episode`` as the patient's current one.

    Not once the patient has been re-enrolled: their next discharge starts the period again.
    """
    summary = summary or {}
    return (
        episode.get("status") == "discharged"
        and summary.get("status") == "discharged"
        and summary.get("episode_id") == episode.get("episode_id")
    )


def due(episode: dict[str, Any], now: datetime) -> bool:
    """Whether the discharged ``episode``'s period is over at ``now``."""
    until = episode.get("deidentify_after")
    return bool(until) and parse_iso(str(until)) <= now


def subject_key(subject: str) -> str:
    return f"DEID#{subject}"


def reading_token(subject: str, reading_id: str) -> str:
    """The moved reading's id: stable within a run (a retry rewrites the same key), unlinkable outside it."""
    return hashlib.sha256(f"{subject}\x00{reading_id}".encode()).hexdigest()[:24]


def deidentified_reading(item: dict[str, Any], subject: str) -> dict[str, Any]:
    """The reading ``item`` as it stays: under the subject, with no id, person, device, note or alert."""
    token = reading_token(subject, str(item["reading_id"]))
    kept: dict[str, Any] = {name: item[name] for name in KEPT if item.get(name) is not None}
    classification = item.get("classification") or {}
    kept["classification"] = {k: classification[k] for k in KEPT_CLASSIFICATION if k in classification}
    return {
        "pk": subject_key(subject),
        "sk": f"READING#{item['type']}#{item['measured_at']}#{token}",
        "entity": "deidentified_reading",
        **kept,
    }


def is_reading(item: dict[str, Any]) -> bool:
    return item.get("entity") == "reading" and str(item.get("sk", "")).startswith("READING#")
