"""Inbound SMS parsing: keywords, readings by text in the patient's unit, red flags in four languages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.sms_commands import RED_FLAG_PATTERNS, SmsGlucose, fold, parse, read_glucose


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        ("stop", "opt_out"),
        (" Unsubscribe ", "opt_out"),
        ("opt-out", "opt_out"),
        ("ARRET", "opt_out"),
        ("td", "opt_out"),
        ("STOPALL", "opt_out"),
        ("Revoke", "opt_out"),
        ("HELP", "help"),
        ("info", "help"),
        ("START", "opt_in"),
        ("unstop", "opt_in"),
        ("Yes", "opt_in"),
        ("TAKEN", "taken"),
        ("done!", "taken"),
        ("C", "confirm"),
        ("confirm", "confirm"),
        ("R", "reschedule"),
        ("please stop calling me at work", "text"),
        ("hello", "text"),
        ("BP high", "bad_reading"),
    ],
)
def test_keywords_are_whole_message_and_case_insensitive(body: str, kind: str) -> None:
    assert parse(body).kind == kind


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("BP 142/91", (142, 91, None)),
        ("142/91", (142, 91, None)),
        ("bp142/91", (142, 91, None)),
        ("Bp 142 / 91", (142, 91, None)),
        ("BP 142/91 72", (142, 91, 72)),
        ("BP 142/91 P 72", (142, 91, 72)),
    ],
)
def test_blood_pressure_by_text(body: str, expected: tuple[int, int, int | None]) -> None:
    command = parse(body)

    assert command.kind == "reading"
    assert (command.systolic, command.diastolic, command.pulse) == expected


@pytest.mark.parametrize(
    ("body", "value", "unit"),
    [
        ("GLU 110", 110.0, None),
        ("glu110", 110.0, None),
        ("GLU 6.1 mmol", 6.1, "mmol/L"),
        ("glu 6,1 MMOL/L", 6.1, "mmol/L"),
        ("GLU 6.1", 6.1, None),
        ("GLU 45 mg/dl", 45.0, "mg/dL"),
        ("glucose 98", 98.0, None),
        ("GLU 650", 650.0, None),
        ("GLU 1200 mg", 1200.0, "mg/dL"),
    ],
)
def test_glucose_by_text_keeps_the_unit_only_when_the_text_names_one(body: str, value: float, unit: str | None) -> None:
    command = parse(body)

    assert (command.kind, command.glucose, command.unit) == ("reading", value, unit)


@pytest.mark.parametrize(("body", "flag"), [("GLU HI", "HI"), ("glu lo", "LO"), ("BG Hi", "HI")])
def test_a_meter_hi_or_lo_can_be_texted(body: str, flag: str) -> None:
    command = parse(body)

    assert (command.kind, command.meter_flag, command.glucose) == ("reading", flag, None)


# -- rule 8: a unitless glucose is read in the patient's unit -------------------------------------


def _inferred(unit: str, value: float | None = None, flag: str | None = None) -> SmsGlucose:
    return SmsGlucose(unit=unit, value=value, meter_flag=flag, unit_inferred=True, out_of_meter_range=flag is not None)


@pytest.mark.parametrize(
    ("body", "patient_unit", "expected"),
    [
        # plausible in the patient's unit: read in it
        ("GLU 25", "mmol/L", _inferred("mmol/L", 25.0)),
        ("GLU 12", "mmol/L", _inferred("mmol/L", 12.0)),
        ("GLU 25", "mg/dL", _inferred("mg/dL", 25.0)),
        ("GLU 110", "mg/dL", _inferred("mg/dL", 110.0)),
        # implausible there, plausible in the other unit: the other
        ("GLU 6.1", "mg/dL", _inferred("mmol/L", 6.1)),
        ("GLU 3", "mg/dL", _inferred("mmol/L", 3.0)),
        ("GLU 110", "mmol/L", _inferred("mg/dL", 110.0)),
        # beyond the meter's range in every unit: the meter's HI / LO (and a recheck)
        ("GLU 650", "mg/dL", _inferred("mg/dL", flag="HI")),
        ("GLU 650", "mmol/L", _inferred("mmol/L", flag="HI")),
        ("GLU 0.3", "mg/dL", _inferred("mg/dL", flag="LO")),
        ("GLU 0.5", "mmol/L", _inferred("mmol/L", flag="LO")),
        # a stated unit is never swapped; beyond its range it is HI / LO
        ("GLU 6.1 mmol", "mg/dL", SmsGlucose(unit="mmol/L", value=6.1)),
        ("GLU 110 mg", "mmol/L", SmsGlucose(unit="mg/dL", value=110.0)),
        ("GLU 700 mg/dL", "mmol/L", SmsGlucose(unit="mg/dL", meter_flag="HI", out_of_meter_range=True)),
        ("GLU 5 mg", "mg/dL", SmsGlucose(unit="mg/dL", meter_flag="LO", out_of_meter_range=True)),
        ("GLU 40 mmol", "mg/dL", SmsGlucose(unit="mmol/L", meter_flag="HI", out_of_meter_range=True)),
        # the meter's own display
        ("GLU HI", "mmol/L", SmsGlucose(unit="mmol/L", meter_flag="HI")),
    ],
)
def test_a_texted_glucose_is_read_in_the_patients_unit_unless_implausible_there(
    body: str, patient_unit: str, expected: SmsGlucose
) -> None:
    assert read_glucose(parse(body), patient_unit) == expected


def _plausible(value: float, unit: str) -> bool:
    return 0.6 <= value <= 33.3 if unit == "mmol/L" else 10 <= value <= 600


@given(value=st.decimals("0.01", "9999.99", places=2), patient_unit=st.sampled_from(["mg/dL", "mmol/L"]))
def test_every_unitless_glucose_is_stored_as_a_plausible_value_or_the_meters_hi_or_lo(
    value: object, patient_unit: str
) -> None:
    number = float(str(value))

    reading = read_glucose(parse(f"GLU {value}"), patient_unit)

    if reading.meter_flag is None:
        assert reading.value == number and _plausible(number, reading.unit)
        assert reading.unit == patient_unit or not _plausible(number, patient_unit)
    else:
        assert reading.out_of_meter_range and reading.unit == patient_unit
        assert reading.meter_flag == ("HI" if number > 600 else "LO")
        assert not _plausible(number, "mg/dL") and not _plausible(number, "mmol/L")


# -- rule 10: red flags read as people type them -----------------------------------------------

RED_FLAGS_BY_LANGUAGE = {
    "en": [
        "I have chest pain",
        "CHEST PAIN since morning",
        "chest pressure",
        "chest tightness all day",
        "pressure in my chest",
        "I can't breathe",
        "I can\u2019t breathe",  # the iOS / Android smart apostrophe
        "I can\u2018t breathe",
        "I can\u02bct breathe",
        "I can\uff07t breathe",
        "i cant breathe",
        "I cannot breathe",
        "I can not breathe",
        "short of breath since morning",
        "Shortness of breath",
        "trouble breathing",
        "my mom fainted",
        "he passed out",
        "passed out",
        "she is unconscious",
        "dad is unresponsive",
        "I feel faint",
        "I feel confused",
        "I had a seizure",
        "slurred speech",
        "his speech is slurred",
        "numbness on one side",
        "my face is numb",
        "weakness in my left arm",
        "my right leg is weak",
        "sudden vision loss",
        "I lost my vision",
        "trouble speaking",
        "I  CAN\u2019T   BREATHE!!",
        "STOP chest pain",
    ],
    "es": [
        "tengo dolor de pecho",
        "dolor en el pecho",
        "presión en el pecho",
        "opresion en el pecho",
        "no puedo respirar",
        "NO PUEDO RESPIRAR",
        "me falta el aire",
        "falta de aire desde la mañana",
        "dificultad para respirar",
        "me desmayé",
        "me desmaye",
        "se desmayó",
        "perdió el conocimiento",
        "está inconsciente",
        "no responde",
        "siento que me voy a desmayar",
        "estoy confundido",
        "confundida",
        "tuvo una convulsión",
        "habla arrastrada",
        "adormecimiento de un lado",
        "debilidad en el brazo izquierdo",
        "perdí la vista de repente",
        "no puedo hablar",
    ],
    "pt-BR": [
        "estou com dor no peito",
        "pressão no peito",
        "aperto no peito",
        "não consigo respirar",
        "nao consigo respirar",
        "falta de ar desde cedo",
        "dificuldade para respirar",
        "eu desmaiei",
        "ele desmaiou",
        "perdeu os sentidos",
        "está inconsciente",
        "não responde",
        "sinto que vou desmaiar",
        "estou confuso",
        "ela está confusa",
        "teve uma convulsão",
        "fala arrastada",
        "dormência de um lado do corpo",
        "fraqueza no braço direito",
        "perdi a visão de repente",
        "não consigo falar",
    ],
    "zh-CN": [
        "我胸痛",
        "胸口疼",
        "胸闷",
        "呼吸困难",
        "我不能呼吸",
        "喘不过气",
        "气短",
        "她晕倒了",
        "他昏过去了",
        "昏迷",
        "叫不醒",
        "我感觉要晕了",
        "神志不清",
        "抽搐",
        "说话不清",
        "半身麻木",
        "一侧无力",
        "突然看不见了",
        "说不出话",
    ],
}


@pytest.mark.parametrize(
    ("language", "body"),
    [(language, body) for language, bodies in RED_FLAGS_BY_LANGUAGE.items() for body in bodies],
)
def test_red_flags_are_read_as_people_type_them_and_win_over_everything(language: str, body: str) -> None:
    assert parse(body).kind == "red_flag"


@pytest.mark.parametrize("language", ["en", "es", "pt-BR", "zh-CN"])
def test_every_language_has_its_own_red_flag_vocabulary(language: str) -> None:
    assert len(RED_FLAG_PATTERNS[language]) >= 15


@pytest.mark.parametrize(
    "body",
    [
        "I am fine, just tired",
        "my feet are numb again",  # neuropathy, not one side of the body
        "I feel weak today",
        "Can I see the doctor tomorrow?",
        "The app is confusing",
        "estoy bien, gracias",
        "estou bem, obrigado",
        "我很好 谢谢",
    ],
)
def test_everyday_messages_are_not_red_flags(body: str) -> None:
    assert parse(body).kind == "text"


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("I can\u2019t breathe", "i can't breathe"),
        ("  SHORT\tof\n breath ", "short of breath"),
        ("Não consigo RESPIRAR", "nao consigo respirar"),
        ("presi\u00f3n", "presion"),
        ("presio\u0301n", "presion"),  # the accent as a combining mark
        ("\uff23\uff28\uff25\uff33\uff34 pain", "chest pain"),  # fullwidth letters
        ("\u201cfainted\u201d", '"fainted"'),
    ],
)
def test_text_is_folded_before_matching(typed: str, folded: str) -> None:
    assert fold(typed) == folded
