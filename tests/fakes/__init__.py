"""In-memory fakes of the service ports, faithful to the DynamoDB adapters.

This module holds the fakes of the shared ports (``chalicelib/services/ports.py``:
alerts, people, timeline, outbox, messaging); a service that declares its own
ports has its fakes in a submodule named after it (``tests/fakes/reminders.py``...).

Each fake keeps what the table would keep and refuses what its conditional
writes would refuse: opening an alert whose slot is taken hands back the
holder; joining skips a reading already counted or a resolved alert; an
upgrade, re-page or escalation that lost its race answers False; a
transition from a status the alert is no longer in raises ``ConflictError``.
Reads come back in the order the real Queries give them (a clinician's list:
critical first, then newest), as copies, so a caller cannot change what is
stored.  ``tests/contract`` runs the same suite on each fake and on its
DynamoDB adapter against DynamoDB Local, which is what keeps them honest.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.alerts import ESCALATE_AFTER, PRIORITY_RANK, slot_of
from chalicelib.domain.classification import classify_blood_pressure, classify_glucose
from chalicelib.domain.delivery import SendError, Status, mark_attribute
from chalicelib.domain.errors import ConflictError, NotFoundError
from chalicelib.domain.identity import Principal, can_see_patient
from chalicelib.domain.messages import Intent, Rendered
from chalicelib.domain.readings import BloodPressureIn, GlucoseIn, Reading
from chalicelib.domain.targets import default_targets
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.resources import DUE_SHARDS, URGENT_DUE_SHARD
from chalicelib.services.ports import DailySlot, Mark, OpenSlot, Sent, TimelineEntry

Record = dict[str, Any]


@dataclass
class FakePage:
    items: list[Record]
    last_key: Any


def _copy(item: Record | None) -> Record | None:
    return copy.deepcopy(item) if item is not None else None


def as_read(value: Any) -> Any:
    """``value`` as a later read returns it: DynamoDB keeps no null attributes, and sets come back as lists."""
    if isinstance(value, dict):
        return {k: as_read(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [as_read(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(as_read(v) for v in value)
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)  # DynamoDB keeps numbers, not their type: 112.0 reads back as 112
    return value


class FakeClock:
    """A clock the test moves: ``clock()`` is now."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class FakeTimeline:
    """The ``Timeline`` port: one event per (patient, time, event id); writing it again overwrites it."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str, str], Record] = {}

    def put_event(
        self,
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> None:
        self.put(TimelineEntry(patient_id, kind, at, event_id, summary, channel, dict(ref or {})))

    def put(self, entry: TimelineEntry) -> None:
        event = {**asdict(entry), "at": iso(entry.at)}
        self._events[(entry.patient_id, event["at"], entry.event_id)] = event

    def set_status(self, patient_id: str, at: str, event_id: str, status: str) -> bool:
        """A send's delivery status on its entry (the adapter's conditional update: the entry must exist)."""
        event = self._events.get((patient_id, at, event_id))
        if event is None:
            return False
        event["status"] = status
        return True

    def of(self, patient_id: str, kind: str | None = None) -> list[Record]:
        """The patient's events, oldest first (as the timeline's sort key orders them)."""
        return [
            copy.deepcopy(e)
            for key, e in sorted(self._events.items())
            if key[0] == patient_id and (kind is None or e["kind"] == kind)
        ]


class FakeOutbox:
    """The ``Outbox`` port: every intent enqueued, in order (delivery dedupes by intent id; so does ``sent``)."""

    def __init__(self) -> None:
        self.intents: list[Intent] = []

    def enqueue(self, *intents: Intent) -> None:
        self.intents.extend(intents)

    def sent(self) -> list[Intent]:
        """What delivery would send: each intent id once."""
        return list({i.intent_id: i for i in self.intents}.values())

    def take(self) -> list[Intent]:
        """What was enqueued since the last ``take`` (deduplicated by intent id)."""
        taken = list({i.intent_id: i for i in self.intents}.values())
        self.intents.clear()
        return taken


class FakeAuditLog:
    """The ``AuditLog`` port of ``services/audit.py``."""

    def __init__(self) -> None:
        self.entries: list[Record] = []

    def append(self, entry: Record) -> None:
        self.entries.append(dict(entry))

    def append_many(self, entries: list[Record]) -> None:
        self.entries.extend(dict(e) for e in entries)


class FakePatients:
    """The ``Patients`` port: patient records by id."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def put(self, record: Record) -> None:
        self.records[record["patient_id"]] = as_read(record)

    def get(self, patient_id: str) -> Record | None:
        return _copy(self.records.get(patient_id))

    def many(self, patient_ids: list[str]) -> dict[str, Record]:
        return {pid: copy.deepcopy(self.records[pid]) for pid in patient_ids if pid in self.records}


