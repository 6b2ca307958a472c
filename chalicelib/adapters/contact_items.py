"""DynamoDB side of who a message reaches: a patient's consents and devices, and who shares a phone.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
consent                     PATIENT#<pid> / CONSENT#<channel>           written by the patient store
device                      PATIENT#<pid> / DEVICE#<digest>             written by the patient store
phone lookup                PHONE#<e164> / PATIENT#<pid>                written with the patient
==========================  =========================================  =========================
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.adapters.keys import patient_pk, phone_pk


class DynamoContactItems:
    """The ``ContactItems`` port: strongly consistent reads, as delivery and inbound SMS act on them at once."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def contact_items(self, patient_id: str) -> list[dict[str, Any]]:
        """Consents and devices in one Query (they sort together: CONSENT# < DEVICE#)."""
        return self.table.query(
            "pk = :p AND sk BETWEEN :a AND :b",
            {":p": patient_pk(patient_id), ":a": "CONSENT#", ":b": "DEVICE#~"},
            consistent=True,
        ).items

    def patients_by_phone(self, phone: str) -> list[str]:
        page = self.table.query("pk = :p", {":p": phone_pk(phone)}, consistent=True)
        return [i["patient_id"] for i in page.items]
