"""The alert lifecycle: open, join, upgrade, escalate, acknowledge, resolve; and the pages it sends.

Driven by the table stream (a stored reading), by inbound red flags, by the
messaging engine (an unreachable patient) and by the minute tick
(escalations, daily digests).  Pages go out as message intents whose ids make
them idempotent: a replayed stream record or a repeated tick pages nobody twice.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.adapters.alerts import ADMIN_LIST, DynamoAlertStore
from chalicelib.adapters.messaging import DynamoMessagingStore, due_shard
from chalicelib.adapters.readings import DynamoReadingStore
from chalicelib.adapters.stores import DynamoClinicianStore, DynamoPatientStore, clinician_pk
from chalicelib.domain import alerts as rules
from chalicelib.domain.alerts import Alert, TransitionIn
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import ConflictError, FieldError, MalformedRequestError, NotFoundError
from chalicelib.domain.identity import Principal, Role, can_see_patient
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count
from chalicelib.services.audit import AuditTrail
from chalicelib.services.messaging import MessagingService

DIGEST_HOUR = 8

# An event caused by a reading is stamped 1 ms after it, so the timeline shows cause before effect.
FOLLOWS = timedelta(milliseconds=1)


def alert_id_for(patient_id: str, origin: str) -> str:
    """Opaque, deterministic from what opened it (a redelivery opens the same alert), and names its patient."""
    encoded = base64.urlsafe_b64encode(patient_id.encode()).decode().rstrip("=")
    return f"{encoded}.{hashlib.sha256(origin.encode()).hexdigest()[:16]}"


def patient_of_alert(alert_id: str) -> str:
    encoded, _, suffix = alert_id.partition(".")
    if not encoded or len(suffix) != 16:
        raise NotFoundError("Alert not found.")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise NotFoundError("Alert not found.") from error


def next_digest(now: datetime, timezone: str) -> datetime:
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    for offset in range(2):
        candidate = datetime.combine(local.date() + timedelta(days=offset), datetime.min.time(), tzinfo=tz).replace(
            hour=DIGEST_HOUR
        )
        if candidate.astimezone(now.tzinfo) > now:
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("unreachable")


class AlertService:
    def __init__(
        self,
        alerts: DynamoAlertStore,
        readings: DynamoReadingStore,
        patients: DynamoPatientStore,
        clinicians: DynamoClinicianStore,
        events: DynamoMessagingStore,
        messaging: MessagingService,
        audit: AuditTrail,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
    ) -> None:
        self._alerts = alerts
        self._readings = readings
        self._patients = patients
        self._clinicians = clinicians
        self._events = events
        self._messaging = messaging
        self._audit = audit
        self._cursors = cursors
        self._clock = clock

    # -- from the stream -------------------------------------------------------------

    def on_reading(self, reading: dict[str, Any], record: dict[str, Any] | None = None) -> None:
        """A new reading was stored: open, join or upgrade its alerts; run the trend rules it can trigger.

        One Query reads the patient's open slots; every alert the reading joins is
        joined in one transaction.  Only opening (rare) costs more, and a trend's
        window is read only when its alert is not already open.
        """
        record = record or self._patients.get(reading["patient_id"])
        if record is None:
            return
        pid, origin = reading["patient_id"], reading["reading_id"]
        severity = reading["classification"]["severity"]
        at = parse_iso(reading["received_at"])
        wanted = [rule for rule in [rules.alert_for_severity(severity)] if rule is not None]
        trends: list[str] = []
        if reading["type"] == "blood_glucose" and severity in ("low", "critical_low"):
            trends.append("recurrent_lows")
        if reading["type"] == "blood_pressure" and (
            float(reading["systolic"]) >= rules.SUSTAINED_BP_SYSTOLIC
            or float(reading["diastolic"]) >= rules.SUSTAINED_BP_DIASTOLIC
        ):
            trends.append("sustained_high_home_bp")
        if not wanted and not trends:
            return
        slots = self._alerts.open_slots(pid)
        joins: list[tuple[str, str, dict[str, Any]]] = []
        for kind, priority in wanted:
            holder = slots.get(rules.slot_of(kind)) or self._open(
                pid, kind, priority, origin, at, reading, record, reading["measured_at"]
            )
            if holder:
                joins.append((kind, priority, holder))
        for trend in trends:
            holder = slots.get(trend)
            if holder is None and self._trend_holds(trend, reading):
                holder = self._open(pid, trend, "routine", origin, at, None, record, reading["measured_at"])
            # A trend alert takes the readings measured since the one that completed it; an
            # earlier one (a redelivery, or a late offline sync) was judged before it existed.
            if holder and reading["measured_at"] >= holder.get("since", ""):
                joins.append((trend, "routine", holder))
        if joins:
            self._join(pid, joins, origin, at, reading, record)

    def _trend_holds(self, trend: str, reading: dict[str, Any]) -> bool:
        measured = parse_iso(reading["measured_at"])
        pid = reading["patient_id"]
        if trend == "recurrent_lows":
            window = self._readings.glucose_between(pid, iso(measured - rules.RECURRENT_LOWS_WINDOW), iso(measured))
            return rules.recurrent_lows(window)
        start = iso(measured - rules.SUSTAINED_BP_WINDOW)
        return rules.sustained_high(self._readings.page(pid, "blood_pressure", start, iso(measured), 500, None).items)

    def _open(
        self,
        patient_id: str,
        kind: str,
        priority: str,
        origin: str,
        at: datetime,
        reading: dict[str, Any] | None,
        record: dict[str, Any],
        since: str | None = None,
    ) -> dict[str, Any] | None:
        """Open an alert; None when opened here, else the slot that another writer opened first."""
        alert_id = alert_id_for(patient_id, f"{kind}:{origin}")
        alert = {
            "alert_id": alert_id,
            "patient_id": patient_id,
            "kind": kind,
            "priority": priority,
            "status": "open",
            "opened_at": iso(at),
            "last_event_at": iso(at),
            "occurrences": 1,
            "reading_ids": [origin],
            "escalation_level": 0,
            "notes": [],
            "since": since or iso(at),
        }
        critical = priority == "critical"
        opened_event = self._events.event_item(
            patient_id,
            "alert_opened",
            at + FOLLOWS,
            f"alert-opened-{alert_id}",
            f"{priority.capitalize()} alert opened: {kind.replace('_', ' ')}",
            None,
            {"alert_id": alert_id},
        )
        holder = self._alerts.open(
            alert, list(record.get("care_team", [])), at + rules.ESCALATE_AFTER if critical else None, opened_event
        )
        if holder is None:
            count("AlertsOpened")
            if critical:
                self._page(alert, record, at, level=0, reading=reading)
        return holder

    def _join(
        self,
        patient_id: str,
        joins: list[tuple[str, str, dict[str, Any]]],
        origin: str,
        at: datetime,
        reading: dict[str, Any] | None,
        record: dict[str, Any],
    ) -> None:
        events = {
            holder["alert_id"]: self._events.event_item(
                patient_id,
                "alert_joined",
                at + FOLLOWS,
                f"alert-joined-{holder['alert_id']}-{origin}",
                f"Reading joined the open {kind.replace('_', ' ')} alert",
                None,
                {"alert_id": holder["alert_id"]},
            )
            for kind, _, holder in joins
        }
        joined = self._alerts.join_many(patient_id, events, origin, iso(at))
        count("AlertsJoined", len(joined))
        for kind, priority, holder in joins:
            if holder["alert_id"] in joined and rules.is_worse(priority, holder.get("priority", "routine")):
                self._upgrade(patient_id, holder["alert_id"], kind, priority, origin, at, reading, record)

    def _upgrade(
        self,
        patient_id: str,
        alert_id: str,
        kind: str,
        priority: str,
        origin: str,
        at: datetime,
        reading: dict[str, Any] | None,
        record: dict[str, Any],
    ) -> None:
        current = self._alerts.get(patient_id, alert_id)
        if current and self._alerts.upgrade(current, kind, priority, at + rules.ESCALATE_AFTER):
            self._events.put_event(
                patient_id,
                "alert_escalated",
                at + FOLLOWS,
                f"alert-upgraded-{alert_id}",
                f"Alert upgraded to {priority}: {kind.replace('_', ' ')}",
                None,
                {"alert_id": alert_id},
            )
            self._page(
                {**current, "kind": kind, "priority": priority}, record, at, level=0, origin=origin, reading=reading
            )

    def raise_alert(
        self, patient_id: str, kind: str, priority: str, origin: str, at: datetime, record: dict[str, Any] | None = None
    ) -> None:
        """Open an alert not tied to a reading (a red flag, an unreachable patient), or join the open one."""
        record = record or self._patients.get(patient_id)
        if record is None:
            return
        holder = self._open(patient_id, kind, priority, origin, at, None, record)
        if holder:
            self._join(patient_id, [(kind, priority, holder)], origin, at, None, record)

    def _page(
        self,
        alert: dict[str, Any],
        record: dict[str, Any],
        at: datetime,
        level: int,
        origin: str = "",
        reading: dict[str, Any] | None = None,
    ) -> None:
        pid = alert["patient_id"]
        params = {"patient_id": pid, "alert_id": alert["alert_id"]}
        tag = f"{alert['alert_id']}:{level}:{origin}"
        # The correlation id of the request that stored the reading follows the page to delivery.
        correlation = (reading or {}).get("request_id")
        intents = [
            Intent(
                intent_id=f"page:{tag}:{cid}",
                recipient=Recipient(kind="clinician", id=cid),
                template="alert_page_clinician",
                params=params,
                priority="safety",
                created_at=at,
                patient_id=pid,
                correlation_id=correlation,
            )
            for cid in record.get("care_team", [])
        ]
        if alert["kind"] in ("critical_low", "critical_high"):
            guidance = self._guidance_for(alert, reading)
            intents.append(
                Intent(
                    intent_id=f"safety:{tag}",
                    recipient=Recipient(kind="patient", id=pid),
                    template="critical_reading_patient",
                    params={"guidance": guidance},
                    priority="safety",
                    created_at=at,
                    patient_id=pid,
                    correlation_id=correlation,
                )
            )
        self._messaging.enqueue(*intents)

    def _guidance_for(self, alert: dict[str, Any], reading: dict[str, Any] | None) -> str:
        """The reading's own guidance (for patients who opted in to full content)."""
        from chalicelib.services.readings import to_reading

        if reading is None:
            reading = self._readings.table.get(f"PATIENT#{alert['patient_id']}", f"READING#{alert['reading_ids'][-1]}")
        return to_reading(reading).classification.guidance if reading else ""

    # -- from inbound messages and the messaging engine ---------------------------------

    def red_flag(self, patient_id: str, at: datetime, inbound_id: str) -> None:
        self.raise_alert(patient_id, "red_flag_message", "critical", f"sms-{inbound_id}", at)

    def unreachable(self, patient_id: str, origin: str) -> None:
        self.raise_alert(patient_id, "unreachable_patient", "routine", origin, self._clock())

    # -- from the minute tick ------------------------------------------------------------

    def escalate_due(self, item: dict[str, Any], now: datetime) -> None:
        level = int(item.get("escalation_level", 0)) + 1
        next_due = parse_iso(item["due_at"]) + rules.ESCALATE_AFTER if level < rules.MAX_ESCALATION else None
        if not self._alerts.escalate(item, level, next_due):
            return
        pid = item["patient_id"]
        contacts: list[str] = []
        for cid in item.get("care_team", []):
            clinician = self._clinicians.get(cid) or {}
            contacts += [c for c in clinician.get("escalation_contacts", []) if c not in contacts]
        minutes = int((now - parse_iso(item["opened_at"])).total_seconds() // 60)
        self._messaging.enqueue(
            *[
                Intent(
                    intent_id=f"escalate:{item['alert_id']}:{level}:{cid}",
                    recipient=Recipient(kind="clinician", id=cid),
                    template="alert_escalation_clinician",
                    params={"patient_id": pid, "alert_id": item["alert_id"], "minutes": minutes},
                    priority="safety",
                    created_at=now,
                    patient_id=pid,
                )
                for cid in contacts
            ]
        )
        count("AlertsEscalated")
        self._events.put_event(
            pid,
            "alert_escalated",
            now,
            f"alert-escalated-{item['alert_id']}-{level}",
            f"Critical alert escalated to level {level}: escalation contacts paged",
            None,
            {"alert_id": item["alert_id"]},
        )

    def schedule_digest(self, clinician_id: str, timezone: str, now: datetime) -> None:
        self._alerts.table.put(
            {
                "pk": clinician_pk(clinician_id),
                "sk": "DIGEST",
                "entity": "digest",
                "clinician_id": clinician_id,
                "timezone": timezone,
                "last_digest_at": iso(now),
                "due_shard": due_shard(f"digest:{clinician_id}"),
                "due_at": iso(next_digest(now, timezone)),
            }
        )

    def send_digest(self, item: dict[str, Any], now: datetime) -> None:
        """08:00 local: routine alerts opened since the last digest, counts only; nothing when there are none."""
        due_at = item["due_at"]
        since = item.get("last_digest_at", "")
        new_due = next_digest(max(now, parse_iso(due_at)), item.get("timezone", "UTC"))
        if not self._alerts.advance_digest(item, new_due, now):
            return  # a concurrent tick already sent this digest
        routine = [
            e
            for status in ("open", "acknowledged", "resolved")
            for e in self._alerts.clinician_entries(item["clinician_id"], status)
            if e["priority"] == "routine" and e["opened_at"] >= since
        ]
        if not routine:
            return
        self._messaging.enqueue(
            Intent(
                intent_id=f"digest:{item['clinician_id']}:{due_at}",
                recipient=Recipient(kind="clinician", id=item["clinician_id"]),
                template="digest_clinician",
                params={"count": len(routine)},
                only_channels=["email"],
                created_at=now,
            )
        )

    # -- the API ---------------------------------------------------------------------------

    def _visible(self, principal: Principal, alert_id: str) -> dict[str, Any]:
        pid = patient_of_alert(alert_id)
        item = self._alerts.get(pid, alert_id)
        if item is None or not can_see_patient(principal, pid, item.get("care_team", [])) or principal.is_patient:
            raise NotFoundError("Alert not found.")
        return item

    def get(self, principal: Principal, alert_id: str) -> Alert:
        item = self._visible(principal, alert_id)
        self._audit.record(principal, "read", "alert", item["patient_id"])
        return Alert.model_validate({k: v for k, v in item.items() if k in Alert.model_fields})

    def page(
        self,
        principal: Principal,
        status: str | None,
        priority: str | None,
        patient_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Alert], str | None]:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        status = status or "open"
        if status not in rules.TARGET_STATUS.values() and status != "open":
            raise MalformedRequestError("Unknown status.", [FieldError("status", "open, acknowledged or resolved")])
        if priority not in (None, "critical", "routine"):
            raise MalformedRequestError("Unknown priority.", [FieldError("priority", "critical or routine")])
        scope = f"alerts:{principal.subject}:{status}:{priority}:{patient_id}"
        start = self._cursors.decode(scope, cursor)
        if patient_id:
            record = self._patients.get(patient_id)
            if record is None or not can_see_patient(principal, patient_id, record.get("care_team", [])):
                raise NotFoundError("Patient not found.")
            items = [
                i
                for i in self._alerts.of_patient(patient_id)
                if i["status"] == status and (priority is None or i["priority"] == priority)
            ]
            items.sort(key=lambda i: i["opened_at"], reverse=True)  # newest first ...
            items.sort(key=lambda i: rules.PRIORITY_RANK[i["priority"]])  # ... critical before routine (stable)
            offset = int(start or 0)
            chosen = items[offset : offset + limit]
            self._audit.record(principal, "list", "alert", patient_id)
            more = offset + limit < len(items)
            return [self._model(i) for i in chosen], self._cursors.encode(scope, offset + limit if more else None)
        owner = ADMIN_LIST if principal.is_admin else clinician_pk(principal.subject)
        page = self._alerts.page_for(owner, status, limit, start, priority)
        full = self._alerts.batch([(f"PATIENT#{e['patient_id']}", f"ALERT#{e['alert_id']}") for e in page.items])
        by_id = {i["alert_id"]: i for i in full}
        ordered = [by_id[e["alert_id"]] for e in page.items if e["alert_id"] in by_id]
        for patient in sorted({i["patient_id"] for i in ordered}):
            self._audit.record(principal, "list", "alert", patient)
        return [self._model(i) for i in ordered], self._cursors.encode(scope, page.last_key)

    @staticmethod
    def _model(item: dict[str, Any]) -> Alert:
        return Alert.model_validate({k: v for k, v in item.items() if k in Alert.model_fields})

    def transition(self, principal: Principal, alert_id: str, action: str, request: TransitionIn) -> Alert:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        item = self._visible(principal, alert_id)
        status = rules.TARGET_STATUS[action]
        if item["status"] == status and item.get(f"{status}_by") == principal.subject:
            return self._model(item)  # the same person repeating the same action: done already, the same answer
        if item["status"] not in rules.TRANSITIONS[action]:
            raise ConflictError(f"An alert that is {item['status']} cannot be {rules.TARGET_STATUS[action]}.")
        now = iso(self._clock())
        changes: dict[str, Any] = {"status": status, f"{status}_by": principal.subject, f"{status}_at": now}
        note = {"by": principal.subject, "at": now, "text": request.note} if request.note else None
        after = self._alerts.transition(item, changes, note)
        kind = "alert_acknowledged" if action == "acknowledge" else "alert_resolved"
        self._events.put_event(
            item["patient_id"],
            kind,
            self._clock(),
            f"{kind}-{alert_id}",
            f"alert {status} by {principal.subject}",
            None,
            {"alert_id": alert_id},
        )
        self._audit.record(principal, action, "alert", item["patient_id"], {"alert_id": alert_id})
        return self._model(after)
