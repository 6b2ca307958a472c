"""What an inbound SMS asks for (pure): keywords, readings by text, red flags.

Keywords are whole-message and case-insensitive (clinical.md).  Readings by
text are tolerant of case and spacing: ``BP 142/91``, ``142/91``, ``GLU 110``,
``GLU 6.1 mmol``.  Red-flag phrases in en, es, pt-BR and zh-CN escalate at
once, before anything else is considered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

OPT_OUT = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT-OUT",
    "REMOVE",
    "REVOKE",
    "ARRET",
    "TD",
}
HELP = {"HELP", "INFO"}
OPT_IN = {"START", "UNSTOP", "YES"}
TAKEN = {"TAKEN", "DONE"}
CONFIRM = {"C", "CONFIRM"}
RESCHEDULE = {"R", "RESCHEDULE"}

RED_FLAGS = (
    # en
    "chest pain",
    "can't breathe",
    "cant breathe",
    "cannot breathe",
    "can not breathe",
    "fainted",
    "fainting",
    "unconscious",
    "confused",
    # es
    "dolor de pecho",
    "dolor en el pecho",
    "no puedo respirar",
    "me desmayé",
    "me desmaye",
    "desmayo",
    "inconsciente",
    "confundido",
    "confundida",
    # pt-BR
    "dor no peito",
    "não consigo respirar",
    "nao consigo respirar",
    "desmaiei",
    "desmaio",
    "inconsciente",
    "confuso",
    "confusa",
    # zh-CN
    "胸痛",
    "呼吸困难",
    "不能呼吸",
    "喘不过气",
    "晕倒",
    "昏倒",
    "昏迷",
    "失去知觉",
    "意识不清",
    "神志不清",
)

Kind = Literal[
    "opt_out", "help", "opt_in", "taken", "confirm", "reschedule", "reading", "red_flag", "text", "bad_reading"
]

_BP = re.compile(r"^(?:BP|PA|BLOOD\s*PRESSURE)?\s*(\d{2,3})\s*/\s*(\d{2,3})(?:\s+(?:P|HR|PULSE)?\s*(\d{2,3}))?$")
_GLU = re.compile(r"^(?:GLU|GLUCOSE|BG|SUGAR|GLICOSE|GLUCOSA)\s*(\d{1,3}(?:[.,]\d{1,2})?)\s*(MMOL(?:/L)?|MG(?:/DL)?)?$")
_LOOKS_LIKE_READING = re.compile(r"^(BP|PA|GLU|GLUCOSE|BG|SUGAR|GLICOSE|GLUCOSA)\b|^\d{2,3}\s*/")


@dataclass(frozen=True)
class Command:
    kind: Kind
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    glucose: float | None = None
    unit: str | None = None


def _normalise(body: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", body).split())


def parse(body: str) -> Command:
    text = _normalise(body)
    upper = text.upper()
    lowered = text.casefold()
    if any(flag in lowered for flag in RED_FLAGS):
        return Command("red_flag")
    word = upper.rstrip(".!")
    for words, kind in (
        (OPT_OUT, "opt_out"),
        (HELP, "help"),
        (OPT_IN, "opt_in"),
        (TAKEN, "taken"),
        (CONFIRM, "confirm"),
        (RESCHEDULE, "reschedule"),
    ):
        if word in words:
            return Command(kind)  # type: ignore[arg-type]
    if match := _BP.match(upper):
        systolic, diastolic, pulse = match.groups()
        return Command("reading", systolic=int(systolic), diastolic=int(diastolic), pulse=int(pulse) if pulse else None)
    if match := _GLU.match(upper):
        value, unit = match.groups()
        number = float(value.replace(",", "."))
        # Without a unit, a decimal value is read as mmol/L (mg/dL values are whole numbers in practice).
        mmol = unit.startswith("MMOL") if unit else ("." in value or "," in value)
        return Command("reading", glucose=number, unit="mmol/L" if mmol else "mg/dL")
    if _LOOKS_LIKE_READING.match(upper):
        return Command("bad_reading")
    return Command("text")
