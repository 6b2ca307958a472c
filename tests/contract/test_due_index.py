"""The ``DueIndex`` contract (services/scheduler.py), on ``FakeDueIndex`` and on ``DynamoDueIndex`` (DynamoDB Local).

What the minute tick relies on for alerts: a critical alert is found on the
urgent shard from its escalation time on, and leaves it when acknowledged,
resolved or at the last level; a clinician's digest is found on the ordinary
shard its id hashes to from 08:00 on, and moves to the next day when sent.
Each backend pairs the index with the alert store that writes what it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.timeutil import iso
from chalicelib.resources import URGENT_DUE_SHARD
from tests.contract.conftest import BACKENDS
from tests.contract.test_alert_store import new_alert, opened
from tests.fakes import digest_shard

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Due:
    alerts: Any
    index: Any

    def found(self, shard: int | str, now: datetime, key: str, value: str) -> list[dict[str, Any]]:
        return [i for page in self.index.due_pages(shard, now) for i in page if i.get(key) == value]


@pytest.fixture(params=BACKENDS)
def due(request: pytest.FixtureRequest) -> Due:
    if request.param == "fake":
        from tests.fakes import FakeAlertStore, FakeDueIndex

        store = FakeAlertStore()
        return Due(store, FakeDueIndex(store))
    from chalicelib.adapters.alerts import DynamoAlertStore
    from chalicelib.adapters.due_index import DynamoDueIndex

    table = request.getfixturevalue("dynamo_table")
    return Due(DynamoAlertStore(table), DynamoDueIndex(table))


def test_a_critical_alert_is_due_on_the_urgent_shard_from_its_escalation_time(
    due: Due, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    alert = new_alert(pid)

    due.alerts.open(alert, [], T0 + timedelta(minutes=15), opened(alert))

    assert due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=14), "patient_id", pid) == []
    [item] = due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=15), "patient_id", pid)
    assert (item["entity"], item["alert_id"], item["due_at"]) == (
        "alert",
        alert["alert_id"],
        iso(T0 + timedelta(minutes=15)),
    )


def test_a_routine_alert_is_never_due(due: Due, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid, kind="low", priority="routine")

    due.alerts.open(alert, [], None, opened(alert))

    assert due.found(URGENT_DUE_SHARD, T0 + timedelta(days=30), "patient_id", pid) == []


def test_an_escalation_moves_the_alert_to_its_next_time_and_the_last_takes_it_out(
    due: Due, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    due.alerts.open(alert, [], T0 + timedelta(minutes=15), opened(alert))
    [item] = due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=15), "patient_id", pid)

    assert due.alerts.escalate(item, 1, T0 + timedelta(minutes=30), False)

    assert due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=29), "patient_id", pid) == []
    [item] = due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=30), "patient_id", pid)
    assert item["escalation_level"] == 1
    assert due.alerts.escalate(item, 2, T0 + timedelta(minutes=45), False)
    [item] = due.found(URGENT_DUE_SHARD, T0 + timedelta(minutes=45), "patient_id", pid)
    assert due.alerts.escalate(item, 3, None, True)
    assert due.found(URGENT_DUE_SHARD, T0 + timedelta(days=1), "patient_id", pid) == []


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
def test_an_alert_acted_on_is_no_longer_due(due: Due, ids: Callable[[str], str], status: str) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    due.alerts.open(alert, [], T0 + timedelta(minutes=15), opened(alert))

    due.alerts.transition(due.alerts.get(pid, alert["alert_id"]), {"status": status}, None)

    assert due.found(URGENT_DUE_SHARD, T0 + timedelta(days=1), "patient_id", pid) == []


def test_a_digest_is_due_on_the_shard_its_clinician_hashes_to_and_no_other(due: Due, ids: Callable[[str], str]) -> None:
    cid = ids("c")
    at = T0 + timedelta(hours=23)

    due.alerts.schedule_digest(cid, "UTC", T0, at)

    shard = int(digest_shard(cid).removeprefix("DUE#"))
    assert due.found(shard, at - timedelta(seconds=1), "clinician_id", cid) == []
    [item] = due.found(shard, at, "clinician_id", cid)
    assert (item["entity"], item["due_at"], item["timezone"]) == ("digest", iso(at), "UTC")
    other = (shard + 1) % 16
    assert due.found(other, at + timedelta(days=1), "clinician_id", cid) == []
    assert due.found(URGENT_DUE_SHARD, at + timedelta(days=1), "clinician_id", cid) == []


def test_a_sent_digest_is_due_again_the_next_day(due: Due, ids: Callable[[str], str]) -> None:
    cid = ids("c")
    at = T0 + timedelta(hours=23)
    due.alerts.schedule_digest(cid, "UTC", T0, at)
    shard = int(digest_shard(cid).removeprefix("DUE#"))
    [item] = due.found(shard, at, "clinician_id", cid)

    assert due.alerts.advance_digest(item, at + timedelta(days=1), at)

    assert due.found(shard, at + timedelta(hours=23), "clinician_id", cid) == []
    assert len(due.found(shard, at + timedelta(days=1), "clinician_id", cid)) == 1
