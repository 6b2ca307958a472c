"""Free text people type (notes, messages, alert notes): what is kept of it at the boundary.

Control characters (C0 and C1, except newline and tab) and the bidirectional
overrides and isolates (U+202A-U+202E, U+2066-U+2069) are removed before the
text is validated or stored: a NUL, a carriage return or a right-to-left
override cannot disguise a note in a console or a log (security review F18).
Spreadsheet formula prefixes (``=``, ``+``, ``-``, ``@``) are *not* touched
here: they are harmless in JSON and belong to whatever writes a CSV, at export
time (:func:`for_csv`); no CSV export exists yet.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: str) -> str:
    """``value`` without control characters (but newline and tab) or bidi overrides and isolates."""
    return _UNSAFE.sub("", value)


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def for_csv(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP "CSV injection"): for a future export."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


# Cleaned before length and other constraints are checked: a note of control characters only is empty.
FreeText = Annotated[str, BeforeValidator(_clean)]
# For the OpenAPI document: a required text keeps at least one character once cleaned.
KEPT_CHARACTER = r"[^\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
