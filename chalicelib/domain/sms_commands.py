"""What an inbound SMS asks for (pure): keywords, readings by text, red flags.

Keywords are whole-message and case-insensitive (docs/clinical.md).  Readings by
text are tolerant of case and spacing: ``BP 142/91``, ``142/91``, ``GLU 110``,
``GLU 6.1 mmol``, ``GLU HI``; a glucose without a unit is read in the patient's
unit by :func:`read_glucose`.  Red flags in en, es, pt-BR and zh-CN escalate at
once, before anything else is considered; they are matched on text folded as
people type it (curly apostrophes, accents, case, spacing: :func:`fold`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from chalicelib.domain.readings import GLUCOSE_MG_DL, GLUCOSE_MMOL_L

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

# Red flags (docs/clinical.md safety net rule 10), matched on folded text (see ``fold``):
# lower case, no accents, straight apostrophes, single spaces.  Patterns are
# deliberately broad; a false positive pages a human, which is the safe side.
_EN = (
    # chest pain / pressure / tightness
    r"\bchest\s*(?:pain|pains|pressure|tightness|tight|hurts?|hurting|discomfort|is tight)",
    r"\b(?:pain|pressure|tightness|squeezing)\s+(?:in|on)\s+(?:my|the|his|her)\s+chest",
    r"\btight\s+chest",
    # can't / cannot breathe, short of breath, trouble breathing
    r"\bcan'?t\s+(?:breath|catch\s+(?:my|his|her)\s+breath)",
    r"\bcan\s*not\s+breath",
    r"\b(?:unable|struggling|hard)\s+to\s+breath",
    r"\bshort(?:ness)?\s+of\s+breath",
    r"\bout\s+of\s+breath",
    r"\bbreathless",
    r"\b(?:trouble|difficulty|problems?|struggling)\s+breathing",
    r"\bnot\s+breathing",
    # fainted, passed out, unconscious, unresponsive, feel faint
    r"\bfaint",
    r"\bpass(?:ed|es|ing)?\s+out",
    r"\bblack(?:ed|ing)?\s+out",
    r"\bcollapsed",
    r"\bunconscious",
    r"\bunresponsive",
    r"\bnot\s+responding",
    r"\bwon'?t\s+wake\s+up",
    r"\bcan'?t\s+wake\s+(?:him|her|them|up)",
    # confused, seizure
    r"\bconfus(?:ed|ion)",
    r"\bseizures?\b",
    r"\bseizing",
    r"\bconvuls",
    # slurred speech, trouble speaking
    r"\bslurr?(?:ed|ing)",
    r"\b(?:trouble|difficulty|problems?)\s+(?:speaking|talking)",
    r"\bcan'?t\s+(?:speak|talk)",
    r"\bcan\s*not\s+(?:speak|talk)",
    # numbness or weakness on one side (face, arm, leg)
    r"\b(?:numb|numbness|weak|weakness|droop\w*|paralys\w*)\b.{0,40}"
    r"\b(?:one side|left side|right side|half|face|arm|leg)",
    r"\b(?:one side|left side|right side|face|arm|leg)\b.{0,40}\b(?:numb|numbness|weak|weakness|droop\w*)",
    # sudden vision loss
    r"\b(?:lost|losing|loss of)\s+(?:my\s+|his\s+|her\s+)?(?:vision|sight)",
    r"\bvision\s+(?:loss|is gone|went|gone)",
    r"\b(?:can'?t|cannot|can not)\s+see\b",
    r"\b(?:went|going|gone)\s+blind",
    r"\b(?:blurr?(?:ed|y)|double)\s+vision",
    r"\bvision\s+is\s+(?:blurr?(?:ed|y)|double)",
)
_ES = (
    r"\b(?:dolor|presion|opresion|tension|apreton)\s+(?:de|en\s+el|en)\s+(?:el\s+)?pecho",
    r"\bpecho\s+apretado",
    r"\bme\s+duele\s+el\s+pecho",
    r"\bdolor\s+toracico",
    r"\bno\s+puedo\s+respirar",
    r"\bno\s+puede\s+respirar",
    r"\b(?:falta|me\s+falta)\s+(?:de\s+)?(?:el\s+)?aire",
    r"\b(?:dificultad|problemas?)\s+(?:para|al)\s+respirar",
    r"\bme\s+cuesta\s+respirar",
    r"\bsin\s+aliento",
    r"\bme\s+ahogo",
    r"\bdesmay",
    r"\bdesvanec",
    r"\bperd\w*\s+(?:el\s+)?conocimiento",
    r"\binconsciente",
    r"\bno\s+(?:responde|reacciona)",
    r"\bconfundid[oa]",
    r"\bconfusion",
    r"\bconvuls",
    r"\bataque\s+epileptico",
    r"\bcrisis\s+epileptica",
    r"\bhabla\s+(?:arrastrada|confusa|trabada)",
    r"\barrastr\w*\s+(?:las\s+)?palabras",
    r"\b(?:no\s+puedo|no\s+puede|dificultad\s+para)\s+hablar",
    r"\b(?:adormec\w*|entumec\w*|debilidad|debil|paralizad\w*|hormigueo)\b.{0,40}"
    r"\b(?:un lado|lado izquierdo|lado derecho|mitad|la cara|cara|brazo|pierna)",
    r"\b(?:cara|boca)\s+(?:caida|torcida|chueca)",
    r"\bperd\w*\s+(?:la\s+)?(?:vista|vision)",
    r"\bperdida\s+de\s+(?:la\s+)?(?:vista|vision)",
    r"\bno\s+(?:puedo\s+ver|veo)\b",
    r"\bvision\s+(?:borrosa|doble)",
)
_PT = (
    r"\b(?:dor|pressao|aperto)\s+(?:no|em|de|do)\s+peito",
    r"\bpeito\s+apertado",
    r"\bdor\s+toracica",
    r"\bnao\s+(?:consigo|consegue|to conseguindo|estou conseguindo)\s+respirar",
    r"\bfalta\s+de\s+ar",
    r"\b(?:dificuldade|problema)\s+(?:para|pra|de|em)\s+respirar",
    r"\bsem\s+(?:ar|folego)\b",
    r"\bdesmai",
    r"\bperd\w*\s+(?:os\s+sentidos|a\s+consciencia)",
    r"\binconsciente",
    r"\bnao\s+(?:responde|reage|acorda)",
    r"\bconfus[oa]\b",
    r"\bconfusao",
    r"\bconvuls",
    r"\bcrise\s+epileptica",
    r"\bataque\s+epileptico",
    r"\bfala\s+(?:arrastada|enrolada|embolada)",
    r"\benrolando\s+a\s+fala",
    r"\b(?:nao\s+consigo|nao\s+consegue|dificuldade\s+(?:para|pra|de))\s+falar",
    r"\b(?:dormencia|dormente|formigamento|fraqueza|fraco|fraca|paralisi\w*)\b.{0,40}"
    r"\b(?:um lado|lado esquerdo|lado direito|metade|rosto|cara|braco|perna)",
    r"\b(?:boca|rosto|cara)\s+(?:torta|torto|caida|caido)",
    r"\bperd\w*\s+(?:a\s+)?visao",
    r"\bperda\s+(?:de|da)\s+visao",
    r"\bnao\s+(?:consigo\s+enxergar|enxergo|consigo\s+ver)",
    r"\bfiquei\s+ceg[oa]",
    r"\bvisao\s+(?:embacada|turva|dupla)",
)
_ZH = (
    "胸痛",
    "胸口痛",
    "胸口疼",
    "胸疼",
    "胸闷",
    "胸口闷",
    "胸部疼痛",
    "胸口压",
    "胸部压迫",
    "胸口发紧",
    "胸口紧",
    "胸紧",
    "呼吸困难",
    "不能呼吸",
    "无法呼吸",
    "喘不过气",
    "喘不上气",
    "透不过气",
    "上不来气",
    "气短",
    "气促",
    "呼吸急促",
    "晕倒",
    "昏倒",
    "晕过去",
    "昏过去",
    "晕厥",
    "昏厥",
    "要晕",
    "快晕",
    "昏迷",
    "失去知觉",
    "失去意识",
    "不省人事",
    "没有反应",
    "没反应",
    "叫不醒",
    "意识不清",
    "神志不清",
    "意识模糊",
    "糊涂",
    "思维混乱",
    "抽搐",
    "癫痫",
    "抽风",
    "惊厥",
    "口齿不清",
    "说话不清",
    "说话含糊",
    "言语不清",
    "讲话不清",
    "说不出话",
    "说话困难",
    "半身麻木",
    "半边麻木",
    "一侧麻木",
    "一边麻木",
    "脸麻",
    "面部麻木",
    "手臂麻木",
    "腿麻木",
    "半身无力",
    "一侧无力",
    "一边无力",
    "手臂无力",
    "腿无力",
    "偏瘫",
    "嘴歪",
    "口角歪斜",
    "看不见",
    "失明",
    "视力丧失",
    "视力模糊",
    "视物模糊",
    "眼前发黑",
    "重影",
)
RED_FLAG_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": _EN,
    "es": _ES,
    "pt-BR": _PT,
    "zh-CN": tuple(re.escape(phrase) for phrase in _ZH),
}
_RED_FLAG = re.compile("|".join(f"(?:{p})" for patterns in RED_FLAG_PATTERNS.values() for p in patterns))

# Curly and look-alike quotes as phones type them (smart punctuation), straightened.
_QUOTES = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark (the iOS / Android smart apostrophe)
        "\u2018": "'",  # left single quotation mark
        "\u02bc": "'",  # modifier letter apostrophe
        "\uff07": "'",  # fullwidth apostrophe
        "\u00b4": "'",  # acute accent typed as an apostrophe
        "\u2032": "'",  # prime
        "`": "'",
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\uff02": '"',  # fullwidth quotation mark
    }
)


def fold(body: str) -> str:
    """Text as red flags are matched: NFKC, quotes straightened, casefolded, accents dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", body.translate(_QUOTES)).translate(_QUOTES).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", text).split())


