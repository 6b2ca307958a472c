"""Episodes: open, change, pause, resume and discharge a patient's time in the monitoring program.

Every transition is the care team's, audited, on the timeline, and written with the profile's summary
of the current episode in one transaction (``Episodes.save``), which messaging, reminders, the
worklist and billing read.  The rules of each transition are pure (``chalicelib/domain/episodes.py``).
A pause with an end resumes itself: the episode sits on the due index until then (``resume_due``).
Discharge sends one closing message in the patient's language, on their channels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain import episodes as rules
from chalicelib.domain.episodes import DischargeIn, Episode, EpisodeIn, EpisodePatch, PauseIn, Span
from chalicelib.domain.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.domain.idempotency import chosen_id
from chalicelib.domain.identity import Principal, Role, is_care_team
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.meters import Meter, MeterIn, meters_of
from chalicelib.domain.retention import DEFAULT_YEARS
from chalicelib.domain.timeutil import iso
from chalicelib.observability import count
from chalicelib.services.ports import Audit, Outbox, PatientAccess, Record, TimelineEntry


class Episodes(Protocol):
    def of_patient(self, patient_id: str) -> list[Episode]:
        """Every stored episode, newest first."""
        ...

    def save(
        self,
        patient_id: str,
        episode: Episode,
        before: Episode | None,
        stored: bool,
        entry: TimelineEntry,
        spans: list[Span] | None = None,
    ) -> bool:
        """The episode, the profile's summary (and billable ``spans``) and the timeline entry at once; False if
        either moved meanwhile."""
        ...


class Meters(Protocol):
    def register(self, patient_id: str, meter: Record) -> bool:
        """The meter on the patient's profile; False when another patient holds it."""
        ...

    def release(self, patient_id: str, device_ids: list[str]) -> None:
        """The patient's meters are free for another patient (their readings no longer bill for this one)."""
        ...


class Restarts(Protocol):
    """What reminders do when monitoring resumes: the missed-readings watch starts again from now."""

    def monitoring_resumed(self, patient_id: str, now: datetime) -> None: ...


