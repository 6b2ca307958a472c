"""The console's words go through gettext (Babel), so a catalogue can translate every page.

A template's visible text is either inside ``{% trans %}`` / ``_()`` or not
words at all (numbers, units, punctuation, the product's name); Babel's
extraction finds the strings, and a catalogue compiled from them is used.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

CONSOLE = Path(__file__).resolve().parents[2] / "chalicelib" / "console"
TEMPLATES = CONSOLE / "templates"
# Text that is not language: the product's name, units, codes.
NOT_WORDS = {"Carewire", "mg", "dL", "mmHg", "CSV", "FHIR", "MRN", "LO", "HI", "x", "min", "h", "d"}
JINJA = re.compile(r"{%-?\s*trans\b.*?endtrans\s*-?%}|{{.*?}}|{%.*?%}|{#.*?#}", re.S)
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.S | re.I)
WORD = re.compile("[A-Za-z][A-Za-z'\u2019-]*")  # a word, apostrophes (straight or curly) inside


def visible_words(source: str) -> list[str]:
    text = TAG.sub(" ", JINJA.sub(" ", source))
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return [w for w in WORD.findall(text) if w not in NOT_WORDS]


def test_no_template_shows_words_outside_gettext() -> None:
    found = {p.name: visible_words(p.read_text(encoding="utf-8")) for p in sorted(TEMPLATES.glob("*.html"))}
    assert {name: words for name, words in found.items() if words} == {}


def test_the_check_sees_a_bare_word() -> None:
    assert visible_words("<p>Acknowledge</p>") == ["Acknowledge"]
    assert visible_words("<p>{{ _('Acknowledge') }} {% trans %}Send{% endtrans %} 42 mg/dL</p>") == []


def test_babel_extracts_the_console_strings() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    messages = {m[2] for m in extract_from_dir(str(CONSOLE), method_map, options_map=options)}
    for expected in ("Worklist", "Sign out", "Skip to content"):
        assert expected in messages
