"""The clinic's on-call list on the fakes: admins set it, staff read it, only registered clinicians are on it."""

from __future__ import annotations

import pytest

from chalicelib.domain.clinic import OnCallIn
from chalicelib.domain.errors import ForbiddenError, InvalidInputError
from tests.unit.services.patients_world import PeopleWorld, admin, clinician, patient


@pytest.fixture
def people() -> PeopleWorld:
    return PeopleWorld()


def roster(*cids: str) -> OnCallIn:
    return OnCallIn.model_validate({"clinician_ids": list(cids)})


def test_nobody_is_on_call_until_an_admin_says_so(people: PeopleWorld) -> None:
    assert people.clinic.on_call(clinician("c-ana")).clinician_ids == []


def test_an_admin_sets_the_on_call_list_in_paging_order(people: PeopleWorld) -> None:
    set_ = people.clinic.set_on_call(admin("a-1"), roster("c-eve", "c-ana"))

    assert set_.clinician_ids == ["c-eve", "c-ana"]
    read = people.clinic.on_call(clinician("c-ana"))
    assert read.clinician_ids == ["c-eve", "c-ana"] and read.updated_by == "a-1"


def test_an_on_call_list_naming_unknown_clinicians_is_refused_naming_each(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError) as refused:
        people.clinic.set_on_call(admin(), roster("c-ana", "c-ghost", "c-who"))

    assert [e.message for e in refused.value.errors] == ["unknown clinician c-ghost", "unknown clinician c-who"]
    assert people.clinicians.on_call() is None


def test_a_repeated_put_keeps_who_set_it_and_when(people: PeopleWorld) -> None:
    first = people.clinic.set_on_call(admin("a-1"), roster("c-ana"))
    people.clock.advance(minutes=5)

    again = people.clinic.set_on_call(admin("a-2"), roster("c-ana"))

    assert again == first


def test_a_new_list_replaces_the_old(people: PeopleWorld) -> None:
    people.clinic.set_on_call(admin(), roster("c-ana"))
    people.clock.advance(minutes=5)

    people.clinic.set_on_call(admin(), roster("c-eve"))

    assert people.clinic.on_call(admin()).clinician_ids == ["c-eve"]


def test_an_empty_list_clears_the_on_call(people: PeopleWorld) -> None:
    people.clinic.set_on_call(admin(), roster("c-ana"))

    assert people.clinic.set_on_call(admin(), roster()).clinician_ids == []


def test_a_clinician_cannot_set_the_on_call_list(people: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        people.clinic.set_on_call(clinician("c-ana"), roster("c-ana"))


def test_a_patient_cannot_read_the_on_call_list(people: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        people.clinic.on_call(patient())
