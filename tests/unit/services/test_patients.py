"""Patients and clinicians on the fakes: enrolment, who sees whom, panels, profile changes, targets, consents, devices.

The fast tier of tests/integration/test_patients.py: ``PatientService`` and
``ClinicianService`` over ``tests/fakes/patients.py`` (see patients_world.py).
"""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.patients import ClinicianIn, ConsentIn, DeviceIn, PatientPatch
from chalicelib.domain.targets import TargetsIn
from tests.unit.services.patients_world import PeopleWorld, admin, clinician, enrolment, patient


@pytest.fixture
def people() -> PeopleWorld:
    return PeopleWorld()


@pytest.fixture
def enrolled(people: PeopleWorld) -> PeopleWorld:
    people.enrol("p-1")
    return people


def patch(**fields: object) -> PatientPatch:
    return PatientPatch.model_validate(fields)


def consent(granted: bool, source: str = "app") -> ConsentIn:
    return ConsentIn.model_validate({"granted": granted, "source": source})


# -- enrolment ---------------------------------------------------------------------------------------


def test_a_clinician_enrols_a_patient_onto_their_own_care_team(people: PeopleWorld) -> None:
    status, enrolled = people.service.enroll(clinician("c-ana"), enrolment(patient_id="p-1", care_team=["c-eve"]))

    assert status == 201
    assert enrolled.patient_id == "p-1" and enrolled.care_team == ["c-eve", "c-ana"]
    assert people.stored("p-1")["care_team"] == ["c-eve", "c-ana"]
    assert [(e["action"], e["patient_id"]) for e in people.audited(resource="patient")] == [("create", "p-1")]


def test_enrolment_retried_with_the_same_body_answers_the_same_patient_once(people: PeopleWorld) -> None:
    first = people.service.enroll(clinician(), enrolment(patient_id="p-1"))
    people.clock.advance(seconds=5)

    again = people.service.enroll(clinician(), enrolment(patient_id="p-1"))

    assert first[0] == 201 and again[0] == 200
    assert again[1] == first[1]  # the stored patient, created_at and all
    assert [e["detail"] for e in people.audited("read", "patient")] == [{"replay": True}]
    assert len(people.patients.records) == 1


def test_enrolment_retried_with_a_different_body_is_a_conflict(people: PeopleWorld) -> None:
    people.service.enroll(clinician(), enrolment(patient_id="p-1"))

    with pytest.raises(ConflictError):
        people.service.enroll(clinician(), enrolment(patient_id="p-1", given_name="Ana"))

    assert people.stored("p-1")["given_name"] == "Maria"


def test_an_enrolment_fingerprinted_before_birth_date_and_mrn_existed_still_matches_its_retry(
    people: PeopleWorld,
) -> None:
    from chalicelib.domain.idempotency import fingerprint

    request = enrolment(patient_id="p-1")
    # What the fingerprint covered before the two optional fields were added.
    before = {
        k: v
        for k, v in request.model_dump(mode="json", exclude={"patient_id"}).items()
        if k not in ("birth_date", "mrn")
    }

    assert fingerprint(request.fingerprinted()) == fingerprint(before)
    assert fingerprint(enrolment(patient_id="p-1", mrn="A-1").fingerprinted()) != fingerprint(before)


def test_the_clinic_records_a_birth_date_and_mrn_and_a_retry_with_them_is_the_same_enrolment(
    people: PeopleWorld,
) -> None:
    first = people.service.enroll(clinician(), enrolment(patient_id="p-1", birth_date="1961-04-02", mrn="MRN-0042"))
    again = people.service.enroll(clinician(), enrolment(patient_id="p-1", birth_date="1961-04-02", mrn="MRN-0042"))

    assert (first[0], again[0]) == (201, 200)
    assert people.stored("p-1")["birth_date"] == "1961-04-02" and people.stored("p-1")["mrn"] == "MRN-0042"


