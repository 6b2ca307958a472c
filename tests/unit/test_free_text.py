"""Free text at the boundary (security review F18): control characters and bidi overrides go; CSV is later."""

from __future__ import annotations

import pytest

from chalicelib.domain.text import clean_text, for_csv


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Line one\nline two\tend", "Line one\nline two\tend"),
        ("a\x00b\x1bc\x7fd", "abcd"),
        ("crlf\r\n", "crlf\n"),
        ("c1\x85\x9f", "c1"),
        ("\u202aL\u202bR\u202cP\u202dO\u202eX", "LRPOX"),
        ("\u2066i\u2067s\u2068o\u2069", "iso"),
        ("Olá, 血糖 \u200d👍", "Olá, 血糖 \u200d👍"),  # letters, CJK and joiners are text, not controls
    ],
)
def test_f18_free_text_loses_control_characters_and_bidi_overrides_only(typed: str, kept: str) -> None:
    assert clean_text(typed) == kept


@pytest.mark.parametrize(("cell", "written"), [("=1+1", "'=1+1"), ("+x", "'+x"), ("@A1", "'@A1"), ("ok", "ok")])
def test_f18_a_future_csv_export_neutralises_formula_prefixes(cell: str, written: str) -> None:
    assert for_csv(cell) == written
