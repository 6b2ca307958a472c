"""Time helpers: every stored and answered time is UTC RFC 3339 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, PlainSerializer


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, e.g. ``2026-11-22T10:41:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# A timezone-aware moment that always serialises as UTC RFC 3339 with ``Z``.
UtcTime = Annotated[AwareDatetime, PlainSerializer(iso, return_type=str, when_used="json")]
