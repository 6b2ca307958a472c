"""Per-patient targets: guideline defaults, clinician overrides, their rules.

The defaults are clinical.md's default model.  A clinician may move targets
within the guideline's order; moving a *critical* threshold to a looser value
than the default needs an explicit override with a reason, which the service
writes to the audit trail.

Each threshold keeps the comparison of its default rule (api.md): glucose
``low``/``critical_low`` are "below", ``critical_high`` is "at or above", the
context highs are "above" (or "at or above" under the pregnancy profile, whose
ADA targets are written that way); BP highs are "at or above", BP critical
highs "above", BP lows "below".
"""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import BaseModel, Field

from chalicelib.domain.errors import FieldError, InvalidInputError
from chalicelib.domain.patients import GlucoseProfile, Strict
from chalicelib.domain.timeutil import UtcTime

Threshold = Annotated[float, Field(gt=0, lt=1000, allow_inf_nan=False)]


class GlucoseTargetsIn(Strict):
    low: Threshold | None = None
    high_fasting: Threshold | None = None
    high_after_meal: Threshold | None = None
    high_bedtime: Threshold | None = None
    critical_low: Threshold | None = None
    critical_high: Threshold | None = None


class BloodPressureTargetsIn(Strict):
    systolic_high: Threshold | None = None
    diastolic_high: Threshold | None = None
    systolic_low: Threshold | None = None
    diastolic_low: Threshold | None = None
    systolic_critical_high: Threshold | None = None
    diastolic_critical_high: Threshold | None = None
    systolic_critical_low: Threshold | None = None


class TargetsIn(Strict):
    """``PUT /patients/{pid}/targets``: omitted thresholds keep their defaults."""

    glucose_profile: GlucoseProfile | None = None
    glucose: GlucoseTargetsIn = Field(default_factory=GlucoseTargetsIn)
    blood_pressure: BloodPressureTargetsIn = Field(default_factory=BloodPressureTargetsIn)
    override_critical: bool = False
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class GlucoseTargets(BaseModel):
    low: float
    high_fasting: float
    high_after_meal: float
    high_bedtime: float
    critical_low: float
    critical_high: float
    # True under the pregnancy profile: a context high is "at or above".
    highs_inclusive: bool = False


class BloodPressureTargets(BaseModel):
    systolic_high: float = 140
    diastolic_high: float = 90
    systolic_low: float = 90
    diastolic_low: float = 60
    systolic_critical_high: float = 180
    diastolic_critical_high: float = 120
    systolic_critical_low: float = 80


class Targets(BaseModel):
    """The effective targets a reading is judged against."""

    glucose_profile: GlucoseProfile = "standard"
    glucose: GlucoseTargets
    blood_pressure: BloodPressureTargets = Field(default_factory=BloodPressureTargets)
    override_critical: bool = False
    reason: str | None = None
    version: int = 0
    updated_at: UtcTime | None = None
    updated_by: str | None = None


# (fasting/before_meal, after_meal, bedtime, inclusive) per profile: clinical.md.
PROFILE_HIGHS: dict[str, tuple[float, float, float, bool]] = {
    "standard": (130, 180, 180, False),
    "pregnancy": (95, 140, 140, True),
    "older_healthy": (130, 180, 180, False),
    "older_complex": (150, 180, 180, False),
    "older_very_complex": (180, 200, 200, False),
}
DEFAULT_GLUCOSE_LOW = 70.0
DEFAULT_GLUCOSE_CRITICAL_LOW = 54.0
DEFAULT_GLUCOSE_CRITICAL_HIGH = 400.0
DEFAULT_BP = BloodPressureTargets()


def profile_defaults(profile: str) -> GlucoseTargets:
    fasting, after_meal, bedtime, inclusive = PROFILE_HIGHS[profile]
    return GlucoseTargets(
        low=DEFAULT_GLUCOSE_LOW,
        high_fasting=fasting,
        high_after_meal=after_meal,
        high_bedtime=bedtime,
        critical_low=DEFAULT_GLUCOSE_CRITICAL_LOW,
        critical_high=DEFAULT_GLUCOSE_CRITICAL_HIGH,
        highs_inclusive=inclusive,
    )


