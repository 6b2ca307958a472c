"""What every view shares: authentication, body parsing, error mapping.

``@endpoint(bp, "/path", methods=[...], summary=..., request=..., response=...)``
registers a view that receives a :class:`Call` (the verified principal, the
parsed body and query) and returns a pydantic model, a plain value or a
:class:`chalice.Response`.  Errors raised anywhere below become problem+json
here, inside the view, because Chalice turns any other exception into a 500
before middleware sees it.

The same call is the route's contract: it appends an :class:`Operation`
(summary, request and response models, query parameters, paging, statuses) to
:data:`OPERATIONS`, from which ``chalicelib.openapi`` builds the OpenAPI
document.  A route is declared once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib import bootstrap
from chalicelib.api import problems
from chalicelib.domain.errors import (
    AuthenticationError,
    CarewireError,
    FieldError,
    InvalidInputError,
    MalformedRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from chalicelib.domain.identity import Principal, Role
from chalicelib.observability import log_unexpected

MAX_BODY_BYTES = 256 * 1024
DEFAULT_PAGE = 50
MAX_PAGE = 500
JSON_TYPES = ("application/json", "application/problem+json", "application/fhir+json")
# Chalice answers 415 itself for a content type a route does not list; listing
# the common ones lets us answer with problem+json instead (middleware
# rewrites the rest).
ACCEPTED_CONTENT_TYPES = [
    *JSON_TYPES,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Call:
    principal: Principal | None
    request_id: str
    query: dict[str, str]
    raw_body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    _json: Any = field(default=None)
    _parsed: bool = False

    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header: what makes a create with a server-chosen id safe to repeat."""
        from chalicelib.domain.idempotency import KEY_PATTERN

        raw = self.headers.get("idempotency-key")
        if raw is None:
            return None
        if not KEY_PATTERN.match(raw):
            raise MalformedRequestError(
                "Idempotency-Key must be 1 to 128 visible ASCII characters.",
                [FieldError("Idempotency-Key", "1 to 128 visible ASCII characters")],
            )
        return raw

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # only public routes lack one; they never ask
            raise AuthenticationError("Authentication required.")
        return self.principal

    def json(self) -> Any:
        if not self._parsed:
            if not self.raw_body.strip():
                raise MalformedRequestError("A JSON body is required.", [FieldError("body", "missing")])
            try:
                self._json = json.loads(self.raw_body)
            except (ValueError, RecursionError) as error:
                raise MalformedRequestError(
                    "The body is not valid JSON.", [FieldError("body", "invalid JSON")]
                ) from error
            self._parsed = True
        return self._json

    def body(self, model: type[ModelT]) -> ModelT:
        data = self.json()
        if not isinstance(data, dict):
            raise InvalidInputError("The body must be a JSON object.", [FieldError("body", "must be an object")])
        return model.model_validate(data)

    def limit(self) -> int:
        raw = self.query.get("limit")
        if raw is None:
            return DEFAULT_PAGE
        # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_PAGE:
            raise MalformedRequestError(
                "limit must be a whole number from 1 to 500.", [FieldError("limit", "must be 1 to 500")]
            )
        return int(raw)

    def cursor(self) -> str | None:
        return self.query.get("cursor") or None

    def query_id(self, name: str) -> str | None:
        """An id filter (``?patient_id=``, ``?actor=``): the id pattern, or 400 naming it (F13)."""
        from chalicelib.domain.patients import ID_PATTERN

        raw = self.query.get(name)
        if raw is None:
            return None
        if not re.fullmatch(ID_PATTERN, raw):
            raise MalformedRequestError(
                f"{name} must be an id: 1 to 64 letters, digits, '_' or '-'.",
                [FieldError(name, "1 to 64 of A-Z a-z 0-9 _ -")],
            )
        return raw


def id_param(name: str, description: str) -> Param:
    """An id filter as :meth:`Call.query_id` reads it."""
    from chalicelib.domain.patients import ID_PATTERN

    return Param(name, {"type": "string", "pattern": ID_PATTERN}, description)


def time_param(name: str, description: str) -> Param:
    return Param(name, {"type": "string", "format": "date-time"}, description + " (RFC 3339 with an offset)")


def request_id_of(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or uuid.uuid4())


MAX_AUDIT_HEADER = 256


