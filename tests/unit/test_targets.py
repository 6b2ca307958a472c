"""Target order and critical-override rules (clinical.md, Per-patient targets)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import InvalidInputError
from chalicelib.domain.targets import TargetsIn, default_targets, effective_targets, validate_targets


def _check(payload: dict[str, object], profile: str = "standard") -> None:
    request = TargetsIn.model_validate(payload)
    validate_targets(effective_targets(profile, request), request.override_critical, request.reason)


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
    glucose = default_targets(profile).glucose

    assert (glucose.high_fasting, glucose.high_after_meal, glucose.highs_inclusive) == (fasting, after_meal, inclusive)
    assert (glucose.critical_low, glucose.critical_high) == (54, 400)


def test_defaults_are_valid_for_every_profile() -> None:
    for profile in ("standard", "pregnancy", "older_healthy", "older_complex", "older_very_complex"):
        _check({}, profile)


@pytest.mark.parametrize(
    "payload",
    [
        {"glucose": {"low": 54}},  # low must exceed critical_low
        {"glucose": {"low": 131}},  # low must be under the fasting high
        {"glucose": {"high_after_meal": 400}},  # high must be under critical_high
        {"blood_pressure": {"systolic_low": 140}},
        {"blood_pressure": {"diastolic_high": 120}},
    ],
)
def test_out_of_order_targets_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        _check(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"glucose": {"critical_low": 50}},
        {"glucose": {"critical_high": 450}},
        {"blood_pressure": {"systolic_critical_high": 190}},
        {"blood_pressure": {"diastolic_critical_high": 125}},
        {"blood_pressure": {"systolic_critical_low": 75}},
    ],
)
def test_looser_criticals_need_an_override_with_a_reason(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        _check(payload)
    with pytest.raises(InvalidInputError):
        _check({**payload, "override_critical": True})
    _check({**payload, "override_critical": True, "reason": "documented plan"})


def test_tighter_criticals_need_no_override() -> None:
    _check({"glucose": {"critical_low": 60, "low": 75}, "blood_pressure": {"systolic_critical_high": 170}})