@pytest.mark.parametrize("fields", [{"birth_date": "1899-12-31"}, {"mrn": "=cmd"}, {"mrn": ""}, {"mrn": "x" * 33}])
def test_an_implausible_birth_date_or_mrn_is_refused(fields: dict[str, str]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        enrolment(**fields)


def test_a_repeat_by_a_clinician_outside_the_new_care_team_is_a_conflict_not_a_read(people: PeopleWorld) -> None:
    people.service.enroll(admin(), enrolment(patient_id="p-1", care_team=["c-ana"]))

    with pytest.raises(ConflictError):
        people.service.enroll(clinician("c-eve"), enrolment(patient_id="p-1", care_team=["c-ana"]))


def test_an_idempotency_key_without_a_patient_id_picks_the_same_id_on_a_retry(people: PeopleWorld) -> None:
    status, first = people.service.enroll(clinician(), enrolment(), idempotency_key="key-1")
    again_status, again = people.service.enroll(clinician(), enrolment(), idempotency_key="key-1")
    _, other = people.service.enroll(clinician(), enrolment(), idempotency_key="key-2")

    assert (status, again_status) == (201, 200)
    assert again.patient_id == first.patient_id != other.patient_id


def test_without_any_key_each_enrolment_is_a_new_patient(people: PeopleWorld) -> None:
    _, first = people.service.enroll(clinician(), enrolment())
    _, second = people.service.enroll(clinician(), enrolment())

    assert first.patient_id != second.patient_id


def test_a_care_team_naming_an_unknown_clinician_is_refused_naming_each(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError) as refused:
        people.service.enroll(admin(), enrolment(patient_id="p-1", care_team=["c-ana", "c-who", "c-what"]))

    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("care_team", "unknown clinician c-who"),
        ("care_team", "unknown clinician c-what"),
    ]
    assert people.patients.get("p-1") is None


def test_an_admin_must_name_a_care_team(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError) as refused:
        people.service.enroll(admin(), enrolment(patient_id="p-1"))

    assert refused.value.errors[0].field == "care_team"