class FakePatientAccess:
    """The shared ``PatientAccess`` port over ``FakePatients``: ``PatientService.visible_record``'s rule.

    Out of scope (or unknown) is ``NotFoundError``; ``reads`` counts the look-ups.
    """

    def __init__(self, patients: FakePatients) -> None:
        self.patients = patients
        self.reads = 0

    def visible_record(self, principal: Principal, patient_id: str) -> Record:
        self.reads += 1
        record = self.patients.get(patient_id)
        if record is None or not can_see_patient(principal, patient_id, record.get("care_team", [])):
            raise NotFoundError("Patient not found.")
        return record


class FakeClinicians:
    """The ``Clinicians`` port: profiles by id and the clinic's on-call record."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.on_call_record: Record | None = None

    def put(self, record: Record) -> None:
        self.records[record["clinician_id"]] = as_read(record)

    def put_on_call(self, record: Record) -> None:
        self.on_call_record = as_read(record)

    def many(self, clinician_ids: list[str]) -> dict[str, Record]:
        return {cid: copy.deepcopy(self.records[cid]) for cid in dict.fromkeys(clinician_ids) if cid in self.records}

    def on_call(self) -> Record | None:
        return _copy(self.on_call_record)


class FakeReadings:
    """The ``AlertReadings`` port: stored reading records, in measured-time order per type."""

    def __init__(self) -> None:
        self._readings: dict[tuple[str, str], Record] = {}

    def put(self, reading: Record) -> None:
        self._readings[(reading["patient_id"], reading["reading_id"])] = as_read(reading)

    def _between(self, patient_id: str, reading_type: str, start: str, end: str) -> list[Record]:
        found = [
            r
            for (pid, _), r in self._readings.items()
            if pid == patient_id and r["type"] == reading_type and start <= r["measured_at"] <= end
        ]
        return [copy.deepcopy(r) for r in sorted(found, key=lambda r: (r["measured_at"], r["reading_id"]))]

    def glucose_between(self, patient_id: str, start: str, end: str) -> list[Record]:
        return self._between(patient_id, "blood_glucose", start, end)

    def name_alert(self, patient_id: str, reading_id: str, alert_id: str) -> None:
        """What the alert store's open and join do to a stored reading: name the alert, unless it names one."""
        stored = self._readings.get((patient_id, reading_id))
        if stored is not None and stored.get("alert_id") is None:  # DynamoDB stores no null: absent
            stored["alert_id"] = alert_id

    def get(self, patient_id: str, reading_id: str) -> Record | None:
        stored = self._readings.get((patient_id, reading_id))
        return copy.deepcopy(stored) if stored is not None else None

    def page(self, patient_id: str, reading_type: str, start: str, end: str, limit: int, start_key: Any) -> FakePage:
        newest_first = list(reversed(self._between(patient_id, reading_type, start, end)))
        if start_key is not None:
            after = (start_key["measured_at"], start_key["reading_id"])
            newest_first = [r for r in newest_first if (r["measured_at"], r["reading_id"]) < after]
        chosen = newest_first[:limit]
        last = chosen[-1] if chosen and len(chosen) == limit else None
        return FakePage(
            chosen, {"measured_at": last["measured_at"], "reading_id": last["reading_id"]} if last else None
        )


def _inverted(at: str) -> str:
    return f"{9_999_999_999_999 - int(parse_iso(at).timestamp() * 1000):013d}"


def _entry_key(alert: Record) -> str:
    """Where a list entry sorts: status, then critical first, then newest (the adapter's sort key)."""
    return f"{alert['status']}#{PRIORITY_RANK[alert['priority']]}#{_inverted(alert['opened_at'])}#{alert['alert_id']}"


ADMINS = None  # the owner of the admins' list


