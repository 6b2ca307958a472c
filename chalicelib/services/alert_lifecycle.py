"""The alert lifecycle: a stored reading (or a red flag, an unreachable patient) opens, joins, upgrades or re-pages.

Rules 1-4 of docs/clinical.md "Safety net": one alert per condition; a critical
reading joining an alert last paged an hour ago or more pages again (and
reopens an acknowledged one); every current critical reading sends the
patient a safety message, at most one per condition per 15 minutes; late
readings are history and never page.  Every step wins a conditional write
before it pages, so a replayed stream record pages nobody twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import alerts as rules
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.templates import TEMPLATES
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count
from chalicelib.services.alert_paging import AlertParts
from chalicelib.services.ports import OpenSlot, Record, TimelineEntry

# An event caused by a reading is stamped 1 ms after it, so the timeline shows cause before effect.
FOLLOWS = timedelta(milliseconds=1)


class AlertLifecycle(AlertParts):
    # -- from the stream -------------------------------------------------------------

    def on_reading(self, reading: Record, record: Record | None = None) -> None:
        """A new reading was stored: open, join, upgrade or re-page its alert; run the trend rules it can trigger.

        One read of the patient's open slots; every alert the reading joins is
        joined in one write.  Only opening (rare) costs more, and a trend's
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
            joins: list[tuple[str, str, OpenSlot]] = []
            for kind, priority in wanted:
                holder = slots.get(str(condition)) or self._open(
                    pid,
                    kind,
                    priority,
                    origin,
                    at,
                    record,
                    reading["measured_at"],
                    condition,
                    reading["type"],
                    late,
                    from_reading=True,
                )
                if holder:
                    joins.append((kind, priority, holder))
            for trend in trends:
                holder = slots.get(trend)
                if holder is None and self._trend_holds(trend, reading):
                    # The reading names its own condition's alert when it has one (opened or joined above).
                    holder = self._open(
                        pid, trend, "routine", origin, at, record, reading["measured_at"], from_reading=not wanted
                    )
                # A trend alert takes the readings measured since the one that completed it; an
                # earlier one (a redelivery, or a late offline sync) was judged before it existed.
                if holder and reading["measured_at"] >= holder.since:
                    joins.append((trend, "routine", holder))
            if joins:
                self._join(pid, joins, origin, at, record, from_reading=True)
        if condition is not None and severity.startswith("critical") and not late:
            self._safety_message(pid, condition, reading, at)

    def _trend_holds(self, trend: str, reading: Record) -> bool:
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
        record: Record,
        since: str | None = None,
        condition: str | None = None,
        reading_type: str | None = None,
        late: bool = False,
        from_reading: bool = False,
    ) -> OpenSlot | None:
        """Open an alert; None when opened here, else the slot that another writer opened first.

        ``from_reading``: ``origin`` is the stored reading that opens it, which names the alert (same write).
        """
        alert_id = rules.alert_id_for(patient_id, f"{kind}:{origin}")
        critical = priority == "critical"
        alert: Record = {
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
            f"; {rules.describe_pages(recipients)}" if recipients is not None else ""
        )
        opened_event = TimelineEntry(
            patient_id, "alert_opened", at + FOLLOWS, f"alert-opened-{alert_id}", summary, None, {"alert_id": alert_id}
        )
        holder = self._alerts.open(
            alert,
            list(record.get("care_team", [])),
            at + rules.ESCALATE_AFTER if critical else None,
            opened_event,
            origin if from_reading else None,
        )
        if holder is None:
            count("AlertsOpened")
            if recipients is not None:
                self._page(alert, recipients, at, level=0)
        return holder

    def _join(
        self,
        patient_id: str,
        joins: list[tuple[str, str, OpenSlot]],
        origin: str,
        at: datetime,
        record: Record,
        from_reading: bool = False,
    ) -> None:
        events = {
            holder.alert_id: TimelineEntry(
                patient_id,
                "alert_joined",
                at + FOLLOWS,
                f"alert-joined-{holder.alert_id}-{origin}",
                f"Reading joined the open {kind.replace('_', ' ')} alert",
                None,
                {"alert_id": holder.alert_id},
            )
            for kind, _, holder in joins
        }
        joined = self._alerts.join_many(patient_id, events, origin, iso(at), stored_reading=from_reading)
        count("AlertsJoined", len(joined))
        for kind, priority, holder in joins:
            if holder.alert_id not in joined or priority != "critical":
                continue
            if rules.is_worse(priority, holder.priority):
                self._upgrade(patient_id, holder.alert_id, kind, priority, origin, at, record)
            else:
                self._repage(patient_id, holder.alert_id, origin, at, record)

    def _upgrade(
        self,
        patient_id: str,
        alert_id: str,
        kind: str,
        priority: str,
        origin: str,
        at: datetime,
        record: Record,
    ) -> None:
        current = self._alerts.get(patient_id, alert_id)
        if current and self._alerts.upgrade(current, kind, priority, at + rules.ESCALATE_AFTER):
            recipients = self._page_recipients(record)
            self._events.put_event(
                patient_id,
                "alert_escalated",
                at + FOLLOWS,
                f"alert-upgraded-{alert_id}",
                f"Alert upgraded to {priority}: {kind.replace('_', ' ')}; {rules.describe_pages(recipients)}",
                None,
                {"alert_id": alert_id},
            )
            self._page({**current, "kind": kind, "priority": priority}, recipients, at, level=0, origin=origin)

    def _repage(self, patient_id: str, alert_id: str, origin: str, at: datetime, record: Record) -> None:
        """Rule 2: a critical reading joining a critical alert last paged an hour ago or more pages again."""
        current = self._alerts.get(patient_id, alert_id)
        if current is None or current.get("status") == "resolved":
            return
        last = current.get("last_paged_at") or current["opened_at"]
        if not rules.may_repage(parse_iso(last), at):
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
            f"New critical reading: {was}; {rules.describe_pages(recipients)}",
            None,
            {"alert_id": alert_id},
        )
        count("AlertsRepaged")
        self._page(current, recipients, at, level=0, origin=origin)

    def raise_alert(
        self, patient_id: str, kind: str, priority: str, origin: str, at: datetime, record: Record | None = None
    ) -> None:
        """Open an alert not tied to a reading (a red flag, an unreachable patient), or join the open one."""
        record = record or self._patients.get(patient_id)
        if record is None:
            return
        holder = self._open(patient_id, kind, priority, origin, at, record)
        if holder:
            self._join(patient_id, [(kind, priority, holder)], origin, at, record)

    def _safety_message(self, patient_id: str, condition: str, reading: Record, at: datetime) -> None:
        """Rule 3: the patient's safety message for a current critical reading, one per condition per 15 minutes.

        A conditional claim per patient and condition decides; a redelivery of the
        reading that won re-enqueues the same intent (deduped at delivery), so a
        crash between the claim and the queue loses nothing.
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

    def _guidance_for(self, reading: Record) -> str:
        """The reading's own guidance (for patients who opted in to full content)."""
        from chalicelib.services.readings import to_reading

        return to_reading(reading).classification.guidance

    # -- from inbound messages and the messaging engine ---------------------------------

    def red_flag(self, patient_id: str, at: datetime, inbound_id: str) -> None:
        self.raise_alert(patient_id, "red_flag_message", "critical", f"sms-{inbound_id}", at)

    def unreachable(self, patient_id: str, origin: str) -> None:
        self.raise_alert(patient_id, "unreachable_patient", "routine", origin, self._clock())