def test_a_patient_cannot_enrol_anyone(people: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        people.service.enroll(patient("p-1"), enrolment(patient_id="p-1", care_team=["c-ana"]))


def test_a_phone_outside_the_clinic_countries_is_refused_at_enrolment(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError) as refused:
        people.service.enroll(clinician(), enrolment(patient_id="p-1", phone="+447700900123"))

    assert refused.value.errors[0].field == "phone"


def test_the_enrolled_phone_finds_the_patient_by_text_at_once(people: PeopleWorld) -> None:
    people.enrol("p-1", phone="+15551230001")

    assert people.patients.patients_by_phone("+15551230001") == ["p-1"]


# -- who sees whom ---------------------------------------------------------------------------------------


def test_a_patient_reads_themselves(enrolled: PeopleWorld) -> None:
    assert enrolled.service.get(patient("p-1"), "p-1").patient_id == "p-1"
    assert [e["actor"] for e in enrolled.audited("read", "patient")] == ["p-1"]


def test_a_patient_reading_another_patient_is_told_it_does_not_exist(enrolled: PeopleWorld) -> None:
    enrolled.enrol("p-2")

    with pytest.raises(NotFoundError):
        enrolled.service.get(patient("p-1"), "p-2")


def test_a_clinician_outside_the_care_team_gets_404(enrolled: PeopleWorld) -> None:
    with pytest.raises(NotFoundError):
        enrolled.service.get(clinician("c-eve"), "p-1")


def test_a_missing_patient_and_an_out_of_scope_one_look_the_same(enrolled: PeopleWorld) -> None:
    with pytest.raises(NotFoundError) as missing:
        enrolled.service.get(clinician("c-ana"), "p-nobody")
    with pytest.raises(NotFoundError) as hidden:
        enrolled.service.get(clinician("c-eve"), "p-1")

    assert str(missing.value) == str(hidden.value)


def test_an_admin_reads_any_patient(enrolled: PeopleWorld) -> None:
    assert enrolled.service.get(admin(), "p-1").patient_id == "p-1"


def test_a_patient_being_de_identified_is_404_to_everyone_even_themselves(enrolled: PeopleWorld) -> None:
    enrolled.patients.records["p-1"]["deidentifying_since"] = "2032-12-03T09:01:00.000Z"  # a retention run began
    for caller in (admin(), clinician("c-ana"), patient("p-1")):
        with pytest.raises(NotFoundError):
            enrolled.service.get(caller, "p-1")
    listed, _ = enrolled.service.page(admin(), 50, None)
    assert listed == []


# -- lists ------------------------------------------------------------------------------------------------


def test_an_admin_lists_every_patient(people: PeopleWorld) -> None:
    people.enrol("p-1", by=clinician("c-ana"))
    people.enrol("p-2", by=clinician("c-eve"))

    listed, cursor = people.service.page(admin(), 10, None)

    assert [p.patient_id for p in listed] == ["p-1", "p-2"] and cursor is None
    assert sorted(e["patient_id"] for e in people.audited("list", "patient")) == ["p-1", "p-2"]


def test_names_beside_another_list_are_only_those_the_clinician_may_see_and_are_audited(people: PeopleWorld) -> None:
    people.enrol("p-1", by=clinician("c-ana"))
    people.enrol("p-2", by=clinician("c-eve"))

    names = people.service.names(clinician("c-ana"), ["p-1", "p-2", "p-unknown"])

    assert names == {"p-1": "Maria Lopez"}
    assert [(e["patient_id"], e["detail"]) for e in people.audited("list", "patient")] == [("p-1", {"fields": "name"})]
    with pytest.raises(ForbiddenError):
        people.service.names(patient("p-1"), ["p-1"])


def test_a_clinician_lists_only_their_panel(people: PeopleWorld) -> None:
    people.enrol("p-1", by=clinician("c-ana"))
    people.enrol("p-2", by=clinician("c-eve"))
    people.enrol("p-3", by=clinician("c-eve"), care_team=["c-ana"])

    listed, _ = people.service.page(clinician("c-ana"), 10, None)

    assert [p.patient_id for p in listed] == ["p-1", "p-3"]


def test_a_panel_pages_through_every_patient_once(people: PeopleWorld) -> None:
    for n in range(7):
        people.enrol(f"p-{n}")
    seen: list[str] = []
    cursor: str | None = None

    for _ in range(10):
        listed, cursor = people.service.page(clinician("c-ana"), 3, cursor)
        seen += [p.patient_id for p in listed]
        if cursor is None:
            break

    assert seen == [f"p-{n}" for n in range(7)]


def test_a_cursor_issued_to_one_clinician_is_refused_for_another(people: PeopleWorld) -> None:
    for n in range(3):
        people.enrol(f"p-{n}", care_team=["c-eve"])
    _, cursor = people.service.page(clinician("c-ana"), 2, None)

    with pytest.raises(Exception, match="cursor"):
        people.service.page(clinician("c-eve"), 2, cursor)


def test_a_patient_cannot_list_patients(enrolled: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        enrolled.service.page(patient("p-1"), 10, None)


# -- profile changes -------------------------------------------------------------------------------------


def test_the_care_team_changes_a_patients_language(enrolled: PeopleWorld) -> None:
    enrolled.clock.advance(minutes=1)

    changed = enrolled.service.patch(clinician("c-ana"), "p-1", patch(language="es"))

    assert changed.language == "es" and changed.updated_at == enrolled.clock()
    assert enrolled.stored("p-1")["language"] == "es"


def test_a_repeated_patch_writes_nothing_and_answers_the_same(enrolled: PeopleWorld) -> None:
    first = enrolled.service.patch(clinician("c-ana"), "p-1", patch(language="es"))
    enrolled.clock.advance(minutes=1)

    again = enrolled.service.patch(clinician("c-ana"), "p-1", patch(language="es"))

    assert again == first
    assert enrolled.audited("update", "patient")[-1]["detail"] == {"fields": [], "unchanged": True}


def test_a_patient_may_not_change_their_care_team_or_conditions(enrolled: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError, match="conditions"):
        enrolled.service.patch(patient("p-1"), "p-1", patch(conditions=["t2d"]))


def test_only_an_admin_moves_a_patients_care(enrolled: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        enrolled.service.patch(clinician("c-ana"), "p-1", patch(care_team=["c-eve"]))

    moved = enrolled.service.patch(admin(), "p-1", patch(care_team=["c-eve"]))

    assert moved.care_team == ["c-eve"]
    assert [p.patient_id for p in enrolled.service.page(clinician("c-eve"), 10, None)[0]] == ["p-1"]
    with pytest.raises(NotFoundError):
        enrolled.service.get(clinician("c-ana"), "p-1")


def test_a_care_team_change_naming_an_unknown_clinician_is_refused(enrolled: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError, match="registered clinician"):
        enrolled.service.patch(admin(), "p-1", patch(care_team=["c-eve", "c-ghost"]))

    assert enrolled.stored("p-1")["care_team"] == ["c-ana"]


def test_a_care_team_cannot_be_emptied(enrolled: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError, match="care team"):
        enrolled.service.patch(admin(), "p-1", patch(care_team=[]))


def test_a_patch_on_a_patient_changed_meanwhile_is_a_conflict(enrolled: PeopleWorld) -> None:
    stale = enrolled.stored("p-1")
    enrolled.clock.advance(minutes=1)
    enrolled.service.patch(clinician("c-ana"), "p-1", patch(language="es"))

    with pytest.raises(ConflictError):
        enrolled.patients.replace({**stale, "language": "pt-BR"}, stale)


def test_a_staff_phone_change_applies_at_once_and_moves_the_text_lookup(enrolled: PeopleWorld) -> None:
    enrolled.clock.advance(minutes=1)

    changed = enrolled.service.patch(clinician("c-ana"), "p-1", patch(phone="+15551230002"))

    assert changed.phone == "+15551230002" and changed.phone_pending is None
    assert enrolled.patients.patients_by_phone("+15551230002") == ["p-1"]
    assert enrolled.patients.patients_by_phone("+15551230000") == []
    assert enrolled.codes() == []


# -- targets ---------------------------------------------------------------------------------------------


def test_the_care_team_sets_targets_and_each_change_is_a_new_version(enrolled: PeopleWorld) -> None:
    first = enrolled.service.put_targets(clinician("c-ana"), "p-1", TargetsIn.model_validate({"reason": "new plan"}))
    again = enrolled.service.put_targets(clinician("c-ana"), "p-1", TargetsIn.model_validate({"reason": "new plan"}))
    other = enrolled.service.put_targets(
        clinician("c-ana"), "p-1", TargetsIn.model_validate({"glucose_profile": "pregnancy"})
    )

    assert (first.version, again.version, other.version) == (1, 1, 2)
    assert enrolled.service.get_targets(patient("p-1"), "p-1").version == 2


def test_a_patient_reads_but_does_not_set_their_targets(enrolled: PeopleWorld) -> None:
    assert enrolled.service.get_targets(patient("p-1"), "p-1").version == 0

    with pytest.raises(ForbiddenError):
        enrolled.service.put_targets(patient("p-1"), "p-1", TargetsIn.model_validate({}))


# -- consents --------------------------------------------------------------------------------------------


def test_a_patient_grants_consent_in_the_app(enrolled: PeopleWorld) -> None:
    granted = enrolled.service.put_consent(patient("p-1"), "p-1", "sms", consent(True))

    assert granted.granted and granted.updated_by == "p-1"
    assert [c.channel for c in enrolled.service.list_consents(clinician("c-ana"), "p-1")] == ["sms"]


def test_a_patient_records_consent_only_as_app(enrolled: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError, match="app"):
        enrolled.service.put_consent(patient("p-1"), "p-1", "sms", consent(True, "paper"))


def test_the_care_team_records_paper_or_verbal_consent_only(enrolled: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        enrolled.service.put_consent(clinician("c-ana"), "p-1", "sms", consent(True, "app"))

    assert enrolled.service.put_consent(clinician("c-ana"), "p-1", "sms", consent(True, "paper")).granted


def test_a_patients_own_withdrawal_cannot_be_overridden_by_staff(enrolled: PeopleWorld) -> None:
    enrolled.service.put_consent(patient("p-1"), "p-1", "sms", consent(False))

    with pytest.raises(ConflictError, match="only the patient"):
        enrolled.service.put_consent(clinician("c-ana"), "p-1", "sms", consent(True, "paper"))

    [stored] = enrolled.patients.consents("p-1")
    assert stored["granted"] is False and stored["updated_by"] == "p-1"


def test_a_staff_withdrawal_keeps_the_patients_mark(enrolled: PeopleWorld) -> None:
    enrolled.service.put_consent(patient("p-1"), "p-1", "email", consent(False))
    withdrawn_at = enrolled.patients.consents("p-1")[0]["patient_withdrawn_at"]
    enrolled.clock.advance(minutes=5)

    enrolled.service.put_consent(clinician("c-ana"), "p-1", "email", consent(False, "verbal"))

    assert enrolled.patients.consents("p-1")[0]["patient_withdrawn_at"] == withdrawn_at
    with pytest.raises(ConflictError):
        enrolled.service.put_consent(clinician("c-ana"), "p-1", "email", consent(True, "verbal"))


def test_the_patient_granting_again_lifts_their_withdrawal(enrolled: PeopleWorld) -> None:
    enrolled.service.put_consent(patient("p-1"), "p-1", "sms", consent(False))
    enrolled.service.put_consent(patient("p-1"), "p-1", "sms", consent(True))

    assert "patient_withdrawn_at" not in enrolled.patients.consents("p-1")[0]
    assert enrolled.service.put_consent(clinician("c-ana"), "p-1", "sms", consent(False, "paper")).granted is False


def test_a_repeated_consent_changes_nothing(enrolled: PeopleWorld) -> None:
    first = enrolled.service.put_consent(patient("p-1"), "p-1", "push", consent(True))
    enrolled.clock.advance(minutes=1)

    again = enrolled.service.put_consent(patient("p-1"), "p-1", "push", consent(True))

    assert again == first
    assert enrolled.audited("update", "consent")[-1]["detail"] == {"channel": "push", "unchanged": True}


def test_a_clinician_outside_the_care_team_cannot_see_consents(enrolled: PeopleWorld) -> None:
    with pytest.raises(NotFoundError):
        enrolled.service.list_consents(clinician("c-eve"), "p-1")


# -- devices ---------------------------------------------------------------------------------------------


def test_a_patient_registers_their_device(enrolled: PeopleWorld) -> None:
    device = enrolled.service.register_device(
        patient("p-1"), "p-1", DeviceIn.model_validate({"platform": "fcm", "token": "token-abcdef"})
    )

    [stored] = enrolled.patients.devices("p-1")
    assert device.device_id == stored["device_id"] and device.platform == "fcm"
    assert stored["endpoint_arn"].startswith("arn:aws:sns:")


def test_the_same_token_again_is_the_same_device(enrolled: PeopleWorld) -> None:
    body = DeviceIn.model_validate({"platform": "apns", "token": "token-abcdef"})
    first = enrolled.service.register_device(patient("p-1"), "p-1", body)
    again = enrolled.service.register_device(patient("p-1"), "p-1", body)

    assert again.device_id == first.device_id and len(enrolled.patients.devices("p-1")) == 1


def test_only_the_patient_registers_a_device(enrolled: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        enrolled.service.register_device(
            clinician("c-ana"), "p-1", DeviceIn.model_validate({"platform": "fcm", "token": "token-abcdef"})
        )


def test_a_device_on_an_unconfigured_platform_is_refused_and_not_stored() -> None:
    people = PeopleWorld()
    people.push.platforms = ("fcm",)
    people.enrol("p-1")

    with pytest.raises(InvalidInputError, match="apns"):
        people.service.register_device(
            patient("p-1"), "p-1", DeviceIn.model_validate({"platform": "apns", "token": "token-abcdef"})
        )
    assert people.patients.devices("p-1") == []


# -- clinicians ------------------------------------------------------------------------------------------


def clinician_body(**fields: object) -> ClinicianIn:
    return ClinicianIn.model_validate({"given_name": "Eve", "email": "eve@clinic.example", **fields})


def test_an_admin_registers_a_clinician(people: PeopleWorld) -> None:
    registered = people.clinician_service.put(admin(), "c-new", clinician_body(phone="+15551110000"))

    assert registered.clinician_id == "c-new" and registered.updated_at == people.clock()
    assert people.clinician_service.get(clinician("c-new"), "c-new").phone == "+15551110000"


def test_a_clinician_updates_their_own_contact_fields(people: PeopleWorld) -> None:
    people.clinician_service.put(admin(), "c-new", clinician_body())
    people.clock.advance(minutes=1)

    updated = people.clinician_service.put(
        clinician("c-new"), "c-new", clinician_body(phone="+15551110000", language="es")
    )

    assert updated.phone == "+15551110000" and updated.language == "es" and updated.updated_at == people.clock()


def test_a_clinician_may_not_change_their_name_or_escalation_contacts(people: PeopleWorld) -> None:
    people.clinician_service.put(admin(), "c-new", clinician_body())

    with pytest.raises(ForbiddenError, match="given_name"):
        people.clinician_service.put(clinician("c-new"), "c-new", clinician_body(given_name="Evelyn"))


def test_a_clinician_cannot_register_themselves(people: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        people.clinician_service.put(clinician("c-new"), "c-new", clinician_body())


def test_a_clinician_cannot_edit_another(people: PeopleWorld) -> None:
    with pytest.raises(ForbiddenError):
        people.clinician_service.put(clinician("c-ana"), "c-eve", clinician_body())


def test_a_repeated_clinician_put_answers_the_stored_profile(people: PeopleWorld) -> None:
    first = people.clinician_service.put(admin(), "c-new", clinician_body())
    people.clock.advance(minutes=1)

    assert people.clinician_service.put(admin(), "c-new", clinician_body()) == first


def test_a_clinician_phone_outside_the_clinic_countries_is_refused(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError):
        people.clinician_service.put(admin(), "c-new", clinician_body(phone="+447700900123"))


def test_a_body_naming_another_clinician_id_is_refused(people: PeopleWorld) -> None:
    with pytest.raises(InvalidInputError, match="match"):
        people.clinician_service.put(admin(), "c-new", clinician_body(clinician_id="c-other"))


def test_a_clinician_sees_only_their_own_profile(people: PeopleWorld) -> None:
    with pytest.raises(NotFoundError):
        people.clinician_service.get(clinician("c-ana"), "c-eve")
    with pytest.raises(NotFoundError):
        people.clinician_service.get(admin(), "c-ghost")
    assert people.clinician_service.get(admin(), "c-eve").clinician_id == "c-eve"
