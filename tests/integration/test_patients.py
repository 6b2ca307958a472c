"""Patients, panels, targets, consents and devices through the HTTP edge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_clinician_enrolls_a_patient_and_joins_the_care_team(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body("p-enroll", care_team=["c-2"]), as_=clinic["c1"])

    assert response.status_code == 201
    created = body(response)
    assert created["care_team"] == ["c-2", "c-1"]
    assert created["created_at"].endswith("Z")
    assert api.call("GET", "/patients/p-enroll", as_=clinic["c2"]).status_code == 200


def test_server_makes_an_id_when_none_is_given(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body(), as_=clinic["c1"])

    assert response.status_code == 201
    assert body(response)["patient_id"].startswith("p-")


def test_a_duplicate_patient_id_with_other_content_is_409(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body("p-1", given_name="Other"), as_=clinic["c1"])

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "5559876543"),
        ("phone", "+0123"),
        ("email", "not-an-email"),
        ("timezone", "Mars/Olympus"),
        ("timezone", "../../etc/passwd"),
        ("language", "fr"),
        ("channels", ["sms", "fax"]),
        ("channels", ["sms", "sms"]),
        ("glucose_profile", "teen"),
        ("patient_id", "has space"),
        ("given_name", ""),
        ("quiet_hours", {"start": "25:00", "end": "08:00"}),
        ("surprise", 1),
    ],
)
def test_invalid_enrollment_names_the_field(api: Api, clinic: dict[str, Any], field: str, value: Any) -> None:
    response = api.call("POST", "/patients", patient_body("p-bad", **{field: value}), as_=clinic["c1"])

    assert response.status_code == 422
    problem = body(response)
    assert problem["status"] == 422
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    if isinstance(value, str) and len(value) > 3:  # errors never echo what was sent
        assert value not in response.body.decode()


def test_unknown_care_team_member_is_422(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body("p-x", care_team=["c-ghost"]), as_=clinic["c1"])

    assert response.status_code == 422
    assert body(response)["errors"][0]["field"] == "care_team"


def test_an_admin_enrolling_a_patient_without_a_care_team_is_422_naming_care_team(
    api: Api, clinic: dict[str, Any]
) -> None:
    without = api.call("POST", "/patients", patient_body("p-no-team", phone=None, care_team=[]), as_=clinic["admin"])
    omitted = patient_body("p-no-team", phone=None)
    del omitted["care_team"]
    left_out = api.call("POST", "/patients", omitted, as_=clinic["admin"])
    with_team = api.call(
        "POST", "/patients", patient_body("p-no-team", phone=None, care_team=["c-2"]), as_=clinic["admin"]
    )

    for refused in (without, left_out):
        assert refused.status_code == 422
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert [e["field"] for e in body(refused)["errors"]] == ["care_team"]
    assert with_team.status_code == 201
    assert body(with_team)["care_team"] == ["c-2"]


def test_a_clinician_enrolling_with_an_empty_care_team_joins_it(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body("p-joins", phone=None, care_team=[]), as_=clinic["c2"])

    assert response.status_code == 201
    assert body(response)["care_team"] == ["c-2"]


def test_a_patch_that_empties_the_care_team_is_422_and_changes_nothing(api: Api, clinic: dict[str, Any]) -> None:
    pid = "p-keep-team-admin"
    api.call("POST", "/patients", patient_body(pid, phone=None), as_=clinic["c1"])

    response = api.call("PATCH", f"/patients/{pid}", {"care_team": []}, as_=clinic["admin"])

    assert response.status_code == 422
    assert [e["field"] for e in body(response)["errors"]] == ["care_team"]
    assert body(api.call("GET", f"/patients/{pid}", as_=clinic["c1"]))["care_team"] == ["c-1"]


def test_clinician_lists_only_their_panel(api: Api, clinic: dict[str, Any]) -> None:
    api.call("POST", "/patients", patient_body("p-c2-only", care_team=[]), as_=clinic["c2"])

    c1_ids = {p["patient_id"] for p in body(api.call("GET", "/patients?limit=500", as_=clinic["c1"]))["items"]}
    c2_ids = {p["patient_id"] for p in body(api.call("GET", "/patients?limit=500", as_=clinic["c2"]))["items"]}

    assert "p-1" in c1_ids and "p-c2-only" not in c1_ids
    assert "p-c2-only" in c2_ids and "p-1" not in c2_ids


def test_patient_list_pages_with_a_cursor(api: Api, clinic: dict[str, Any]) -> None:
    for n in range(3):
        api.call("POST", "/patients", patient_body(f"p-page-{n}"), as_=("clinician", "c-9"))

    first = body(api.call("GET", "/patients?limit=2", as_=("clinician", "c-9")))
    second = body(api.call("GET", f"/patients?limit=2&cursor={first['next_cursor']}", as_=("clinician", "c-9")))

    ids = [p["patient_id"] for p in first["items"] + second["items"]]
    assert ids == ["p-page-0", "p-page-1", "p-page-2"]
    assert second["next_cursor"] is None


def test_a_cursor_cannot_be_replayed_by_another_clinician(api: Api, clinic: dict[str, Any]) -> None:
    for n in range(2):
        api.call("POST", "/patients", patient_body(f"p-cur-{n}"), as_=("clinician", "c-9"))
    cursor = body(api.call("GET", "/patients?limit=1", as_=("clinician", "c-9")))["next_cursor"]

    response = api.call("GET", f"/patients?limit=1&cursor={cursor}", as_=clinic["c1"])

    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "501", "ten", "-1"])
def test_bad_limits_are_400(api: Api, clinic: dict[str, Any], limit: str) -> None:
    assert api.call("GET", f"/patients?limit={limit}", as_=clinic["c1"]).status_code == 400


def test_patient_may_change_contact_fields_only(api: Api, clinic: dict[str, Any]) -> None:
    ok = api.call("PATCH", "/patients/p-1", {"language": "es", "timezone": "America/New_York"}, as_=clinic["p1"])
    denied = api.call("PATCH", "/patients/p-1", {"care_team": []}, as_=clinic["p1"])

    assert ok.status_code == 200
    assert body(ok)["language"] == "es"
    assert denied.status_code == 403


def test_care_team_changes_update_the_panel(api: Api, clinic: dict[str, Any]) -> None:
    api.call("POST", "/patients", patient_body("p-move"), as_=clinic["c1"])

    response = api.call("PATCH", "/patients/p-move", {"care_team": ["c-2"]}, as_=clinic["admin"])

    assert response.status_code == 200
    assert api.call("GET", "/patients/p-move", as_=clinic["c1"]).status_code == 404
    assert api.call("GET", "/patients/p-move", as_=clinic["c2"]).status_code == 200


def test_targets_default_to_the_guideline(api: Api, clinic: dict[str, Any]) -> None:
    targets = body(api.call("GET", "/patients/p-1/targets", as_=clinic["p1"]))

    assert targets["glucose"]["critical_low"] == 54
    assert targets["glucose"]["high_fasting"] == 130
    assert targets["blood_pressure"]["systolic_critical_high"] == 180


def test_care_team_sets_targets_and_omitted_fields_keep_defaults(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call(
        "PUT", "/patients/p-1/targets", {"glucose": {"high_fasting": 120}, "reason": "tighter"}, as_=clinic["c1"]
    )

    assert response.status_code == 200
    targets = body(response)
    assert targets["glucose"]["high_fasting"] == 120
    assert targets["glucose"]["low"] == 70
    assert targets["version"] >= 1


def test_patient_cannot_set_targets(api: Api, clinic: dict[str, Any]) -> None:
    assert api.call("PUT", "/patients/p-1/targets", {"glucose": {"low": 75}}, as_=clinic["p1"]).status_code == 403


def test_out_of_order_targets_are_422(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("PUT", "/patients/p-1/targets", {"glucose": {"low": 140}}, as_=clinic["c1"])

    assert response.status_code == 422
    assert {e["field"] for e in body(response)["errors"]} >= {"glucose.high_fasting"}


@pytest.mark.parametrize(
    ("targets", "field", "limit"),
    [
        ({"glucose": {"critical_low": 50}}, "glucose.critical_low", "at least 54 mg/dL"),
        ({"glucose": {"high_fasting": 399}}, "glucose.high_fasting", "at most 250 mg/dL"),
        ({"glucose": {"critical_high": 450}}, "glucose.critical_high", "at most 400 mg/dL"),
        ({"blood_pressure": {"systolic_critical_high": 250}}, "blood_pressure.systolic_critical_high", "at most 180"),
        ({"blood_pressure": {"diastolic_low": 21}}, "blood_pressure.diastolic_low", "between 40 and 70"),
    ],
)
def test_targets_outside_a_hard_limit_are_422_naming_the_field_and_the_limit_even_with_override_critical(
    api: Api, clinic: dict[str, Any], targets: dict[str, Any], field: str, limit: str
) -> None:
    plain = api.call("PUT", "/patients/p-1/targets", targets, as_=clinic["c1"])
    overridden = api.call(
        "PUT", "/patients/p-1/targets", {**targets, "override_critical": True, "reason": "plan"}, as_=clinic["c1"]
    )

    for response in (plain, overridden):
        assert response.status_code == 422
        assert response.headers["Content-Type"] == "application/problem+json"
        errors = {e["field"]: e["message"] for e in body(response)["errors"]}
        assert limit in errors[field]


def test_a_target_change_with_a_reason_is_audited_with_it(api: Api, clinic: dict[str, Any]) -> None:
    pid = "p-tighter-targets"
    assert api.call("POST", "/patients", patient_body(pid, phone=None), as_=clinic["c1"]).status_code == 201
    tighter = {"glucose": {"critical_low": 60, "low": 75}, "override_critical": True, "reason": "hypo unawareness"}

    accepted = api.call("PUT", f"/patients/{pid}/targets", tighter, as_=clinic["c1"])

    assert accepted.status_code == 200
    assert body(accepted)["glucose"]["critical_low"] == 60
    audit = body(api.call("GET", f"/audit?patient_id={pid}&limit=100", as_=clinic["admin"]))["items"]
    changes = [a for a in audit if a["resource"] == "targets" and (a["detail"] or {}).get("reason")]
    assert changes and changes[0]["actor"] == "c-1"
    assert changes[0]["detail"]["reason"] == "hypo unawareness"


def test_targets_stored_before_the_hard_limits_are_reported_on_the_worklist_and_cannot_hide_a_critical_low(
    api: Api, clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap

    pid = "p-legacy-targets"
    assert api.call("POST", "/patients", patient_body(pid, phone=None), as_=clinic["c1"]).status_code == 201
    store = bootstrap.container().patient_store
    record = store.get(pid)
    legacy = {"glucose": {"critical_low": 40}, "override_critical": True, "reason": "set before the limits"}
    store.replace({**record, "targets": legacy, "targets_version": 1}, record)

    rows = body(api.call("GET", "/worklist", as_=clinic["c1"]))["items"]
    reading = api.call(
        "POST",
        f"/patients/{pid}/readings",
        {"type": "blood_glucose", "value": 45, "unit": "mg/dL", "measured_at": _now(), "source": "app"},
        as_=("patient", pid),
    )

    assert next(r for r in rows if r["patient_id"] == pid)["targets_outside_limits"] == ["glucose.critical_low"]
    assert next(r for r in rows if r["patient_id"] == "p-1")["targets_outside_limits"] == []
    assert body(api.call("GET", f"/patients/{pid}/targets", as_=clinic["c1"]))["glucose"]["critical_low"] == 40
    assert reading.status_code == 201
    assert body(reading)["classification"]["severity"] == "critical_low"


def test_patient_records_consent_and_lists_it(api: Api, clinic: dict[str, Any]) -> None:
    put = api.call("PUT", "/patients/p-1/consents/sms", {"granted": True, "source": "app"}, as_=clinic["p1"])
    listed = body(api.call("GET", "/patients/p-1/consents", as_=clinic["c1"]))

    assert put.status_code == 200
    assert any(c["channel"] == "sms" and c["granted"] for c in listed)


def test_care_team_records_only_paper_consent(api: Api, clinic: dict[str, Any]) -> None:
    app_source = api.call("PUT", "/patients/p-1/consents/email", {"granted": True}, as_=clinic["c1"])
    paper = api.call("PUT", "/patients/p-1/consents/email", {"granted": True, "source": "paper"}, as_=clinic["c1"])

    assert app_source.status_code == 403
    assert paper.status_code == 200


def test_unknown_consent_channel_is_404(api: Api, clinic: dict[str, Any]) -> None:
    assert api.call("PUT", "/patients/p-1/consents/fax", {"granted": True}, as_=clinic["p1"]).status_code == 404


def test_patient_registers_a_push_device_as_an_sns_endpoint(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    response = api.call(
        "POST", "/patients/p-1/devices", {"platform": "fcm", "token": "fcm-token-123456"}, as_=clinic["p1"]
    )

    assert response.status_code == 201
    devices = bootstrap.container().patient_store.devices("p-1")
    arn = devices[0]["endpoint_arn"]
    sns = bootstrap.container().client("sns")
    assert sns.get_endpoint_attributes(EndpointArn=arn)["Attributes"]["Token"] == "fcm-token-123456"


def test_clinician_updates_own_contact_fields_but_not_escalation(api: Api, clinic: dict[str, Any]) -> None:
    own = api.call("PUT", "/clinicians/c-2", {"given_name": "Rui", "phone": "+15551239002"}, as_=clinic["c2"])
    escalate = api.call(
        "PUT", "/clinicians/c-2", {"given_name": "Rui", "escalation_contacts": ["c-9"]}, as_=clinic["c2"]
    )
    other = api.call("GET", "/clinicians/c-1", as_=clinic["c2"])

    assert own.status_code == 200 and body(own)["phone"] == "+15551239002"
    assert escalate.status_code == 403
    assert other.status_code == 404


def test_every_patient_read_is_audited_with_actor_and_request(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("GET", "/patients/p-1", as_=clinic["c1"])
    request_id = response.headers["X-Request-Id"]

    audit = body(api.call("GET", "/audit?actor=c-1&limit=50", as_=clinic["admin"]))["items"]

    assert any(a["request_id"] == request_id and a["action"] == "read" and a["patient_id"] == "p-1" for a in audit)


def test_audit_is_for_admins_only(api: Api, clinic: dict[str, Any]) -> None:
    assert api.call("GET", "/audit", as_=clinic["c1"]).status_code == 403


def test_unfiltered_audit_lists_newest_first(api: Api, clinic: dict[str, Any]) -> None:
    api.call("GET", "/patients/p-1", as_=clinic["c1"])

    items = body(api.call("GET", "/audit?limit=5", as_=clinic["admin"]))["items"]

    assert len(items) == 5
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
