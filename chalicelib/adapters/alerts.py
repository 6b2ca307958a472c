"""DynamoDB repository for alerts.

===========================  ====================================================  ===========================
item                         pk / sk                                               notes
===========================  ====================================================  ===========================
alert                        PATIENT#<pid> / ALERT#<alert_id>                      due index while escalating
alert reference              ALERTREF#<alert_id> / REF                             the patient of an opaque id
open slot                    PATIENT#<pid> / OPEN#<slot>                           one open alert per slot
list entry (per clinician)   CLINICIAN#<cid> / ALERT#<status>#<rank>#<inv>#<id>   "critical first, then newest"
list entry (admins)          ALERTS / ALERT#<status>#<rank>#<inv>#<id>
===========================  ====================================================  ===========================

Opening is one transaction: the slot (``attribute_not_exists``), the alert and
its list entries, so two stream batches racing for the same patient cannot
open two alerts.  Joining is one conditional update that refuses a reading
already counted, so a redelivered stream record changes nothing.  Both name
the alert on the reading that opened or joined it (``alert_id``, set only if
the reading names none yet) in the same transaction: no request of its own.

The list entries follow the patient's *current* care team (docs/api.md "Trust
rules"): a care-team change moves the open and acknowledged alerts' entries
and their ``care_team`` in the patient's own transaction
(:func:`care_team_moves`, used by ``DynamoPatientStore.replace``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.due_index import DynamoDueIndex, due_shard
from chalicelib.adapters.dynamo import DynamoTable, Page, deserialize, error_code, serialize
from chalicelib.adapters.keys import clinician_pk, patient_pk
from chalicelib.adapters.timeline import event_item
from chalicelib.domain.alerts import ESCALATE_AFTER, PRIORITY_RANK, slot_of
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.resources import URGENT_DUE_SHARD
from chalicelib.services.ports import OpenSlot, TimelineEntry

ADMIN_LIST = "ALERTS"
# Escalations sit on their own partition of the due index: the tick reads it first and acts on it
# itself, so an escalation never waits behind an 08:00 burst of reminders.
URGENT_SHARD = URGENT_DUE_SHARD


def _inverted(at: str) -> str:
    """Sorts newest first in an ascending key: 9999999999999 - epoch ms."""
    return f"{9_999_999_999_999 - int(parse_iso(at).timestamp() * 1000):013d}"


def _key(alert: dict[str, Any]) -> dict[str, str]:
    """An alert's own key, from its ids (a record from any port implementation carries them)."""
    return {"pk": patient_pk(alert["patient_id"]), "sk": f"ALERT#{alert['alert_id']}"}


def _event_item(event: TimelineEntry) -> dict[str, Any]:
    """The timeline's own item for ``event``, written in the alert's transaction."""
    return event_item(event.patient_id, event.kind, event.at, event.event_id, event.summary, event.channel, event.ref)


def _reading_sk(reading_id: str) -> str:
    """A reading's sort key, as ``adapters/readings.py`` writes it (importing it here would close an import
    cycle through ``stores.py``; the contract suite reads the reading back through that module's key)."""
    return f"READING#{reading_id}"


def _mark_reading_op(table: DynamoTable, patient_id: str, reading_id: str, alert_id: str) -> dict[str, Any]:
    """Name ``alert_id`` on the stored reading, unless it names an alert already (the first one it opened or joined).

    Conditional on the reading being stored, so an update never makes a stub of one.
    """
    return {
        "Update": {
            "TableName": table.name,
            "Key": serialize({"pk": patient_pk(patient_id), "sk": _reading_sk(reading_id)}),
            "UpdateExpression": "SET alert_id = if_not_exists(alert_id, :a)",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": serialize({":a": alert_id}),
        }
    }


def _refused(error: ClientError, index: int) -> bool:
    """Whether the cancelled transaction's operation at ``index`` failed its condition."""
    reasons = error.response.get("CancellationReasons") or []
    return (
        error_code(error) == "TransactionCanceledException"
        and len(reasons) > index
        and reasons[index].get("Code") == "ConditionalCheckFailed"
    )