def _authenticate(request: Any, request_id: str) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("A bearer token is required.")
    container = bootstrap.container()
    principal: Principal = container.token_verifier.verify(token.strip(), request_id)
    container.session_check.check(token.strip(), principal)  # a disabled or signed-out staff user: 401 (F15)
    # Who else the audit trail should name (F5): where the request came from and with what.
    context = getattr(request, "context", None) or {}
    identity = context.get("identity") if isinstance(context, dict) else None
    source_ip = (identity or {}).get("sourceIp") if isinstance(identity, dict) else None
    agent = request.headers.get("user-agent")
    return dataclasses.replace(
        principal,
        source_ip=_printable(source_ip, 64),
        user_agent=_printable(agent, MAX_AUDIT_HEADER),
    )


def _printable(value: Any, limit: int) -> str:
    """A header or context value fit for the audit trail: a string, printable ASCII, at most ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    return "".join(c if " " <= c <= "~" else "?" for c in value[:limit])


def _read_body(request: Any, method: str) -> bytes:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("The body is larger than 256 KiB.")
    if method in ("POST", "PUT", "PATCH") and raw.strip():
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            raise UnsupportedMediaTypeError("Send the body as application/json.")
    return bytes(raw)


def to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    body = result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result, default=_json_default)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


@dataclass(frozen=True)
class Param:
    """A query parameter as the view reads it: its JSON Schema says every value the view accepts."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One route's contract, as ``@endpoint`` declared it (``chalicelib.openapi`` turns it into OpenAPI)."""

    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    request: Any = None  # a pydantic model (or type) read from the JSON body
    response: Any = None  # a pydantic model (or type) of the success body; None: no schema
    status: int = 200
    replay: bool = False  # a repeated create answers 200 with the same body
    paged: bool = False  # ?limit=&cursor=, answered {"items": [response...], "next_cursor"}
    listed: bool = False  # answered as a JSON array of response
    query: tuple[Param, ...] = ()
    media_type: str = "application/json"
    keyed: bool = False  # accepts an Idempotency-Key header
    public: bool = False
    conflicts: bool = False  # may answer 409 (state, a concurrent change, or an idempotency clash)
    invalid: bool = False  # may answer 422 without a body (a query the service judges)
    body_optional: bool = False  # the body may be left out (its fields all have defaults)
    path_params: tuple[tuple[str, dict[str, Any]], ...] = ()  # a path id's schema, when not an ID


OPERATIONS: list[Operation] = []


def endpoint(
    bp: Blueprint,
    path: str,
    methods: list[str],
    status: int = 200,
    public: bool = False,
    roles: tuple[Role, ...] = (),
    *,
    summary: str = "",
    request: Any = None,
    response: Any = None,
    replay: bool = False,
    paged: bool = False,
    listed: bool = False,
    query: tuple[Param, ...] = (),
    media_type: str = "application/json",
    keyed: bool = False,
    conflicts: bool = False,
    invalid: bool = False,
    body_optional: bool = False,
    path_params: dict[str, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view`` and its contract; ``roles`` rejects other roles (403) before the body is read.

    ``summary``, ``request``, ``response`` and the flags describe the route in the OpenAPI document:
    ``paged`` adds ``limit`` and ``cursor`` and wraps ``response`` in a page, ``listed`` in an array;
    ``replay`` documents the 200 of a repeated create, ``keyed`` the ``Idempotency-Key`` header.
    Path ids are ``ID_PATTERN`` unless ``path_params`` says otherwise.
    """

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        for method in methods:
            OPERATIONS.append(
                Operation(
                    method=method,
                    path=path,
                    operation_id=view.__name__,
                    tag=view.__module__.rsplit(".", 1)[-1],
                    summary=summary,
                    request=request,
                    response=response,
                    status=status,
                    replay=replay,
                    paged=paged,
                    listed=listed,
                    query=query,
                    media_type=media_type,
                    keyed=keyed,
                    public=public,
                    conflicts=conflicts,
                    invalid=invalid,
                    body_optional=body_optional,
                    path_params=tuple((path_params or {}).items()),
                )
            )

        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            request = bp.current_request
            request_id = request_id_of(request)
            try:
                raw = _read_body(request, request.method)
                principal = None if public else _authenticate(request, request_id)
                if principal is not None and roles:
                    principal.require(*roles)
                headers = {str(k).lower(): str(v) for k, v in (request.headers or {}).items()}
                call = Call(principal, request_id, dict(request.query_params or {}), raw, headers)
                return to_response(view(call, **path_params), status)
            except CarewireError as error:
                return problems.from_error(error)
            except ValidationError as error:
                return problems.from_validation(error)
            except Exception as error:  # noqa: BLE001 - the last line of defence for a 500
                log_unexpected(error, path)
                return problems.problem(500, "internal", "Internal error", "An internal error occurred.")

        bp.route(path, methods=methods, content_types=ACCEPTED_CONTENT_TYPES)(handle)
        return view

    return register