class FakeAlertStore:
    """The ``AlertStore`` port in memory, with the same races lost the same way as ``DynamoAlertStore``.

    ``timeline`` receives the events the adapter writes in its own transactions
    (opening, joining).
    """

    def __init__(self, timeline: FakeTimeline | None = None, readings: FakeReadings | None = None) -> None:
        self.timeline = timeline or FakeTimeline()
        # The stored readings an opening or joining names its alert on (they share one table).
        self.readings = readings or FakeReadings()
        self.alerts: dict[tuple[str, str], Record] = {}
        self.slots: dict[tuple[str, str], Record] = {}
        self.refs: dict[str, str] = {}
        self.entries: dict[str | None, dict[str, Record]] = {}
        self.safety: dict[tuple[str, str], Record] = {}
        self.digests: dict[str, Record] = {}

    # -- list entries ------------------------------------------------------------

    @staticmethod
    def _summary(alert: Record) -> Record:
        summary = {k: alert[k] for k in ("alert_id", "patient_id", "priority", "status", "opened_at", "kind")}
        if alert.get("unanswered"):
            summary["unanswered"] = True
        return summary

    def _owners(self, care_team: list[str]) -> list[str | None]:
        return [*care_team, ADMINS]

    def _put_entries(self, alert: Record, care_team: list[str]) -> None:
        for owner in self._owners(care_team):
            self.entries.setdefault(owner, {})[_entry_key(alert)] = self._summary(alert)

    def _delete_entries(self, alert: Record, care_team: list[str]) -> None:
        for owner in self._owners(care_team):
            self.entries.get(owner, {}).pop(_entry_key(alert), None)

    def _move_entries(self, before: Record, after: Record, team: list[str] | None = None) -> None:
        old = list(before.get("care_team", []))
        new = old if team is None else list(team)
        self._delete_entries(before, list(dict.fromkeys(old + new)))
        self._put_entries(after, new)

    # -- opening and joining -------------------------------------------------------

    def open(
        self,
        alert: Record,
        care_team: list[str],
        escalate_at: datetime | None,
        event: TimelineEntry,
        reading_id: str | None = None,
    ) -> OpenSlot | None:
        pid = alert["patient_id"]
        slot_key = (pid, slot_of(alert["kind"], alert.get("condition")))
        if slot_key in self.slots:
            return self._holder(self.slots[slot_key])
        if reading_id is not None:
            self.readings.name_alert(pid, reading_id, alert["alert_id"])
        self.slots[slot_key] = {
            "alert_id": alert["alert_id"],
            "priority": alert["priority"],
            "since": alert.get("since", alert["opened_at"]),
        }
        item = as_read({**alert, "care_team": list(care_team)})
        if escalate_at is not None:
            item["due_at"] = iso(escalate_at)
        self.alerts[(pid, alert["alert_id"])] = item
        self.timeline.put(event)
        self._put_entries(alert, list(care_team))
        if "." not in alert["alert_id"]:
            self.refs[alert["alert_id"]] = pid
        return None

    @staticmethod
    def _holder(slot: Record) -> OpenSlot:
        return OpenSlot(str(slot["alert_id"]), str(slot.get("priority", "routine")), str(slot.get("since", "")))

    def open_slots(self, patient_id: str) -> dict[str, OpenSlot]:
        return {slot: self._holder(h) for (pid, slot), h in sorted(self.slots.items()) if pid == patient_id}

    def join_many(
        self,
        patient_id: str,
        events: dict[str, TimelineEntry],
        reading_id: str,
        at: str,
        stored_reading: bool = False,
    ) -> set[str]:
        joined: list[str] = []
        for alert_id, event in events.items():
            alert = self.alerts.get((patient_id, alert_id))
            if alert is None or reading_id in alert["reading_ids"] or alert["status"] == "resolved":
                continue
            alert["occurrences"] += 1
            alert["reading_ids"].append(reading_id)
            alert["last_event_at"] = at
            self.timeline.put(event)
            joined.append(alert_id)
        if stored_reading and joined:
            self.readings.name_alert(patient_id, reading_id, joined[0])
        return set(joined)

    def get(self, patient_id: str, alert_id: str) -> Record | None:
        return _copy(self.alerts.get((patient_id, alert_id)))

    def upgrade(self, alert: Record, kind: str, priority: str, escalate_at: datetime) -> bool:
        stored = self.alerts.get((alert["patient_id"], alert["alert_id"]))
        if stored is None or stored.get("priority") != "routine":
            return False
        updated = {**alert, "kind": kind, "priority": priority, "status": "open"}
        for gone in ("acknowledged_by", "acknowledged_at", "unanswered"):
            stored.pop(gone, None)
        stored.update(
            kind=kind,
            priority=priority,
            status="open",
            escalation_level=0,
            due_at=iso(escalate_at),
            last_paged_at=iso(escalate_at - ESCALATE_AFTER),
        )
        self._move_entries(alert, updated)
        # An update of the slot's priority (an upsert, as DynamoDB's UpdateItem is).
        self.slots.setdefault((alert["patient_id"], slot_of(kind, alert.get("condition"))), {})["priority"] = priority
        return True

    def repage(self, alert: Record, now: datetime, cutoff: datetime, escalate_at: datetime) -> bool:
        stored = self.alerts.get((alert["patient_id"], alert["alert_id"]))
        if stored is None or stored.get("status") != alert["status"]:
            return False
        last = stored.get("last_paged_at")
        if last is not None and last > iso(cutoff):
            return False
        for gone in ("acknowledged_by", "acknowledged_at", "unanswered"):
            stored.pop(gone, None)
        stored.update(last_paged_at=iso(now), status="open", due_at=iso(escalate_at), escalation_level=0)
        if alert["status"] != "open":
            self._move_entries(alert, {**alert, "status": "open"})
        return True

    def escalate(self, alert: Record, level: int, next_due: datetime | None, unanswered: bool) -> bool:
        stored = self.alerts.get((alert["patient_id"], alert["alert_id"]))
        if (
            stored is None
            or stored.get("status") != "open"
            or stored.get("escalation_level") != level - 1
            or stored.get("due_at") != alert.get("due_at")
        ):
            return False
        if unanswered:
            owners = self._owners(list(alert.get("care_team", [])))
            key = _entry_key(alert)
            if any(key not in self.entries.get(owner, {}) for owner in owners):
                return False  # each entry's update is conditional on the entry existing
            for owner in owners:
                self.entries[owner][key]["unanswered"] = True
            stored["unanswered"] = True
        stored.update(escalation_level=level, last_paged_at=alert["due_at"])
        if next_due is None:
            stored.pop("due_at", None)
        else:
            stored["due_at"] = iso(next_due)
        return True

    def transition(
        self, alert: Record, changes: Record, note: Record | None, care_team: list[str] | None = None
    ) -> Record:
        stored = self.alerts.get((alert["patient_id"], alert["alert_id"]))
        if stored is None or stored.get("status") != alert["status"]:
            raise ConflictError("The alert changed meanwhile; fetch it and retry.")
        if care_team is not None and list(care_team) != list(alert.get("care_team", [])):
            changes = {**changes, "care_team": list(care_team)}
        after = {**alert, **changes}
        stored.update(as_read(changes))
        if note:
            stored["notes"] = [*stored.get("notes", []), as_read(note)]
        stored.pop("due_at", None)
        self._move_entries(alert, after, care_team)
        if changes["status"] == "resolved":
            self.slots.pop((alert["patient_id"], slot_of(alert["kind"], alert.get("condition"))), None)
        if note:
            after["notes"] = [*alert.get("notes", []), note]
        return after

    def claim_safety_message(
        self, patient_id: str, condition: str, reading_id: str, at: datetime, cutoff: datetime
    ) -> str | None:
        held = self.safety.get((patient_id, condition))
        if held is None or held["sent_at"] <= iso(cutoff) or held["reading_id"] == reading_id:
            self.safety[(patient_id, condition)] = {"reading_id": reading_id, "sent_at": iso(at)}
            return reading_id
        return str(held["reading_id"])

    def patient_of(self, alert_id: str) -> str | None:
        return self.refs.get(alert_id)

    # -- reading back --------------------------------------------------------------

    def of_patient(self, patient_id: str, statuses: tuple[str, ...] = ()) -> list[Record]:
        mine = [
            a for (pid, _), a in self.alerts.items() if pid == patient_id and (not statuses or a["status"] in statuses)
        ]
        return [copy.deepcopy(a) for a in sorted(mine, key=lambda a: a["alert_id"], reverse=True)]

    def many(self, keys: list[tuple[str, str]]) -> list[Record]:
        return [copy.deepcopy(self.alerts[k]) for k in dict.fromkeys(keys) if k in self.alerts]

    def _listed(self, owner: str | None, status: str, priority: str | None) -> list[tuple[str, Record]]:
        prefix = f"{status}#" + (f"{PRIORITY_RANK[priority]}#" if priority else "")
        return sorted((k, e) for k, e in self.entries.get(owner, {}).items() if k.startswith(prefix))

    def list_page(
        self, clinician_id: str | None, status: str, limit: int, start_key: Any, priority: str | None
    ) -> FakePage:
        listed = self._listed(clinician_id, status, priority)
        if start_key is not None:
            listed = [(k, e) for k, e in listed if k > start_key["position"]]
        chosen = listed[:limit]
        # DynamoDB hands back a LastEvaluatedKey whenever the page is full, even if nothing follows.
        last = {"position": chosen[-1][0]} if chosen and len(chosen) == limit else None
        return FakePage([copy.deepcopy(e) for _, e in chosen], last)

    def clinician_entries(self, clinician_id: str, status: str) -> list[Record]:
        return [copy.deepcopy(e) for _, e in self._listed(clinician_id, status, None)]

    def due_escalations(self, now: datetime) -> list[Record]:
        """The alerts due for escalation by ``now``, soonest first (what the tick reads)."""
        due = [a for a in self.alerts.values() if "due_at" in a and a["due_at"] <= iso(now)]
        return [copy.deepcopy(a) for a in sorted(due, key=lambda a: a["due_at"])]

    # -- digests -------------------------------------------------------------------

    def schedule_digest(self, clinician_id: str, timezone: str, last_digest_at: datetime, due_at: datetime) -> None:
        self.digests[clinician_id] = {
            "clinician_id": clinician_id,
            "timezone": timezone,
            "last_digest_at": iso(last_digest_at),
            "due_at": iso(due_at),
        }

    def note_stage1(self, clinician_id: str, reading_id: str) -> None:
        digest = self.digests.get(clinician_id)
        if digest is not None:
            digest.setdefault("stage1_readings", set()).add(reading_id)

    def advance_digest(self, digest: Record, new_due: datetime, now: datetime) -> bool:
        stored = self.digests.get(digest["clinician_id"])
        if stored is None or stored.get("due_at") != digest["due_at"]:
            return False
        stored.update(due_at=iso(new_due), last_digest_at=iso(now))
        left = set(stored.get("stage1_readings") or set()) - set(digest.get("stage1_readings") or [])
        if left:
            stored["stage1_readings"] = left
        else:
            stored.pop("stage1_readings", None)  # DynamoDB removes a set it empties
        return True

    def digest(self, clinician_id: str) -> Record | None:
        found = self.digests.get(clinician_id)
        return as_read(found) if found is not None else None

    def due_digests(self, now: datetime) -> list[Record]:
        return [as_read(d) for d in self.digests.values() if d["due_at"] <= iso(now)]


