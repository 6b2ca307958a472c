"""Inbound SMS parsing: keywords, readings by text, red flags in four languages."""

from __future__ import annotations

import pytest

from chalicelib.domain.sms_commands import parse


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
        ("GLU 110", 110.0, "mg/dL"),
        ("glu110", 110.0, "mg/dL"),
        ("GLU 6.1 mmol", 6.1, "mmol/L"),
        ("glu 6,1 MMOL/L", 6.1, "mmol/L"),
        ("GLU 6.1", 6.1, "mmol/L"),
        ("GLU 45 mg/dl", 45.0, "mg/dL"),
        ("glucose 98", 98.0, "mg/dL"),
    ],
)
def test_glucose_by_text(body: str, value: float, unit: str) -> None:
    command = parse(body)

    assert (command.kind, command.glucose, command.unit) == ("reading", value, unit)


@pytest.mark.parametrize(
    "body",
    [
        "I have chest pain",
        "CHEST PAIN since morning",
        "I can't breathe",
        "my mom fainted",
        "he is unconscious",
        "I feel confused",
        "tengo dolor de pecho",
        "no puedo respirar",
        "estoy con dor no peito",
        "não consigo respirar",
        "eu desmaiei",
        "我胸痛",
        "呼吸困难",
        "她晕倒了",
        "STOP chest pain",
    ],
)
def test_red_flags_win_over_everything(body: str) -> None:
    assert parse(body).kind == "red_flag"
