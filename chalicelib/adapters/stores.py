"""DynamoDB repositories for people: patients, panels, clinicians, consents, devices.

Keys are documented in ``chalicelib/resources.py``.  Every method is one
GetItem, one Query page, one (transactional) write or one BatchGetItem: no
Scan anywhere.
"""

from __future__ import annotations

import hashlib
import time
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import readers
from chalicelib.adapters import recent as recent_readings
from chalicelib.adapters.alerts import DynamoAlertStore
from chalicelib.adapters.dynamo import DynamoTable, Page, deserialize, error_code, serialize

# Re-exported: the other adapters have always imported the key helpers from here.
from chalicelib.adapters.keys import clinician_pk as clinician_pk
from chalicelib.adapters.keys import patient_pk as patient_pk
from chalicelib.adapters.keys import phone_item, phone_pk
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.meters import PREFIX as METER_PREFIX


def _membership(clinician_id: str, patient_id: str) -> dict[str, Any]:
    return {
        "pk": clinician_pk(clinician_id),
        "sk": f"PATIENT#{patient_id}",
        "entity": "membership",
        "patient_id": patient_id,
    }


KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "entity", "write_token"})
# Written by the stream, providers' delivery events and episodes, never by a profile edit (which would undo them).
STREAM_MAINTAINED = frozenset(
    {
        "open_tasks",
        "last_reading_at",
        "channel_stats",
        "measurement_plan",
        "unreachable_sms",
        "unreachable_email",
        "episode",
        "program_spans",
    }
)
MAX_TRANSACTION_ITEMS = 100


class _AlertMovedError(Exception):
    """An alert a care-team change was moving changed status or priority meanwhile."""


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in KEYS}


