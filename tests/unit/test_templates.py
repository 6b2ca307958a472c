"""Every template renders in every language, names the clinic, and leaks nothing by default."""

from __future__ import annotations

import pytest

from chalicelib.domain.guidance import LANGUAGES
from chalicelib.domain.templates import TEMPLATES, fields_of, render

# Values that must never appear in a default (non _full) message.
SECRET_TEXT = "metformin 500 mg; glucose 48 mg/dL"
PARAMS = {
    "clinic": "Vila Clinic",
    "support": "+15550001111",
    "patient_id": "p-123",
    "alert_id": "a.1",
    "minutes": 16,
    "count": 3,
    "guidance": SECRET_TEXT,
    "text": SECRET_TEXT,
    "label": SECRET_TEXT,
    "when": "2026-11-25 14:30",
    "join_url": "https://visit.example/abc",
}
PATIENT_TEMPLATES = [t for t in TEMPLATES if not t.endswith("_clinician")]


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


@pytest.mark.parametrize("template", sorted(t for t in TEMPLATES if not t.endswith("_full")))
def test_english_sms_fits_one_segment(template: str) -> None:
    assert len(render(template, "en", {**PARAMS, "clinic": "Vila Family Clinic"}).text) <= 160


def test_html_escapes_what_it_embeds() -> None:
    html = render("clinician_message_patient_full", "en", {**PARAMS, "text": "<script>x</script>"}, email=True).html

    assert html is not None and "<script>" not in html