def digest_shard(clinician_id: str) -> str:
    """The ordinary due shard of a clinician's digest (as ``adapters.due_index.due_shard`` places it)."""
    key = f"digest:{clinician_id}"
    return f"DUE#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS:02d}"


class FakeDueIndex:
    """The ``DueIndex`` port (services/scheduler.py) over a ``FakeAlertStore``: what the tick's Queries would find.

    Escalations sit on the urgent shard, digests on the ordinary shard their
    clinician hashes to; each comes due at its ``due_at``, soonest first, a
    page at a time, with the ``entity`` the scheduler dispatches on.
    """

    PAGE = 25

    def __init__(self, alerts: FakeAlertStore) -> None:
        self._alerts = alerts

    def due_pages(self, shard: int | str, now: datetime) -> Iterator[list[Record]]:
        key = shard if isinstance(shard, str) else f"DUE#{shard:02d}"
        if key == URGENT_DUE_SHARD:
            items = [{**a, "entity": "alert"} for a in self._alerts.due_escalations(now)]
        else:
            due = self._alerts.due_digests(now)
            items = [{**d, "entity": "digest"} for d in due if digest_shard(d["clinician_id"]) == key]
        items.sort(key=lambda i: i["due_at"])
        for start in range(0, len(items), self.PAGE):
            yield items[start : start + self.PAGE]


