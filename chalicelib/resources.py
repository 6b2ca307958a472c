"""The one definition of Carewire's stateful resources.

Both the local bootstrap (devstack/) and the CDK app (infra/) read these
structures, so a key, index or queue is declared exactly once.  Shapes follow
the DynamoDB ``CreateTable`` API so the local bootstrap can pass them through.

Key design (single table, see docs/design.md "Data model"):

=====================  ===================================  ==========================================
item                   pk / sk                               indexes
=====================  ===================================  ==========================================
patient profile        PATIENT#<pid> / PROFILE              gsi1: PATIENTS / <pid>
patient targets        PATIENT#<pid> / TARGETS
consent                PATIENT#<pid> / CONSENT#<channel>
push device            PATIENT#<pid> / DEVICE#<sha256(token)>
reading                PATIENT#<pid> / READING#<reading_id>  lsi1: READING#<type>#<measured_at>#<id>
panel membership       CLINICIAN#<cid> / PATIENT#<pid>
clinician profile      CLINICIAN#<cid> / PROFILE
=====================  ===================================  ==========================================

The reading's sort key is derived from the client's ``reading_id`` alone, so a
retried submission hits the same key and one conditional put stores it once.
Time order comes from the single LSI, which keeps a reading write at 2 WCU.
"""

from __future__ import annotations

from typing import Any

DUE_SHARDS = 16
# Critical-alert escalations: a partition of the due index of their own, read first by every tick.
URGENT_DUE_SHARD = "DUE#URGENT"

MAIN_TABLE: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "lsi1sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
        {"AttributeName": "due_shard", "AttributeType": "S"},
        {"AttributeName": "due_at", "AttributeType": "S"},
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "lsi1",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "lsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "gsi1",
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        {
            # Sharded due index: pk DUE#00..DUE#15, sk the next due time (UTC).
            "IndexName": "due",
            "KeySchema": [
                {"AttributeName": "due_shard", "KeyType": "HASH"},
                {"AttributeName": "due_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}

AUDIT_TABLE: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "actor_pk", "AttributeType": "S"},
        {"AttributeName": "day_pk", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_actor",
            "KeySchema": [
                {"AttributeName": "actor_pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "by_day",
            "KeySchema": [
                {"AttributeName": "day_pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

# Logical name -> physical-name suffix.  The deployed stacks prefix the stage.
QUEUES: dict[str, dict[str, Any]] = {
    "outbound": {"visibility_timeout": 60, "max_receive_count": 5},
    # The minute tick fans due items out here, so an 08:00 burst is spread over Lambda concurrency.
    "due-work": {"visibility_timeout": 60, "max_receive_count": 5},
}
TOPICS: tuple[str, ...] = ("inbound-sms", "delivery-events", "alerts-ops")
# Two user pools: patients sign in to one, staff to the other (MFA required, 15-minute tokens); each
# pool holds its own groups, and the app trusts a pool only for the roles of its groups.
USER_POOLS: dict[str, tuple[str, ...]] = {"patients": ("patients",), "staff": ("clinicians", "admins")}
