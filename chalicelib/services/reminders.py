"""Reminders: schedules in the patient's zone, fired by the minute tick, answered by people and readings.

The tick hands every due reminder to :meth:`ReminderService.fire`, which fires
it once for the newest occurrence it missed (a tick that ran late does not
replay every minute it slept through), advances it with a conditional update,
records the dose and enqueues a PHI-minimal reminder through the messaging
engine (routing, consent, quiet hours: a reminder in quiet hours is deferred,
never dropped).  Three reminders in a row without an answer hand the patient
to a human.

The service stands on ports: ``ReminderStore`` and ``MeasurementPlans`` are
declared here, the rest (``PatientAccess``, ``Timeline``, ``Outbox``,
``Audit``) are shared (``services/ports.py``); ``adapters/reminders.py`` keeps
every key, the due index and the tombstones behind ``ReminderStore``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain import reminders as rules
from chalicelib.domain.episodes import quiet as episode_quiet
from chalicelib.domain.episodes import require_open_to_the_patient
from chalicelib.domain.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
)
from chalicelib.domain.events import Publish, ReadingsMissed, RemindersUnanswered
from chalicelib.domain.idempotency import chosen_id, fingerprint
from chalicelib.domain.identity import Principal, is_care_team
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.reminders import (
    AcknowledgeIn,
    Adherence,
    DoseAcknowledged,
    Reminder,
    ReminderDeleted,
    ReminderIn,
    ReminderPatch,
)
from chalicelib.domain.schedules import latest_occurrence, next_occurrence, wall_clock
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count
from chalicelib.services.ports import Audit, Outbox, PatientAccess, Record, Timeline

TAKEN_WINDOW = timedelta(hours=12)
ADHERENCE_DAYS = (7, 14, 30, 90)


class ReminderStore(Protocol):
    """Reminders, their doses (one per occurrence) and the patient's missed-readings watch.

    Records are the aggregates' fields: a reminder's (``reminder_id``, ``patient_id``,
    ``kind``, ``times``, ``days``, ``timezone``, ``active``, ``next_due_at``, ``label``,
    ``label_by``, ``request_hash``, its ``unanswered`` counter...), a dose's
    (``patient_id``, ``reminder_id``, ``kind``, ``due_at``, ``status``, ``done_at``,
    ``done_by``), a watch's (``patient_id``, ``anchor``, ``stage``).  An item the tick
    hands over (a reminder or a watch that fell due) carries its ``due_at``; a method
    that takes one back (``advance``, ``missed_step``) acts only if that due time still
    stands, and answers False when another tick or a reading came first.  Records handed
    out may carry storage attributes; the service ignores them and hands them back as read.
    """

    def create(self, record: Record) -> bool:
        """Store a new reminder (due at its ``next_due_at`` while active); False when the id is live already.

        A deleted reminder's id may be used again.
        """
        ...

    def replace(self, record: Record) -> None:
        """Rewrite a reminder's fields (a None removes one); its counters stay, its due time follows ``next_due_at``.

        A reminder deleted (or gone) since it was read is left as it is: a PATCH that lost the race does not revive it.
        """
        ...

    def count_live(self, patient_id: str) -> int:
        """The patient's reminders, deleted ones not counted."""
        ...

    def get(self, patient_id: str, reminder_id: str, include_deleted: bool = False) -> Record | None: ...

    def of_patient(self, patient_id: str) -> list[Record]:
        """The patient's live reminders, in reminder-id order."""
        ...

    def delete(self, patient_id: str, reminder_id: str, at: str) -> None:
        """Stop the reminder and keep it as a tombstone deleted ``at`` (a second delete keeps the first time)."""
        ...

    def advance(self, item: Record, fired_at: str, next_due: str | None) -> bool:
        """Move a due reminder past ``fired_at`` to ``next_due`` (None: never again), counting it unanswered; once."""
        ...

    def answered(self, patient_id: str, reminder_id: str) -> None:
        """The patient answered: the reminder's unanswered streak starts again from 0."""
        ...

    def track_missed(self, patient_id: str, anchor: str, due_at: str) -> None:
        """Start watching for a gap in readings from ``anchor``, due at ``due_at`` (an existing watch is kept)."""
        ...

    def reading_seen(self, patient_id: str, measured_at: str, due_at: str) -> None:
        """A reading newer than the watch's anchor restarts it at stage 0; no watch, no change."""
        ...

    def missed_step(self, item: Record, stage: int, next_due: str | None) -> bool:
        """Move a due watch to ``stage``, due again at ``next_due`` (None: no longer due); once."""
        ...

    def create_dose(self, dose: Record) -> bool:
        """Record one occurrence of a reminder; False when it was recorded already."""
        ...

    def doses_between(self, patient_id: str, start: str, end: str) -> list[Record]:
        """The patient's doses due in [start, end], by due time, then reminder id."""
        ...

    def mark_done(self, dose: Record, at: str, how: str) -> bool:
        """Close a dose that is still due (``done_at``, ``done_by``); False when it was closed already."""
        ...


