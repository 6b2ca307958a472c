"""Episodes: a patient's time in the monitoring program, and what monitoring does while it is paused or over.

A patient takes part in the program in episodes (docs/api.md "Program lifecycle"), each ``open``,
``paused`` or ``discharged``, with the programs it covers and the patient's RPM consent (when, how,
recorded by whom).  At most one episode is not discharged.  Enrolment opens the first one: a patient
enrolled before episodes existed is in an open episode that starts on their enrolment date
(``enrolment_episode``), written the first time it changes.

While the episode is paused or discharged, monitoring is quiet (``quiet``): no reminders, nudges,
missed-reading watch or routine messages.  A reading that still arrives is stored and judged, and a
critical one still pages: safety messages never ask.  Discharge sends one closing message.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.errors import ConflictError, FieldError, InvalidInputError
from chalicelib.domain.patients import Identifier, Strict
from chalicelib.domain.retention import DEFAULT_YEARS, retained_until
from chalicelib.domain.text import FreeText
from chalicelib.domain.timeutil import SentTime, iso

Status = Literal["open", "paused", "discharged"]
Program = Literal["diabetes", "hypertension"]
ConsentMethod = Literal["verbal", "written", "app"]
DischargeReason = Literal["goals met", "moved", "deceased", "declined", "other"]
ENROLMENT_EPISODE = "ep-00000000-enrolment"
# Templates that still reach a patient whose monitoring is quiet (besides safety messages).
SENT_WHILE_QUIET = frozenset({"program_closing", "contact_verification_sms", "contact_verification_email"})
CLOSING = "program_closing"
# A message whose failure asks no one to call the patient: the program's closing message.
NO_CALL_TASK = frozenset({CLOSING})


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # 9999-12-31T23:30:00-14:00 is past the last UTC moment Python has
        raise ValueError("must be a real moment") from error


Moment = Annotated[SentTime, AfterValidator(_utc)]
MAX_PAUSE = timedelta(days=366)


class RpmConsent(Strict):
    at: Moment
    method: ConsentMethod
    recorded_by: Identifier


class EpisodeIn(Strict):
    programs: list[Program] = Field(min_length=1, max_length=2)
    rpm_consent: RpmConsent | None = None
    starts_on: date


class EpisodePatch(Strict):
    """Programs or RPM consent recorded on an episode that is not over (consent is often taken after enrolment)."""

    programs: list[Program] | None = Field(default=None, min_length=1, max_length=2)
    rpm_consent: RpmConsent | None = None
    # The day monitoring began, corrected (a patient enrolled on paper before their record was made).
    starts_on: date | None = None


class PauseIn(Strict):
    until: Moment | None = None  # None: until someone resumes it
    reason: Annotated[FreeText, StringConstraints(min_length=1, max_length=200)]


class DischargeIn(Strict):
    reason: DischargeReason
    note: Annotated[FreeText, StringConstraints(max_length=1000)] | None = None


class Pause(BaseModel):
    model_config = ConfigDict(extra="ignore")

    started_at: str
    until: str | None = None
    reason: str
    resumed_at: str | None = None


class Episode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    episode_id: str
    status: Status
    programs: list[str]
    rpm_consent: RpmConsent | None = None
    starts_on: str
    pauses: list[Pause] = Field(default_factory=list)
    discharged_on: str | None = None
    discharge_reason: str | None = None
    discharge_note: str | None = None
    # When a discharged episode's records are de-identified (the discharge plus the retention period).
    deidentify_after: str | None = None
    created_at: str
    updated_at: str
    version: int = 0


def enrolment_episode(record: dict[str, Any]) -> Episode:
    """The open episode of a patient enrolled before episodes were stored: from their (local) enrolment date."""
    created = str(record.get("created_at") or "")
    starts_on = ""
    if created:
        zone = ZoneInfo(str(record.get("timezone") or "UTC"))
        starts_on = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(zone).date().isoformat()
    conditions = [c for c in record.get("conditions") or [] if c in ("diabetes", "hypertension")]
    return Episode(
        episode_id=ENROLMENT_EPISODE,
        status="open",
        programs=conditions or ["diabetes"],
        starts_on=starts_on,
        created_at=created,
        updated_at=created,
    )


def status_of(record: dict[str, Any]) -> Status:
    """The patient's episode status as the profile carries it (no episode stored yet: open since enrolment)."""
    current = record.get("episode") or {}
    status = current.get("status", "open")
    return status if status in ("open", "paused", "discharged") else "open"


