"""A patient's new phone or email is pending until its code comes back (docs/api.md "Trust rules", F2, F3).

The fast tier of tests/integration/test_trust_contacts.py: ``PatientService.patch`` and
``ContactVerificationService`` over ``tests/fakes/patients.py``; the codes are read
from the intents enqueued for delivery.
"""

from __future__ import annotations

import pytest

from chalicelib.domain.contacts import MAX_TRIES, ContactVerificationIn
from chalicelib.domain.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.patients import Patient, PatientPatch
from tests.unit.services.patients_world import NEW_PHONE, PHONE, PeopleWorld, clinician, patient


@pytest.fixture
def people() -> PeopleWorld:
    w = PeopleWorld()
    w.enrol("p-1")
    w.clock.advance(minutes=1)
    return w


def change(people: PeopleWorld, **fields: object) -> None:
    people.service.patch(patient("p-1"), "p-1", PatientPatch.model_validate(fields))


def verify(people: PeopleWorld, code: str, channel: str = "sms", pid: str = "p-1") -> Patient:
    body = ContactVerificationIn.model_validate({"channel": channel, "code": code})
    return people.contacts.verify(patient(pid), pid, body)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_patients_new_phone_is_pending_and_a_code_goes_to_it_only(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)

    stored = people.stored("p-1")
    assert stored["phone"] == PHONE and stored["phone_pending"] == NEW_PHONE
    [sent] = people.codes()
    assert sent.only_channels == ["sms"] and sent.verify_address == NEW_PHONE
    assert people.patients.patients_by_phone(NEW_PHONE) == []  # texts from it reach nobody yet


def test_the_code_is_never_stored_only_its_salted_hash(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()

    challenge = people.challenges.challenge("p-1", "sms")
    assert challenge is not None
    assert code not in str(challenge.values())
    assert challenge["status"] == "pending" and challenge["tries"] == 0


def test_the_right_code_makes_the_phone_current_and_moves_the_text_lookup(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)

    verified = verify(people, people.last_code())

    assert verified.phone == NEW_PHONE and verified.phone_pending is None
    assert people.patients.patients_by_phone(NEW_PHONE) == ["p-1"]
    assert people.patients.patients_by_phone(PHONE) == []


def test_a_verified_email_becomes_current(people: PeopleWorld) -> None:
    change(people, email="maria@example.org")
    [sent] = people.codes()

    verified = verify(people, str(sent.params["code"]), channel="email")

    assert sent.only_channels == ["email"] and verified.email == "maria@example.org"


def test_a_retried_verification_is_answered_the_same(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()
    first = verify(people, code)

    assert verify(people, code) == first


def test_a_wrong_code_is_counted_and_says_how_many_tries_are_left(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()

    with pytest.raises(InvalidInputError) as refused:
        verify(people, wrong(code))

    assert refused.value.errors[0].field == "code"
    assert f"{MAX_TRIES - 1} tries left" in refused.value.errors[0].message
    assert (people.challenges.challenge("p-1", "sms") or {})["tries"] == 1
    assert people.stored("p-1")["phone"] == PHONE


def test_after_the_last_wrong_try_even_the_right_code_is_refused(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()
    for _ in range(MAX_TRIES):
        with pytest.raises(InvalidInputError):
            verify(people, wrong(code))

    with pytest.raises(ConflictError, match="Too many wrong codes"):
        verify(people, code)
    assert people.stored("p-1")["phone"] == PHONE


def test_a_code_expires_after_ten_minutes(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()
    people.clock.advance(minutes=10)

    with pytest.raises(ConflictError, match="expired"):
        verify(people, code)


def test_changing_the_phone_again_sends_a_fresh_code_and_the_old_one_no_longer_works(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    old = people.last_code()
    people.clock.advance(minutes=2)
    change(people, phone="+15551238888")
    new = people.last_code()

    with pytest.raises(InvalidInputError):
        verify(people, old)
    assert verify(people, new).phone == "+15551238888"


def test_a_repeated_patch_within_a_minute_sends_no_second_code(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    people.clock.advance(seconds=20)
    change(people, phone=NEW_PHONE)

    assert len(people.codes()) == 1


def test_a_repeated_patch_after_a_minute_sends_a_new_code(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    people.clock.advance(minutes=2)
    change(people, phone=NEW_PHONE)

    assert len(people.codes()) == 2


def test_going_back_to_the_current_phone_drops_the_pending_one(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()
    people.clock.advance(minutes=1)
    change(people, phone=PHONE)

    assert "phone_pending" not in people.stored("p-1")
    with pytest.raises(ConflictError, match="No phone change"):
        verify(people, code)


def test_a_staff_change_supersedes_what_the_patient_was_still_proving(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    code = people.last_code()
    people.clock.advance(minutes=1)
    people.service.patch(clinician("c-ana"), "p-1", PatientPatch.model_validate({"phone": "+15551237777"}))

    stored = people.stored("p-1")
    assert stored["phone"] == "+15551237777" and "phone_pending" not in stored
    with pytest.raises(ConflictError):
        verify(people, code)


def test_clearing_a_phone_applies_at_once_and_sends_nothing(people: PeopleWorld) -> None:
    change(people, phone=None)

    assert "phone" not in people.stored("p-1")
    assert people.codes() == []
    assert people.patients.patients_by_phone(PHONE) == []


def test_a_pending_phone_outside_the_clinic_countries_is_refused(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError):
        change(people, phone="+447700900123")

    assert people.codes() == []


def test_nothing_pending_is_a_conflict(people: PeopleWorld) -> None:
    with pytest.raises(ConflictError, match="No email change"):
        verify(people, "123456", channel="email")


def test_only_the_patient_verifies_their_contact(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    body = ContactVerificationIn.model_validate({"channel": "sms", "code": people.last_code()})

    with pytest.raises(ForbiddenError):
        people.contacts.verify(clinician("c-ana"), "p-1", body)


def test_another_patient_cannot_verify_for_this_one(people: PeopleWorld) -> None:
    people.enrol("p-2")
    change(people, phone=NEW_PHONE)
    body = ContactVerificationIn.model_validate({"channel": "sms", "code": people.last_code()})

    with pytest.raises(NotFoundError):
        people.contacts.verify(patient("p-2"), "p-1", body)


def test_each_code_sent_and_each_verification_is_audited(people: PeopleWorld) -> None:
    change(people, phone=NEW_PHONE)
    verify(people, people.last_code())

    assert [e["detail"] for e in people.audited("create", "contact_verification")] == [{"channel": "sms"}]
    assert people.audited("update", "patient")[-1]["detail"] == {"fields": ["phone"], "verified": True}
