"""The classification engine: docs/clinical.md's default model as exact rules.

Pure functions of a reading's values, the patient's effective targets and, for
glucose, whether the reading completes the "two readings >= 300 mg/dL within
6 h" trend.  Boundaries are exact (54.0 is not critical, 53.9 is) and each
personal threshold keeps the comparison of the default rule it replaces.

The hard limits of docs/clinical.md's "Per-patient targets" are applied first,
whatever the targets say: targets stored before the limits existed may lie
outside them (they keep working, and the worklist names them), but < 54 mg/dL
is still critical_low, >= 400 critical_high, > 250 at least high, < 63 at
least low; BP > 180 / > 120 critical_high, systolic < 80 critical_low,
>= 160 / >= 100 at least high, diastolic < 40 at least low.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.guidance import guidance
from chalicelib.domain.readings import BloodPressureIn, Classification, GlucoseIn
from chalicelib.domain.targets import (
    DIASTOLIC_ALWAYS_CRITICAL_ABOVE,
    DIASTOLIC_ALWAYS_HIGH_FROM,
    DIASTOLIC_ALWAYS_LOW_BELOW,
    GLUCOSE_ALWAYS_CRITICAL_BELOW,
    GLUCOSE_ALWAYS_CRITICAL_FROM,
    GLUCOSE_ALWAYS_HIGH_ABOVE,
    GLUCOSE_ALWAYS_LOW_BELOW,
    SYSTOLIC_ALWAYS_CRITICAL_ABOVE,
    SYSTOLIC_ALWAYS_CRITICAL_BELOW,
    SYSTOLIC_ALWAYS_HIGH_FROM,
    Targets,
)

VERY_HIGH_MG_DL = 300.0
VERY_HIGH_WINDOW_HOURS = 6
KETONE_CHECK_ABOVE = 250.0
PRE_MEAL_TARGET_FLOOR = 80.0

INTERPRETATION = {
    "critical_low": "LL",
    "low": "L",
    "normal": "N",
    "elevated": "N",
    "high": "H",
    "critical_high": "HH",
}
# How urgent a severity is; between equal urgencies the high side wins.
URGENCY = {"normal": 0, "elevated": 1, "low": 2, "high": 2, "critical_low": 3, "critical_high": 3}
HIGH_SIDE = {"elevated", "high", "critical_high"}
BP_CATEGORY_ORDER = ("normal", "elevated", "stage_1", "stage_2", "severe")


@dataclass(frozen=True)
class Judgement:
    severity: str
    category: str
    flags: tuple[str, ...]
    guidance_key: str

    @property
    def interpretation(self) -> str:
        return INTERPRETATION[self.severity]

    def render(self, language: str) -> Classification:
        return Classification.model_validate(
            {
                "severity": self.severity,
                "category": self.category,
                "interpretation": self.interpretation,
                "flags": list(self.flags),
                "guidance": guidance(self.guidance_key, language),
            }
        )


def most_urgent(severities: list[str]) -> str:
    return max(severities, key=lambda s: (URGENCY[s], s in HIGH_SIDE))


# -- glucose --------------------------------------------------------------------


def glucose_high_threshold(context: str, targets: Targets) -> float:
    g = targets.glucose
    if context in ("fasting", "before_meal"):
        return g.high_fasting
    if context == "after_meal":
        return g.high_after_meal
    if context == "bedtime":
        return g.high_bedtime
    # random: the least strict non-fasting target (180 by default).
    return max(g.high_after_meal, g.high_bedtime)


def can_repeat_very_high(reading: GlucoseIn) -> bool:
    """Whether this reading could complete the two-readings-above-300 trend (so the recent window is read)."""
    value = reading.value_mg_dl
    return value is not None and value >= VERY_HIGH_MG_DL


def _glucose_severity(value: float, context: str, targets: Targets, repeated_very_high: bool) -> tuple[str, bool]:
    """The severity of a glucose value, and whether the repeated-very-high trend made it critical."""
    g = targets.glucose
    very_high = repeated_very_high and value >= VERY_HIGH_MG_DL
    # Hard limits first: no target, however it was stored, moves these.
    if value < GLUCOSE_ALWAYS_CRITICAL_BELOW:
        return "critical_low", False
    if value >= GLUCOSE_ALWAYS_CRITICAL_FROM:
        return "critical_high", False
    if value > GLUCOSE_ALWAYS_HIGH_ABOVE:
        if value >= g.critical_high:
            return "critical_high", False
        return ("critical_high", True) if very_high else ("high", False)
    if value < GLUCOSE_ALWAYS_LOW_BELOW:
        return ("critical_low" if value < g.critical_low else "low"), False
    # Personal targets, inside the limits.
    high = glucose_high_threshold(context, targets)
    if value < g.critical_low:
        return "critical_low", False
    if value < g.low:
        return "low", False
    if value >= g.critical_high:
        return "critical_high", False
    if very_high:
        return "critical_high", True
    if value >= high if g.highs_inclusive else value > high:
        return "high", False
    return "normal", False


def classify_glucose(reading: GlucoseIn, targets: Targets, repeated_very_high: bool = False) -> Judgement:
    if reading.meter_flag == "LO":
        return Judgement("critical_low", "hypoglycemia_level_2", ("meter_lo",), "glucose_critical_low")
    if reading.meter_flag == "HI":
        return Judgement("critical_high", "severe_hyperglycemia", ("meter_hi", "ketone_check"), "glucose_critical_high")
    value = reading.value_mg_dl
    assert value is not None  # the model guarantees a value or a meter flag
    flags: list[str] = []
    if value > KETONE_CHECK_ABOVE:
        flags.append("ketone_check")
    severity, by_trend = _glucose_severity(value, reading.context, targets, repeated_very_high)
    if by_trend:
        flags.append("repeated_very_high")
    if severity == "critical_low":
        return Judgement("critical_low", "hypoglycemia_level_2", tuple(flags), "glucose_critical_low")
    if severity == "low":
        return Judgement("low", "hypoglycemia_level_1", tuple(flags), "glucose_low")
    if severity == "critical_high":
        return Judgement("critical_high", "severe_hyperglycemia", tuple(flags), "glucose_critical_high")
    if severity == "high":
        category = "hyperglycemia_level_2" if value > KETONE_CHECK_ABOVE else "above_target"
        key = "glucose_high_ketones" if value > KETONE_CHECK_ABOVE else "glucose_high"
        return Judgement("high", category, tuple(flags), key)
    pre_meal = reading.context in ("fasting", "before_meal")
    if pre_meal and value < PRE_MEAL_TARGET_FLOOR and targets.glucose_profile != "pregnancy":
        flags.append("below_target")
    return Judgement("normal", "in_target", tuple(flags), "glucose_normal")


# -- blood pressure -------------------------------------------------------------


def _systolic_severity(value: float, targets: Targets) -> str:
    bp = targets.blood_pressure
    # Hard limits first (see the module docstring), then the personal targets.
    if value > SYSTOLIC_ALWAYS_CRITICAL_ABOVE:
        return "critical_high"
    if value < SYSTOLIC_ALWAYS_CRITICAL_BELOW:
        return "critical_low"
    if value >= SYSTOLIC_ALWAYS_HIGH_FROM:
        return "critical_high" if value > bp.systolic_critical_high else "high"
    if value > bp.systolic_critical_high:
        return "critical_high"
    if value < bp.systolic_critical_low:
        return "critical_low"
    if value >= bp.systolic_high:
        return "high"
    if value < bp.systolic_low:
        return "low"
    return "elevated" if value >= 120 else "normal"


def _diastolic_severity(value: float, targets: Targets) -> str:
    bp = targets.blood_pressure
    if value > DIASTOLIC_ALWAYS_CRITICAL_ABOVE:
        return "critical_high"
    if value >= DIASTOLIC_ALWAYS_HIGH_FROM:
        return "critical_high" if value > bp.diastolic_critical_high else "high"
    if value < DIASTOLIC_ALWAYS_LOW_BELOW:
        return "low"
    if value > bp.diastolic_critical_high:
        return "critical_high"
    if value >= bp.diastolic_high:
        return "high"
    if value < bp.diastolic_low:
        return "low"
    return "elevated" if value >= 80 else "normal"


def _pulse_severity(value: float) -> tuple[str, str | None]:
    if value < 40:
        return "critical_low", "pulse_critical"
    if value > 130:
        return "critical_high", "pulse_critical"
    if value < 50 or value > 100:
        return "elevated", "pulse_abnormal"
    return "normal", None


def bp_category(systolic: float, diastolic: float) -> str:
    """ACC/AHA category of the values (guideline labels, independent of personal targets)."""

    def of_systolic(v: float) -> str:
        if v > 180:
            return "severe"
        if v >= 140:
            return "stage_2"
        if v >= 130:
            return "stage_1"
        return "elevated" if v >= 120 else "normal"

    def of_diastolic(v: float) -> str:
        if v > 120:
            return "severe"
        if v >= 90:
            return "stage_2"
        return "stage_1" if v >= 80 else "normal"

    category = max(of_systolic(systolic), of_diastolic(diastolic), key=BP_CATEGORY_ORDER.index)
    if category == "normal" and (systolic < 90 or diastolic < 60):
        return "low"
    return category


def classify_blood_pressure(reading: BloodPressureIn, targets: Targets) -> Judgement:
    components = {
        "systolic": _systolic_severity(reading.systolic, targets),
        "diastolic": _diastolic_severity(reading.diastolic, targets),
    }
    flags = [f"{name}_{severity}" for name, severity in components.items() if severity != "normal"]
    pulse_severity, pulse_flag = ("normal", None) if reading.pulse is None else _pulse_severity(reading.pulse)
    if pulse_flag:
        flags.append(pulse_flag)
    severity = most_urgent([*components.values(), pulse_severity])
    bp_driven = severity in components.values()
    if severity in ("critical_high", "critical_low") and not bp_driven:
        key = "pulse_critical"
    elif severity == "elevated" and not bp_driven:
        key = "pulse_abnormal"
    else:
        key = {
            "critical_high": "bp_critical_high",
            "critical_low": "bp_critical_low",
            "high": "bp_high",
            "low": "bp_low",
            "elevated": "bp_elevated",
            "normal": "bp_normal",
        }[severity]
    return Judgement(severity, bp_category(reading.systolic, reading.diastolic), tuple(flags), key)
