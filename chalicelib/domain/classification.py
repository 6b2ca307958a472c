"""The classification engine: clinical.md's default model as exact rules.

Pure functions of a reading's values, the patient's effective targets and, for
glucose, whether the reading completes the "two readings >= 300 mg/dL within
6 h" trend.  Boundaries are exact (54.0 is not critical, 53.9 is) and each
personal threshold keeps the comparison of the default rule it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.guidance import guidance
from chalicelib.domain.readings import BloodPressureIn, Classification, GlucoseIn
from chalicelib.domain.targets import Targets

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


def classify_glucose(reading: GlucoseIn, targets: Targets, repeated_very_high: bool = False) -> Judgement:
    if reading.meter_flag == "LO":
        return Judgement("critical_low", "hypoglycemia_level_2", ("meter_lo",), "glucose_critical_low")
    if reading.meter_flag == "HI":
        return Judgement("critical_high", "severe_hyperglycemia", ("meter_hi", "ketone_check"), "glucose_critical_high")
    value = reading.value_mg_dl
    assert value is not None  # the model guarantees a value or a meter flag
    g = targets.glucose
    flags: list[str] = []
    if value > KETONE_CHECK_ABOVE:
        flags.append("ketone_check")
    high = glucose_high_threshold(reading.context, targets)
    above_high = value >= high if g.highs_inclusive else value > high

    if value < g.critical_low:
        return Judgement("critical_low", "hypoglycemia_level_2", tuple(flags), "glucose_critical_low")
    if value < g.low:
        return Judgement("low", "hypoglycemia_level_1", tuple(flags), "glucose_low")
    if value >= g.critical_high:
        return Judgement("critical_high", "severe_hyperglycemia", tuple(flags), "glucose_critical_high")
    if repeated_very_high and value >= VERY_HIGH_MG_DL:
        flags.append("repeated_very_high")
        return Judgement("critical_high", "severe_hyperglycemia", tuple(flags), "glucose_critical_high")
    if above_high:
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
