"""From the minute tick: escalating an unanswered critical alert, and each clinician's daily digest.

Rule 6: unacknowledged after 15 minutes, level 1 re-pages the care team and
their escalation contacts; 30 minutes, level 2 adds the clinic's on-call
list; 45 minutes, level 3 calls it and marks the alert unanswered.  The
timeline names who was paged at each step, and says so when nobody could be.
Rule 14: stage 1 BP readings and routine alerts are counted in an 08:00
local digest, by email, and nothing is sent when there are none.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain import alerts as rules
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import parse_iso
from chalicelib.observability import count
from chalicelib.services.alert_paging import AlertParts
from chalicelib.services.ports import Record


class AlertEscalation(AlertParts):
    def escalate_due(self, item: Record, now: datetime) -> None:
        """Rule 6: 15 min re-page the team and their escalation contacts, 30 min add on-call, 45 min call it."""
        level, next_due, unanswered = rules.escalation_step(
            int(item.get("escalation_level", 0)), parse_iso(item["due_at"])
        )
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
            + f": {rules.describe_pages(recipients)}",
            None,
            {"alert_id": item["alert_id"], "level": level},
        )
        self._page(item, recipients, parse_iso(item["due_at"]), level=level, origin=round_tag)

    def note_for_digest(self, reading: Record, record: Record) -> None:
        """Rule 14: a stage 1 BP reading is counted in each care-team member's daily digest."""
        if reading["type"] == "blood_pressure" and reading["classification"].get("category") == "stage_1":
            for cid in record.get("care_team", []):
                self._alerts.note_stage1(cid, reading["reading_id"])

    def schedule_digest(self, clinician_id: str, timezone: str, now: datetime) -> None:
        self._alerts.schedule_digest(clinician_id, timezone, now, rules.next_digest(now, timezone))

    def send_digest(self, item: Record, now: datetime) -> None:
        """08:00 local: routine alerts opened and stage 1 BP readings since the last digest, counts only.

        Nothing is sent when there are none.  Stage 1 readings raise no alert
        (docs/clinical.md: digest only); the stream files them on the digest.
        """
        due_at = item["due_at"]
        since = item.get("last_digest_at", "")
        new_due = rules.next_digest(max(now, parse_iso(due_at)), item.get("timezone", "UTC"))
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
