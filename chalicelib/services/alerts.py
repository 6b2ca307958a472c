"""The alert lifecycle: open, join, upgrade, re-page, escalate, acknowledge, resolve; and the pages it sends.

Driven by the table stream (a stored reading), by inbound red flags, by the
messaging engine (an unreachable patient) and by the minute tick
(escalations, daily digests).  Pages go out as message intents whose ids make
them idempotent: a replayed stream record or a repeated tick pages nobody twice.

The safety net (clinical.md): one alert per condition; a critical reading
joining an alert last paged an hour ago or more pages again (and reopens an
acknowledged alert); every current critical reading sends the patient a
safety message (at most one per condition per 15 minutes); late readings are
history and never page; pages go to the patient's *current* care team on
every real-time channel, to the clinic's on-call list in place of a member
who has none (or of an empty team), and escalation adds escalation contacts,
then the on-call list, then calls it and marks the alert unanswered.  The
timeline names who was paged, and says so when nobody could be.
"""

from __future__ import annotations

import base64
import hashlib
import re
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
from chalicelib.domain.patients import ID_PATTERN
from chalicelib.domain.templates import TEMPLATES
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count, logger, opaque
from chalicelib.services.audit import AuditTrail
from chalicelib.services.messaging import MessagingService

DIGEST_HOUR = 8

# An event caused by a reading is stamped 1 ms after it, so the timeline shows cause before effect.
FOLLOWS = timedelta(milliseconds=1)


def alert_id_for(patient_id: str, origin: str) -> str:
    """Opaque and deterministic from what opened it (a redelivery opens the same alert).

    Nothing in it names the patient (pages carry it in their link); the patient
    is found through the alert's reference item.
    """
    return "a-" + hashlib.sha256(f"{patient_id}\x1f{origin}".encode()).hexdigest()[:24]


_OPAQUE_ID = re.compile(r"^a-[0-9a-f]{24}$")


def loggable_alert_id(alert_id: str) -> str:
    """The alert id itself when opaque; a legacy id (base64 of the patient id) only as a digest (F16)."""
    return alert_id if _OPAQUE_ID.match(alert_id) else opaque(alert_id)


def legacy_patient_of_alert(alert_id: str) -> str | None:
    """Alerts opened before ids were opaque: ``base64(patient).hash``."""
    encoded, _, suffix = alert_id.partition(".")
    if not encoded or len(suffix) != 16 or len(alert_id) > 200:
        return None
    try:
        patient_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return patient_id if re.fullmatch(ID_PATTERN, patient_id) else None


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


def realtime(clinician: dict[str, Any] | None) -> bool:
    """Whether a page can wake this clinician: a phone (SMS, and voice where configured)."""
    return bool(clinician and clinician.get("phone"))


