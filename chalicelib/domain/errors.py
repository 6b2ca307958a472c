"""The domain's error vocabulary.

Every error a client can cause is a subclass of :class:`CarewireError`; the
HTTP edge maps each class to one status in ``chalicelib/api/problems.py``.
Messages must never contain PHI: they name fields and rules, not values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class CarewireError(Exception):
    """Base of every error a request can legitimately end in."""

    title = "Request failed"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInputError(CarewireError):
    title = "Invalid request content"


class MalformedRequestError(CarewireError):
    title = "Malformed request"


class UnsupportedMediaTypeError(CarewireError):
    title = "Unsupported media type"


class PayloadTooLargeError(CarewireError):
    title = "Request body too large"


class RecordTooLargeError(CarewireError):
    """The answer asked for would not fit in one HTTP response; the same data can be asked for in pages."""

    title = "Record too large for one document"


class AuthenticationError(CarewireError):
    title = "Authentication required"


class ForbiddenError(CarewireError):
    title = "Not allowed"


class NotFoundError(CarewireError):
    title = "Not found"


class ConflictError(CarewireError):
    title = "Conflict"


class ThrottledError(CarewireError):
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
