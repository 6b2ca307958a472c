"""The clinic's own settings that safety depends on: the on-call list.

Critical pages go to the on-call list in place of a care-team member who has
no real-time channel (or of an empty care team), and every escalation from
level 2 adds it (docs/clinical.md "Safety net" rules 5 and 6).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from chalicelib.domain.patients import Identifier, Strict
from chalicelib.domain.timeutil import UtcTime


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a clinician")
    return values


class OnCallIn(Strict):
    """``PUT /clinic/on-call``: the clinicians on call, in the order they are paged."""

    clinician_ids: Annotated[
        list[Identifier], Field(max_length=20, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique)
    ]


class OnCall(BaseModel):
    clinician_ids: list[str]
    updated_at: UtcTime | None = None
    updated_by: str | None = None
