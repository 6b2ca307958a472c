"""Contract tier: one suite per port, run on its in-memory fake and on its DynamoDB adapter.

The DynamoDB side runs against DynamoDB Local, started by the integration
tier's own ``emulators`` fixture (devstack's ``Stack``, which also creates the
table from ``chalicelib/resources.py``).  Each test uses fresh patient and
clinician ids, so tests share the table without seeing each other.  A
behaviour the fake gets wrong fails here on the fake's run only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.conftest import emulators  # noqa: F401 - the session's DynamoDB Local, shared with that tier

BACKENDS = ["fake", "dynamodb"]


@pytest.fixture(scope="session")
def dynamo_table(emulators: Any) -> Any:  # noqa: F811 - the imported fixture, used
    import boto3

    from chalicelib.adapters.dynamo import DynamoTable
    from devstack.resources import KEYS, TABLE_NAME

    return DynamoTable(boto3.client("dynamodb", endpoint_url=emulators.dynamodb_url, **KEYS), TABLE_NAME)


@pytest.fixture
def ids() -> Callable[[str], str]:
    """Fresh ids for this test: ``ids("p")`` -> ``p-<hex>``."""
    tag = uuid.uuid4().hex[:10]
    return lambda prefix: f"{prefix}-{tag}"


@dataclass
class AlertBackend:
    """An ``AlertStore`` and what a test needs to look behind it."""

    name: str
    store: Any
    events: Callable[[str], list[tuple[str, str]]]  # a patient's timeline: (kind, event_id suffix) pairs
    digest: Callable[[str], dict[str, Any] | None]
    # Store a reading record; read one back (pid, reading_id): what opening and joining name their alert on.
    put_reading: Callable[[dict[str, Any]], None]
    reading: Callable[[str, str], dict[str, Any] | None]


@pytest.fixture(params=BACKENDS)
def alert_backend(request: pytest.FixtureRequest) -> AlertBackend:
    if request.param == "fake":
        from tests.fakes import FakeAlertStore

        fake = FakeAlertStore()
        return AlertBackend(
            "fake",
            fake,
            lambda pid: sorted((e["kind"], e["event_id"]) for e in fake.timeline.of(pid)),
            fake.digest,
            fake.readings.put,
            fake.readings.get,
        )
    table = request.getfixturevalue("dynamo_table")
    from chalicelib.adapters.alerts import DynamoAlertStore
    from chalicelib.adapters.readings import DynamoReadingStore, reading_sk
    from chalicelib.adapters.stores import clinician_pk, patient_pk
    from chalicelib.adapters.timeline import DynamoTimeline

    store = DynamoAlertStore(table)
    readings = DynamoReadingStore(table)

    def put_reading(record: dict[str, Any]) -> None:
        assert readings.put_new(record) is None

    def reading(pid: str, reading_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = table.get(patient_pk(pid), reading_sk(reading_id))
        return found

    timeline = DynamoTimeline(table)

    def events(pid: str) -> list[tuple[str, str]]:
        page = timeline.timeline_page(pid, None, "0000", "9999", 100)
        return sorted((e["kind"], e["sk"].rsplit("#", 1)[-1]) for e in page.items)

    def digest(cid: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = table.get(clinician_pk(cid), "DIGEST")
        return found

    return AlertBackend("dynamodb", store, events, digest, put_reading, reading)
