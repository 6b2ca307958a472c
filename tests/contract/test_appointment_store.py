"""The ``AppointmentStore`` contract (services/appointments.py), on its fake and on ``DynamoAppointmentStore``.

What ``AppointmentService`` relies on: an appointment is created once per id; a
save lands only on the version it read (``updated_at``), and a record read back
(storage attributes and all) can be handed back as it is; a patient's
appointments read back by id; and the due index finds an open appointment at its
earliest unsent reminder, on the shard its ids hash to, and loses it once every
reminder is sent or the appointment is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.timeutil import iso
from tests.contract.conftest import BACKENDS
from tests.fakes.appointments import appointment_shard

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Backend:
    store: Any
    index: Any  # the DueIndex the tick reads

    def due(self, pid: str, aid: str, now: datetime) -> list[dict[str, Any]]:
        pages = self.index.due_pages(appointment_shard(pid, aid), now)
        return [i for page in pages for i in page if i.get("patient_id") == pid and i["appointment_id"] == aid]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        from tests.fakes.appointments import FakeAppointmentStore

        fake = FakeAppointmentStore()
        return Backend(fake, fake)
    from chalicelib.adapters.appointments import DynamoAppointmentStore
    from chalicelib.adapters.due_index import DynamoDueIndex

    table = request.getfixturevalue("dynamo_table")
    return Backend(DynamoAppointmentStore(table), DynamoDueIndex(table))


def appointment(pid: str, aid: str = "v-1", status: str = "scheduled", **extra: Any) -> dict[str, Any]:
    starts = T0 + timedelta(days=3)
    return {
        "appointment_id": aid,
        "patient_id": pid,
        "starts_at": iso(starts),
        "kind": "video",
        "join_url": "https://visit.example/v-1",
        "remind_before": ["P1D", "PT2H"],
        "status": status,
        "reminders": [
            {"due_at": iso(starts - timedelta(days=1)), "sent": False},
            {"due_at": iso(starts - timedelta(hours=2)), "sent": False},
        ],
        "request_hash": "h-1",
        "created_at": iso(T0),
        "updated_at": iso(T0),
        **extra,
    }


def fields(record: dict[str, Any] | None) -> dict[str, Any]:
    assert record is not None
    return {k: v for k, v in record.items() if k not in ("pk", "sk", "entity", "due_shard", "due_at", "write_token")}


def test_an_appointment_is_created_once_per_id_and_reads_back(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    first = appointment(pid)

    assert backend.store.create(first) is True
    assert backend.store.create(appointment(pid, kind="phone")) is False

    assert fields(backend.store.get(pid, "v-1")) == first


def test_an_unknown_appointment_is_none(backend: Backend, ids: Callable[[str], str]) -> None:
    assert backend.store.get(ids("p"), "v-1") is None


def test_a_save_lands_on_the_version_read_and_not_on_a_stale_one(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(appointment(pid))
    read = backend.store.get(pid, "v-1")

    assert backend.store.save({**read, "status": "confirmed", "updated_at": iso(T0 + timedelta(minutes=1))}, iso(T0))
    assert not backend.store.save(
        {**read, "status": "cancelled", "updated_at": iso(T0 + timedelta(minutes=2))}, iso(T0)
    )

    assert backend.store.get(pid, "v-1")["status"] == "confirmed"


def test_a_save_of_an_appointment_never_stored_is_refused(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert backend.store.save(appointment(pid), iso(T0)) is False
    assert backend.store.get(pid, "v-1") is None


def test_a_cleared_field_is_gone_after_a_save(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(appointment(pid))
    read = backend.store.get(pid, "v-1")

    backend.store.save({**read, "join_url": None, "updated_at": iso(T0 + timedelta(minutes=1))}, iso(T0))

    assert "join_url" not in backend.store.get(pid, "v-1")


def test_a_patients_appointments_read_back_by_id_and_only_theirs(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    for aid in ("b", "c", "a"):
        backend.store.create(appointment(pid, aid))
    backend.store.create(appointment(ids("other"), "z"))

    assert [a["appointment_id"] for a in backend.store.of_patient(pid)] == ["a", "b", "c"]
    assert backend.store.of_patient(ids("nobody")) == []


def test_an_open_appointment_is_due_from_its_earliest_unsent_reminder(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    record = appointment(pid)
    backend.store.create(record)
    first = T0 + timedelta(days=2)

    assert backend.due(pid, "v-1", first - timedelta(minutes=1)) == []
    [item] = backend.due(pid, "v-1", first)
    assert item["entity"] == "appointment" and item["due_at"] == iso(first)
    assert fields(item) == record


def test_a_due_item_handed_back_with_a_reminder_sent_moves_to_the_next(
    backend: Backend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    backend.store.create(appointment(pid))
    [item] = backend.due(pid, "v-1", T0 + timedelta(days=2))
    sent_one = [{**item["reminders"][0], "sent": True}, item["reminders"][1]]
    later = iso(T0 + timedelta(days=2, minutes=1))

    assert backend.store.save({**item, "reminders": sent_one, "updated_at": later}, item["updated_at"])

    assert backend.due(pid, "v-1", T0 + timedelta(days=2, hours=1)) == []
    [again] = backend.due(pid, "v-1", T0 + timedelta(days=3))
    assert again["due_at"] == item["reminders"][1]["due_at"]


@pytest.mark.parametrize("change", ["all_sent", "cancelled", "completed"])
def test_an_appointment_leaves_the_due_index_when_nothing_is_left_to_send(
    backend: Backend, ids: Callable[[str], str], change: str
) -> None:
    pid = ids("p")
    backend.store.create(appointment(pid))
    read = backend.store.get(pid, "v-1")
    if change == "all_sent":
        updated = {**read, "reminders": [{**r, "sent": True} for r in read["reminders"]]}
    else:
        updated = {**read, "status": change}

    backend.store.save({**updated, "updated_at": iso(T0 + timedelta(minutes=1))}, iso(T0))

    assert backend.due(pid, "v-1", T0 + timedelta(days=4)) == []


def test_a_confirmed_or_reschedule_requested_appointment_stays_due(backend: Backend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    backend.store.create(appointment(pid, "a", "confirmed"))
    backend.store.create(appointment(pid, "b", "reschedule_requested"))

    assert len(backend.due(pid, "a", T0 + timedelta(days=2))) == 1
    assert len(backend.due(pid, "b", T0 + timedelta(days=2))) == 1
