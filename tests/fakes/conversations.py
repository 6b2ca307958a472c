"""In-memory fakes of the conversation, record and worklist ports.

``FakeConversationStore`` is ``ConversationStore`` (chalicelib/services/conversations.py) and
``PatientEvents`` (chalicelib/services/record.py), as ``DynamoConversationStore`` keeps them:
a message or a note is stored once per id (a repeat writes nothing and answers the first
request's ``at`` / note and ``request_hash``), its timeline event with it; the conversation
and the timeline come newest first, with an opaque position whenever a page is full (even if
nothing follows, as DynamoDB's LastEvaluatedKey does).  ``FakeSummaryStore`` is the daily
buckets and RPM months (``DailyBuckets``, ``RpmMonths``); ``FakeLiveAlerts`` the alert list entries.  Reads are
copies without the attributes DynamoDB does not keep (nulls).
``tests/contract/test_conversation_store.py`` runs the same suites on the fakes and the adapters.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import TimelineEntry
from tests.fakes import FakePage, as_read

Record = dict[str, Any]


class FakeConversationStore:
    def __init__(self) -> None:
        self.message_items: dict[tuple[str, str], Record] = {}  # (patient, "<at>#<message_id>") -> message
        self.message_keys: dict[tuple[str, str], Record] = {}  # (patient, message_id) -> at, request_hash
        self.notes: dict[tuple[str, str], Record] = {}  # (patient, note_id) -> note, request_hash
        self.events: dict[tuple[str, str], Record] = {}  # (patient, "<at>#<event_id>") -> event

    # -- the conversation ------------------------------------------------------------------

    def put_message_once(self, patient_id: str, message: Record, request_hash: str) -> Record | None:
        key = (patient_id, str(message["message_id"]))
        if key in self.message_keys:
            return copy.deepcopy(self.message_keys[key])
        self.message_keys[key] = {
            "message_id": message["message_id"],
            "at": message["at"],
            "request_hash": request_hash,
        }
        self.put_message(patient_id, message)
        return None

    def put_message(self, patient_id: str, message: Record) -> None:
        self.message_items[(patient_id, f"{message['at']}#{message['message_id']}")] = as_read(dict(message))

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None:
        message = self.message_items.get((patient_id, f"{at}#{message_id}"))
        if message is not None:  # the adapter's update needs the message
            message.update(status=status, channel=channel or "none")

    def messages(self, patient_id: str, limit: int, start_key: Any) -> FakePage:
        after = start_key["position"] if start_key else None
        positions = sorted((p for pid, p in self.message_items if pid == patient_id), reverse=True)
        chosen = [p for p in positions if after is None or p < after][:limit]
        last = {"position": chosen[-1]} if chosen and len(chosen) == limit else None
        return FakePage([copy.deepcopy(self.message_items[(patient_id, p)]) for p in chosen], last)

    def conversation(self, patient_id: str) -> list[Record]:
        """Every message of the patient, oldest first (for tests)."""
        return [copy.deepcopy(m) for (pid, _), m in sorted(self.message_items.items()) if pid == patient_id]

    # -- notes and the timeline ------------------------------------------------------------

    def put_note_once(self, patient_id: str, note: Record, request_hash: str, event: TimelineEntry) -> Record | None:
        key = (patient_id, str(note["note_id"]))
        if key in self.notes:
            return copy.deepcopy(self.notes[key])
        self.notes[key] = as_read({"request_hash": request_hash, **note})
        self._put(event)
        return None

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
        self._put(TimelineEntry(patient_id, kind, at, event_id, summary, channel, dict(ref or {})))

    def _put(self, e: TimelineEntry) -> None:
        position = f"{iso(e.at)}#{e.event_id}"
        self.events[(e.patient_id, position)] = as_read(
            {
                "kind": e.kind,
                "at": iso(e.at),
                "channel": e.channel,
                "summary": e.summary,
                "ref": dict(e.ref),
                "event_id": e.event_id,
                "position": position,
            }
        )

    def timeline_page(self, patient_id: str, kind: str | None, lower: str, upper: str, limit: int) -> FakePage:
        found = sorted(
            (
                p
                for (pid, p), e in self.events.items()
                if pid == patient_id and lower <= p <= upper and (kind is None or e["kind"] == kind)
            ),
            reverse=True,
        )[:limit]
        last = {"position": found[-1]} if found and len(found) == limit else None
        return FakePage([copy.deepcopy(self.events[(patient_id, p)]) for p in found], last)

    def timeline(self, patient_id: str) -> list[Record]:
        """Every event of the patient, oldest first (for tests)."""
        return [copy.deepcopy(e) for (pid, _), e in sorted(self.events.items()) if pid == patient_id]


class FakeSummaryStore:
    """``DailyBuckets`` (record.py) and ``RpmMonths`` (worklist.py), as ``DynamoSummaryStore`` keeps them.

    ``count_reading`` is what the stream's ``reading_ops`` transaction does: the reading's value
    in its local day's bucket (``r_<reading_id>``, so a redelivery counts once) and, from a
    device, the day in its month's ``device_days`` (a set).
    """

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, str, str], Record] = {}  # (patient, type, local day)
        self.rpm: dict[tuple[str, str], Record] = {}  # (patient, month)

    def count_reading(
        self, patient_id: str, reading_type: str, day: str, reading_id: str, value: Any, device_day: bool
    ) -> None:
        bucket = self.buckets.setdefault((patient_id, reading_type, day), {"date": day})
        bucket[f"r_{reading_id}"] = as_read(value)
        if device_day:
            month = self.rpm.setdefault(
                (patient_id, day[:7]), {"patient_id": patient_id, "month": day[:7], "device_days": []}
            )
            month["device_days"] = sorted({*month["device_days"], day})

    def days(self, patient_id: str, reading_type: str, first: str, last: str) -> list[Record]:
        return [
            copy.deepcopy(b)
            for (pid, t, day), b in sorted(self.buckets.items())
            if pid == patient_id and t == reading_type and first <= day <= last
        ]

    def months(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        return {k: copy.deepcopy(self.rpm[k]) for k in dict.fromkeys(keys) if k in self.rpm}


class FakeLiveAlerts:
    """``LiveAlerts``: the open and acknowledged list entries of each clinician."""

    def __init__(self) -> None:
        self.entries: dict[str, list[Record]] = {}

    def add(self, clinician_id: str, patient_id: str, priority: str, unanswered: bool = False) -> None:
        entry = {"patient_id": patient_id, "priority": priority, "status": "open", "unanswered": unanswered}
        self.entries.setdefault(clinician_id, []).append(entry)

    def live_entries(self, clinician_id: str) -> list[Record]:
        return copy.deepcopy(self.entries.get(clinician_id, []))