def closing_still_true(current: dict[str, Any] | None, episode_id: str | None) -> bool:
    """Whether a closing message about ``episode_id`` may still go, given the profile's ``episode`` summary.

    Queued before the discharge is written (so a failure to queue cannot lose it), it goes only if the
    discharge landed, and not once the patient has been re-enrolled.
    """
    current = current or {}
    return current.get("status") == "discharged" and current.get("episode_id") == episode_id


def quiet(record: dict[str, Any]) -> bool:
    """Whether monitoring is quiet for this patient: their episode is paused or discharged."""
    return status_of(record) != "open"


def require_open_to_the_patient(is_patient: bool, record: dict[str, Any]) -> None:
    """After discharge the record is read-only for the patient (409); consents stay theirs to withdraw."""
    if is_patient and status_of(record) == "discharged":
        raise ConflictError("Your monitoring program has ended: your record is read-only. Contact your clinic.")


def summary(episode: Episode) -> dict[str, Any]:
    """What the profile keeps of the current episode (read by messaging, reminders, the worklist, billing)."""
    return {
        "episode_id": episode.episode_id,
        "status": episode.status,
        "starts_on": episode.starts_on,
        "consented": episode.rpm_consent is not None,
        "discharged_on": episode.discharged_on,
    }


# -- transitions ----------------------------------------------------------------------------------


def opened(current: Episode | None, request: EpisodeIn, episode_id: str, now: datetime, today: date) -> Episode:
    """A new episode; refused while another is open or paused (409 names it)."""
    if current is not None and current.status != "discharged":
        raise ConflictError(f"Episode {current.episode_id} is {current.status}: discharge it before opening another.")
    _check_start(request.starts_on, current.discharged_on if current else None, today)
    return Episode(
        episode_id=episode_id,
        status="open",
        programs=list(dict.fromkeys(request.programs)),
        rpm_consent=request.rpm_consent,
        starts_on=request.starts_on.isoformat(),
        created_at=iso(now),
        updated_at=iso(now),
    )


def patched(
    episode: Episode, request: EpisodePatch, now: datetime, today: date, not_before: str | None = None
) -> Episode:
    if episode.status == "discharged":
        raise ConflictError(f"Episode {episode.episode_id} is discharged: it can no longer change.")
    changes: dict[str, Any] = {"updated_at": iso(now), "version": episode.version + 1}
    if request.programs is not None:
        changes["programs"] = list(dict.fromkeys(request.programs))
    if request.rpm_consent is not None:
        changes["rpm_consent"] = request.rpm_consent
    if request.starts_on is not None:
        _check_start(request.starts_on, not_before, today)
        changes["starts_on"] = request.starts_on.isoformat()
    return episode.model_copy(update=changes)


def _check_start(starts_on: date, not_before: str | None, today: date) -> None:
    """An episode starts no later than today (the patient's) and after the last one's discharge."""
    if starts_on > today:
        raise InvalidInputError("An episode cannot start in the future.", [FieldError("starts_on", "not after today")])
    if not_before is not None and starts_on.isoformat() <= not_before:
        raise InvalidInputError(
            "An episode starts after the previous one's discharge.", [FieldError("starts_on", f"after {not_before}")]
        )


def paused(episode: Episode, request: PauseIn, now: datetime) -> Episode:
    if episode.status != "open":
        raise ConflictError(f"Episode {episode.episode_id} is {episode.status}: only an open episode can be paused.")
    if request.until is not None and not now < request.until <= now + MAX_PAUSE:
        raise InvalidInputError(
            "A pause ends in the future, within a year.", [FieldError("until", "in the future, within a year")]
        )
    pause = Pause(started_at=iso(now), until=iso(request.until) if request.until else None, reason=request.reason)
    return episode.model_copy(
        update={
            "status": "paused",
            "pauses": [*episode.pauses, pause],
            "updated_at": iso(now),
            "version": episode.version + 1,
        }
    )