@dataclass
class AlertWorld:
    """The alert service's ports, faked, sharing one timeline (as they share one table)."""

    clock: FakeClock = field(default_factory=FakeClock)
    timeline: FakeTimeline = field(default_factory=FakeTimeline)
    readings: FakeReadings = field(default_factory=FakeReadings)
    patients: FakePatients = field(default_factory=FakePatients)
    clinicians: FakeClinicians = field(default_factory=FakeClinicians)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    audit_log: FakeAuditLog = field(default_factory=FakeAuditLog)
    alerts: FakeAlertStore = field(init=False)
    due_index: FakeDueIndex = field(init=False)

    def __post_init__(self) -> None:
        self.alerts = FakeAlertStore(self.timeline, self.readings)
        self.due_index = FakeDueIndex(self.alerts)


# -- messaging and inbound SMS ---------------------------------------------------------------
# The ports of ``MessagingService`` and ``InboundSmsService``; ``tests/contract`` holds the
# messaging store's suite, run on ``FakeMessagingStore`` and on ``DynamoMessagingStore``.


class FakeMessagingPatients(FakePatients):
    """``MessagingPatients`` and ``ConsentPatients``: profiles, open-task counts, consents and devices."""

    def __init__(self) -> None:
        super().__init__()
        # Per patient, the CONSENT#/DEVICE# items ``contact_items`` returns, by sort key.
        self.contact: dict[str, dict[str, Record]] = {}

    def add_open_tasks(self, patient_id: str, delta: int) -> None:
        record = self.records.get(patient_id)
        if record is not None:
            record["open_tasks"] = int(record.get("open_tasks", 0)) + delta

    def put_consent(self, patient_id: str, consent: Record) -> None:
        item = {"sk": f"CONSENT#{consent['channel']}", "entity": "consent", "patient_id": patient_id, **consent}
        self.contact.setdefault(patient_id, {})[item["sk"]] = as_read(item)

    def put_device(self, patient_id: str, device: Record, token: str) -> None:
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        item = {"sk": f"DEVICE#{digest}", "entity": "device", "device_id": digest, **device}
        self.contact.setdefault(patient_id, {})[item["sk"]] = as_read(item)


class FakeClinicianProfiles(FakeClinicians):
    """``ClinicianProfiles``: a clinician's profile by id."""

    def get(self, clinician_id: str) -> Record | None:
        return _copy(self.records.get(clinician_id))


