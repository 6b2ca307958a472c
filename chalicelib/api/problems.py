"""The one table from errors to RFC 9457 problem+json responses.

Domain errors, pydantic validation errors and Chalice's own routing errors all
leave the API through :func:`problem`; nothing else builds an error body, so
every 4xx has the same shape and none carries a stack trace or submitted
values (which may be PHI).
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from pydantic import BaseModel

from chalicelib.domain import errors as e

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://carewire.dev/problems/"

STATUS: list[tuple[type[e.CarewireError], int, str]] = [
    (e.MalformedRequestError, 400, "malformed-request"),
    (e.RecordTooLargeError, 400, "record-too-large"),
    (e.AuthenticationError, 401, "unauthenticated"),
    (e.ForbiddenError, 403, "forbidden"),
    (e.NotFoundError, 404, "not-found"),
    (e.ConflictError, 409, "conflict"),
    (e.PayloadTooLargeError, 413, "payload-too-large"),
    (e.UnsupportedMediaTypeError, 415, "unsupported-media-type"),
    (e.InvalidInputError, 422, "invalid-content"),
    (e.ThrottledError, 503, "throttled"),
]


class ProblemField(BaseModel):
    """One invalid field: where (``readings[3].systolic``) and what is wrong, never the value sent."""

    field: str
    message: str


class Problem(BaseModel):
    """Every error body (RFC 9457); ``errors`` is present when fields are named."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = []


def problem_body(
    status: int, slug: str, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def describe(error: Exception, prefix: str = "") -> dict[str, Any]:
    """The problem body for a domain or validation error (batch items embed these)."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        fields = validation_fields(error, prefix)
        return problem_body(
            422, "invalid-content", "Invalid request content", "The reading has invalid fields.", fields
        )
    if isinstance(error, e.CarewireError):
        for cls, status, slug in STATUS:
            if isinstance(error, cls):
                fields = [{"field": f.field, "message": f.message} for f in error.errors]
                return problem_body(status, slug, error.title, error.detail, fields)
    return problem_body(500, "internal", "Internal error", "An internal error occurred.")


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(status, slug, title, detail, errors)
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": PROBLEM_JSON, **(headers or {})},
    )


def from_error(error: e.CarewireError) -> Response:
    for cls, status, slug in STATUS:
        if isinstance(error, cls):
            headers = {}
            if isinstance(error, e.ThrottledError):
                headers["Retry-After"] = str(error.retry_after_seconds)
            if status == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="carewire"'
            fields = [{"field": f.field, "message": f.message} for f in error.errors]
            return problem(status, slug, error.title, error.detail, fields, headers)
    return problem(400, "bad-request", error.title, error.detail)


def _location(loc: tuple[Any, ...], prefix: str, tagged: bool = True) -> str:
    # pydantic puts the discriminator tag and union member names in the path;
    # clients want the field as they sent it (readings[3].systolic).
    parts: list[str] = [prefix] if prefix else []
    for piece in loc:
        if isinstance(piece, int):
            parts[-1:] = [f"{parts[-1]}[{piece}]"] if parts else [f"[{piece}]"]
        elif (tagged and piece in {"blood_glucose", "blood_pressure"}) or str(piece).startswith(
            ("function-", "constrained-")
        ):
            continue
        else:
            parts.append(str(piece))
    return ".".join(parts) or "body"


def from_validation(error: Any, prefix: str = "") -> Response:
    """A pydantic ``ValidationError`` as a 422 naming each field (never echoing values)."""
    fields = validation_fields(error, prefix)
    return problem(422, "invalid-content", "Invalid request content", "The request body has invalid fields.", fields)


def validation_fields(error: Any, prefix: str = "") -> list[dict[str, str]]:
    fields = []
    # Only a reading's tagged union puts its tag in the path; elsewhere blood_pressure is a field (targets).
    tagged = str(getattr(error, "title", "")).startswith("tagged-union")
    for item in error.errors(include_url=False, include_input=False):
        loc = tuple(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "type")  # the discriminator itself is what is wrong
        fields.append({"field": _location(loc, prefix, tagged), "message": _message(item)})
    return fields


def _message(item: dict[str, Any]) -> str:
    message = str(item.get("msg", "invalid"))
    # "Value error, must be ..." -> "must be ..."
    return message.removeprefix("Value error, ")


def from_chalice_error(response: Response) -> Response:
    """Rewrite Chalice's own error bodies (405, 415, 404 routing) as problem+json."""
    body = response.body if isinstance(response.body, dict) else {}
    status = response.status_code
    slugs = {404: "not-found", 405: "method-not-allowed", 415: "unsupported-media-type", 400: "bad-request"}
    title = {404: "Not found", 405: "Method not allowed", 415: "Unsupported media type"}.get(status, "Request failed")
    detail = str(body.get("Message", title)) if status != 500 else "An internal error occurred."
    if status >= 500:
        return problem(500, "internal", "Internal error", "An internal error occurred.")
    headers = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
    return problem(status, slugs.get(status, "bad-request"), title, detail, headers=headers)