def resumed(episode: Episode, now: datetime) -> Episode:
    if episode.status != "paused":
        raise ConflictError(f"Episode {episode.episode_id} is {episode.status}: only a paused episode can resume.")
    return episode.model_copy(
        update={
            "status": "open",
            "pauses": _close_last_pause(episode, now),
            "updated_at": iso(now),
            "version": episode.version + 1,
        }
    )


def discharged(
    episode: Episode, request: DischargeIn, today: date, now: datetime, retention_years: int = DEFAULT_YEARS
) -> Episode:
    if episode.status == "discharged":
        raise ConflictError(f"Episode {episode.episode_id} is already discharged.")
    return episode.model_copy(
        update={
            "status": "discharged",
            "pauses": _close_last_pause(episode, now),
            "discharged_on": today.isoformat(),
            "discharge_reason": request.reason,
            "discharge_note": request.note,
            "deidentify_after": iso(retained_until(now, retention_years)),
            "updated_at": iso(now),
            "version": episode.version + 1,
        }
    )


def _close_last_pause(episode: Episode, now: datetime) -> list[Pause]:
    pauses = list(episode.pauses)
    if pauses and pauses[-1].resumed_at is None:
        pauses[-1] = pauses[-1].model_copy(update={"resumed_at": iso(now)})
    return pauses


# -- billing --------------------------------------------------------------------------------------

Span = list[str | None]  # [first local day, last local day or None while the episode goes on]


def billable_spans(episodes: list[Episode], zone: str = "UTC") -> list[Span]:
    """The stretches of local days that count for RPM billing: inside an episode, from its RPM consent, not paused.

    An episode counts from the later of its start and the local day its consent was given, to its
    discharge (inclusive). A pause takes out the local days it covers whole: the day it began and the day
    it ended had monitoring for part of the day and count. A pause still running ends the stretch on its
    first day; resuming writes the stretch that follows. Pause times are instants, read in ``zone``.
    """
    tz = ZoneInfo(zone)

    def local(moment: str) -> date:
        return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(tz).date()

    spans: list[Span] = []
    for episode in episodes:
        if episode.rpm_consent is None:
            continue
        cursor: date | None = max(date.fromisoformat(episode.starts_on), local(iso(episode.rpm_consent.at)))
        end = date.fromisoformat(episode.discharged_on) if episode.discharged_on else None
        for pause in sorted(episode.pauses, key=lambda p: p.started_at):
            if cursor is None:
                break
            began = local(pause.started_at)
            if began >= cursor:
                spans.append([cursor.isoformat(), (min(began, end) if end else began).isoformat()])
            cursor = max(local(pause.resumed_at), cursor) if pause.resumed_at else None
        if cursor is not None and (end is None or cursor <= end):
            spans.append([cursor.isoformat(), end.isoformat() if end else None])
    return _merged(spans)


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for first, last in sorted(spans, key=lambda s: str(s[0])):
        if out and (out[-1][1] is None or str(out[-1][1]) >= str(first)):
            if out[-1][1] is not None and (last is None or str(last) > str(out[-1][1])):
                out[-1][1] = last
            continue
        out.append([first, last])
    return out


def in_spans(day: str, spans: list[Span]) -> bool:
    return any(str(first) <= day and (last is None or day <= str(last)) for first, last in spans)


def billable_days(episodes: list[Episode], today: date, zone: str = "UTC") -> set[str]:
    """The local days of ``billable_spans`` up to ``today`` (ISO dates)."""
    days: set[str] = set()
    for first, last in billable_spans(episodes, zone):
        day = date.fromisoformat(str(first))
        final = min(date.fromisoformat(str(last)), today) if last else today
        while day <= final:
            days.add(day.isoformat())
            day += timedelta(days=1)
    return days
