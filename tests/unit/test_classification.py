"""docs/clinical.md's rules, boundary by boundary, in both glucose units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.classification import classify_blood_pressure, classify_glucose
from chalicelib.domain.guidance import GUIDANCE, LANGUAGES
from chalicelib.domain.readings import BloodPressureIn, GlucoseIn
from chalicelib.domain.targets import TargetsIn, default_targets, effective_targets

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LADDER = ["critical_low", "low", "normal", "elevated", "high", "critical_high"]
STANDARD = default_targets("standard")


def glucose(value: float | None, unit: str = "mg/dL", context: str = "random", **extra: Any) -> GlucoseIn:
    return GlucoseIn.model_validate(
        {
            "type": "blood_glucose",
            "value": value,
            "unit": unit,
            "context": context,
            "measured_at": NOW.isoformat(),
            **extra,
        },
        context={"now": NOW},
    )


def bp(systolic: float, diastolic: float, pulse: float | None = None) -> BloodPressureIn:
    return BloodPressureIn.model_validate(
        {
            "type": "blood_pressure",
            "systolic": systolic,
            "diastolic": diastolic,
            "pulse": pulse,
            "measured_at": NOW.isoformat(),
        },
        context={"now": NOW},
    )


@pytest.mark.parametrize(
    ("value", "unit", "context", "severity"),
    [
        # critical low: < 54 mg/dL (3.0 mmol/L = 54.0)
        (53.9, "mg/dL", "random", "critical_low"),
        (54.0, "mg/dL", "random", "low"),
        (2.9, "mmol/L", "random", "critical_low"),
        (3.0, "mmol/L", "random", "low"),
        # low: < 70 (3.9 mmol/L = 70.2)
        (69.9, "mg/dL", "random", "low"),
        (70.0, "mg/dL", "random", "normal"),
        (3.8, "mmol/L", "random", "low"),
        (3.9, "mmol/L", "random", "normal"),
        # fasting / before meal: > 130 is high (7.2 mmol/L = 129.6)
        (130.0, "mg/dL", "fasting", "normal"),
        (130.1, "mg/dL", "fasting", "high"),
        (130.1, "mg/dL", "before_meal", "high"),
        (7.2, "mmol/L", "fasting", "normal"),
        (7.3, "mmol/L", "fasting", "high"),
        # after meal, bedtime, random: > 180 (10.0 mmol/L = 180.0)
        (180.0, "mg/dL", "after_meal", "normal"),
        (180.1, "mg/dL", "after_meal", "high"),
        (180.0, "mg/dL", "bedtime", "normal"),
        (180.1, "mg/dL", "bedtime", "high"),
        (180.0, "mg/dL", "random", "normal"),
        (180.1, "mg/dL", "random", "high"),
        (10.0, "mmol/L", "after_meal", "normal"),
        (10.1, "mmol/L", "after_meal", "high"),
        # critical high: >= 400 (22.2 mmol/L = 399.6)
        (399.9, "mg/dL", "random", "high"),
        (400.0, "mg/dL", "random", "critical_high"),
        (22.2, "mmol/L", "random", "high"),
        (22.3, "mmol/L", "random", "critical_high"),
        # plausibility edges still classify
        (10.0, "mg/dL", "random", "critical_low"),
        (600.0, "mg/dL", "random", "critical_high"),
        (33.3, "mmol/L", "random", "critical_high"),
    ],
)
def test_glucose_boundaries(value: float, unit: str, context: str, severity: str) -> None:
    assert classify_glucose(glucose(value, unit, context), STANDARD).severity == severity


@pytest.mark.parametrize(
    ("value", "flag_expected"),
    [(250.0, False), (250.1, True), (399.0, True)],
)
def test_ketone_check_above_250(value: float, flag_expected: bool) -> None:
    assert ("ketone_check" in classify_glucose(glucose(value), STANDARD).flags) is flag_expected


@pytest.mark.parametrize(("value", "flag_expected"), [(70.0, True), (79.9, True), (80.0, False)])
def test_pre_meal_values_under_80_are_normal_but_below_target(value: float, flag_expected: bool) -> None:
    judgement = classify_glucose(glucose(value, context="fasting"), STANDARD)

    assert judgement.severity == "normal"
    assert ("below_target" in judgement.flags) is flag_expected


@pytest.mark.parametrize(
    ("profile", "context", "normal_at", "high_at"),
    [
        ("pregnancy", "fasting", 94.9, 95.0),  # ">= 95 is high"
        ("pregnancy", "after_meal", 139.9, 140.0),
        ("pregnancy", "bedtime", 139.9, 140.0),
        ("older_healthy", "fasting", 130.0, 130.1),
        ("older_complex", "fasting", 150.0, 150.1),
        ("older_very_complex", "fasting", 180.0, 180.1),
        ("older_very_complex", "after_meal", 200.0, 200.1),
        ("older_very_complex", "bedtime", 200.0, 200.1),
    ],
)
def test_profiles_move_the_high_targets(profile: str, context: str, normal_at: float, high_at: float) -> None:
    targets = default_targets(profile)

    assert classify_glucose(glucose(normal_at, context=context), targets).severity == "normal"
    assert classify_glucose(glucose(high_at, context=context), targets).severity == "high"


def test_profiles_never_move_the_critical_rules() -> None:
    for profile in ("pregnancy", "older_very_complex"):
        targets = default_targets(profile)
        assert classify_glucose(glucose(53.9), targets).severity == "critical_low"
        assert classify_glucose(glucose(400), targets).severity == "critical_high"


def test_personal_targets_keep_the_default_comparison() -> None:
    targets = effective_targets("standard", TargetsIn.model_validate({"glucose": {"high_fasting": 120, "low": 80}}))

    assert classify_glucose(glucose(120, context="fasting"), targets).severity == "normal"
    assert classify_glucose(glucose(120.1, context="fasting"), targets).severity == "high"
    assert classify_glucose(glucose(79.9), targets).severity == "low"


def test_meter_lo_and_hi_are_critical() -> None:
    lo = classify_glucose(glucose(None, meter_flag="LO"), STANDARD)
    hi = classify_glucose(glucose(None, meter_flag="HI"), STANDARD)

    assert (lo.severity, lo.interpretation) == ("critical_low", "LL")
    assert (hi.severity, hi.interpretation) == ("critical_high", "HH")


def test_second_reading_of_300_within_six_hours_is_critical() -> None:
    judgement = classify_glucose(glucose(300.0), STANDARD, repeated_very_high=True)

    assert judgement.severity == "critical_high"
    assert "repeated_very_high" in judgement.flags


def test_the_trend_needs_the_reading_itself_to_be_300() -> None:
    assert classify_glucose(glucose(299.9), STANDARD, repeated_very_high=True).severity == "high"


@pytest.mark.parametrize(
    ("systolic", "diastolic", "pulse", "severity", "category"),
    [
        (119, 79, None, "normal", "normal"),
        (120, 79, None, "elevated", "elevated"),
        (129, 79, None, "elevated", "elevated"),
        (130, 70, None, "elevated", "stage_1"),
        (139, 70, None, "elevated", "stage_1"),
        (119, 80, None, "elevated", "stage_1"),
        (119, 89, None, "elevated", "stage_1"),
        (140, 70, None, "high", "stage_2"),
        (119, 90, None, "high", "stage_2"),
        (180, 110, None, "high", "stage_2"),
        (181, 110, None, "critical_high", "severe"),
        (170, 120, None, "high", "stage_2"),
        (170, 121, None, "critical_high", "severe"),
        (90, 60, None, "normal", "normal"),
        (89, 60, None, "low", "low"),
        (100, 59, None, "low", "low"),
        (80, 55, None, "low", "low"),
        (79, 55, None, "critical_low", "low"),
        # higher category / more urgent component wins; high beats low at equal urgency
        (150, 55, None, "high", "stage_2"),
        (100, 95, None, "high", "stage_2"),
        # pulse
        (115, 75, 39, "critical_low", "normal"),
        (115, 75, 40, "elevated", "normal"),
        (115, 75, 49, "elevated", "normal"),
        (115, 75, 50, "normal", "normal"),
        (115, 75, 100, "normal", "normal"),
        (115, 75, 101, "elevated", "normal"),
        (115, 75, 130, "elevated", "normal"),
        (115, 75, 131, "critical_high", "normal"),
        (185, 100, 35, "critical_high", "severe"),
    ],
)
def test_blood_pressure_boundaries(
    systolic: float, diastolic: float, pulse: float | None, severity: str, category: str
) -> None:
    judgement = classify_blood_pressure(bp(systolic, diastolic, pulse), STANDARD)

    assert (judgement.severity, judgement.category) == (severity, category)


def test_every_off_component_is_flagged() -> None:
    judgement = classify_blood_pressure(bp(150, 55, 120), STANDARD)

    assert set(judgement.flags) == {"systolic_high", "diastolic_low", "pulse_abnormal"}


def test_pulse_critical_is_flagged_and_guided() -> None:
    judgement = classify_blood_pressure(bp(115, 75, 135), STANDARD)

    assert "pulse_critical" in judgement.flags
    assert judgement.guidance_key == "pulse_critical"


def test_every_guidance_text_exists_in_every_language() -> None:
    for key, texts in GUIDANCE.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(0 < len(text) <= 320 for text in texts.values()), key


def test_critical_guidance_always_mentions_emergency_care() -> None:
    words = {"en": "emergency", "es": "emergencia", "pt-BR": "emergência", "zh-CN": "急救"}
    for key in (
        "glucose_critical_low",
        "glucose_critical_high",
        "bp_critical_high",
        "bp_critical_low",
        "pulse_critical",
    ):
        for language, word in words.items():
            assert word in GUIDANCE[key][language], (key, language)


# -- properties -----------------------------------------------------------------------

mg_dl = st.floats(min_value=10, max_value=600, allow_nan=False).map(lambda v: round(v, 1))
contexts = st.sampled_from(["fasting", "before_meal", "after_meal", "bedtime", "random"])
profiles = st.sampled_from(["standard", "pregnancy", "older_healthy", "older_complex", "older_very_complex"])
GLUCOSE_LADDER = ["critical_low", "low", "normal", "high", "critical_high"]


@given(mg_dl, mg_dl, contexts, profiles)
def test_glucose_severity_never_falls_as_the_value_rises(a: float, b: float, context: str, profile: str) -> None:
    low, high = sorted((a, b))
    targets = default_targets(profile)

    first = classify_glucose(glucose(low, context=context), targets).severity
    second = classify_glucose(glucose(high, context=context), targets).severity

    assert GLUCOSE_LADDER.index(first) <= GLUCOSE_LADDER.index(second)


@given(st.floats(min_value=0.6, max_value=33.3).map(lambda v: round(v, 2)), contexts)
def test_mmol_and_the_same_quantity_in_mg_dl_classify_alike(mmol: float, context: str) -> None:
    # mmol/L converts with x18.0 rounded to 0.1 mg/dL; the same quantity classifies the same.
    as_mmol = classify_glucose(glucose(mmol, "mmol/L", context), STANDARD)
    as_mg = classify_glucose(glucose(round(mmol * 18.0, 1), "mg/dL", context), STANDARD)

    assert (as_mmol.severity, as_mmol.flags) == (as_mg.severity, as_mg.flags)


@given(
    st.integers(min_value=80, max_value=300),
    st.integers(min_value=60, max_value=79),
    st.integers(min_value=80, max_value=300),
)
def test_bp_severity_never_falls_as_systolic_rises(s1: int, diastolic: int, s2: int) -> None:
    low, high = sorted((s1, s2))

    first = classify_blood_pressure(bp(low, diastolic), STANDARD).severity
    second = classify_blood_pressure(bp(high, diastolic), STANDARD).severity

    assert LADDER.index(first) <= LADDER.index(second)


@given(
    st.integers(min_value=50, max_value=300),
    st.integers(min_value=20, max_value=200),
    st.one_of(st.none(), st.integers(min_value=25, max_value=250)),
    st.sampled_from(LANGUAGES),
)
def test_no_plausible_bp_reading_fails_to_classify(systolic: int, diastolic: int, pulse: int | None, lang: str) -> None:
    if diastolic >= systolic:
        return
    classification = classify_blood_pressure(bp(systolic, diastolic, pulse), STANDARD).render(lang)

    assert classification.interpretation in {"LL", "L", "N", "H", "HH"}
    assert classification.guidance
