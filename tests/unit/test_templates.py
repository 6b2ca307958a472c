"""Every template renders in every language, names the clinic, and leaks nothing by default."""

from __future__ import annotations

import pytest

from chalicelib.domain.guidance import LANGUAGES
from chalicelib.domain.templates import CLINICIAN_TEMPLATES, TEMPLATES, fields_of, render

# Values that must never appear in a default (non _full) message.
SECRET_TEXT = "metformin 500 mg; glucose 48 mg/dL"
PARAMS = {
    "clinic": "Vila Clinic",
    "support": "+15550001111",
    "patient_id": "p-123",
    # A legacy alert id is base64(patient id).hash: decodable, so no clinician message may carry it.
    "alert_id": "cC0xMjM.0123456789abcdef",
    "link": "https://console.carewire.example/alerts/a-0123456789abcdef01234567",
    "priority": "critical",
    "level": 3,
    "stage1": 2,
    "scheduled": "23:00",
    "due_at": "2026-11-25T02:00:00+00:00",
    "condition": "glucose_low",
    "minutes": 16,
    "count": 3,
    "guidance": SECRET_TEXT,
    "text": SECRET_TEXT,
    "label": SECRET_TEXT,
    "when": "2026-11-25 14:30",
    "join_url": "https://visit.example/abc",
    "unit": "mmol/L",
    "code": "730519",
}
PATIENT_TEMPLATES = [t for t in TEMPLATES if t not in CLINICIAN_TEMPLATES]
SAFETY_CONDITIONS = ("glucose_low", "glucose_high", "bp_high", "bp_low", "pulse", "red_flag")
# Allowed a second segment, and why (docs/clinical.md: "≤ 160 characters where possible").
TWO_SEGMENTS = {"safety_bp_high": "every crisis symptom of docs/clinical.md and the support phone"}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_every_language(template: str, language: str) -> None:
    assert set(TEMPLATES[template]) == set(LANGUAGES)

    sms = render(template, language, PARAMS)
    email = render(template, language, PARAMS, email=True)

    assert sms.text and sms.subject
    assert email.html and "<p>" in email.html


@pytest.mark.parametrize("template", sorted(t for t in TEMPLATES if not t.endswith("_full")))
def test_default_templates_carry_no_values_diagnoses_or_drug_names(template: str) -> None:
    assert not fields_of(template) & {"guidance", "text", "label"}
    for language in LANGUAGES:
        rendered = render(template, language, PARAMS, email=True)
        for part in (rendered.text, rendered.html or "", rendered.subject or ""):
            assert "metformin" not in part and "48" not in part


@pytest.mark.parametrize("template", sorted(PATIENT_TEMPLATES))
def test_every_patient_message_names_the_clinic(template: str) -> None:
    for language in LANGUAGES:
        assert "Vila Clinic" in render(template, language, PARAMS).text


@pytest.mark.parametrize("template", sorted(t for t in TEMPLATES if not t.endswith("_full") and t not in TWO_SEGMENTS))
def test_english_sms_fits_one_segment(template: str) -> None:
    assert len(render(template, "en", {**PARAMS, "clinic": "Vila Family Clinic"}).text) <= 160


@pytest.mark.parametrize("template", sorted(TWO_SEGMENTS))
def test_a_longer_safety_sms_fits_two_plain_text_segments(template: str) -> None:
    text = render(template, "en", {**PARAMS, "clinic": "Vila Family Clinic"}).text

    assert text.isascii() and len(text) <= 2 * 153  # GSM-7, concatenated: 153 characters a segment


def test_html_escapes_what_it_embeds() -> None:
    html = render("clinician_message_patient_full", "en", {**PARAMS, "text": "<script>x</script>"}, email=True).html

    assert html is not None and "<script>" not in html


# -- rule 14: clinician messages name no patient ----------------------------------------------


def test_every_clinician_template_is_listed_as_one() -> None:
    assert {t for t in TEMPLATES if t.endswith("_clinician")} <= CLINICIAN_TEMPLATES <= set(TEMPLATES)
    assert "alert_escalation_voice" in CLINICIAN_TEMPLATES


@pytest.mark.parametrize("template", sorted(CLINICIAN_TEMPLATES))
def test_a_clinician_message_carries_no_patient_identifier(template: str) -> None:
    named = {**PARAMS, "given_name": "Ana", "family_name": "Silva", "first_name": "Ana", "mrn": "MRN-77"}

    assert not fields_of(template) & {"patient_id", "alert_id", "given_name", "family_name", "first_name", "mrn"}
    for language in LANGUAGES:
        rendered = render(template, language, named, email=True)
        for part in (rendered.text, rendered.html or "", rendered.subject or ""):
            assert "p-123" not in part and "cC0xMjM" not in part  # neither the id nor its base64
            assert "Ana" not in part and "Silva" not in part and "MRN-77" not in part