def default_targets(profile: str = "standard") -> Targets:
    return Targets(glucose_profile=profile, glucose=profile_defaults(profile))  # type: ignore[arg-type]


def effective_targets(profile: str, overrides: TargetsIn | None, **meta: object) -> Targets:
    """Profile defaults with the clinician's overrides laid over them."""
    base = default_targets(profile).model_dump()
    if overrides is not None:
        base["glucose"].update(overrides.glucose.model_dump(exclude_none=True))
        base["blood_pressure"].update(overrides.blood_pressure.model_dump(exclude_none=True))
        base.update(override_critical=overrides.override_critical, reason=overrides.reason)
    base.update({k: v for k, v in meta.items() if v is not None})
    return Targets.model_validate(base)


def validate_targets(targets: Targets, override_critical: bool, reason: str | None) -> None:
    """Raise 422-class errors for out-of-order or unapproved critical thresholds."""
    g, bp = targets.glucose, targets.blood_pressure
    errors: list[FieldError] = []

    def order(chain: list[tuple[str, float]]) -> None:
        for (lo_name, lo), (hi_name, hi) in itertools.pairwise(chain):
            if not lo < hi:
                errors.append(FieldError(hi_name, f"must be greater than {lo_name}"))

    for high in ("high_fasting", "high_after_meal", "high_bedtime"):
        order(
            [
                ("glucose.critical_low", g.critical_low),
                ("glucose.low", g.low),
                (f"glucose.{high}", getattr(g, high)),
                ("glucose.critical_high", g.critical_high),
            ]
        )
    order(
        [
            ("blood_pressure.systolic_critical_low", bp.systolic_critical_low),
            ("blood_pressure.systolic_low", bp.systolic_low),
            ("blood_pressure.systolic_high", bp.systolic_high),
            ("blood_pressure.systolic_critical_high", bp.systolic_critical_high),
        ]
    )
    order(
        [
            ("blood_pressure.diastolic_low", bp.diastolic_low),
            ("blood_pressure.diastolic_high", bp.diastolic_high),
            ("blood_pressure.diastolic_critical_high", bp.diastolic_critical_high),
        ]
    )
    # Dedupe: a low shared by three glucose chains reports once.
    errors = list(dict.fromkeys(errors))
    if errors:
        raise InvalidInputError("Targets must keep critical low < low < high < critical high.", errors)

    looser = [
        name
        for name, loose in (
            ("glucose.critical_low", g.critical_low < DEFAULT_GLUCOSE_CRITICAL_LOW),
            ("glucose.critical_high", g.critical_high > DEFAULT_GLUCOSE_CRITICAL_HIGH),
            ("blood_pressure.systolic_critical_low", bp.systolic_critical_low < DEFAULT_BP.systolic_critical_low),
            ("blood_pressure.systolic_critical_high", bp.systolic_critical_high > DEFAULT_BP.systolic_critical_high),
            (
                "blood_pressure.diastolic_critical_high",
                bp.diastolic_critical_high > DEFAULT_BP.diastolic_critical_high,
            ),
        )
        if loose
    ]
    if looser and not (override_critical and reason):
        raise InvalidInputError(
            "A critical threshold looser than the guideline default needs override_critical and a reason.",
            [FieldError(name, "looser than the default; set override_critical: true and a reason") for name in looser],
        )


def loosened_criticals(targets: Targets) -> bool:
    g, bp = targets.glucose, targets.blood_pressure
    return (
        g.critical_low < DEFAULT_GLUCOSE_CRITICAL_LOW
        or g.critical_high > DEFAULT_GLUCOSE_CRITICAL_HIGH
        or bp.systolic_critical_low < DEFAULT_BP.systolic_critical_low
        or bp.systolic_critical_high > DEFAULT_BP.systolic_critical_high
        or bp.diastolic_critical_high > DEFAULT_BP.diastolic_critical_high
    )