class EpisodeService:
    def __init__(
        self,
        episodes: Episodes,
        patients: PatientAccess,
        restarts: Restarts,
        messaging: Outbox,
        audit: Audit,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
        meters: Meters | None = None,
        retention_years: int = DEFAULT_YEARS,
    ) -> None:
        self._meters = meters
        self._retention_years = retention_years
        self._episodes = episodes
        self._patients = patients
        self._restarts = restarts
        self._messaging = messaging
        self._audit = audit
        self._clock = clock
        self._new_id = new_id

    # -- reads ---------------------------------------------------------------------------------

    def list(self, principal: Principal, patient_id: str) -> list[Episode]:
        record = self._patients.visible_record(principal, patient_id)
        found = self._episodes.of_patient(patient_id) or [rules.enrolment_episode(record)]
        self._audit.record(principal, "list", "episode", patient_id, {"count": len(found)})
        return found

    def _current(self, record: Record) -> tuple[Episode, Sequence[Episode]]:
        """The current episode and every stored one (one Query; a patient from before episodes has the
        enrolment episode, not yet stored)."""
        history = self._episodes.of_patient(record["patient_id"])
        pointer = (record.get("episode") or {}).get("episode_id")
        current = next((e for e in history if e.episode_id == pointer), history[0] if history else None)
        return current or rules.enrolment_episode(record), history

    def _team_record(self, principal: Principal, patient_id: str) -> Record:
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient's care team may change their episodes.")
        return record

    # -- transitions -------------------------------------------------------------------------------

    def open(
        self, principal: Principal, patient_id: str, request: EpisodeIn, idempotency_key: str | None = None
    ) -> tuple[int, Episode]:
        """201 and the new episode; 200 and the same one for a retry with the same Idempotency-Key."""
        record = self._team_record(principal, patient_id)
        current, history = self._current(record)
        episode_id = chosen_id(None, idempotency_key, "ep", ("episodes", patient_id, principal.subject), self._new_id)
        if current.episode_id == episode_id:
            return 200, current  # the same request again: its episode is the current one
        now = self._clock()
        episode = rules.opened(current, request, episode_id, now, _today(record, now))
        self._save(principal, record, episode, current, history, "episode_opened", "Episode opened", now)
        # Re-enrolment: the missed-readings watch and the reminders' unanswered streaks start again.
        self._restarts.monitoring_resumed(patient_id, now)
        return 201, episode

    def patch(self, principal: Principal, patient_id: str, episode_id: str, request: EpisodePatch) -> Episode:
        record = self._team_record(principal, patient_id)
        episode, history = self._named(record, episode_id)
        now = self._clock()
        earlier = [e.discharged_on for e in history if e.episode_id != episode.episode_id and e.discharged_on]
        changed = rules.patched(episode, request, now, _today(record, now), max(earlier, default=None))
        what = "RPM consent recorded" if request.rpm_consent is not None else "Episode programs changed"
        self._save(principal, record, changed, episode, history, "episode_changed", what, now)
        return changed

    def pause(self, principal: Principal, patient_id: str, episode_id: str, request: PauseIn) -> Episode:
        record = self._team_record(principal, patient_id)
        episode, history = self._named(record, episode_id)
        now = self._clock()
        changed = rules.paused(episode, request, now)
        until = f" until {iso(request.until)}" if request.until else ""
        self._save(principal, record, changed, episode, history, "episode_paused", f"Monitoring paused{until}", now)
        count("EpisodesPaused")
        return changed

    def resume(self, principal: Principal, patient_id: str, episode_id: str) -> Episode:
        record = self._team_record(principal, patient_id)
        episode, history = self._named(record, episode_id)
        return self._resume(principal, record, episode, history, self._clock())

    def resume_due(self, item: Record, now: datetime) -> None:
        """The tick: a pause with an end has reached it; the episode resumes (once, whoever wins)."""
        episode = Episode.model_validate(item)
        last = episode.pauses[-1] if episode.pauses else None
        if episode.status != "paused" or last is None or not last.until or last.until > iso(now):
            return
        scheduler = Principal("scheduler", Role.ADMIN, request_id=f"tick-{iso(now)}")
        record = self._patients.visible_record(scheduler, item["patient_id"])
        try:
            self._resume(scheduler, record, episode, self._episodes.of_patient(item["patient_id"]), now)
        except ConflictError:
            return  # resumed or discharged by someone meanwhile

    def _resume(
        self, principal: Principal, record: Record, episode: Episode, history: Sequence[Episode], now: datetime
    ) -> Episode:
        changed = rules.resumed(episode, now)
        self._save(principal, record, changed, episode, history, "episode_resumed", "Monitoring resumed", now)
        # Schedules were moved on, not fired, while paused: no catch-up burst. The missed-readings watch starts now.
        self._restarts.monitoring_resumed(record["patient_id"], now)
        count("EpisodesResumed")
        return changed

    def discharge(self, principal: Principal, patient_id: str, episode_id: str, request: DischargeIn) -> Episode:
        record = self._team_record(principal, patient_id)
        episode, history = self._named(record, episode_id)
        now = self._clock()
        changed = rules.discharged(episode, request, _today(record, now), now, self._retention_years)
        summary = f"Discharged from the program ({request.reason})"
        # Queued first, so that a failure after the write cannot lose it (a retried discharge is 409); it
        # goes only if the discharge landed and the patient was not re-enrolled meanwhile (messaging checks).
        self._messaging.enqueue(
            Intent(
                intent_id=f"closing:{patient_id}:{changed.episode_id}",
                recipient=Recipient(kind="patient", id=patient_id),
                template=rules.CLOSING,
                params={"episode_id": changed.episode_id},
                created_at=now,
                patient_id=patient_id,
            )
        )
        self._save(principal, record, changed, episode, history, "episode_discharged", summary, now)
        if self._meters is not None:
            # A meter handed back can go to the next patient; a re-enrolled patient registers theirs again.
            self._meters.release(patient_id, [m.device_id for m in meters_of(record)])
        count("EpisodesDischarged")
        return changed

    # -- meters ------------------------------------------------------------------------------------

    def register_meter(self, principal: Principal, patient_id: str, request: MeterIn) -> tuple[int, Meter]:
        """201 and the meter; 200 for the same meter again; 409 when it is registered to another patient."""
        record = self._team_record(principal, patient_id)
        if self._meters is None:
            raise ConflictError("Meters cannot be registered here.")
        known = {m.device_id: m for m in meters_of(record)}
        same = known.get(request.serial)
        if same is not None and (same.kind, same.assigned_on) == (request.kind, request.assigned_on.isoformat()):
            return 200, same
        meter = Meter(
            device_id=request.serial,
            kind=request.kind,
            assigned_on=request.assigned_on.isoformat(),
            registered_at=iso(self._clock()),
            registered_by=principal.subject,
        )
        if not self._meters.register(patient_id, meter.model_dump()):
            raise ConflictError(f"Meter {request.serial} is registered to another patient.")
        self._audit.record(principal, "create", "meter", patient_id, {"device_id": meter.device_id})
        return 201, meter

    # -- storage -----------------------------------------------------------------------------------

    def _named(self, record: Record, episode_id: str) -> tuple[Episode, Sequence[Episode]]:
        current, history = self._current(record)
        if current.episode_id == episode_id:
            return current, history
        if any(e.episode_id == episode_id for e in history):
            raise ConflictError(f"Episode {episode_id} is over; the current episode is {current.episode_id}.")
        raise NotFoundError("Episode not found.")

    def _save(
        self,
        principal: Principal,
        record: Record,
        episode: Episode,
        before: Episode,
        history: Sequence[Episode],
        kind: str,
        summary: str,
        now: datetime,
    ) -> None:
        """Write ``episode``, changed from ``before``; ``history`` is every stored episode, as read for the change."""
        pid = record["patient_id"]
        stored = any(e.episode_id == before.episode_id for e in history)
        entry = TimelineEntry(
            pid,
            kind,
            now,
            f"{kind}-{episode.episode_id}-{episode.version}",
            summary,
            None,
            {"episode_id": episode.episode_id, "status": episode.status},
        )
        # Billing counts the days of every episode with consent (rules.billable_spans), kept on the profile.
        others = [e for e in history if e.episode_id != episode.episode_id]
        spans = rules.billable_spans([episode, *others], record.get("timezone") or "UTC")
        if not self._episodes.save(pid, episode, before, stored, entry, spans):
            raise ConflictError("The episode changed meanwhile; read it again.")
        self._audit.record(
            principal, "update", "episode", pid, {"episode_id": episode.episode_id, "to": episode.status}
        )


def _today(record: Record, now: datetime) -> date:
    """The patient's local date now."""
    return now.astimezone(ZoneInfo(record.get("timezone") or "UTC")).date()
