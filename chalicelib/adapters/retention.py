"""DynamoDB side of retention: a de-identification run over one patient's partition, and what it leaves.

==========================  ==============================================  =========================
item                        pk / sk                                          notes
==========================  ==============================================  =========================
discharged episode          PATIENT#<pid> / EPISODE#<created_at>#<id>        due index at its
                                                                             ``deidentify_after``
run state                   PATIENT#<pid> / RETENTION                        due index while running:
                                                                             phase, counts
run subject                 PATIENT#<pid> / RETENTION_SUBJECT                the opaque subject id
                                                                             (never on the due index)
de-identified reading       DEID#<subject> / READING#<type>#<at>#<token>     no patient, no reading id
==========================  ==============================================  =========================

A run sweeps the partition from its first item, a Query page at a time: a reading is put under the subject
(every put of a page before any delete), anything else deleted, with what names the patient outside the
partition (an alert's entries in its care team's lists and its reference item, a send's claim and receipt).
What a step removed is gone, so the next step's Query starts where the last one stopped, and a step
repeated after a crash writes the same keys again.  When the sweep is done the profile goes, with the phone
lookup, the panel items and the meter owners; a day later a last sweep takes whatever a late writer put in
the partition meanwhile, and then the run and its subject go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.alerts import ADMIN_LIST, list_sk
from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import DynamoTable, error_code, serialize
from chalicelib.adapters.keys import clinician_pk, patient_pk, phone_pk
from chalicelib.adapters.receipts import receipt_key
from chalicelib.domain import retention as rules
from chalicelib.domain.meters import meters_of
from chalicelib.domain.timeutil import iso

RUN, SUBJECT = rules.RUN, rules.SUBJECT
Key = tuple[str, str]


def _outside(item: dict[str, Any]) -> list[Key]:
    """The keys outside the partition that name the patient because of ``item``.

    An alert's entries in its care team's lists and its reference item; a send's delivery claim (its intent
    id may hold the patient id, a deferred one the whole intent) and its receipt (the address).  Claims and
    receipts expire in 30 days anyway; this removes the ones a run finds younger.
    """
    keys: list[Key] = []
    if item.get("entity") == "alert":
        owners = [clinician_pk(cid) for cid in item.get("care_team") or []] + [ADMIN_LIST]
        keys += [(owner, list_sk(item)) for owner in owners]
        keys.append((f"ALERTREF#{item['alert_id']}", "REF"))
    intent_id = (item.get("ref") or {}).get("intent_id") if item.get("entity") == "event" else None
    if intent_id:
        keys += [(f"MSG#{intent_id}", "DELIVERY"), (f"MSG#{intent_id}", "DEFERRED")]
    if item.get("entity") == "event" and item.get("provider_id") and item.get("channel"):
        receipt = receipt_key(str(item["channel"]), str(item["provider_id"]))
        keys.append((receipt["pk"], receipt["sk"]))
    return keys


class DynamoRetention:
    """The ``RetentionStore`` port."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def profile(self, patient_id: str) -> dict[str, Any] | None:
        return self.table.get(patient_pk(patient_id), "PROFILE")

    def begin(self, patient_id: str, episode: dict[str, Any], subject: str, now: datetime, lease: datetime) -> bool:
        """The run's state (held by this worker until ``lease``) and its subject, the episode off the due index
        and the profile marked, at once; False when the profile no longer names this discharged episode, or a
        run has begun."""
        pk = patient_pk(patient_id)
        state = {
            "pk": pk,
            "sk": RUN,
            "entity": "retention",
            "patient_id": patient_id,
            "phase": "sweeping",
            "episode_id": episode["episode_id"],
            "started_at": iso(now),
            "moved": 0,
            "deleted": 0,
            "due_shard": due_shard(f"{patient_id}:retention"),
            "due_at": iso(lease),
        }
        return self.table.transact_if(
            [
                self.table.put_op(state, "attribute_not_exists(pk)"),
                self.table.put_op({"pk": pk, "sk": SUBJECT, "entity": "retention_subject", "subject": subject}),
                self._off_due_index(patient_id, episode),
                self.table.update_op(
                    {"pk": pk, "sk": "PROFILE"},
                    "SET deidentifying_since = :now",
                    "episode.episode_id = :e AND episode.#st = :discharged",
                    {":now": iso(now), ":e": episode["episode_id"], ":discharged": "discharged"},
                    {"#st": "status"},
                ),
            ]
        )

    def subject(self, patient_id: str) -> str | None:
        item = self.table.get(patient_pk(patient_id), SUBJECT)
        return str(item["subject"]) if item else None

    def drop(self, patient_id: str, episode: dict[str, Any]) -> None:
        """The episode leaves the due index (its patient was re-enrolled), unless it changed meanwhile."""
        self.table.transact_if([self._off_due_index(patient_id, episode)])

    def _off_due_index(self, patient_id: str, episode: dict[str, Any]) -> dict[str, Any]:
        return self.table.update_op(
            {"pk": patient_pk(patient_id), "sk": episode["sk"]},
            "REMOVE due_shard, due_at",
            "attribute_exists(pk) AND #v = :v",
            {":v": episode.get("version", 0)},
            {"#v": "version"},
        )

    def claim(self, patient_id: str, due_at: str, lease: datetime) -> bool:
        """This worker takes the run's next step: the due time it read moves to ``lease`` (one winner a tick)."""
        return self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": RUN},
            UpdateExpression="SET due_at = :lease",
            ConditionExpression="due_at = :read",
            ExpressionAttributeValues=serialize({":lease": iso(lease), ":read": due_at}),
        )

    def page(self, patient_id: str, limit: int) -> list[dict[str, Any]]:
        """Of the partition's first ``limit`` items, those left to sweep (all but the profile, the run and its
        subject)."""
        found = self.table.query("pk = :p", {":p": patient_pk(patient_id)}, limit=limit, consistent=True)
        return [i for i in found.items if i["sk"] not in rules.LAST]

    def sweep(self, subject: str, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Readings moved under ``subject``, everything else deleted; (readings moved, other items deleted)."""
        puts = [rules.deidentified_reading(i, subject) for i in items if rules.is_reading(i)]
        deletes: list[Key] = []
        for item in items:
            deletes += [(item["pk"], item["sk"]), *_outside(item)]
        # Every kept reading is written before anything is deleted: a step that stops half-way loses nothing.
        self.table.batch_write(puts, [])
        self.table.batch_write([], deletes)
        return len(puts), len(items) - len(puts)

    def advance(self, patient_id: str, moved: int, deleted: int, due_at: datetime, phase: str | None = None) -> None:
        """A step's counts on the run, and the run due again at ``due_at`` (in ``phase``, when it changes)."""
        expression = "ADD moved :m, deleted :d SET due_at = :at" + (", phase = :phase" if phase else "")
        values: dict[str, Any] = {":m": moved, ":d": deleted, ":at": iso(due_at)}
        if phase:
            values[":phase"] = phase
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": RUN},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize(values),
        )

    def release_outside(self, patient_id: str, profile: dict[str, Any]) -> None:
        """What names the patient outside the partition because of their profile: the phone lookup, the care
        team's panel items, the owner items of meters still theirs."""
        pk = patient_pk(patient_id)
        keys: list[Key] = [(clinician_pk(cid), pk) for cid in profile.get("care_team") or []]
        if profile.get("phone"):
            keys.append((phone_pk(str(profile["phone"])), pk))
        self.table.batch_write([], keys)
        for meter in meters_of(profile):
            # Only while it is still theirs: a meter registered to someone else since stays as it is.
            owner = self.table.delete_op(f"METER#{meter.device_id}", "OWNER", "patient_id = :p", {":p": patient_id})
            self.table.transact_if([owner])

    def forget_profile(self, patient_id: str) -> None:
        """The profile: names, contacts, language, zone, care team, meters."""
        self.table.client.delete_item(
            TableName=self.table.name, Key=serialize({"pk": patient_pk(patient_id), "sk": "PROFILE"})
        )

    def end(self, patient_id: str) -> None:
        """The run and its subject, together: the last of the partition, and the last link to the subject."""
        pk = patient_pk(patient_id)
        self.table.transact([self.table.delete_op(pk, RUN), self.table.delete_op(pk, SUBJECT)])


class AwsPatientAccounts:
    """The ``PatientAccounts`` port: a patient's sign-in in the patients' pool (its username is the patient id)
    and the push endpoints registered for their devices."""

    def __init__(self, cognito: Any, pool_id: str, sns: Any) -> None:
        self._cognito = cognito
        self._pool_id = pool_id
        self._sns = sns

    def forget(self, patient_id: str) -> None:
        """The patient's user is deleted (with the phone and email it holds); none is no error."""
        try:
            self._cognito.admin_delete_user(UserPoolId=self._pool_id, Username=patient_id)
        except ClientError as error:
            if error_code(error) != "UserNotFoundException":
                raise

    def forget_devices(self, endpoint_arns: list[str]) -> None:
        """The devices' push endpoints (their token and the patient id they carry); SNS answers a deleted
        endpoint's deletion with success, so a repeated step is no error."""
        for arn in endpoint_arns:
            self._sns.delete_endpoint(EndpointArn=arn)