def is_red_flag(body: str) -> bool:
    return _RED_FLAG.search(fold(body)) is not None


Kind = Literal[
    "opt_out", "help", "opt_in", "taken", "confirm", "reschedule", "reading", "red_flag", "text", "bad_reading"
]

_BP = re.compile(r"^(?:BP|PA|BLOOD\s*PRESSURE)?\s*(\d{2,3})\s*/\s*(\d{2,3})(?:\s+(?:P|HR|PULSE)?\s*(\d{2,3}))?$")
_GLU = re.compile(
    r"^(?:GLU|GLUCOSE|BG|SUGAR|GLICOSE|GLUCOSA)\s*"
    r"(?:(\d{1,4}(?:[.,]\d{1,2})?)\s*(MMOL(?:/L)?|MG(?:/DL)?)?|(HI|LO))$"
)
_LOOKS_LIKE_READING = re.compile(r"^(BP|PA|GLU|GLUCOSE|BG|SUGAR|GLICOSE|GLUCOSA)\b|^\d{2,3}\s*/")


@dataclass(frozen=True)
class Command:
    kind: Kind
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    glucose: float | None = None
    # None for a glucose texted without a unit: read_glucose decides, in the patient's unit.
    unit: str | None = None
    meter_flag: str | None = None  # "GLU HI" / "GLU LO", as the meter shows


