"""Event payloads (SNS, SQS, the due-work queue) parsed without their content reaching the logs (F14).

pydantic's messages quote the input (``input_value=...``: the start and end of
an SMS body, a phone number in a malformed field), and the Lambda runtime logs
the message of an exception that escapes a handler.  So every model parsed
here sets ``hide_input_in_errors``, and a payload that does not parse is logged
by error types and locations only (:func:`chalicelib.observability.log_invalid`)
and replaced by :class:`MalformedEventError`, whose message carries nothing of it.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.observability import log_invalid

ModelT = TypeVar("ModelT", bound=BaseModel)


class MalformedEventError(Exception):
    """A payload that will never parse; the message names where, nothing of the payload."""


def parse_event(model: type[ModelT], raw: str | bytes, where: str) -> ModelT:
    try:
        return model.model_validate(json.loads(raw))
    except (ValidationError, ValueError, TypeError, RecursionError) as error:  # JSONDecodeError is a ValueError
        log_invalid(error, where)
        raise MalformedEventError(f"malformed {where} payload") from None