@pytest.mark.parametrize("template", ["alert_page_clinician", "alert_escalation_clinician", "alert_escalation_voice"])
def test_a_page_names_the_clinic_and_carries_the_opaque_alert_link(template: str) -> None:
    for language in LANGUAGES:
        text = render(template, language, PARAMS).text

        assert "Vila Clinic" in text and PARAMS["link"] in text


# -- rule 11: safety messages say what to do and whom to call -----------------------------------


@pytest.mark.parametrize("condition", SAFETY_CONDITIONS)
def test_every_safety_message_names_the_clinic_and_its_support_phone(condition: str) -> None:
    variants = [f"safety_{condition}"] + ([f"safety_{condition}_full"] if condition != "red_flag" else [])

    for template in variants:
        for language in LANGUAGES:
            text = render(template, language, PARAMS).text
            assert "Vila Clinic" in text and "+15550001111" in text, (template, language)


@pytest.mark.parametrize(
    ("template", "phrases"),
    [
        ("safety_glucose_low", ["15 g of fast sugar", "recheck in 15 min", "unable to swallow", "emergency services"]),
        ("safety_glucose_high", ["check ketones", "vomiting, confused or breathing hard", "emergency care"]),
        (
            "safety_bp_high",
            [
                "rest and recheck in 5 minutes",
                "chest pain",
                "shortness of breath",
                "back pain",
                "numbness or weakness",
                "vision change",
                "trouble speaking",
                "emergency services now",
            ],
        ),
        ("safety_bp_low", ["sit or lie down", "drink water", "recheck", "faint", "chest pain", "emergency services"]),
        ("safety_pulse", ["rest and recheck", "faint", "chest pain", "short of breath", "emergency services"]),
        ("safety_red_flag", ["alerting your care team", "emergency services"]),
    ],
)
def test_a_safety_message_says_what_to_do_for_its_condition(template: str, phrases: list[str]) -> None:
    text = render(template, "en", PARAMS).text

    assert [p for p in phrases if p not in text] == []


@pytest.mark.parametrize("condition", [c for c in SAFETY_CONDITIONS if c != "red_flag"])
def test_the_full_content_safety_message_is_the_readings_own_guidance(condition: str) -> None:
    for language in LANGUAGES:
        assert SECRET_TEXT in render(f"safety_{condition}_full", language, PARAMS).text


def test_the_red_flag_reply_also_gives_the_support_phone() -> None:
    for language in LANGUAGES:
        assert "+15550001111" in render("red_flag_patient", language, PARAMS).text


# -- rule 12: a late medication reminder is not "take it now" -------------------------------------


def test_a_late_medication_reminder_says_when_the_dose_was_due_and_not_to_double_up() -> None:
    for language in LANGUAGES:
        for template in ("reminder_medication_late", "reminder_medication_late_full"):
            assert "23:00" in render(template, language, PARAMS).text, (template, language)

    late = render("reminder_medication_late", "en", PARAMS).text
    on_time = render("reminder_medication", "en", PARAMS).text
    assert "scheduled at 23:00" in late and "missed doses" in late and "do not double up" in late
    assert "it is time for" in on_time and "time for" not in late
    assert SECRET_TEXT in render("reminder_medication_late_full", "en", PARAMS).text  # the drug only when opted in


# -- docs/api.md "Trust rules": contact verification, and no text a patient typed ---------------------


@pytest.mark.parametrize("template", ["contact_verification_sms", "contact_verification_email"])
def test_a_verification_code_names_the_clinic_the_code_and_ten_minutes_and_nothing_else(template: str) -> None:
    assert fields_of(template) == {"clinic", "code"}
    for language in LANGUAGES:
        rendered = render(template, language, PARAMS, email=True)
        assert "Vila Clinic" in rendered.text and "730519" in rendered.text and "10" in rendered.text, language
    assert "valid 10 minutes" in render(template, "en", PARAMS).text


def test_only_the_full_variants_carry_free_text_and_no_patient_text_param_exists() -> None:
    free_text = {"guidance", "text", "label"}
    every_field = set().union(*(fields_of(t) for t in TEMPLATES))

    assert {t for t in TEMPLATES if fields_of(t) & free_text} <= {t for t in TEMPLATES if t.endswith("_full")}
    # guidance is the server's, text a clinician's message, label the care team's (the patient's is never passed).
    assert every_field & free_text == free_text
    assert not every_field & {"body", "reply", "patient_text", "message"}
