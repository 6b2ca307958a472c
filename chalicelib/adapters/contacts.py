"""DynamoDB side of contact verification: the code challenge and the switch to a verified contact.

======================  =========================================  ===============================
item                    pk / sk                                     notes
======================  =========================================  ===============================
code challenge          PATIENT#<pid> / VERIFY#<sms|email>          salted hash only; TTL 1 day
phone lookup            PHONE#<e164> / PATIENT#<pid>                written when a phone is verified
======================  =========================================  ===============================

The pending value itself sits on the profile (``phone_pending`` /
``email_pending``).  Verification is one transaction: the profile takes the
value (only while it is still the pending one), the challenge is marked
verified (only while it is the same code), and for a phone the inbound-SMS
lookup moves from the old number to the new.  A retried request finds the
challenge verified and is answered the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, serialize
from chalicelib.adapters.keys import patient_pk, phone_item, phone_pk
from chalicelib.domain.contacts import FIELD_OF, MAX_TRIES
from chalicelib.domain.timeutil import iso

# The challenge outlives its code by a day so a retried verification still finds it, then expires.
CHALLENGE_TTL = timedelta(days=1)


def _key(patient_id: str, channel: str) -> dict[str, str]:
    return {"pk": patient_pk(patient_id), "sk": f"VERIFY#{channel}"}


class DynamoContactStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def challenge(self, patient_id: str, channel: str) -> dict[str, Any] | None:
        key = _key(patient_id, channel)
        return self.table.get(key["pk"], key["sk"])

    def put_challenge(self, patient_id: str, challenge: dict[str, Any], now: datetime) -> None:
        """A new code replaces any earlier one for the channel (unconditional: a retry rewrites the same)."""
        self.table.put(
            {
                **_key(patient_id, challenge["channel"]),
                "entity": "contact_verification",
                "patient_id": patient_id,
                **challenge,
                "expires_at": int((now + CHALLENGE_TTL).timestamp()),
            }
        )

    def count_wrong_try(self, patient_id: str, channel: str, code_hash: str) -> bool:
        """One wrong try against this very code, while tries remain; False when it was out of tries or replaced."""
        return self.table.update_if(
            _key(patient_id, channel),
            UpdateExpression="ADD tries :one",
            ConditionExpression="code_hash = :h AND #s = :pending AND (attribute_not_exists(tries) OR tries < :max)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=serialize({":one": 1, ":h": code_hash, ":pending": "pending", ":max": MAX_TRIES}),
        )

    def complete(self, patient_id: str, challenge: dict[str, Any], previous: str | None, now: datetime) -> bool:
        """Make the challenged address current; False when the pending value or the code changed meanwhile."""
        channel, address = challenge["channel"], challenge["address"]
        field = FIELD_OF[channel]
        at = iso(now)
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize({"pk": patient_pk(patient_id), "sk": "PROFILE"}),
                    "UpdateExpression": "SET #f = :v, updated_at = :now REMOVE #p",
                    "ConditionExpression": "#p = :v",
                    "ExpressionAttributeNames": {"#f": field, "#p": f"{field}_pending"},
                    "ExpressionAttributeValues": serialize({":v": address, ":now": at}),
                }
            },
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": serialize(_key(patient_id, channel)),
                    "UpdateExpression": "SET #s = :verified, verified_at = :now",
                    "ConditionExpression": "code_hash = :h AND #s = :pending",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize(
                        {":verified": "verified", ":now": at, ":h": challenge["code_hash"], ":pending": "pending"}
                    ),
                }
            },
        ]
        if field == "phone" and previous != address:
            # Inbound SMS finds the patient by this item: it exists only for a verified (or staff-set) number.
            ops.append(self.table.put_op(phone_item(address, patient_id)))
            if previous:
                ops.append(self.table.delete_op(phone_pk(previous), patient_pk(patient_id)))
        return self.table.transact_if(ops)
