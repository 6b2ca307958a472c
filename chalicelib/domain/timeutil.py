"""Time helpers: every stored and answered time is UTC RFC 3339 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field, PlainSerializer


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, e.g. ``2026-11-22T10:41:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# A timezone-aware moment that always serialises as UTC RFC 3339 with ``Z`` (the schema says so in both directions).
UtcTime = Annotated[
    AwareDatetime,
    PlainSerializer(iso, return_type=str, when_used="json"),
    Field(json_schema_extra={"format": "date-time"}),
]


def _rfc3339_string(value: Any) -> Any:
    # pydantic would read 0 or 1e10 as a Unix time; the API speaks RFC 3339 strings only.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string with a UTC offset")
    return value


# A moment a client sends: an RFC 3339 string with an offset (never a number), answered as UTC.
SentTime = Annotated[UtcTime, BeforeValidator(_rfc3339_string)]
