"""The contract of ``ContactChallenges``, on ``FakeContactChallenges`` and on ``DynamoContactStore``.

A new code replaces the channel's earlier one; a wrong try counts only against the very
code still pending, and only while tries remain; completing makes the pending address
current once, only while both the pending value and the code are those read, and for a
phone moves the inbound-SMS lookup from the old number to the new.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import contacts as rules
from chalicelib.domain.timeutil import iso
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALT = "00" * 16


@dataclass
class Contacts:
    challenges: Any
    patients: Any
    by_phone: Callable[[str], list[str]]


@pytest.fixture(params=BACKENDS)
def contacts(request: pytest.FixtureRequest) -> Contacts:
    if request.param == "fake":
        from tests.fakes.patients import FakeContactChallenges, FakePatientStore

        patients = FakePatientStore()
        return Contacts(FakeContactChallenges(patients), patients, patients.patients_by_phone)
    from chalicelib.adapters.contact_items import DynamoContactItems
    from chalicelib.adapters.contacts import DynamoContactStore
    from chalicelib.adapters.stores import DynamoPatientStore

    table = request.getfixturevalue("dynamo_table")
    return Contacts(DynamoContactStore(table), DynamoPatientStore(table), DynamoContactItems(table).patients_by_phone)


def a_phone() -> str:
    return f"+1555{random.randrange(10**7):07d}"


def enrol(contacts: Contacts, pid: str, **fields: Any) -> None:
    record = {"patient_id": pid, "care_team": ["c"], "timezone": "UTC", "updated_at": iso(T0), **fields}
    assert contacts.patients.create(record) is None


def challenge(pid: str, address: str, code: str = "123456", channel: str = "sms") -> dict[str, Any]:
    return rules.challenge_for(pid, channel, address, code, SALT, T0)


def test_no_challenge_until_a_code_is_sent(contacts: Contacts, ids: Callable[[str], str]) -> None:
    assert contacts.challenges.challenge(ids("p"), "sms") is None


def test_a_challenge_reads_back_with_its_expiry_a_day_later(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid, phone = ids("p"), a_phone()
    sent = challenge(pid, phone)

    contacts.challenges.put_challenge(pid, sent, T0)

    got = contacts.challenges.challenge(pid, "sms")
    assert {k: got[k] for k in sent} == sent
    assert got["expires_at"] == int((T0 + timedelta(days=1)).timestamp())
    assert contacts.challenges.challenge(pid, "email") is None


def test_a_new_code_replaces_the_earlier_one_and_its_tries(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid, phone = ids("p"), a_phone()
    first = challenge(pid, phone, "111111")
    contacts.challenges.put_challenge(pid, first, T0)
    contacts.challenges.count_wrong_try(pid, "sms", first["code_hash"])

    contacts.challenges.put_challenge(pid, challenge(pid, phone, "222222"), T0)

    got = contacts.challenges.challenge(pid, "sms")
    assert got["tries"] == 0 and got["code_hash"] == challenge(pid, phone, "222222")["code_hash"]
    assert contacts.challenges.count_wrong_try(pid, "sms", first["code_hash"]) is False


def test_wrong_tries_count_until_none_are_left(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    sent = challenge(pid, a_phone())
    contacts.challenges.put_challenge(pid, sent, T0)

    counted = [contacts.challenges.count_wrong_try(pid, "sms", sent["code_hash"]) for _ in range(rules.MAX_TRIES + 1)]

    assert counted == [True] * rules.MAX_TRIES + [False]
    assert contacts.challenges.challenge(pid, "sms")["tries"] == rules.MAX_TRIES


def test_a_wrong_try_without_a_challenge_counts_nothing(contacts: Contacts, ids: Callable[[str], str]) -> None:
    assert contacts.challenges.count_wrong_try(ids("p"), "sms", "nope") is False


def test_completing_makes_the_pending_phone_current_and_moves_the_lookup(
    contacts: Contacts, ids: Callable[[str], str]
) -> None:
    pid, old, new = ids("p"), a_phone(), a_phone()
    enrol(contacts, pid, phone=old, phone_pending=new)
    sent = challenge(pid, new)
    contacts.challenges.put_challenge(pid, sent, T0)
    at = T0 + timedelta(minutes=2)

    assert contacts.challenges.complete(pid, sent, old, at) is True

    profile = contacts.patients.get(pid)
    assert profile["phone"] == new and "phone_pending" not in profile and profile["updated_at"] == iso(at)
    got = contacts.challenges.challenge(pid, "sms")
    assert got["status"] == "verified" and got["verified_at"] == iso(at)
    assert (contacts.by_phone(old), contacts.by_phone(new)) == ([], [pid])


def test_completing_twice_changes_nothing_the_second_time(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid, new = ids("p"), a_phone()
    enrol(contacts, pid, phone_pending=new)
    sent = challenge(pid, new)
    contacts.challenges.put_challenge(pid, sent, T0)
    contacts.challenges.complete(pid, sent, None, T0)

    assert contacts.challenges.complete(pid, sent, None, T0 + timedelta(minutes=1)) is False
    assert contacts.patients.get(pid)["updated_at"] == iso(T0)


def test_completing_a_replaced_code_changes_nothing(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid, new = ids("p"), a_phone()
    enrol(contacts, pid, phone_pending=new)
    old_code = challenge(pid, new, "111111")
    contacts.challenges.put_challenge(pid, old_code, T0)
    contacts.challenges.put_challenge(pid, challenge(pid, new, "222222"), T0)

    assert contacts.challenges.complete(pid, old_code, None, T0) is False

    profile = contacts.patients.get(pid)
    assert profile["phone_pending"] == new and "phone" not in profile
    assert contacts.by_phone(new) == []
    assert contacts.challenges.challenge(pid, "sms")["status"] == "pending"


def test_completing_after_the_pending_value_changed_changes_nothing(
    contacts: Contacts, ids: Callable[[str], str]
) -> None:
    pid, first, second = ids("p"), a_phone(), a_phone()
    enrol(contacts, pid, phone_pending=second)
    sent = challenge(pid, first)
    contacts.challenges.put_challenge(pid, sent, T0)

    assert contacts.challenges.complete(pid, sent, None, T0) is False
    assert contacts.challenges.challenge(pid, "sms")["status"] == "pending"
    assert contacts.by_phone(first) == []


def test_a_verified_email_becomes_current_and_touches_no_phone(contacts: Contacts, ids: Callable[[str], str]) -> None:
    pid, phone = ids("p"), a_phone()
    email = f"{pid}@example.org"
    enrol(contacts, pid, phone=phone, email_pending=email)
    sent = challenge(pid, email, channel="email")
    contacts.challenges.put_challenge(pid, sent, T0)

    assert contacts.challenges.complete(pid, sent, None, T0) is True

    profile = contacts.patients.get(pid)
    assert profile["email"] == email and profile["phone"] == phone
    assert contacts.by_phone(phone) == [pid]
