"""The patient page's pure helpers: the window parameter, display rounding and signs, CSV cells a spreadsheet runs."""

from __future__ import annotations

import csv
import io

import pytest

from chalicelib.console.pages.patient import (
    FORMULA_START,
    LogbookRow,
    change,
    number,
    percent,
    readings_csv,
    safe_cell,
    window_days,
)
from chalicelib.domain.errors import MalformedRequestError


@pytest.mark.parametrize(("sent", "days"), [({}, 14), ({"days": ""}, 14), ({"days": "7"}, 7), ({"days": "90"}, 90)])
def test_the_window_is_one_of_the_trends_windows_14_by_default(sent: dict[str, str], days: int) -> None:
    assert window_days(sent) == days


@pytest.mark.parametrize("sent", ["15", "0", "-14", "14.0", " 14", "١٤", "all"])
def test_any_other_window_is_a_400_naming_days(sent: str) -> None:
    with pytest.raises(MalformedRequestError) as raised:
        window_days({"days": sent})
    assert [e.field for e in raised.value.errors] == ["days"]


def test_changes_carry_a_sign_and_nothing_to_compare_is_a_dash() -> None:
    assert change(13.57, 0) == "+14"
    assert change(-62.5, 1, " pts") == "\u221262.5 pts"  # a minus sign, not a hyphen
    assert change(0.04) == "±0.0" and change(-0.04) == "±0.0"  # rounds to nothing: no sign
    assert change(None) == "—"
    assert number(None) == "—" and number(143.571, 0) == "144" and number(-0.2, 0) == "0"
    assert percent(37.5) == "37.5 %" and percent(None) == "—"


@pytest.mark.parametrize("lead", FORMULA_START)
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote(lead: str) -> None:
    assert safe_cell(f"{lead}HYPERLINK(1)") == f"'{lead}HYPERLINK(1)"


def test_ordinary_cells_are_left_as_they_are() -> None:
    assert safe_cell("device (=1+2)") == "device (=1+2)"  # not at the start: text already
    assert safe_cell(112) == "112" and safe_cell(6.5) == "6.5" and safe_cell(None) == ""
    assert safe_cell("café") == "café"


def test_the_csv_is_rfc_4180_with_a_bom_and_every_cell_safe() -> None:
    row = LogbookRow(
        reading_id="r-1",
        at_utc="2026-12-03T10:00:00.000Z",
        at_local="2026-12-03 07:00 -03",
        type="blood_glucose",
        value="112",
        unit="mg/dL",
        context="fasting",
        source="device (meter-1)",
        severity="normal",
        category="in_target",
        flags="",
        symptoms='=cmd|"/c calc"!A1, dizzy',
    )
    text = readings_csv([row])
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1][10] == "'" + row.symptoms
    assert len(rows) == 2 and len(rows[0]) == len(rows[1])