class MeasurementPlans(Protocol):
    """The patient's profile: it learns they have (had) a measurement reminder, and says whether monitoring is on."""

    def mark_measurement_plan(self, patient_id: str) -> None: ...

    def get(self, patient_id: str) -> Record | None: ...


def to_reminder(item: Record) -> Reminder:
    return Reminder.model_validate({k: v for k, v in item.items() if k in Reminder.model_fields})


class ReminderService:
    def __init__(
        self,
        store: ReminderStore,
        patients: PatientAccess,
        profiles: MeasurementPlans,
        events: Timeline,
        messaging: Outbox,
        audit: Audit,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
        publish: Publish,
    ) -> None:
        self._store = store
        self._patients = patients
        self._profiles = profiles
        self._events = events
        self._messaging = messaging
        self._audit = audit
        self._clock = clock
        self._new_id = new_id
        self._publish = publish

    # -- the API -----------------------------------------------------------------------

    def _writable(self, principal: Principal, patient_id: str) -> Record:
        record = self._patients.visible_record(principal, patient_id)
        if not (principal.is_patient or is_care_team(principal, record.get("care_team", []))):
            raise ForbiddenError("Only the patient or their care team manage reminders.")
        require_open_to_the_patient(principal.is_patient, record)
        return record

    def create(
        self, principal: Principal, patient_id: str, request: ReminderIn, idempotency_key: str | None = None
    ) -> tuple[int, Reminder]:
        """201 and the new reminder; 200 and the stored one for a repeat of the same request; 409 otherwise."""
        record = self._writable(principal, patient_id)
        now = self._clock()
        timezone = record.get("timezone", "UTC")
        next_due = next_occurrence(request.times, request.days, timezone, now) if request.active else None
        reminder_id = chosen_id(
            request.reminder_id, idempotency_key, "rem", ("reminders", patient_id, principal.subject), self._new_id
        )
        asked = fingerprint(request.model_dump(mode="json", exclude={"reminder_id"}))
        if self._store.count_live(patient_id) >= rules.MAX_REMINDERS:
            existing = self._store.get(patient_id, reminder_id)
            if existing is None or existing.get("request_hash") != asked:  # a replay still answers 200 below
                raise InvalidInputError(
                    f"A patient may have at most {rules.MAX_REMINDERS} reminders; delete one first.",
                    [FieldError("reminder_id", f"the patient already has {rules.MAX_REMINDERS} reminders")],
                )
        item = {
            **request.model_dump(mode="json"),
            "label_by": rules.label_author(principal.is_patient, request.label),
            "reminder_id": reminder_id,
            "patient_id": patient_id,
            "timezone": timezone,
            "next_due_at": iso(next_due) if next_due else None,
            "created_at": iso(now),
            "updated_at": iso(now),
            "request_hash": asked,
        }
        if not self._store.create(item):
            existing = self._store.get(patient_id, reminder_id)
            if existing is None or existing.get("request_hash") != asked:
                raise ConflictError("A reminder with this reminder_id already exists.")
            return 200, to_reminder(existing)
        if request.kind in rules.READING_TYPE_OF:
            self._profiles.mark_measurement_plan(patient_id)
            anchor = max(record.get("last_reading_at") or iso(now), iso(now))
            self._store.track_missed(patient_id, anchor, iso(parse_iso(anchor) + rules.MISSED_NUDGE_AFTER))
        self._audit.record(principal, "create", "reminder", patient_id)
        return 201, to_reminder(item)

    def list(self, principal: Principal, patient_id: str) -> list[Reminder]:
        self._patients.visible_record(principal, patient_id)
        self._audit.record(principal, "list", "reminder", patient_id)
        return [to_reminder(i) for i in self._store.of_patient(patient_id)]

    def get(self, principal: Principal, patient_id: str, reminder_id: str) -> Reminder:
        self._patients.visible_record(principal, patient_id)
        item = self._store.get(patient_id, reminder_id)
        if item is None:
            raise NotFoundError("Reminder not found.")
        self._audit.record(principal, "read", "reminder", patient_id)
        return to_reminder(item)

    def patch(self, principal: Principal, patient_id: str, reminder_id: str, request: ReminderPatch) -> Reminder:
        record = self._writable(principal, patient_id)
        item = self._store.get(patient_id, reminder_id)
        if item is None:
            raise NotFoundError("Reminder not found.")
        changes = request.model_dump(mode="json", exclude_unset=True)
        if "label" in changes and changes["label"] != item.get("label"):
            changes["label_by"] = rules.label_author(principal.is_patient, changes["label"])
        if all(item.get(k) == v for k, v in changes.items()):
            return to_reminder(item)  # a repeated PATCH: nothing changes, the same answer
        updated = {**item, **changes, "timezone": record.get("timezone", "UTC"), "updated_at": iso(self._clock())}
        self._reschedule(updated)
        self._audit.record(principal, "update", "reminder", patient_id, {"fields": sorted(changes)})
        return to_reminder(updated)

    def delete(self, principal: Principal, patient_id: str, reminder_id: str) -> ReminderDeleted:
        """Stop and remove a reminder; deleting it again answers the same (it is kept as a tombstone)."""
        self._writable(principal, patient_id)
        if self._store.get(patient_id, reminder_id, include_deleted=True) is None:
            raise NotFoundError("Reminder not found.")
        self._store.delete(patient_id, reminder_id, iso(self._clock()))
        self._audit.record(principal, "delete", "reminder", patient_id)
        return ReminderDeleted(deleted=reminder_id)

    def acknowledge(
        self, principal: Principal, patient_id: str, reminder_id: str, request: AcknowledgeIn
    ) -> DoseAcknowledged:
        self._writable(principal, patient_id)
        if self._store.get(patient_id, reminder_id) is None:
            raise NotFoundError("Reminder not found.")
        at = request.at or self._clock()
        dose = self._latest_due(patient_id, at, lambda d: d["reminder_id"] == reminder_id)
        if dose is None:
            done = self._latest_acknowledged(patient_id, reminder_id, at, request.at is not None)
            if done is None:
                raise ConflictError("This reminder has no open dose to acknowledge.")
            # A repeated acknowledgment: the dose is done already, the same answer.
            return DoseAcknowledged(reminder_id=reminder_id, due_at=done["due_at"], status="done")
        self._done(dose, at, "acknowledged")
        self._audit.record(principal, "acknowledge", "reminder", patient_id)
        return DoseAcknowledged(reminder_id=reminder_id, due_at=dose["due_at"], status="done")

    def adherence(self, principal: Principal, patient_id: str, days_text: str | None) -> Adherence:
        self._patients.visible_record(principal, patient_id)
        # Compared as text: "٣٠" and "²" pass str.isdigit(), and int() reads the first (F13).
        days = 30 if days_text is None else next((d for d in ADHERENCE_DAYS if str(d) == days_text), -1)
        if days not in ADHERENCE_DAYS:
            raise MalformedRequestError("days must be 7, 14, 30 or 90.", [FieldError("days", "7, 14, 30 or 90")])
        now = self._clock()
        doses = self._store.doses_between(patient_id, iso(now - timedelta(days=days)), iso(now))
        by_reminder: dict[str, list[Record]] = {}
        for dose in doses:
            by_reminder.setdefault(dose["reminder_id"], []).append(dose)
        self._audit.record(principal, "read", "adherence", patient_id)
        return Adherence(
            days=days,
            reminders=[rules.adherence_row(rid, ds[0].get("kind"), ds) for rid, ds in sorted(by_reminder.items())],
            overall=rules.adherence_row(None, None, doses),
        )

    # -- the tick ---------------------------------------------------------------------------

    def fire(self, item: Record, now: datetime) -> None:
        """Fire a due reminder once, for the newest occurrence it missed, and move it on."""
        times, days, zone = item["times"], item["days"], item.get("timezone", "UTC")
        due = parse_iso(item["due_at"])
        occurrence = latest_occurrence(times, days, zone, due - timedelta(milliseconds=1), now) or due
        following = next_occurrence(times, days, zone, max(now, occurrence))
        if not self._store.advance(item, iso(occurrence), iso(following) if following else None):
            return  # another tick got here first
        pid, rid = item["patient_id"], item["reminder_id"]
        if episode_quiet(self._profiles.get(pid) or {}):
            # Paused or discharged: the schedule moves on without a dose or a message, so resuming
            # starts from the next occurrence with nothing to catch up.
            count("RemindersSkippedMonitoringQuiet")
            return
        dose = {"patient_id": pid, "reminder_id": rid, "kind": item["kind"], "due_at": iso(occurrence), "status": "due"}
        if not self._store.create_dose(dose):
            return
        self._messaging.enqueue(
            Intent(
                intent_id=f"reminder:{pid}:{rid}:{iso(occurrence)}",
                recipient=Recipient(kind="patient", id=pid),
                template=rules.TEMPLATE_OF[item["kind"]],
                # due_at lets delivery tell a reminder held back by quiet hours from an on-time one, and
                # scheduled is what the late variant says (rule 12: a late dose reminder is not "take it now").
                params={
                    # Never text a patient typed (docs/api.md "Trust rules"): only the care team's label.
                    "label": rules.sendable_label(item),
                    "scheduled": wall_clock(occurrence, zone),
                    "due_at": iso(occurrence),
                },
                created_at=now,
                patient_id=pid,
            )
        )
        self._events.put_event(
            pid,
            "reminder_sent",
            now,
            f"reminder-{rid}-{iso(occurrence)}",
            f"{item['kind']} reminder due {iso(occurrence)}",
            None,
            {"reminder_id": rid, "due_at": iso(occurrence)},
        )
        count("RemindersFired")
        # The three reminders before this one all went unanswered: hand over once per streak.
        if int(item.get("unanswered", 0)) == rules.UNANSWERED_LIMIT:
            self._publish(RemindersUnanswered(pid, f"{rid}:{iso(occurrence)}", now))

    def _reschedule(self, item: Record) -> None:
        now = self._clock()
        following = (
            next_occurrence(item["times"], item["days"], item.get("timezone", "UTC"), now)
            if item.get("active")
            else None
        )
        item["next_due_at"] = iso(following) if following else None
        self._store.replace(item)

    def timezone_changed(self, patient_id: str, timezone: str) -> None:
        """The patient moved: every schedule is recomputed in the new zone (from the stream)."""
        for item in self._store.of_patient(patient_id):
            self._reschedule({**item, "timezone": timezone})

    # -- answers ------------------------------------------------------------------------------

    def _latest_due(self, patient_id: str, at: datetime, match: Callable[[Record], bool]) -> Record | None:
        doses = self._store.doses_between(patient_id, iso(at - TAKEN_WINDOW), iso(at + timedelta(minutes=5)))
        open_doses = [d for d in doses if d.get("status") == "due" and match(d)]
        return max(open_doses, key=lambda d: d["due_at"]) if open_doses else None

    def _latest_acknowledged(self, patient_id: str, reminder_id: str, at: datetime, exact: bool) -> Record | None:
        """The dose this acknowledgment already closed: acknowledged at ``at`` (or, without a time, lately)."""
        doses = self._store.doses_between(patient_id, iso(at - TAKEN_WINDOW), iso(at + timedelta(minutes=5)))
        done = [
            d
            for d in doses
            if d["reminder_id"] == reminder_id
            and d.get("status") == "done"
            and d.get("done_by") == "acknowledged"
            and (not exact or d.get("done_at") == iso(at))
        ]
        return max(done, key=lambda d: d["due_at"]) if done else None

    def _done(self, dose: Record, at: datetime, how: str) -> None:
        if self._store.mark_done(dose, iso(at), how):
            self._store.answered(dose["patient_id"], dose["reminder_id"])
            self._events.put_event(
                dose["patient_id"],
                "reminder_done",
                at,
                f"done-{dose['reminder_id']}-{dose['due_at']}",
                f"{dose['kind']} reminder done ({how})",
                None,
                {"reminder_id": dose["reminder_id"], "due_at": dose["due_at"]},
            )

    def taken(self, patient_id: str, at: datetime, inbound_id: str) -> None:
        """SMS TAKEN/DONE: the latest open dose of the last 12 h is done."""
        dose = self._latest_due(patient_id, at, lambda d: True)
        if dose is not None:
            self._done(dose, at, "sms")

    def missed_due(self, item: Record, now: datetime) -> None:
        """No reading for 3 days: a gentle nudge; for 7 days: a routine missed_readings alert. Once per gap."""
        pid, anchor = item["patient_id"], parse_iso(item["anchor"])
        if episode_quiet(self._profiles.get(pid) or {}):
            self._store.missed_step(item, 2, None)  # nobody is watching: resuming starts a new watch
            return
        measuring = any(r.get("active") and r.get("kind") in rules.READING_TYPE_OF for r in self._store.of_patient(pid))
        if not measuring:
            self._store.missed_step(item, 2, None)  # no plan to follow any more: stop watching
            return
        if int(item.get("stage", 0)) == 0:
            if not self._store.missed_step(item, 1, iso(anchor + rules.MISSED_ALERT_AFTER)):
                return
            self._messaging.enqueue(
                Intent(
                    intent_id=f"missed:{pid}:{item['anchor']}",
                    recipient=Recipient(kind="patient", id=pid),
                    template="missed_readings_nudge",
                    created_at=now,
                    patient_id=pid,
                )
            )
            count("MissedReadingNudges")
            return
        if self._store.missed_step(item, 2, None):
            self._publish(ReadingsMissed(pid, f"missed:{item['anchor']}", now))

    def monitoring_resumed(self, patient_id: str, now: datetime) -> None:
        """Monitoring is on again (a resume, a re-enrolment): the missed-readings watch starts from now, and the
        fires skipped while quiet do not count as unanswered reminders."""
        self._store.reading_seen(patient_id, iso(now), iso(now + rules.MISSED_NUDGE_AFTER))
        for item in self._store.of_patient(patient_id):
            if int(item.get("unanswered", 0)):
                self._store.answered(patient_id, item["reminder_id"])

    def reading_arrived(self, reading: Record) -> None:
        """A reading restarts the missed-readings watch and completes a measurement dose due within 2 h."""
        self._store.reading_seen(
            reading["patient_id"],
            reading["measured_at"],
            iso(parse_iso(reading["measured_at"]) + rules.MISSED_NUDGE_AFTER),
        )
        measured = parse_iso(reading["measured_at"])
        window = rules.READING_WINDOW
        doses = self._store.doses_between(reading["patient_id"], iso(measured - window), iso(measured + window))
        for dose in doses:
            if dose.get("status") == "due" and rules.READING_TYPE_OF.get(dose.get("kind", "")) == reading["type"]:
                self._done(dose, parse_iso(reading["received_at"]), "reading")
