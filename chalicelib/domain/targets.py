"""Per-patient targets: guideline defaults, clinician overrides, their rules.

The defaults are docs/clinical.md's default model.  A clinician may move targets
within the guideline's order and inside the hard limits of docs/clinical.md's
"Per-patient targets" table (:data:`HARD_LIMITS`); a value outside its range is
refused naming the field and the limit.  Targets may tighten the critical
rules, never loosen them: ``override_critical`` is still accepted (and its
reason audited) but moves no limit.  Targets stored before the limits existed
keep loading; :func:`targets_outside_limits` names what they break, and the
classification engine applies the limits whatever the stored targets say.

Each threshold keeps the comparison of its default rule (docs/api.md): glucose
``low``/``critical_low`` are "below", ``critical_high`` is "at or above", the
context highs are "above" (or "at or above" under the pregnancy profile, whose
ADA targets are written that way); BP highs are "at or above", BP critical
highs "above", BP lows "below".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
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


# (fasting/before_meal, after_meal, bedtime, inclusive) per profile: docs/clinical.md.
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


@dataclass(frozen=True)
class HardLimit:
    """The range one threshold must stay in, whatever the clinician asks (docs/clinical.md)."""

    field: str
    minimum: float | None
    maximum: float | None
    unit: str

    def value_of(self, targets: Targets) -> float:
        group, name = self.field.split(".")
        return float(getattr(getattr(targets, group), name))

    def holds_for(self, value: float) -> bool:
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"must be between {self.minimum:g} and {self.maximum:g} {self.unit} (hard limit)"
        if self.minimum is not None:
            return f"must be at least {self.minimum:g} {self.unit} (hard limit)"
        return f"must be at most {self.maximum:g} {self.unit} (hard limit)"


# docs/clinical.md, "Per-patient targets": the "below"/"above" halves of each range
# are the order rules validate_targets checks next to these.
GLUCOSE_ALWAYS_CRITICAL_BELOW = 54.0  # < 54 mg/dL (and LO) is critical_low
GLUCOSE_ALWAYS_LOW_BELOW = 63.0  # < 63 is at least low
GLUCOSE_ALWAYS_HIGH_ABOVE = 250.0  # > 250 is at least high
GLUCOSE_ALWAYS_CRITICAL_FROM = 400.0  # >= 400 (and HI) is critical_high
SYSTOLIC_ALWAYS_CRITICAL_ABOVE = 180.0
DIASTOLIC_ALWAYS_CRITICAL_ABOVE = 120.0
SYSTOLIC_ALWAYS_CRITICAL_BELOW = 80.0
SYSTOLIC_ALWAYS_HIGH_FROM = 160.0
DIASTOLIC_ALWAYS_HIGH_FROM = 100.0
DIASTOLIC_ALWAYS_LOW_BELOW = 40.0
DIASTOLIC_LOW_AT_MOST = 70.0

HARD_LIMITS: tuple[HardLimit, ...] = (
    HardLimit("glucose.critical_low", GLUCOSE_ALWAYS_CRITICAL_BELOW, None, "mg/dL"),
    HardLimit("glucose.low", GLUCOSE_ALWAYS_LOW_BELOW, None, "mg/dL"),
    HardLimit("glucose.high_fasting", None, GLUCOSE_ALWAYS_HIGH_ABOVE, "mg/dL"),
    HardLimit("glucose.high_after_meal", None, GLUCOSE_ALWAYS_HIGH_ABOVE, "mg/dL"),
    HardLimit("glucose.high_bedtime", None, GLUCOSE_ALWAYS_HIGH_ABOVE, "mg/dL"),
    HardLimit("glucose.critical_high", None, GLUCOSE_ALWAYS_CRITICAL_FROM, "mg/dL"),
    HardLimit("blood_pressure.systolic_critical_high", None, SYSTOLIC_ALWAYS_CRITICAL_ABOVE, "mmHg"),
    HardLimit("blood_pressure.diastolic_critical_high", None, DIASTOLIC_ALWAYS_CRITICAL_ABOVE, "mmHg"),
    HardLimit("blood_pressure.systolic_critical_low", SYSTOLIC_ALWAYS_CRITICAL_BELOW, None, "mmHg"),
    HardLimit("blood_pressure.systolic_high", None, SYSTOLIC_ALWAYS_HIGH_FROM, "mmHg"),
    HardLimit("blood_pressure.diastolic_high", None, DIASTOLIC_ALWAYS_HIGH_FROM, "mmHg"),
    HardLimit("blood_pressure.diastolic_low", DIASTOLIC_ALWAYS_LOW_BELOW, DIASTOLIC_LOW_AT_MOST, "mmHg"),
)


def targets_outside_limits(targets: Targets) -> list[str]:
    """The thresholds (``group.field``) of stored targets that break a hard limit; none for valid targets."""
    return [limit.field for limit in HARD_LIMITS if not limit.holds_for(limit.value_of(targets))]


def validate_targets(targets: Targets) -> None:
    """Raise a 422-class error naming each threshold outside its hard limit or out of order.

    ``override_critical`` plays no part: no request can move a hard limit.
    """
    g, bp = targets.glucose, targets.blood_pressure
    errors: list[FieldError] = [
        FieldError(limit.field, limit.describe())
        for limit in HARD_LIMITS
        if not limit.holds_for(limit.value_of(targets))
    ]

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
        raise InvalidInputError(
            "Targets must stay inside the hard limits and keep critical low < low < high < critical high.", errors
        )