def _cancelled_by_condition(error: ClientError) -> bool:
    if error_code(error) == "ConditionalCheckFailedException":
        return True
    if error_code(error) != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class DynamoPatientStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get(self, patient_id: str) -> dict[str, Any] | None:
        item = self.table.get(patient_pk(patient_id), "PROFILE")
        return _strip_keys(item) if item else None

    def create(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Create the patient with its panel and phone items; None when created, else the existing patient."""
        pid = record["patient_id"]
        item = {
            "pk": patient_pk(pid),
            "sk": "PROFILE",
            "entity": "patient",
            "gsi1pk": "PATIENTS",
            "gsi1sk": pid,
            # Per-channel send/answer counts for adaptive routing (maps exist so updates can address them).
            "channel_stats": {c: {} for c in ("push", "sms", "email", "voice")},
            **record,
        }
        ops = [self.table.put_op(item, condition="attribute_not_exists(pk)")]
        ops += [self.table.put_op(_membership(cid, pid)) for cid in record.get("care_team", [])]
        # The worklist's RECENT item, with its device-day marks complete from the start (adapters/recent.py).
        ops.append(recent_readings.enrolment_op(self.table.name, pid))
        if record.get("phone"):
            ops.append(self.table.put_op(phone_item(record["phone"], pid)))
        try:
            self.table.transact(ops)
        except ClientError as error:
            if _cancelled_by_condition(error):
                reasons = error.response.get("CancellationReasons") or [{}]
                return _strip_keys(deserialize(reasons[0].get("Item") or {}))
            raise
        return None

    def replace(self, record: dict[str, Any], previous: dict[str, Any]) -> None:
        """Write ``record`` if nobody changed the patient since ``previous`` was read.

        A care-team change moves, in the same transaction, the panel memberships and
        the list entries of the patient's open and acknowledged alerts (and their
        ``care_team``), so a removed clinician loses them and an added one gains them
        at once.  Should that exceed DynamoDB's 100 items a transaction (very large
        teams), the alerts that do not fit follow in further transactions right after.
        """
        pid = record["patient_id"]
        # An update, not a put: counters the stream maintains (open_tasks,
        # last_reading_at) must survive a profile edit.
        # A registered meter (``meter:<id>``) is written by its own transaction, never by a profile edit.
        fields = {
            k: v
            for k, v in record.items()
            if k not in KEYS and k not in STREAM_MAINTAINED and not k.startswith(METER_PREFIX)
        }
        present = {k: v for k, v in fields.items() if v is not None}
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        alias = {k: n for n, k in names.items()}
        sets = ", ".join(f"{alias[k]} = :v{i}" for i, k in enumerate(present))
        removed = [alias[k] for k, v in fields.items() if v is None]
        expression = f"SET {sets}" + (f" REMOVE {', '.join(removed)}" if removed else "")
        values = {f":v{i}": v for i, v in enumerate(present.values())}
        values[":seen"] = previous["updated_at"]
        update = {
            "Update": {
                "TableName": self.table.name,
                "Key": serialize({"pk": patient_pk(pid), "sk": "PROFILE"}),
                "UpdateExpression": expression,
                "ConditionExpression": "updated_at = :seen",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": serialize(values),
            }
        }
        old_team, new_team = list(previous.get("care_team", [])), list(record.get("care_team", []))
        before, after = set(old_team), set(new_team)
        ops = [update]
        ops += [self.table.put_op(_membership(cid, pid)) for cid in sorted(after - before)]
        ops += [self.table.delete_op(clinician_pk(cid), f"PATIENT#{pid}") for cid in sorted(before - after)]
        if previous.get("phone") != record.get("phone"):
            if previous.get("phone"):
                ops.append(self.table.delete_op(phone_pk(previous["phone"]), patient_pk(pid)))
            if record.get("phone"):
                ops.append(self.table.put_op(phone_item(record["phone"], pid)))
        if before == after:
            self._transact_replace(ops)
            return
        alerts = DynamoAlertStore(self.table)
        for attempt in range(3):
            groups = alerts.care_team_moves(pid, old_team, new_team)
            first = list(ops)
            while groups and len(first) + len(groups[0]) <= MAX_TRANSACTION_ITEMS:
                first += groups.pop(0)
            try:
                self._transact_replace(first, alert_race=len(ops))
                break
            except _AlertMovedError:
                # An alert was acknowledged, resolved or upgraded meanwhile: read the moves again.
                time.sleep(0.02 * 2**attempt)
        else:
            raise ConflictError("The patient's alerts kept changing; retry.")
        if groups:
            self._finish_moves(alerts, pid, old_team, new_team)

    def _transact_replace(self, ops: list[dict[str, Any]], alert_race: int | None = None) -> None:
        try:
            self.table.transact(ops)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            failed = [r.get("Code") == "ConditionalCheckFailed" for r in reasons]
            if alert_race is not None and any(failed[alert_race:]) and not any(failed[:alert_race]):
                raise _AlertMovedError from error  # only an alert's condition failed: the profile was not changed
            if _cancelled_by_condition(error):
                raise ConflictError("The patient was changed by someone else; fetch it and retry.") from error
            raise

    def _finish_moves(self, alerts: DynamoAlertStore, pid: str, old_team: list[str], new_team: list[str]) -> None:
        """The alert moves that did not fit in the patient's transaction, in transactions of their own."""
        from chalicelib.observability import count, logger

        logger().warning("care-team change: alert moves in more than one transaction", extra={"kind": "care_team"})
        count("CareTeamMovesSplit")
        for _ in range(3):
            groups = alerts.care_team_moves(pid, old_team, new_team)
            if not groups:
                return
            batch: list[dict[str, Any]] = []
            for group in groups:
                if batch and len(batch) + len(group) > MAX_TRANSACTION_ITEMS:
                    self.table.transact_if(batch)
                    batch = []
                batch += group
                while len(batch) > MAX_TRANSACTION_ITEMS:  # one alert of a 50-for-50 swap: its update goes first
                    self.table.transact_if(batch[:MAX_TRANSACTION_ITEMS])
                    batch = batch[MAX_TRANSACTION_ITEMS:]
            if batch:
                self.table.transact_if(batch)
        # What is left is healed by the next change or transition; reads check the current team meanwhile.

    def page_all(self, limit: int, start_key: dict[str, Any] | None) -> tuple[list[dict[str, Any]], Any]:
        page = self.table.query("gsi1pk = :p", {":p": "PATIENTS"}, index="gsi1", limit=limit, start_key=start_key)
        return self._profiles([i["gsi1sk"] for i in page.items]), page.last_key

    def page_panel(
        self, clinician_id: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], Any]:
        page: Page = self.table.query(
            "pk = :p AND begins_with(sk, :s)",
            {":p": clinician_pk(clinician_id), ":s": "PATIENT#"},
            limit=limit,
            start_key=start_key,
        )
        return self._profiles([i["patient_id"] for i in page.items]), page.last_key

    def panel_ids(self, clinician_id: str) -> list[str]:
        """Every patient of the clinician's panel, in patient-id order: the panel's Query alone (1 MB a page)."""
        ids: list[str] = []
        start = None
        while True:
            page = self.table.query(
                "pk = :p AND begins_with(sk, :s)", {":p": clinician_pk(clinician_id), ":s": "PATIENT#"}, start_key=start
            )
            ids += [str(i["patient_id"]) for i in page.items]
            start = page.last_key
            if not start:
                return ids

    def many(self, patient_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Patient profiles by id, in one BatchGetItem (per 100)."""
        return {p["patient_id"]: p for p in self._profiles(list(dict.fromkeys(patient_ids)))}

    def _profiles(self, patient_ids: list[str]) -> list[dict[str, Any]]:
        found = {
            i["patient_id"]: _strip_keys(i)
            for i in self.table.batch_get([(patient_pk(p), "PROFILE") for p in patient_ids])
        }
        return [found[p] for p in patient_ids if p in found]

    def put_consent(self, patient_id: str, consent: dict[str, Any]) -> None:
        self.table.put(
            {
                "pk": patient_pk(patient_id),
                "sk": f"CONSENT#{consent['channel']}",
                "entity": "consent",
                "patient_id": patient_id,
                **consent,
            }
        )

    def touch_last_reading(self, patient_id: str, measured_at: str) -> dict[str, Any] | None:
        """Keep the newest measurement time on the profile (the worklist's "days since last reading").

        Answers the profile as it stands after the touch (None: no such patient), in the same request.
        """
        return self.table.update_and_read(
            {"pk": patient_pk(patient_id), "sk": "PROFILE"},
            UpdateExpression="SET last_reading_at = :m",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_reading_at) OR "
            "last_reading_at < :m)",
            ExpressionAttributeValues=serialize({":m": measured_at}),
        )

    def mark_measurement_plan(self, patient_id: str) -> None:
        """The patient has (had) a measurement reminder: readings must be checked against doses and gaps."""
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": "PROFILE"},
            UpdateExpression="SET measurement_plan = :yes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":yes": True}),
        )

    def add_open_tasks(self, patient_id: str, delta: int) -> None:
        # ADD is not idempotent: update_if's write token keeps a botocore retry from counting twice.
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": "PROFILE"},
            UpdateExpression="ADD open_tasks :d",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":d": delta}),
        )

    def consents(self, patient_id: str) -> list[dict[str, Any]]:
        page = self.table.query(
            "pk = :p AND begins_with(sk, :s)", {":p": patient_pk(patient_id), ":s": "CONSENT#"}, consistent=True
        )
        return [_strip_keys(i) for i in page.items]

    def put_device(self, patient_id: str, device: dict[str, Any], token: str) -> dict[str, Any]:
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        item = {"pk": patient_pk(patient_id), "sk": f"DEVICE#{digest}", "entity": "device", "device_id": digest}
        item.update(device)
        self.table.put(item)
        return _strip_keys(item)

    def devices(self, patient_id: str) -> list[dict[str, Any]]:
        page = self.table.query(
            "pk = :p AND begins_with(sk, :s)", {":p": patient_pk(patient_id), ":s": "DEVICE#"}, consistent=True
        )
        return [_strip_keys(i) for i in page.items]


class DynamoClinicianStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get(self, clinician_id: str) -> dict[str, Any] | None:
        item = self.table.get(clinician_pk(clinician_id), "PROFILE")
        return _strip_keys(item) if item else None

    def put(self, record: dict[str, Any]) -> None:
        # Unconditional: a botocore retry rewrites the same item.
        self.table.put({"pk": clinician_pk(record["clinician_id"]), "sk": "PROFILE", "entity": "clinician", **record})

    def many(self, clinician_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Clinician profiles by id, in one BatchGetItem."""
        found = self.table.batch_get([(clinician_pk(cid), "PROFILE") for cid in dict.fromkeys(clinician_ids)])
        return {item["clinician_id"]: _strip_keys(item) for item in found}

    # The clinic's on-call list: CLINIC / ONCALL.

    def on_call(self) -> dict[str, Any] | None:
        item = self.table.get("CLINIC", "ONCALL")
        return _strip_keys(item) if item else None

    def put_on_call(self, record: dict[str, Any]) -> None:
        self.table.put({"pk": "CLINIC", "sk": "ONCALL", "entity": "on_call", **record})


class DynamoAuditLog:
    """Append-only audit records in their own table (see resources.AUDIT_TABLE)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    @staticmethod
    def item(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": patient_pk(entry["patient_id"]) if entry.get("patient_id") else "NO_PATIENT",
            "sk": f"{entry['at']}#{entry['request_id']}#{entry['seq']}",
            "actor_pk": f"ACTOR#{entry['actor']}",
            "day_pk": f"DAY#{entry['at'][:10]}",
            **entry,
        }

    def append(self, entry: dict[str, Any]) -> None:
        # Never overwrite: a duplicate key is a bug, not something to hide (a botocore retry of
        # this very put is not a duplicate: put_if recognises its own write).
        if not self.table.put_if(self.item(entry), "attribute_not_exists(pk)"):
            raise RuntimeError("an audit record with this key already exists")

    def append_many(self, entries: list[dict[str, Any]]) -> None:
        """A list page's records: conditional puts, up to 100 a transaction (keys are unique per request and sequence).

        Not BatchWriteItem: IAM cannot tell its puts from its deletes, so the audit table allows PutItem
        alone (infra/, F4), and a transaction's Put is authorised as a PutItem.  More than one transaction
        (``GET /worklist`` of a whole panel) run side by side (chalicelib/readers.py).
        """
        chunks = [entries[start : start + 100] for start in range(0, len(entries), 100)]
        readers.each([partial(self.table.transact, [self._put(e) for e in chunk]) for chunk in chunks])

    def append_once(self, entry: dict[str, Any], *also: dict[str, Any]) -> bool:
        """The record and ``also`` (transaction operations) together, unless the record exists: a redelivery.

        For a record whose key is derived from its event: the transaction is all or nothing, so a
        record already there means ``also`` was written with it.  False when it was there already.
        """
        try:
            self.table.transact([self._put(entry), *also])
        except ClientError as error:
            first = (error.response.get("CancellationReasons") or [{}])[0]
            if error_code(error) != "TransactionCanceledException" or first.get("Code") != "ConditionalCheckFailed":
                raise
            return False
        return True

    def _put(self, entry: dict[str, Any]) -> dict[str, Any]:
        return self.table.put_op(self.item(entry), "attribute_not_exists(pk)")

    # Newest first, one Query page each: by patient (the table's key), by actor, by UTC day (indexes).
    def of_patient(self, patient_id: str, limit: int, start_key: Any) -> tuple[list[dict[str, Any]], Any]:
        return self._newest_first("pk = :k", {":k": patient_pk(patient_id)}, None, limit, start_key)

    def of_actor(self, actor: str, limit: int, start_key: Any) -> tuple[list[dict[str, Any]], Any]:
        return self._newest_first("actor_pk = :k", {":k": f"ACTOR#{actor}"}, "by_actor", limit, start_key)

    def of_day(self, day: str, limit: int, start_key: Any) -> tuple[list[dict[str, Any]], Any]:
        return self._newest_first("day_pk = :d", {":d": f"DAY#{day}"}, "by_day", limit, start_key)

    def _newest_first(
        self, key_condition: str, values: dict[str, Any], index: str | None, limit: int, start_key: Any
    ) -> tuple[list[dict[str, Any]], Any]:
        page = self.table.query(key_condition, values, index=index, limit=limit, start_key=start_key, forward=False)
        return page.items, page.last_key