class FakeMessagingStore:
    """``MessagingStore`` (claims, deferral, daily cap, counters, contact items, tasks, conversation, timeline).

    As ``DynamoMessagingStore``: a claim is refused while another delivery holds it (``busy``),
    after its lease lapsed (``uncertain``, but claimed again for a safety message), and once
    settled (the settled status, e.g. ``sent``); ``retry`` and ``deferred`` may be claimed again.
    A deferred message is released once; a daily slot and a hold count once per intent; a task
    is created once per id; counters need the patient's profile.
    """

    def __init__(self, patients: FakeMessagingPatients | None = None, timeline: FakeTimeline | None = None) -> None:
        self.patients = patients or FakeMessagingPatients()
        self.timeline = timeline or FakeTimeline()
        # What each send's provider accepted, by (channel, provider id): ``FakeReceipts`` reads it.
        self.receipts: dict[tuple[str, str], Record] = {}
        self.deliveries: dict[str, Record] = {}
        self.deferred: dict[str, Record] = {}
        self.sends: dict[tuple[str, str], Record] = {}
        self.tasks: dict[tuple[str, str], Record] = {}
        self.messages: dict[tuple[str, str, str], Record] = {}

    # -- claims and deferral
    def claim(self, intent_id: str, now: datetime, lease: timedelta, safety: bool) -> str:
        old = self.deliveries.get(intent_id)
        status = str(old.get("status", "")) if old is not None else ""
        lapsed = old is not None and str(old.get("lease_until", "")) < iso(now)
        if old is None or status in ("retry", "deferred") or (safety and status == "sending" and lapsed):
            self.deliveries[intent_id] = {"status": "sending", "lease_until": iso(now + lease), "detail": {}}
            return "claimed"
        if status == "sending":
            return "uncertain" if lapsed else "busy"
        return status or "sent"

    def claim_with_slot(self, intent_id: str, now: datetime, lease: timedelta, slot: DailySlot) -> tuple[str, bool]:
        status = self.claim(intent_id, now, lease, safety=False)
        taken = status == "claimed" and self.take_daily_slot(
            slot.patient_id, slot.day, intent_id, slot.cap, slot.expires
        )
        return status, taken

    def record_sent(self, sent: Sent) -> None:
        self.settle(sent.intent_id, "sent", sent.detail)
        if sent.counted:
            self.count_send(*sent.counted)
        if sent.message:
            patient_id, at, message_id, channel = sent.message
            self.update_message(patient_id, at, message_id, "sent", channel)
        if sent.event:
            e = sent.event
            self.put_event(e.patient_id, e.kind, e.at, e.event_id, e.summary, e.channel, e.ref)
            self.timeline.set_status(e.patient_id, iso(e.at), e.event_id, "sent")
        if sent.receipt:
            r = sent.receipt
            self.receipts[(r.channel, r.provider_id)] = as_read(
                {
                    "channel": r.channel,
                    "provider_id": r.provider_id,
                    "to": r.to,
                    "recipient_kind": r.recipient_kind,
                    "recipient_id": r.recipient_id,
                    "intent": r.intent,
                    "fallback": list(r.fallback),
                    "sent_at": iso(r.sent_at),
                    "status": "sent",
                    "rank": Status.SENT.rank,
                    **({"patient_id": r.patient_id} if r.patient_id else {}),
                    **(dict(zip(("event_at", "event_id"), r.event, strict=True)) if r.event else {}),
                    **(dict(zip(("message_at", "message_id"), r.message, strict=True)) if r.message else {}),
                }
            )

    def settle(self, intent_id: str, status: str, detail: dict[str, Any] | None = None) -> None:
        self.deliveries.setdefault(intent_id, {})
        self.deliveries[intent_id].update(status=status, detail=as_read(dict(detail or {})))

    def delivery(self, intent_id: str) -> Record | None:
        return _copy(self.deliveries.get(intent_id))

    def defer(self, intent: Intent, due_at: datetime) -> None:
        self.deferred[intent.intent_id] = {
            "pk": f"MSG#{intent.intent_id}",
            "sk": "DEFERRED",
            "due_at": iso(due_at),
            "intent": intent.model_dump_json(),
        }

    def due_deferred(self, now: datetime) -> list[Record]:
        """The unreleased deferred items due by ``now``, as the due index hands them to the tick."""
        return [copy.deepcopy(i) for i in self.deferred.values() if "released" not in i and i["due_at"] <= iso(now)]

    def take_deferred(self, item: Record) -> Intent | None:
        stored = self.deferred.get(str(item["pk"]).removeprefix("MSG#"))
        if stored is None or "released" in stored:
            return None
        stored["released"] = True
        return Intent.model_validate_json(item["intent"])

    # -- the daily cap and counters
    def take_daily_slot(self, patient_id: str, day: str, intent_id: str, cap: int, expires: int) -> bool:
        day_sends = self.sends.setdefault((patient_id, day), {"sent": 0, "intents": set()})
        if intent_id in day_sends["intents"]:
            return True  # this intent's slot, taken by an earlier attempt
        if day_sends["sent"] >= cap:
            return False
        day_sends["sent"] += 1
        day_sends["intents"].add(intent_id)
        return True

    def hold(self, patient_id: str, day: str, intent_id: str, expires: int) -> bool:
        day_sends = self.sends.setdefault((patient_id, day), {"sent": 0, "intents": set()})
        first = "held" not in day_sends
        held: set[str] = day_sends.setdefault("held_intents", set())
        if first or intent_id not in held:
            day_sends["held"] = int(day_sends.get("held", 0)) + 1
            held.add(intent_id)
        return first

    def held_on(self, days: dict[str, str]) -> dict[str, int]:
        found = {pid: self.sends.get((pid, day)) for pid, day in days.items()}
        return {pid: int(item.get("held", 0)) for pid, item in found.items() if item is not None}

    def count_send(self, patient_id: str, channel: str, at: datetime) -> None:
        stats = self._stats(patient_id, channel)
        if stats is not None:
            stats["sent"] = int(stats.get("sent", 0)) + 1
            stats["last_sent_at"] = iso(at)

    def count_answer(self, patient_id: str, channel: str, at: datetime, since: str) -> None:
        stats = self._stats(patient_id, channel)
        if stats is None or str(stats.get("last_sent_at", "")) < since or "last_sent_at" not in stats:
            return
        if "answered_at" in stats and stats["answered_at"] >= stats["last_sent_at"]:
            return
        stats["answered"] = int(stats.get("answered", 0)) + 1
        stats["answered_at"] = iso(at)

    def _stats(self, patient_id: str, channel: str) -> Record | None:
        record = self.patients.records.get(patient_id)
        if record is None:
            return None  # the adapter's update needs the profile
        stats: Record = record.setdefault("channel_stats", {}).setdefault(channel, {})
        return stats

    # -- contact items, tasks, the conversation, the timeline
    def contact_items(self, patient_id: str) -> list[Record]:
        items = self.patients.contact.get(patient_id, {})
        return [copy.deepcopy(items[sk]) for sk in sorted(items)]

    def patients_by_phone(self, phone: str) -> list[str]:
        return sorted(pid for pid, r in self.patients.records.items() if r.get("phone") == phone)

    def put_task(self, patient_id: str, task: Record) -> bool:
        key = (patient_id, str(task["task_id"]))
        if key in self.tasks:
            return False
        self.tasks[key] = as_read(dict(task))
        return True

    def tasks_of(self, patient_id: str) -> list[Record]:
        return [copy.deepcopy(t) for (pid, _), t in sorted(self.tasks.items()) if pid == patient_id]

    def put_message(self, patient_id: str, message: Record) -> None:
        key = (patient_id, str(message["at"]), str(message["message_id"]))
        self.messages[key] = as_read(dict(message))

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None:
        message = self.messages.get((patient_id, at, message_id))
        if message is not None:  # the adapter's update needs the message
            message.update(status=status, channel=channel or "none")

    def put_event(
        self,
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> None:
        self.timeline.put_event(patient_id, kind, at, event_id, summary, channel, ref)


class FakeReceipts:
    """``Receipts`` on the messaging store's fakes, as ``DynamoReceipts`` on the table.

    The status only rises (a lower or equal one writes nothing and answers False); the conversation
    message and the timeline entry take it when they exist; a mark needs the profile.
    """

    def __init__(self, store: FakeMessagingStore, clinicians: FakeClinicians) -> None:
        self.store = store
        self.clinicians = clinicians

    def receipt(self, channel: str, provider_id: str) -> Record | None:
        return _copy(self.store.receipts.get((channel, provider_id)))

    def settle_receipt(
        self, receipt: Record, status: str, at: datetime, reason: str, mark: Mark | None, entry: TimelineEntry | None
    ) -> bool:
        stored = self.store.receipts.get((receipt["channel"], receipt["provider_id"]))
        now = Status(status)
        if stored is None or int(stored["rank"]) >= now.rank:
            return False
        stored.update(status=now.value, rank=now.rank, settled_at=iso(at), reason=reason[:300])
        patient_id = receipt.get("patient_id")
        if patient_id and receipt.get("event_id"):
            self.store.timeline.set_status(patient_id, receipt["event_at"], receipt["event_id"], now.value)
        if patient_id and receipt.get("message_id"):
            message = self.store.messages.get((patient_id, receipt["message_at"], receipt["message_id"]))
            if message is not None and message.get("channel") == receipt["channel"]:
                message["status"] = now.value  # not after a re-send on another channel
        if entry is not None:
            self.store.timeline.put(entry)
        if mark is not None:
            people = self.store.patients.records if mark.recipient_kind == "patient" else self.clinicians.records
            profile = people.get(mark.recipient_id)
            if profile is not None:
                value = {"address": mark.address, "since": mark.since, "reason": mark.reason[:300]}
                profile[mark_attribute(mark.channel)] = value
        return True

    def remove_devices(self, patient_id: str, endpoint: str) -> int:
        items = self.store.patients.contact.get(patient_id, {})
        gone = [sk for sk, item in items.items() if sk.startswith("DEVICE#") and item.get("endpoint_arn") == endpoint]
        for sk in gone:
            del items[sk]
        return len(gone)


class FakeOutboundQueue:
    """``OutboundQueue``: every intent enqueued, in order."""

    def __init__(self) -> None:
        self.intents: list[Intent] = []

    def enqueue(self, intents: list[Intent]) -> None:
        self.intents.extend(intents)

    def take(self) -> list[Intent]:
        taken, self.intents = self.intents, []
        return taken


class FakeChannel:
    """A ``Channel`` that records what it sent; ``failures`` are raised, one per send, before it succeeds."""

    def __init__(self, name: str, failures: list[SendError] | None = None, always: SendError | None = None) -> None:
        self.name = name
        self.failures = list(failures or [])
        self.always = always
        self.sent: list[tuple[str, Rendered]] = []
        self.attempts = 0

    def send(self, address: str, message: Rendered) -> str:
        self.attempts += 1
        if self.always is not None:
            raise self.always
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((address, message))
        return f"{self.name}-{len(self.sent)}"


@dataclass
class FakeRecorded:
    """``RecordedReading``: the stored reading, or None."""

    reading: Reading | None


class FakeReadingRecorder:
    """``ReadingRecorder``: validates as the API does, classifies against the default targets, stores once per id.

    An invalid payload raises pydantic's ``ValidationError``, as ``ReadingService.record`` does.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.readings: dict[tuple[str, str], Reading] = {}

    def record(self, principal: Principal, patient_id: str, payload: Any) -> FakeRecorded:
        key = (patient_id, str(payload["reading_id"]))
        if key in self.readings:
            return FakeRecorded(self.readings[key])
        now = self.clock()
        fields = {k: v for k, v in payload.items() if k not in ("reading_id", "source")}
        extra: Record = {}
        if payload["type"] == "blood_glucose":
            glucose = GlucoseIn.model_validate(fields, context={"now": now})
            judgement = classify_glucose(glucose, default_targets())
            extra = {"value_mg_dl": glucose.value_mg_dl}
            parsed: GlucoseIn | BloodPressureIn = glucose
        else:
            parsed = BloodPressureIn.model_validate(fields, context={"now": now})
            judgement = classify_blood_pressure(parsed, default_targets())
        reading = Reading.model_validate(
            {
                **parsed.model_dump(exclude_none=True),
                **extra,
                "reading_id": key[1],
                "patient_id": patient_id,
                "received_at": iso(now),
                "source": payload.get("source", "app"),
                "classification": judgement.render("en"),
            }
        )
        self.readings[key] = reading
        return FakeRecorded(reading)


class FakeConversation:
    """``InboundConversation``: the texts a patient sent, in order (one per inbound id)."""

    def __init__(self) -> None:
        self.messages: dict[str, Record] = {}

    def record_inbound(self, patient_id: str, channel: str, text: str, at: datetime, inbound_id: str) -> Record:
        message = {"patient_id": patient_id, "channel": channel, "text": text, "at": iso(at), "direction": "in"}
        self.messages.setdefault(inbound_id, message)
        return dict(self.messages[inbound_id])


# -- episodes --------------------------------------------------------------------------------------


class FakeEpisodes:
    """``Episodes`` (chalicelib/services/episodes.py) over the patients' records, as ``DynamoEpisodes``.

    A change lands only while the profile names the episode it was made from (none, for the first) with
    the status it had, and while the stored episode still has its version; the profile's summary, the
    episode and the timeline entry land together.
    """

    def __init__(self, patients: FakePatients, timeline: FakeTimeline) -> None:
        self.patients = patients
        self.timeline = timeline
        self.items: dict[str, dict[str, Record]] = {}

    def of_patient(self, patient_id: str) -> list[Any]:
        from chalicelib.domain.episodes import Episode

        stored = sorted(self.items.get(patient_id, {}).values(), key=lambda e: (e["created_at"], e["episode_id"]))
        return [Episode.model_validate(e) for e in reversed(stored)]

    def save(
        self, patient_id: str, episode: Any, before: Any, stored: bool, entry: TimelineEntry, spans: Any = None
    ) -> bool:
        from chalicelib.domain.episodes import summary

        profile = self.patients.records.get(patient_id)
        if profile is None or profile.get("deidentifying_since"):
            return False
        current = profile.get("episode")
        if before is None or not stored:
            if current is not None:
                return False
        elif current is None or (current["episode_id"], current["status"]) != (before.episode_id, before.status):
            return False
        mine = self.items.setdefault(patient_id, {})
        old = mine.get(episode.episode_id)
        same = before is not None and stored and before.episode_id == episode.episode_id
        if (same and (old is None or old["version"] != before.version)) or (not same and old is not None):
            return False
        mine[episode.episode_id] = as_read(episode.model_dump(mode="json"))
        profile["episode"] = as_read(summary(episode))
        profile["program_spans"] = as_read(spans or [])
        self.timeline.put(entry)
        return True
