"""The contract of the people ports, on ``FakePatientStore``/``FakeClinicianStore`` and on their DynamoDB adapters.

``PatientStore`` (``DynamoPatientStore``): a create happens once and a second one hands
back the stored patient; a replace of a patient changed since it was read is a conflict,
a null removes a field, what the stream maintains survives, panels follow the care team
and the inbound-SMS lookup follows the phone; pages come in patient-id order with an
opaque position; consents one per channel; devices one per token.  ``ClinicianStore``
(``DynamoClinicianStore``): a put replaces the profile.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import ConflictError
from chalicelib.domain.timeutil import iso
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class People:
    patients: Any
    clinicians: Any
    by_phone: Callable[[str], list[str]]  # who inbound SMS finds by a number
    devices: Callable[[str], list[dict[str, Any]]]


@pytest.fixture(params=BACKENDS)
def people(request: pytest.FixtureRequest) -> People:
    if request.param == "fake":
        from tests.fakes.patients import FakeClinicianStore, FakePatientStore

        fake = FakePatientStore()
        return People(fake, FakeClinicianStore(), fake.patients_by_phone, fake.devices)
    from chalicelib.adapters.contact_items import DynamoContactItems
    from chalicelib.adapters.stores import DynamoClinicianStore, DynamoPatientStore

    table = request.getfixturevalue("dynamo_table")
    patients = DynamoPatientStore(table)
    return People(patients, DynamoClinicianStore(table), DynamoContactItems(table).patients_by_phone, patients.devices)


def a_phone() -> str:
    """A number no other test uses (the phone lookup is shared by the whole table)."""
    return f"+1555{random.randrange(10**7):07d}"


def patient(pid: str, team: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "patient_id": pid,
        "given_name": "Maria",
        "care_team": team,
        "timezone": "America/New_York",
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "created_at": iso(T0),
        "updated_at": iso(T0),
        **fields,
    }


def later(record: dict[str, Any], minutes: int = 1, **changes: Any) -> dict[str, Any]:
    return {**record, **changes, "updated_at": iso(T0 + timedelta(minutes=minutes))}


# -- create and get --------------------------------------------------------------------------------------


def test_a_created_patient_reads_back_as_written_without_keys(people: People, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    written = patient(pid, [cid], request_hash="h1")

    assert people.patients.create(written) is None

    got = people.patients.get(pid)
    assert {k: got[k] for k in written} == written
    assert not {"pk", "sk", "gsi1pk", "gsi1sk", "entity", "write_token"} & set(got)


def test_a_second_create_hands_back_the_stored_patient_and_changes_nothing(
    people: People, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"], given_name="Maria", request_hash="h1"))

    existing = people.patients.create(patient(pid, ["c"], given_name="Ana", request_hash="h2"))

    assert existing is not None
    assert (existing["given_name"], existing["request_hash"]) == ("Maria", "h1")
    assert "pk" not in existing
    assert people.patients.get(pid)["given_name"] == "Maria"


def test_a_created_phone_finds_the_patient(people: People, ids: Callable[[str], str]) -> None:
    pid, phone = ids("p"), a_phone()

    people.patients.create(patient(pid, ["c"], phone=phone))

    assert people.by_phone(phone) == [pid]


# -- replace ---------------------------------------------------------------------------------------------


def test_a_replace_writes_the_record_and_a_null_removes_a_field(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    first = patient(pid, ["c"], email="maria@example.org", language="en")
    people.patients.create(first)
    stored = people.patients.get(pid)

    people.patients.replace(later(stored, language="es", email=None), stored)

    got = people.patients.get(pid)
    assert got["language"] == "es" and "email" not in got
    assert got["updated_at"] == iso(T0 + timedelta(minutes=1))


def test_a_replace_of_a_patient_changed_since_it_was_read_is_a_conflict(
    people: People, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"]))
    stale = people.patients.get(pid)
    people.patients.replace(later(stale, language="es"), stale)

    with pytest.raises(ConflictError):
        people.patients.replace(later(stale, 2, language="zh-CN"), stale)

    assert people.patients.get(pid)["language"] == "es"


def test_a_replace_of_a_patient_never_created_is_a_conflict(people: People, ids: Callable[[str], str]) -> None:
    ghost = patient(ids("p"), ["c"])

    with pytest.raises(ConflictError):
        people.patients.replace(later(ghost), ghost)


def test_what_the_stream_maintains_survives_a_profile_edit(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"]))
    stored = people.patients.get(pid)

    people.patients.replace(later(stored, channel_stats={"sms": {"sent": 99}}, last_reading_at="x"), stored)

    got = people.patients.get(pid)
    assert got["channel_stats"] == {"push": {}, "sms": {}, "email": {}, "voice": {}}
    assert "last_reading_at" not in got


def test_a_reading_touch_keeps_the_newest_time_and_answers_the_profile(
    people: People, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"]))

    touched = people.patients.touch_last_reading(pid, "2026-03-02T09:00:00Z")
    older = people.patients.touch_last_reading(pid, "2026-03-01T09:00:00Z")  # a meter syncing its history

    assert touched["last_reading_at"] == older["last_reading_at"] == "2026-03-02T09:00:00Z"
    assert older["timezone"] == "America/New_York" and older["care_team"] == ["c"]
    assert people.patients.get(pid)["last_reading_at"] == "2026-03-02T09:00:00Z"


def test_a_reading_touch_for_an_unknown_patient_creates_nothing(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")

    assert people.patients.touch_last_reading(pid, "2026-03-02T09:00:00Z") is None
    assert people.patients.get(pid) is None


def test_a_new_care_team_moves_the_patient_between_panels(people: People, ids: Callable[[str], str]) -> None:
    pid, ana, eve, oli = ids("p"), ids("c-ana"), ids("c-eve"), ids("c-oli")
    people.patients.create(patient(pid, [ana, eve]))
    stored = people.patients.get(pid)

    people.patients.replace(later(stored, care_team=[eve, oli]), stored)

    def panel(cid: str) -> list[str]:
        return [r["patient_id"] for r in people.patients.page_panel(cid, 10, None)[0]]

    assert (panel(ana), panel(eve), panel(oli)) == ([], [pid], [pid])


def test_a_new_phone_moves_the_text_lookup(people: People, ids: Callable[[str], str]) -> None:
    pid, old, new = ids("p"), a_phone(), a_phone()
    people.patients.create(patient(pid, ["c"], phone=old))
    stored = people.patients.get(pid)

    people.patients.replace(later(stored, phone=new), stored)

    assert (people.by_phone(old), people.by_phone(new)) == ([], [pid])


def test_a_cleared_phone_finds_nobody(people: People, ids: Callable[[str], str]) -> None:
    pid, phone = ids("p"), a_phone()
    people.patients.create(patient(pid, ["c"], phone=phone))
    stored = people.patients.get(pid)

    people.patients.replace(later(stored, phone=None), stored)

    assert people.by_phone(phone) == [] and "phone" not in people.patients.get(pid)


# -- pages -----------------------------------------------------------------------------------------------


def test_a_panel_pages_in_patient_id_order_and_a_full_last_page_still_names_a_position(
    people: People, ids: Callable[[str], str]
) -> None:
    cid = ids("c")
    pids = [f"{ids('p')}-{n}" for n in (3, 1, 4, 2)]
    for pid in pids:
        people.patients.create(patient(pid, [cid]))
    people.patients.create(patient(ids("p-other"), [ids("c-other")]))

    pages: list[list[str]] = []
    start: Any = None
    for _ in range(5):
        records, start = people.patients.page_panel(cid, 2, start)
        pages.append([r["patient_id"] for r in records])
        if start is None:
            break

    assert pages == [sorted(pids)[:2], sorted(pids)[2:], []]


def test_a_panels_ids_are_every_patient_in_it_and_their_profiles_come_many_at_once(
    people: People, ids: Callable[[str], str]
) -> None:
    cid = ids("c")
    mine = [f"{ids('p')}-{n:03d}" for n in range(105)]  # more than one BatchGetItem of 100
    for pid in reversed(mine):
        people.patients.create(patient(pid, [cid]))
    people.patients.create(patient(ids("p-other"), [ids("c-other")]))

    assert people.patients.panel_ids(cid) == mine
    found = people.patients.many([*mine, "p-nobody", mine[0]])
    assert sorted(found) == mine and found[mine[7]]["care_team"] == [cid]


def test_a_short_page_is_the_last(people: People, ids: Callable[[str], str]) -> None:
    cid = ids("c")
    for n in range(3):
        people.patients.create(patient(f"{ids('p')}-{n}", [cid]))

    records, start = people.patients.page_panel(cid, 5, None)

    assert len(records) == 3 and start is None


def test_every_patient_pages_once_in_patient_id_order(people: People, ids: Callable[[str], str]) -> None:
    mine = [f"{ids('p')}-{n}" for n in range(3)]
    for pid in reversed(mine):
        people.patients.create(patient(pid, ["c"]))

    seen: list[str] = []
    start: Any = None
    while True:
        records, start = people.patients.page_all(100, start)
        seen += [r["patient_id"] for r in records]
        if start is None:
            break

    assert seen == sorted(seen)
    assert [pid for pid in seen if pid in mine] == mine


# -- consents and devices -------------------------------------------------------------------------------------


def consent(channel: str, granted: bool, **fields: Any) -> dict[str, Any]:
    return {"channel": channel, "granted": granted, "source": "app", "updated_at": iso(T0), "updated_by": "p", **fields}


def test_consents_read_back_one_per_channel_by_channel(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"]))
    people.patients.put_consent(pid, consent("sms", True))
    people.patients.put_consent(pid, consent("email", True, patient_withdrawn_at=None))
    people.patients.put_consent(pid, consent("sms", False, patient_withdrawn_at=iso(T0)))

    found = people.patients.consents(pid)

    assert [(c["channel"], c["granted"]) for c in found] == [("email", True), ("sms", False)]
    assert found[0] == {"patient_id": pid, **consent("email", True)}
    assert found[1]["patient_withdrawn_at"] == iso(T0)


def test_a_patient_without_consents_has_none(people: People, ids: Callable[[str], str]) -> None:
    assert people.patients.consents(ids("p")) == []


def test_a_device_is_one_per_token(people: People, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    people.patients.create(patient(pid, ["c"]))
    device = {"platform": "fcm", "endpoint_arn": "arn:1", "created_at": iso(T0)}

    first = people.patients.put_device(pid, device, "token-1")
    again = people.patients.put_device(pid, {**device, "endpoint_arn": "arn:2"}, "token-1")
    other = people.patients.put_device(pid, device, "token-2")

    assert first["device_id"] == again["device_id"] != other["device_id"]
    assert first == {"device_id": first["device_id"], **device}
    found = {d["device_id"]: d["endpoint_arn"] for d in people.devices(pid)}
    assert found == {first["device_id"]: "arn:2", other["device_id"]: "arn:1"}


# -- clinicians ------------------------------------------------------------------------------------------


def test_a_clinician_put_replaces_the_profile(people: People, ids: Callable[[str], str]) -> None:
    cid = ids("c")
    people.clinicians.put({"clinician_id": cid, "given_name": "Ana", "phone": "+15555550100"})
    people.clinicians.put({"clinician_id": cid, "given_name": "Ana", "email": "ana@clinic.example"})

    assert people.clinicians.get(cid) == {"clinician_id": cid, "given_name": "Ana", "email": "ana@clinic.example"}


def test_an_unknown_clinician_is_none_and_left_out_of_many(people: People, ids: Callable[[str], str]) -> None:
    cid = ids("c")
    people.clinicians.put({"clinician_id": cid, "given_name": "Ana"})

    assert people.clinicians.get(ids("c-ghost")) is None
    assert list(people.clinicians.many([cid, ids("c-ghost"), cid])) == [cid]