def describe_pages(recipients: dict[str, list[str]]) -> str:
    """For the timeline: who a page went to, or that nobody could be paged."""
    if not recipients:
        return "nobody to page (no reachable care team, escalation contact or on-call clinician)"
    return "paging " + "; ".join(f"{role} {', '.join(ids)}" for role, ids in recipients.items())


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
        link_base: str = "",
    ) -> None:
        self._link_base = link_base.rstrip("/")
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
        """A new reading was stored: open, join, upgrade or re-page its alert; run the trend rules it can trigger.

        One Query reads the patient's open slots; every alert the reading joins is
        joined in one transaction.  Only opening (rare) costs more, and a trend's
        window is read only when its alert is not already open.  A current critical
        reading also sends the patient's safety message (rule 3), folded or not.
        """
        record = record or self._patients.get(reading["patient_id"])
        if record is None:
            return
        pid, origin = reading["patient_id"], reading["reading_id"]
        classification = reading["classification"]
        severity = classification["severity"]
        at = parse_iso(reading["received_at"])
        late = "late" in classification.get("flags", []) or rules.is_late(parse_iso(reading["measured_at"]), at)
        condition = rules.condition_of(reading["type"], severity, classification.get("guidance_key", ""))
        wanted: list[tuple[str, str]] = []
        if condition is not None:
            kind, level = rules.KIND_OF_SEVERITY[severity]
            # Rule 4: history is reviewed on the worklist; it never pages.
            wanted.append((kind, "routine" if late else level))
        trends: list[str] = []
        low_value = reading.get("meter_flag") == "LO" or float(reading.get("value_mg_dl") or 1000) < 70
        if reading["type"] == "blood_glucose" and low_value:
            trends.append("recurrent_lows")  # the rule's own < 70, whatever the personal low target
        if reading["type"] == "blood_pressure" and (
            float(reading["systolic"]) >= rules.SUSTAINED_BP_SYSTOLIC
            or float(reading["diastolic"]) >= rules.SUSTAINED_BP_DIASTOLIC
        ):
            trends.append("sustained_high_home_bp")
        if wanted or trends:
            slots = self._alerts.open_slots(pid)
            joins: list[tuple[str, str, dict[str, Any]]] = []
            for kind, priority in wanted:
                holder = slots.get(str(condition)) or self._open(
                    pid, kind, priority, origin, at, record, reading["measured_at"], condition, reading["type"], late
                )
                if holder:
                    joins.append((kind, priority, holder))
            for trend in trends:
                holder = slots.get(trend)
                if holder is None and self._trend_holds(trend, reading):
                    holder = self._open(pid, trend, "routine", origin, at, record, reading["measured_at"])
                # A trend alert takes the readings measured since the one that completed it; an
                # earlier one (a redelivery, or a late offline sync) was judged before it existed.
                if holder and reading["measured_at"] >= holder.get("since", ""):
                    joins.append((trend, "routine", holder))
            if joins:
                self._join(pid, joins, origin, at, record)
        if condition is not None and severity.startswith("critical") and not late:
            self._safety_message(pid, condition, reading, at)

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
        record: dict[str, Any],
        since: str | None = None,
        condition: str | None = None,
        reading_type: str | None = None,
        late: bool = False,
    ) -> dict[str, Any] | None:
        """Open an alert; None when opened here, else the slot that another writer opened first."""
        alert_id = alert_id_for(patient_id, f"{kind}:{origin}")
        critical = priority == "critical"
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
            "condition": condition,
            "reading_type": reading_type,
            "last_paged_at": iso(at) if critical else None,
        }
        recipients = self._page_recipients(record) if critical else None
        what = (condition or kind).replace("_", " ")
        if late:
            what += " (late reading: history, reviewed on the worklist)"
        summary = f"{priority.capitalize()} alert opened: {what}" + (
            f"; {describe_pages(recipients)}" if recipients is not None else ""
        )
        opened_event = self._events.event_item(
            patient_id, "alert_opened", at + FOLLOWS, f"alert-opened-{alert_id}", summary, None, {"alert_id": alert_id}
        )
        holder = self._alerts.open(
            alert, list(record.get("care_team", [])), at + rules.ESCALATE_AFTER if critical else None, opened_event
        )
        if holder is None:
            count("AlertsOpened")
            if recipients is not None:
                self._page(alert, recipients, at, level=0)
        return holder

    def _join(
        self,
        patient_id: str,
        joins: list[tuple[str, str, dict[str, Any]]],
        origin: str,
        at: datetime,
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
            if holder["alert_id"] not in joined or priority != "critical":
                continue
            if rules.is_worse(priority, holder.get("priority", "routine")):
                self._upgrade(patient_id, holder["alert_id"], kind, priority, origin, at, record)
            else:
                self._repage(patient_id, holder["alert_id"], origin, at, record)

    def _upgrade(
        self,
        patient_id: str,
        alert_id: str,
        kind: str,
        priority: str,
        origin: str,
        at: datetime,
        record: dict[str, Any],
    ) -> None:
        current = self._alerts.get(patient_id, alert_id)
        if current and self._alerts.upgrade(current, kind, priority, at + rules.ESCALATE_AFTER):
            recipients = self._page_recipients(record)
            self._events.put_event(
                patient_id,
                "alert_escalated",
                at + FOLLOWS,
                f"alert-upgraded-{alert_id}",
                f"Alert upgraded to {priority}: {kind.replace('_', ' ')}; {describe_pages(recipients)}",
                None,
                {"alert_id": alert_id},
            )
            self._page({**current, "kind": kind, "priority": priority}, recipients, at, level=0, origin=origin)

    def _repage(self, patient_id: str, alert_id: str, origin: str, at: datetime, record: dict[str, Any]) -> None:
        """Rule 2: a critical reading joining a critical alert last paged an hour ago or more pages again."""
        current = self._alerts.get(patient_id, alert_id)
        if current is None or current.get("status") == "resolved":
            return
        last = current.get("last_paged_at") or current["opened_at"]
        if at - parse_iso(last) < rules.REPAGE_AFTER:
            return  # paged within the hour: the care team is on it (or escalation is)
        if not self._alerts.repage(current, at, at - rules.REPAGE_AFTER, at + rules.ESCALATE_AFTER):
            return  # another batch re-paged first
        recipients = self._page_recipients(record)
        was = "acknowledged alert reopened" if current["status"] == "acknowledged" else "alert paged again"
        self._events.put_event(
            patient_id,
            "alert_escalated",
            at + FOLLOWS,
            f"alert-repaged-{alert_id}-{origin}",
            f"New critical reading: {was}; {describe_pages(recipients)}",
            None,
            {"alert_id": alert_id},
        )
        count("AlertsRepaged")
        self._page(current, recipients, at, level=0, origin=origin)

    def raise_alert(
        self, patient_id: str, kind: str, priority: str, origin: str, at: datetime, record: dict[str, Any] | None = None
    ) -> None:
        """Open an alert not tied to a reading (a red flag, an unreachable patient), or join the open one."""
        record = record or self._patients.get(patient_id)
        if record is None:
            return
        holder = self._open(patient_id, kind, priority, origin, at, record)
        if holder:
            self._join(patient_id, [(kind, priority, holder)], origin, at, record)

    # -- who is paged, and how ----------------------------------------------------------

    def _page_recipients(self, record: dict[str, Any], level: int = 0) -> dict[str, list[str]]:
        """Who a page goes to, by role: the *current* care team, escalation contacts, the on-call list.

        A care-team member without a real-time channel (a phone) cannot be woken:
        the on-call list is paged in their place, as it is for an empty team
        (rule 5); level 1 adds the team's escalation contacts, level 2 the on-call
        list (rule 6).
        """
        team = list(dict.fromkeys(record.get("care_team", [])))
        profiles = self._clinicians.many(team) if team else {}
        reachable = [cid for cid in team if realtime(profiles.get(cid))]
        # A member who cannot be woken still gets the page in their inbox, in addition.
        recipients: dict[str, list[str]] = {
            "care team": reachable,
            "care team by email only": [cid for cid in team if cid not in reachable and profiles.get(cid)],
        }
        if level >= 1:
            contacts = [c for cid in team for c in (profiles.get(cid) or {}).get("escalation_contacts", [])]
            recipients["escalation contact"] = [c for c in dict.fromkeys(contacts) if c not in reachable]
        if level >= rules.ON_CALL_FROM_LEVEL or len(reachable) < len(team) or not team:
            # In place of the members who cannot be woken (or of an empty team), and from level 2 on.
            named = [c for ids in recipients.values() for c in ids]
            on_call = (self._clinicians.on_call() or {}).get("clinician_ids", [])
            recipients["on-call"] = [c for c in on_call if c not in named]
        return {role: ids for role, ids in recipients.items() if ids}

    def _page(
        self,
        alert: dict[str, Any],
        recipients: dict[str, list[str]],
        at: datetime,
        level: int,
        origin: str = "",
    ) -> None:
        pid = alert["patient_id"]
        template = "alert_page_clinician" if level == 0 else "alert_escalation_clinician"
        if level >= rules.UNANSWERED_LEVEL:
            template = "alert_escalation_voice"
        params = {
            "alert_id": alert["alert_id"],
            "priority": alert.get("priority", "critical"),
            "link": f"{self._link_base}/alerts/{alert['alert_id']}",
            "level": level,
            "minutes": int((at - parse_iso(alert["opened_at"])).total_seconds() // 60),
        }
        tag = f"{alert['alert_id']}:{level}:{origin}"
        ids = [cid for role in recipients.values() for cid in role]
        if not ids:
            count("CriticalAlertsNobodyToPage")
            logger().error("critical alert with nobody to page", extra={"alert": loggable_alert_id(alert["alert_id"])})
            return
        self._messaging.enqueue(
            *[
                Intent(
                    intent_id=f"page:{tag}:{cid}",
                    recipient=Recipient(kind="clinician", id=cid),
                    template=template if template in TEMPLATES else "alert_escalation_clinician",
                    params=params,
                    priority="safety",
                    created_at=at,
                    patient_id=pid,
                )
                for cid in dict.fromkeys(ids)
            ]
        )

    def _safety_message(self, patient_id: str, condition: str, reading: dict[str, Any], at: datetime) -> None:
        """Rule 3: the patient's safety message for a current critical reading, one per condition per 15 minutes.

        A conditional write on ``PATIENT#<pid> / SAFETY#<condition>`` decides; a
        redelivery of the reading that won re-enqueues the same intent (deduped at
        delivery), so a crash between the write and the queue loses nothing.
        """
        winner = self._alerts.claim_safety_message(
            patient_id, condition, reading["reading_id"], at, at - rules.SAFETY_MESSAGE_EVERY
        )
        if winner != reading["reading_id"]:
            return
        template = f"safety_{condition}"
        self._messaging.enqueue(
            Intent(
                intent_id=f"safety:{patient_id}:{condition}:{reading['reading_id']}",
                recipient=Recipient(kind="patient", id=patient_id),
                template=template if template in TEMPLATES else "critical_reading_patient",
                params={"condition": condition, "guidance": self._guidance_for(reading)},
                priority="safety",
                created_at=at,
                patient_id=patient_id,
                # The correlation id of the request that stored the reading follows the message to delivery.
                correlation_id=reading.get("request_id"),
            )
        )
        count("SafetyMessages")

    def _guidance_for(self, reading: dict[str, Any]) -> str:
        """The reading's own guidance (for patients who opted in to full content)."""
        from chalicelib.services.readings import to_reading

        return to_reading(reading).classification.guidance

    # -- from inbound messages and the messaging engine ---------------------------------

    def red_flag(self, patient_id: str, at: datetime, inbound_id: str) -> None:
        self.raise_alert(patient_id, "red_flag_message", "critical", f"sms-{inbound_id}", at)

    def unreachable(self, patient_id: str, origin: str) -> None:
        self.raise_alert(patient_id, "unreachable_patient", "routine", origin, self._clock())

    # -- from the minute tick ------------------------------------------------------------

    def escalate_due(self, item: dict[str, Any], now: datetime) -> None:
        """Rule 6: 15 min re-page the team and their escalation contacts, 30 min add on-call, 45 min call it."""
        level = int(item.get("escalation_level", 0)) + 1
        next_due = parse_iso(item["due_at"]) + rules.ESCALATE_AFTER if level < rules.MAX_ESCALATION else None
        unanswered = level >= rules.UNANSWERED_LEVEL
        if not self._alerts.escalate(item, level, next_due, unanswered):
            return
        pid = item["patient_id"]
        record = self._patients.get(pid) or {"care_team": item.get("care_team", [])}
        recipients = self._page_recipients(record, level)
        count("AlertsEscalated")
        if not recipients:
            count("EscalationsNobodyToPage")
        # A re-page starts the ladder again at level 0, so a level is reached once per
        # round: the round's due time keeps each round's event and pages distinct.
        round_tag = f"due-{item['due_at']}"
        self._events.put_event(
            pid,
            "alert_escalated",
            now,
            f"alert-escalated-{item['alert_id']}-{level}-{round_tag}",
            f"Critical alert escalated to level {level}"
            + (" and marked unanswered" if unanswered else "")
            + f": {describe_pages(recipients)}",
            None,
            {"alert_id": item["alert_id"], "level": level},
        )
        self._page(item, recipients, parse_iso(item["due_at"]), level=level, origin=round_tag)

    def note_for_digest(self, reading: dict[str, Any], record: dict[str, Any]) -> None:
        """Rule 14: a stage 1 BP reading is counted in each care-team member's daily digest."""
        if reading["type"] == "blood_pressure" and reading["classification"].get("category") == "stage_1":
            for cid in record.get("care_team", []):
                self._alerts.note_stage1(cid, reading["reading_id"])

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
        """08:00 local: routine alerts opened and stage 1 BP readings since the last digest, counts only.

        Nothing is sent when there are none.  Stage 1 readings raise no alert
        (clinical.md: digest only); the stream files them on the digest item.
        """
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
        stage1 = len(item.get("stage1_readings") or [])
        if not routine and not stage1:
            return
        self._messaging.enqueue(
            Intent(
                intent_id=f"digest:{item['clinician_id']}:{due_at}",
                recipient=Recipient(kind="clinician", id=item["clinician_id"]),
                template="digest_clinician",
                params={"count": len(routine), "stage1": stage1},
                only_channels=["email"],
                created_at=now,
            )
        )

    # -- the API ---------------------------------------------------------------------------

    def _patient_of(self, alert_id: str) -> str:
        pid = self._alerts.patient_of(alert_id) if _OPAQUE_ID.match(alert_id) else legacy_patient_of_alert(alert_id)
        if pid is None:
            raise NotFoundError("Alert not found.")
        return pid

    def _visible(self, principal: Principal, alert_id: str) -> tuple[dict[str, Any], list[str]]:
        """The alert and its patient's *current* care team; 404 for anyone not on that team (F1).

        Never the ``care_team`` stored on the alert: that is who it was opened for,
        and a clinician removed from the team since must not read or act on it.
        """
        pid = self._patient_of(alert_id)
        record = None if principal.is_patient else self._patients.get(pid)
        team = list((record or {}).get("care_team", []))
        if record is None or not can_see_patient(principal, pid, team):
            raise NotFoundError("Alert not found.")
        item = self._alerts.get(pid, alert_id)
        if item is None:
            raise NotFoundError("Alert not found.")
        return item, team

    def get(self, principal: Principal, alert_id: str) -> Alert:
        item, _ = self._visible(principal, alert_id)
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
        if not principal.is_admin:
            # The entries follow care-team changes; checking the current team as well keeps an
            # entry a change has not reached yet (or a resolved alert's) from showing.
            teams = self._patients.many(sorted({i["patient_id"] for i in ordered}))
            ordered = [
                i
                for i in ordered
                if can_see_patient(principal, i["patient_id"], (teams.get(i["patient_id"]) or {}).get("care_team", []))
            ]
        for patient in sorted({i["patient_id"] for i in ordered}):
            self._audit.record(principal, "list", "alert", patient)
        return [self._model(i) for i in ordered], self._cursors.encode(scope, page.last_key)

    @staticmethod
    def _model(item: dict[str, Any]) -> Alert:
        return Alert.model_validate({k: v for k, v in item.items() if k in Alert.model_fields})

    def transition(self, principal: Principal, alert_id: str, action: str, request: TransitionIn) -> Alert:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        item, team = self._visible(principal, alert_id)
        status = rules.TARGET_STATUS[action]
        if item["status"] == status and item.get(f"{status}_by") == principal.subject:
            return self._model(item)  # the same person repeating the same action: done already, the same answer
        if item["status"] not in rules.TRANSITIONS[action]:
            raise ConflictError(f"An alert that is {item['status']} cannot be {rules.TARGET_STATUS[action]}.")
        now = iso(self._clock())
        changes: dict[str, Any] = {"status": status, f"{status}_by": principal.subject, f"{status}_at": now}
        note = {"by": principal.subject, "at": now, "text": request.note} if request.note else None
        after = self._alerts.transition(item, changes, note, team)
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