def _normalise(body: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", body).split())


def parse(body: str) -> Command:
    text = _normalise(body)
    upper = text.upper()
    if is_red_flag(body):
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
        value, unit, flag = match.groups()
        if flag:
            return Command("reading", meter_flag=flag)
        stated = None if unit is None else ("mmol/L" if unit.startswith("MMOL") else "mg/dL")
        return Command("reading", glucose=float(value.replace(",", ".")), unit=stated)
    if _LOOKS_LIKE_READING.match(upper):
        return Command("bad_reading")
    return Command("text")


# -- a texted glucose, in the patient's unit (docs/clinical.md safety net rule 8) -----------------


@dataclass(frozen=True)
class SmsGlucose:
    """How a texted glucose is stored: a value in ``unit``, or the meter's own ``LO``/``HI``."""

    unit: str
    value: float | None = None
    meter_flag: str | None = None
    # The text named no unit, so ``unit`` was chosen here: the reply says which.
    unit_inferred: bool = False
    # Beyond what a meter reads (so stored as LO/HI): the reply asks for a recheck.
    out_of_meter_range: bool = False


def _plausible(value: float, unit: str) -> bool:
    low, high = GLUCOSE_MMOL_L if unit == "mmol/L" else GLUCOSE_MG_DL
    return low <= value <= high


def read_glucose(command: Command, patient_unit: str) -> SmsGlucose:
    """The reading a glucose SMS stands for.

    A number without a unit is read in the patient's unit; if it is implausible
    there but plausible in the other unit (6.1 from an mg/dL patient), in the
    other.  A number no meter shows (> 600 mg/dL / 33.3 mmol/L, < 10 mg/dL /
    0.6 mmol/L, in every unit it could be) is stored as the meter's HI or LO:
    critical, never discarded.
    """
    if command.meter_flag is not None:
        return SmsGlucose(unit=command.unit or patient_unit, meter_flag=command.meter_flag)
    value = command.glucose
    assert value is not None  # parse() gives a glucose reading a value or a meter flag
    if command.unit is not None:
        candidates = [command.unit]
    else:
        candidates = [patient_unit, "mg/dL" if patient_unit == "mmol/L" else "mmol/L"]
    for unit in candidates:
        if _plausible(value, unit):
            return SmsGlucose(unit=unit, value=value, unit_inferred=command.unit is None)
    unit = candidates[0]
    high = GLUCOSE_MMOL_L[1] if unit == "mmol/L" else GLUCOSE_MG_DL[1]
    return SmsGlucose(
        unit=unit,
        meter_flag="HI" if value > high else "LO",
        unit_inferred=command.unit is None,
        out_of_meter_range=True,
    )