def _holder(slot: dict[str, Any]) -> OpenSlot:
    return OpenSlot(str(slot["alert_id"]), str(slot.get("priority", "routine")), str(slot.get("since", "")))


def list_sk(alert: dict[str, Any]) -> str:
    rank = PRIORITY_RANK[alert["priority"]]
    return f"ALERT#{alert['status']}#{rank}#{_inverted(alert['opened_at'])}#{alert['alert_id']}"


class DynamoAlertStore:
    """The ``AlertStore`` port (services/ports.py) on the single table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- list entries ------------------------------------------------------------

    def _entries(self, alert: dict[str, Any], care_team: list[str]) -> list[dict[str, Any]]:
        summary = {
            "entity": "alert_entry",
            "alert_id": alert["alert_id"],
            "patient_id": alert["patient_id"],
            "priority": alert["priority"],
            "status": alert["status"],
            "opened_at": alert["opened_at"],
            "kind": alert["kind"],
        }
        if alert.get("unanswered"):
            summary["unanswered"] = True
        owners = [clinician_pk(cid) for cid in care_team] + [ADMIN_LIST]
        return [{"pk": owner, "sk": list_sk(alert), **summary} for owner in owners]

    # -- opening and joining -------------------------------------------------------

    def open(
        self,
        alert: dict[str, Any],
        care_team: list[str],
        escalate_at: datetime | None,
        event: TimelineEntry,
        reading_id: str | None = None,
    ) -> OpenSlot | None:
        """Open ``alert`` (with its timeline event) if its slot is free; else return the slot's holder.

        One TransactWriteItems either way: when the slot is taken, DynamoDB hands back
        the slot item in the cancellation reasons, so joining needs no extra read.
        With ``reading_id`` (the stored reading that opens it), the reading names the
        alert in the same transaction, unless it names one already.
        """
        pid = alert["patient_id"]
        item = {
            "pk": patient_pk(pid),
            "sk": f"ALERT#{alert['alert_id']}",
            "entity": "alert",
            **alert,
            "care_team": care_team,
        }
        if escalate_at is not None:
            item.update(due_shard=URGENT_SHARD, due_at=iso(escalate_at))
        slot = {
            "pk": patient_pk(pid),
            "sk": f"OPEN#{slot_of(alert['kind'], alert.get('condition'))}",
            "entity": "open_slot",
            "alert_id": alert["alert_id"],
            "priority": alert["priority"],
            # When the story this alert tells began (the opening reading's measured_at).
            "since": alert.get("since", alert["opened_at"]),
        }
        slot_op = self.table.put_op(slot, condition="attribute_not_exists(pk)")
        slot_op["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        ops = [slot_op, self.table.put_op(item), self.table.put_op(_event_item(event))]
        ops += [self.table.put_op(e) for e in self._entries(alert, care_team)]
        if "." not in alert["alert_id"]:  # an opaque id: its patient is found through a reference item
            ops.append(self.table.put_op({"pk": f"ALERTREF#{alert['alert_id']}", "sk": "REF", "patient_id": pid}))
        if reading_id is not None:
            ops.append(_mark_reading_op(self.table, pid, reading_id, alert["alert_id"]))
        try:
            self.table.transact(ops)
        except ClientError as error:
            if _refused(error, 0):
                reasons = error.response.get("CancellationReasons") or []
                return _holder(deserialize(reasons[0].get("Item") or {}))
            if reading_id is not None and _refused(error, len(ops) - 1):
                return self.open(alert, care_team, escalate_at, event)  # the reading is gone: open without it
            raise
        return None

    def open_slots(self, patient_id: str) -> dict[str, OpenSlot]:
        """The patient's open alert slots (slot name -> holder), in one Query."""
        page = self.table.query(
            "pk = :p AND begins_with(sk, :o)", {":p": patient_pk(patient_id), ":o": "OPEN#"}, consistent=True
        )
        return {item["sk"].removeprefix("OPEN#"): _holder(item) for item in page.items}

    def join_many(
        self,
        patient_id: str,
        events: dict[str, TimelineEntry],
        reading_id: str,
        at: str,
        stored_reading: bool = False,
    ) -> set[str]:
        """Count ``reading_id`` on each open alert named in ``events`` (with its timeline event), in one transaction.

        Returns the alerts it was counted on now.  An alert that already counted it (a
        redelivery) or was resolved meanwhile is dropped and the rest retried.  With
        ``stored_reading`` (``reading_id`` names a stored reading), the reading names the
        first alert it is counted on, in the same transaction, unless it names one already.
        """
        pending = dict(events)
        mark = stored_reading
        for attempt in range(4):
            if not pending:
                return set()
            ops: list[dict[str, Any]] = []
            for alert_id, event in pending.items():
                ops.append(
                    {
                        "Update": {
                            "TableName": self.table.name,
                            "Key": serialize({"pk": patient_pk(patient_id), "sk": f"ALERT#{alert_id}"}),
                            "UpdateExpression": "SET occurrences = occurrences + :one, "
                            "reading_ids = list_append(reading_ids, :r), last_event_at = :at",
                            "ConditionExpression": "attribute_exists(pk) AND NOT contains(reading_ids, :rid) "
                            "AND #s <> :resolved",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": serialize(
                                {":one": 1, ":r": [reading_id], ":rid": reading_id, ":at": at, ":resolved": "resolved"}
                            ),
                        }
                    }
                )
                ops.append(self.table.put_op(_event_item(event)))
            if mark:  # last, so the alerts' reasons stay at the even positions
                ops.append(_mark_reading_op(self.table, patient_id, reading_id, next(iter(pending))))
            try:
                self.table.transact(ops)
                return set(pending)
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                if mark and _refused(error, len(ops) - 1):
                    mark = False  # the reading is gone: count it without naming the alert on it
                    continue
                reasons = error.response.get("CancellationReasons") or []
                refused = {
                    alert_id
                    for alert_id, reason in zip(pending, reasons[::2], strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"
                }
                if not refused:
                    time.sleep(0.05 * 2**attempt)  # a conflicting transaction: back off and retry
                pending = {k: v for k, v in pending.items() if k not in refused}
        raise ConflictError("Alert updates kept conflicting.")

    def upgrade(self, alert: dict[str, Any], kind: str, priority: str, escalate_at: datetime) -> bool:
        """Make a routine alert critical (once: the condition refuses a second upgrade).

        An acknowledged one is opened again, as a re-page does: the acknowledgment was
        of a routine reading, and the crisis needs its own (escalation starts at 0).
        """
        updated = {**alert, "kind": kind, "priority": priority, "status": "open"}
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(alert)),
                    "UpdateExpression": "SET kind = :k, priority = :p, due_shard = :ds, due_at = :da, "
                    "last_paged_at = :paged, #s = :open, escalation_level = :zero "
                    "REMOVE acknowledged_by, acknowledged_at, unanswered",
                    "ConditionExpression": "priority = :routine",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize(
                        {
                            ":k": kind,
                            ":p": priority,
                            ":routine": "routine",
                            ":open": "open",
                            ":zero": 0,
                            ":ds": URGENT_SHARD,
                            ":da": iso(escalate_at),
                            ":paged": iso(escalate_at - ESCALATE_AFTER),
                        }
                    ),
                }
            }
        ]
        ops += self._move_entries(alert, updated)
        ops.append(
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(
                        {"pk": patient_pk(alert["patient_id"]), "sk": f"OPEN#{slot_of(kind, alert.get('condition'))}"}
                    ),
                    "UpdateExpression": "SET priority = :p",
                    "ExpressionAttributeValues": serialize({":p": priority}),
                }
            }
        )
        return self.table.transact_if(ops)

    def _move_entries(
        self, before: dict[str, Any], after: dict[str, Any], team: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Delete ``before``'s entries, put ``after``'s for ``team`` (default: the team on the alert).

        With a ``team`` other than the alert's (the patient's current one), the
        entries of both are deleted, so an entry left by a stale team is healed.
        """
        old = list(before.get("care_team", []))
        new = old if team is None else list(team)
        ops = [self.table.delete_op(e["pk"], e["sk"]) for e in self._entries(before, list(dict.fromkeys(old + new)))]
        return ops + [self.table.put_op(e) for e in self._entries(after, new)]

    # -- care-team changes ----------------------------------------------------------

    def care_team_moves(self, patient_id: str, before: list[str], after: list[str]) -> list[list[dict[str, Any]]]:
        """The writes that move the patient's open and acknowledged alerts to the team ``after``: one group per alert.

        Each group sets the alert's ``care_team`` (on condition that its status and
        priority, which name its entries, are still those read here), deletes the
        list entries of members no longer on the team (``before`` or the alert's own
        team) and puts those of members it lacks.  An alert already on ``after`` is
        left alone, so the moves can be asked for again after a partial write.
        Bounded: the alerts are found through the open slots (one Query; an
        acknowledged alert keeps its slot), one per condition, then read in one
        BatchGetItem.  Resolved alerts keep their old entries: reads check the
        patient's current team (services/alerts.py).
        """
        slots = self.open_slots(patient_id)
        if not slots:
            return []
        keys = sorted({(patient_pk(patient_id), f"ALERT#{s.alert_id}") for s in slots.values()})
        groups: list[list[dict[str, Any]]] = []
        for alert in sorted(self.batch(keys), key=lambda a: str(a["alert_id"])):
            had = list(alert.get("care_team", []))
            if alert.get("status") not in ("open", "acknowledged") or had == list(after):
                continue
            removed = [cid for cid in dict.fromkeys(had + list(before)) if cid not in after]
            added = [cid for cid in after if cid not in had]
            moved = {**alert, "care_team": list(after)}
            update = {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(alert)),
                    "UpdateExpression": "SET care_team = :team",
                    "ConditionExpression": "#s = :s AND priority = :p",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize(
                        {":team": list(after), ":s": alert["status"], ":p": alert["priority"]}
                    ),
                }
            }
            gone = [self.table.delete_op(e["pk"], e["sk"]) for e in self._entries(alert, removed)[:-1]]
            new = [self.table.put_op(e) for e in self._entries(moved, added)[:-1]]  # [:-1]: not the admins' entry
            groups.append([update, *gone, *new])
        return groups

    # -- transitions ---------------------------------------------------------------

    def get(self, patient_id: str, alert_id: str) -> dict[str, Any] | None:
        return self.table.get(patient_pk(patient_id), f"ALERT#{alert_id}")

    def transition(
        self,
        alert: dict[str, Any],
        changes: dict[str, Any],
        note: dict[str, Any] | None,
        care_team: list[str] | None = None,
    ) -> dict[str, Any]:
        """Move an alert to a new status, conditional on the status it was read in.

        ``care_team`` is the patient's current team: the new list entries are its members'.
        """
        if care_team is not None and list(care_team) != list(alert.get("care_team", [])):
            changes = {**changes, "care_team": list(care_team)}
        after = {**alert, **changes}
        names = {"#s": "status"}
        sets = ["#s = :new"]
        values: dict[str, Any] = {":new": changes["status"], ":old": alert["status"]}
        for key, value in changes.items():
            if key != "status":
                sets.append(f"{key} = :{key}")
                values[f":{key}"] = value
        if note:
            sets.append("notes = list_append(if_not_exists(notes, :none), :note)")
            values.update({":note": [note], ":none": []})
        update = f"SET {', '.join(sets)} REMOVE due_shard, due_at"
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(alert)),
                    "UpdateExpression": update,
                    "ConditionExpression": "#s = :old",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": serialize(values),
                }
            }
        ]
        ops += self._move_entries(alert, after, care_team)
        if changes["status"] == "resolved":
            slot = f"OPEN#{slot_of(alert['kind'], alert.get('condition'))}"
            ops.append(self.table.delete_op(patient_pk(alert["patient_id"]), slot))
        try:
            self.table.transact(ops)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                raise ConflictError("The alert changed meanwhile; fetch it and retry.") from error
            raise
        if note:
            after["notes"] = [*alert.get("notes", []), note]
        return after

    def escalate(self, alert: dict[str, Any], level: int, next_due: datetime | None, unanswered: bool) -> bool:
        """Raise the escalation level once per due time; False if someone acted first.

        At the last level the alert is marked ``unanswered``, on the alert and on
        every list entry, so the worklist shows it.
        """
        values: dict[str, Any] = {
            ":level": level,
            ":prev": level - 1,
            ":open": "open",
            ":due": alert["due_at"],
            ":now": alert["due_at"],  # the page goes out as of the escalation's due time
        }
        sets = "SET escalation_level = :level, last_paged_at = :now" + (", unanswered = :yes" if unanswered else "")
        if unanswered:
            values[":yes"] = True
        if next_due is None:
            expression = f"{sets} REMOVE due_shard, due_at"
        else:
            expression = f"{sets}, due_at = :next"
            values[":next"] = iso(next_due)
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(alert)),
                    "UpdateExpression": expression,
                    "ConditionExpression": "#s = :open AND escalation_level = :prev AND due_at = :due",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize(values),
                }
            }
        ]
        if unanswered:
            ops += [
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": serialize({"pk": entry["pk"], "sk": entry["sk"]}),
                        "UpdateExpression": "SET unanswered = :yes",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": serialize({":yes": True}),
                    }
                }
                for entry in self._entries(alert, alert.get("care_team", []))
            ]
        return self.table.transact_if(ops)

    def repage(self, alert: dict[str, Any], now: datetime, cutoff: datetime, escalate_at: datetime) -> bool:
        """Page again for a new crisis on an alert last paged before ``cutoff`` (once: the condition holds one writer).

        An acknowledged alert is opened again: the acknowledgment was of an earlier
        reading, and the new crisis needs its own (escalation restarts).
        """
        reopened = {**alert, "status": "open"}
        values: dict[str, Any] = {
            ":now": iso(now),
            ":cutoff": iso(cutoff),
            ":open": "open",
            ":old": alert["status"],
            ":ds": URGENT_SHARD,
            ":da": iso(escalate_at),
            ":zero": 0,
        }
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(alert)),
                    "UpdateExpression": "SET last_paged_at = :now, #s = :open, due_shard = :ds, due_at = :da, "
                    "escalation_level = :zero REMOVE acknowledged_by, acknowledged_at, unanswered",
                    "ConditionExpression": "#s = :old AND "
                    "(attribute_not_exists(last_paged_at) OR last_paged_at <= :cutoff)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize(values),
                }
            }
        ]
        if alert["status"] != "open":
            ops += self._move_entries(alert, reopened)
        return self.table.transact_if(ops)

    def claim_safety_message(
        self, patient_id: str, condition: str, reading_id: str, at: datetime, cutoff: datetime
    ) -> str | None:
        """Who may send the patient's safety message for ``condition`` now: the reading id that holds the claim.

        ``PATIENT#<pid> / SAFETY#<condition>`` remembers the last reading that sent
        one; a newer claim wins only when that was at or before ``cutoff``.
        """
        stopped = self.table.put_checked(
            {
                "pk": patient_pk(patient_id),
                "sk": f"SAFETY#{condition}",
                "entity": "safety_message",
                "reading_id": reading_id,
                "sent_at": iso(at),
            },
            "attribute_not_exists(pk) OR sent_at <= :cutoff OR reading_id = :rid",
            {":cutoff": iso(cutoff), ":rid": reading_id},
        )
        return reading_id if stopped is None else stopped.get("reading_id")

    def patient_of(self, alert_id: str) -> str | None:
        """The patient of an opaque alert id (one GetItem on its reference item)."""
        item = self.table.get(f"ALERTREF#{alert_id}", "REF")
        return str(item["patient_id"]) if item else None

    def advance_digest(self, item: dict[str, Any], new_due: datetime, now: datetime) -> bool:
        """Move the digest to its next time, taking out the stage 1 readings this digest counts (only those)."""
        values: dict[str, Any] = serialize({":n": iso(new_due), ":now": iso(now), ":d": item["due_at"]})
        expression = "SET due_at = :n, last_digest_at = :now"
        counted = sorted(item.get("stage1_readings") or [])
        if counted:
            expression += " DELETE stage1_readings :counted"
            values[":counted"] = {"SS": counted}
        return self.table.update_if(
            {"pk": clinician_pk(item["clinician_id"]), "sk": "DIGEST"},
            UpdateExpression=expression,
            ConditionExpression="due_at = :d",
            ExpressionAttributeValues=values,
        )

    def schedule_digest(self, clinician_id: str, timezone: str, last_digest_at: datetime, due_at: datetime) -> None:
        """``CLINICIAN#<cid> / DIGEST`` on an ordinary due shard (a put: the readings noted so far start over)."""
        self.table.put(
            {
                "pk": clinician_pk(clinician_id),
                "sk": "DIGEST",
                "entity": "digest",
                "clinician_id": clinician_id,
                "timezone": timezone,
                "last_digest_at": iso(last_digest_at),
                "due_shard": due_shard(f"digest:{clinician_id}"),
                "due_at": iso(due_at),
            }
        )

    def note_stage1(self, clinician_id: str, reading_id: str) -> None:
        """A stage 1 BP reading for the clinician's next digest (a set: a redelivery counts once)."""
        self.table.update_if(
            {"pk": clinician_pk(clinician_id), "sk": "DIGEST"},
            UpdateExpression="ADD stage1_readings :r",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":r": {"SS": [reading_id]}},
        )

    # -- reading back --------------------------------------------------------------

    def page_for(self, owner: str, status: str, limit: int, start_key: Any, priority: str | None) -> Page:
        prefix = f"ALERT#{status}#" + (f"{PRIORITY_RANK[priority]}#" if priority else "")
        return self.table.query(
            "pk = :o AND begins_with(sk, :p)", {":o": owner, ":p": prefix}, limit=limit, start_key=start_key
        )

    def of_patient(self, patient_id: str, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The patient's alerts, newest first; with ``statuses``, only those (filtered by DynamoDB: a patient's
        resolved alerts, years of them, stay out of the answer)."""
        values: dict[str, Any] = {":p": patient_pk(patient_id), ":a": "ALERT#"}
        values.update({f":s{n}": status for n, status in enumerate(statuses)})
        return self.table.query_all(
            "pk = :p AND begins_with(sk, :a)",
            values,
            forward=False,
            names={"#s": "status"} if statuses else None,
            filter_expression=f"#s IN ({', '.join(f':s{n}' for n in range(len(statuses)))})" if statuses else None,
        )

    def page_of_patient(self, patient_id: str, limit: int, start_key: Any) -> Page:
        """The patient's alerts, newest first, a Query page at a time (the whole-record export)."""
        return self.table.query(
            "pk = :p AND begins_with(sk, :a)",
            {":p": patient_pk(patient_id), ":a": "ALERT#"},
            limit=limit,
            start_key=start_key,
            forward=False,
        )

    def batch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return self.table.batch_get(keys)

    def clinician_entries(self, clinician_id: str, status: str) -> list[dict[str, Any]]:
        return self.table.query_all(
            "pk = :o AND begins_with(sk, :p)", {":o": clinician_pk(clinician_id), ":p": f"ALERT#{status}#"}
        )

    def list_page(
        self, clinician_id: str | None, status: str, limit: int, start_key: Any, priority: str | None
    ) -> Page:
        """One Query of the clinician's list entries (``None``: the admins' list)."""
        owner = ADMIN_LIST if clinician_id is None else clinician_pk(clinician_id)
        return self.page_for(owner, status, limit, start_key, priority)

    def many(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """The alerts of ``(patient_id, alert_id)`` pairs, in one BatchGetItem per 100."""
        return self.batch([(patient_pk(pid), f"ALERT#{alert_id}") for pid, alert_id in keys])

    def due_escalations(self, now: datetime) -> list[dict[str, Any]]:
        """The alerts due for escalation by ``now``, as the tick reads them (the urgent shard of the due index)."""
        pages = DynamoDueIndex(self.table).due_pages(URGENT_SHARD, now)
        return [i for page in pages for i in page if i.get("entity") == "alert"]
