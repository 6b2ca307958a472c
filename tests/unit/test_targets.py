"""Per-patient targets: order, the hard limits no target moves, and what stored targets break (docs/clinical.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.classification import classify_blood_pressure, classify_glucose
from chalicelib.domain.errors import InvalidInputError
from chalicelib.domain.readings import BloodPressureIn, GlucoseIn
from chalicelib.domain.targets import (
    Targets,
    TargetsIn,
    default_targets,
    effective_targets,
    targets_outside_limits,
    validate_targets,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PROFILES = ("standard", "pregnancy", "older_healthy", "older_complex", "older_very_complex")
CONTEXTS = ("fasting", "before_meal", "after_meal", "bedtime", "random")


def _targets(payload: dict[str, Any], profile: str = "standard") -> Targets:
    return effective_targets(profile, TargetsIn.model_validate(payload))


def _check(payload: dict[str, Any], profile: str = "standard") -> None:
    validate_targets(_targets(payload, profile))


def _refusal(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as refused:
        _check(payload)
    return {e.field: e.message for e in refused.value.errors}


def glucose(value: float, context: str = "random") -> GlucoseIn:
    body = {
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": context,
        "measured_at": NOW.isoformat(),
    }
    return GlucoseIn.model_validate(body, context={"now": NOW})


def bp(systolic: float, diastolic: float) -> BloodPressureIn:
    body = {"type": "blood_pressure", "systolic": systolic, "diastolic": diastolic, "measured_at": NOW.isoformat()}
    return BloodPressureIn.model_validate(body, context={"now": NOW})


# -- defaults and order --------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "fasting", "after_meal", "inclusive"),
    [
        ("standard", 130, 180, False),
        ("pregnancy", 95, 140, True),
        ("older_complex", 150, 180, False),
        ("older_very_complex", 180, 200, False),
    ],
)
def test_profiles_move_targets_not_criticals(profile: str, fasting: float, after_meal: float, inclusive: bool) -> None:
    glucose_targets = default_targets(profile).glucose

    assert (glucose_targets.high_fasting, glucose_targets.high_after_meal, glucose_targets.highs_inclusive) == (
        fasting,
        after_meal,
        inclusive,
    )
    assert (glucose_targets.critical_low, glucose_targets.critical_high) == (54, 400)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_defaults_of_every_profile_are_valid_and_inside_the_limits(profile: str) -> None:
    _check({}, profile)

    assert targets_outside_limits(default_targets(profile)) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"glucose": {"low": 131}}, "glucose.high_fasting"),  # low must be under the fasting high
        ({"glucose": {"critical_low": 72}}, "glucose.low"),  # critical_low must be under low
        ({"glucose": {"critical_high": 170}}, "glucose.critical_high"),  # must be above the after-meal high
        ({"blood_pressure": {"systolic_low": 140}}, "blood_pressure.systolic_high"),
        ({"blood_pressure": {"diastolic_high": 60}}, "blood_pressure.diastolic_high"),
        ({"blood_pressure": {"systolic_critical_low": 95}}, "blood_pressure.systolic_low"),
    ],
)
def test_out_of_order_targets_are_refused_naming_the_field(payload: dict[str, Any], field: str) -> None:
    assert field in _refusal(payload)


# -- the hard limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "limit"),
    [
        ({"glucose": {"critical_low": 53}}, "glucose.critical_low", "at least 54 mg/dL"),
        ({"glucose": {"critical_low": 40}}, "glucose.critical_low", "at least 54 mg/dL"),
        ({"glucose": {"low": 62, "critical_low": 55}}, "glucose.low", "at least 63 mg/dL"),
        ({"glucose": {"high_fasting": 251}}, "glucose.high_fasting", "at most 250 mg/dL"),
        ({"glucose": {"high_fasting": 399}}, "glucose.high_fasting", "at most 250 mg/dL"),
        ({"glucose": {"high_after_meal": 260}}, "glucose.high_after_meal", "at most 250 mg/dL"),
        ({"glucose": {"high_bedtime": 300}}, "glucose.high_bedtime", "at most 250 mg/dL"),
        ({"glucose": {"critical_high": 401}}, "glucose.critical_high", "at most 400 mg/dL"),
        ({"glucose": {"critical_high": 999}}, "glucose.critical_high", "at most 400 mg/dL"),
        ({"blood_pressure": {"systolic_critical_high": 181}}, "blood_pressure.systolic_critical_high", "at most 180"),
        ({"blood_pressure": {"diastolic_critical_high": 121}}, "blood_pressure.diastolic_critical_high", "at most 120"),
        ({"blood_pressure": {"systolic_critical_low": 79}}, "blood_pressure.systolic_critical_low", "at least 80"),
        ({"blood_pressure": {"systolic_high": 161}}, "blood_pressure.systolic_high", "at most 160"),
        ({"blood_pressure": {"diastolic_high": 101}}, "blood_pressure.diastolic_high", "at most 100"),
        ({"blood_pressure": {"diastolic_low": 39}}, "blood_pressure.diastolic_low", "between 40 and 70"),
        ({"blood_pressure": {"diastolic_low": 71}}, "blood_pressure.diastolic_low", "between 40 and 70"),
    ],
)
def test_a_threshold_outside_its_hard_limit_is_refused_naming_the_field_and_the_limit(
    payload: dict[str, Any], field: str, limit: str
) -> None:
    errors = _refusal(payload)

    assert limit in errors[field]


@pytest.mark.parametrize(
    "payload",
    [
        {"glucose": {"critical_low": 54, "low": 63}},
        {"glucose": {"high_fasting": 250, "high_after_meal": 250, "high_bedtime": 250, "critical_high": 400}},
        {"glucose": {"critical_high": 251, "high_fasting": 250, "high_after_meal": 250, "high_bedtime": 250}},
        {"blood_pressure": {"systolic_critical_high": 180, "diastolic_critical_high": 120}},
        {"blood_pressure": {"systolic_critical_low": 80, "systolic_high": 160, "diastolic_high": 100}},
        {"blood_pressure": {"diastolic_low": 40}},
        {"blood_pressure": {"diastolic_low": 70, "diastolic_high": 85}},
    ],
)
def test_a_threshold_exactly_at_its_hard_limit_is_accepted(payload: dict[str, Any]) -> None:
    _check(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"glucose": {"critical_low": 40}},
        {"glucose": {"critical_low": 10.5, "low": 11}},
        {"glucose": {"critical_high": 999}},
        {"blood_pressure": {"systolic_critical_high": 250, "diastolic_critical_high": 160}},
        {"blood_pressure": {"systolic_critical_low": 60}},
    ],
)
def test_override_critical_with_a_reason_no_longer_loosens_a_critical_rule(payload: dict[str, Any]) -> None:
    errors = _refusal({**payload, "override_critical": True, "reason": "documented plan"})

    assert errors and all("hard limit" in message for message in errors.values())


def test_tighter_criticals_need_no_override() -> None:
    _check({"glucose": {"critical_low": 60, "low": 75}, "blood_pressure": {"systolic_critical_high": 170}})


def test_targets_stored_before_the_limits_are_named_not_changed() -> None:
    stored = _targets(
        {
            "glucose": {"critical_low": 40, "high_fasting": 399, "critical_high": 999},
            "blood_pressure": {"systolic_critical_high": 250, "diastolic_low": 21},
            "override_critical": True,
            "reason": "old plan",
        }
    )

    assert targets_outside_limits(stored) == [
        "glucose.critical_low",
        "glucose.high_fasting",
        "glucose.critical_high",
        "blood_pressure.systolic_critical_high",
        "blood_pressure.diastolic_low",
    ]
    assert stored.glucose.critical_low == 40  # reported, not silently changed


# -- the review's reproductions (C3): loose stored targets cannot hide a crisis ---------------------------


@pytest.mark.parametrize(
    ("stored", "reading", "severity"),
    [
        ({"glucose": {"critical_low": 40}}, glucose(45), "critical_low"),
        ({"glucose": {"critical_low": 10.5, "low": 11}}, glucose(12), "critical_low"),
        ({"glucose": {"critical_low": 10.5, "low": 11}}, glucose(50), "critical_low"),
        ({"glucose": {"low": 55}}, glucose(56), "low"),
        ({"glucose": {"high_fasting": 399, "high_after_meal": 399, "high_bedtime": 399}}, glucose(390), "high"),
        ({"glucose": {"critical_high": 999}}, glucose(590), "critical_high"),
        (
            {"blood_pressure": {"systolic_critical_high": 250, "diastolic_critical_high": 160}},
            bp(230, 140),
            "critical_high",
        ),
        ({"blood_pressure": {"systolic_high": 179, "diastolic_high": 119}}, bp(178, 118), "high"),
        ({"blood_pressure": {"systolic_low": 81, "diastolic_low": 21}}, bp(82, 39), "low"),
        ({"blood_pressure": {"systolic_critical_low": 60, "systolic_low": 70}}, bp(75, 50), "critical_low"),
    ],
)
def test_loose_targets_stored_before_the_limits_cannot_hide_a_dangerous_value(
    stored: dict[str, Any], reading: GlucoseIn | BloodPressureIn, severity: str
) -> None:
    targets = _targets({**stored, "override_critical": True, "reason": "old plan"})

    judged = (
        classify_glucose(reading, targets)
        if isinstance(reading, GlucoseIn)
        else classify_blood_pressure(reading, targets)
    )

    assert judged.severity == severity


# -- properties: for any targets, accepted or stored, the floors hold ---------------------------


@st.composite
def accepted_targets(draw: st.DrawFn) -> Targets:
    """Targets built inside the limits and in order (validate_targets must accept every one)."""
    critical_low = draw(st.floats(54, 120))
    low = draw(st.floats(max(63.0, critical_low + 0.1), 200))
    highs = [draw(st.floats(low + 0.1, 250)) for _ in range(3)]
    critical_high = draw(st.floats(max(highs) + 0.1, 400))
    sys_critical_low = draw(st.floats(80, 110))
    sys_low = draw(st.floats(sys_critical_low + 0.1, 130))
    sys_high = draw(st.floats(sys_low + 0.1, 160))
    sys_critical_high = draw(st.floats(sys_high + 0.1, 180))
    dia_low = draw(st.floats(40, 70))
    dia_high = draw(st.floats(dia_low + 0.1, 100))
    dia_critical_high = draw(st.floats(dia_high + 0.1, 120))
    payload = {
        "glucose": {
            "critical_low": critical_low,
            "low": low,
            "high_fasting": highs[0],
            "high_after_meal": highs[1],
            "high_bedtime": highs[2],
            "critical_high": critical_high,
        },
        "blood_pressure": {
            "systolic_critical_low": sys_critical_low,
            "systolic_low": sys_low,
            "systolic_high": sys_high,
            "systolic_critical_high": sys_critical_high,
            "diastolic_low": dia_low,
            "diastolic_high": dia_high,
            "diastolic_critical_high": dia_critical_high,
        },
        "override_critical": draw(st.booleans()),
        "reason": "plan",
    }
    targets = _targets(payload, draw(st.sampled_from(PROFILES)))
    validate_targets(targets)
    return targets


# Mostly near the clinical numbers, where a loose target would hide something; sometimes anywhere.
GLUCOSE_THRESHOLD = st.one_of(st.floats(1, 120), st.floats(40, 80), st.floats(120, 450), st.floats(0.5, 999))
BP_THRESHOLD = st.one_of(st.floats(10, 130), st.floats(100, 260), st.floats(0.5, 999))


@st.composite
def stored_targets(draw: st.DrawFn) -> Targets:
    """Whatever a record may hold from before the limits: any threshold, any order, with or without override."""
    glucose_fields = ("critical_low", "low", "high_fasting", "high_after_meal", "high_bedtime", "critical_high")
    bp_fields = (
        "systolic_critical_low",
        "systolic_low",
        "systolic_high",
        "systolic_critical_high",
        "diastolic_low",
        "diastolic_high",
        "diastolic_critical_high",
    )
    payload = {
        "glucose": {f: draw(GLUCOSE_THRESHOLD) for f in glucose_fields if draw(st.integers(0, 3))},
        "blood_pressure": {f: draw(BP_THRESHOLD) for f in bp_fields if draw(st.integers(0, 3))},
        "override_critical": draw(st.booleans()),
    }
    return _targets(payload, draw(st.sampled_from(PROFILES)))


ANY_TARGETS = st.one_of(accepted_targets(), stored_targets())
# Every plausible value, weighted towards the floors where a loose target would hide something.
GLUCOSE_MG_DL = st.one_of(st.floats(10, 600), st.floats(40, 75), st.floats(50, 66), st.floats(240, 420))
CONTEXT = st.sampled_from(CONTEXTS)


def _glucose_severity(targets: Targets, value: float, context: str, repeated: bool) -> str:
    return classify_glucose(glucose(value, context), targets, repeated_very_high=repeated).severity


@settings(max_examples=300, deadline=None)
@given(targets=ANY_TARGETS, value=GLUCOSE_MG_DL, context=CONTEXT, repeated=st.booleans())
@example(targets=_targets({"glucose": {"critical_low": 40}}), value=45, context="random", repeated=False)
@example(targets=_targets({"glucose": {"critical_high": 999}}), value=590, context="random", repeated=False)
def test_for_any_targets_glucose_below_54_is_critical_low_and_from_400_critical_high(
    targets: Targets, value: float, context: str, repeated: bool
) -> None:
    severity = _glucose_severity(targets, value, context, repeated)

    if value < 54:
        assert severity == "critical_low"
    if value >= 400:
        assert severity == "critical_high"


@settings(max_examples=300, deadline=None)
@given(targets=ANY_TARGETS, value=GLUCOSE_MG_DL, context=CONTEXT, repeated=st.booleans())
@example(targets=_targets({"glucose": {"low": 55}}), value=56, context="random", repeated=False)
@example(targets=_targets({"glucose": {"high_bedtime": 399}}), value=390, context="bedtime", repeated=False)
def test_for_any_targets_glucose_above_250_is_at_least_high_and_below_63_at_least_low(
    targets: Targets, value: float, context: str, repeated: bool
) -> None:
    severity = _glucose_severity(targets, value, context, repeated)

    if value > 250:
        assert severity in ("high", "critical_high")
    if value < 63:
        assert severity in ("low", "critical_low")


@settings(max_examples=100, deadline=None)
@given(targets=ANY_TARGETS, flag=st.sampled_from(["LO", "HI"]))
def test_for_any_targets_a_meter_lo_or_hi_is_critical(targets: Targets, flag: str) -> None:
    body = {"type": "blood_glucose", "meter_flag": flag, "unit": "mg/dL", "measured_at": NOW.isoformat()}
    reading = GlucoseIn.model_validate(body, context={"now": NOW})

    severity = classify_glucose(reading, targets).severity

    assert severity == ("critical_low" if flag == "LO" else "critical_high")


@st.composite
def blood_pressure(draw: st.DrawFn) -> tuple[float, float]:
    systolic = draw(st.floats(50, 300))
    diastolic = draw(st.floats(20, min(200.0, systolic - 0.1)))
    return systolic, diastolic


@settings(max_examples=300, deadline=None)
@given(targets=ANY_TARGETS, values=blood_pressure())
def test_for_any_targets_the_blood_pressure_floors_hold(targets: Targets, values: tuple[float, float]) -> None:
    systolic, diastolic = values

    judged = classify_blood_pressure(bp(systolic, diastolic), targets)

    flags = set(judged.flags)
    if systolic > 180 or diastolic > 120:
        assert judged.severity == "critical_high"
    if systolic > 180:
        assert "systolic_critical_high" in flags
    if diastolic > 120:
        assert "diastolic_critical_high" in flags
    if systolic < 80:  # the reading is critical, and its systolic component critical low
        assert "systolic_critical_low" in flags and judged.severity in ("critical_low", "critical_high")
    at_least_high = ("high", "critical_high", "critical_low")  # a critical low component may be more urgent
    if systolic >= 160:
        assert flags & {"systolic_high", "systolic_critical_high"} and judged.severity in at_least_high
    if diastolic >= 100:
        assert flags & {"diastolic_high", "diastolic_critical_high"} and judged.severity in at_least_high
    if diastolic < 40:
        assert "diastolic_low" in flags and judged.severity != "normal"
