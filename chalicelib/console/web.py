"""The console's HTTP edge: session cookie, CSRF and Origin checks, security headers, HTML rendering.

``@page(bp, "/console/...", methods=[...])`` registers a view that receives a
:class:`Visit` (the signed-in principal, query, form fields, CSRF token) and
returns a :class:`chalice.Response` built by :func:`render` or
:func:`redirect`.  Everything between the browser and the services is here;
the views call the same services as the API (``bootstrap.container()``), so
access rules and the audit trail are the API's.

- **Sessions**: the browser holds only ``__Host-carewire`` (opaque, ``Secure;
  HttpOnly; SameSite=Lax; Path=/``); the tokens stay in DynamoDB, sealed
  (``chalicelib/services/console_sessions.py``).  Each request verifies the
  session's access token exactly as the API verifies a bearer token (signature,
  expiry, Cognito's own revocation for staff); an expired one is refreshed with
  the refresh token once, else the session ends.
- **State changes** are POSTs carrying the session's CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``) from the console's own origin
  (``Origin``, or ``Referer`` when a browser sends no Origin); either missing or
  wrong is a 403 before the view runs.
- **Headers**: console.md's Content-Security-Policy (no inline script or style),
  ``nosniff``, ``Referrer-Policy: same-origin`` and ``Cache-Control: no-store``
  on every page.
"""

from __future__ import annotations

import dataclasses
import functools
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import problems
from chalicelib.console import assets
from chalicelib.domain.errors import (
    AuthenticationError,
    CarewireError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
)
from chalicelib.domain.identity import Principal, Role
from chalicelib.observability import log_unexpected
from chalicelib.services.console_sessions import Session, Tokens

bp = Blueprint(__name__)

COOKIE = "__Host-carewire"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_BYTES = 64 * 1024
SIGN_IN = "/console/sign-in"


@dataclass
class Visit:
    """One request to the console, as a view sees it."""

    principal: Principal | None
    session: Session | None
    path: str
    query: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    request_id: str = ""
    set_cookie: str | None = None  # a Set-Cookie value to send with the answer

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # public views never ask
            raise AuthenticationError("Sign in first.")
        return self.principal

    @property
    def htmx(self) -> bool:
        """An htmx request wants the fragment it targets, not the whole page."""
        return self.headers.get("hx-request") == "true"

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


# -- rendering ---------------------------------------------------------------------------------


@functools.cache
def environment() -> Any:
    """The Jinja2 environment, built on first use (jinja2 and Babel stay out of the API's cold start)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from chalicelib.console import i18n

    env = Environment(
        loader=FileSystemLoader(str(assets.STATIC_DIR.parent / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(), newstyle=True)  # type: ignore[attr-defined]
    env.globals["static"] = assets.url
    return env


def render(visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    html = (
        environment()
        .get_template(template)
        .render(principal=visit.principal, csrf_token=visit.csrf_token, path=visit.path, query=visit.query, **context)
    )
    return _answer(visit, Response(html, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"}))


def redirect(visit: Visit, location: str) -> Response:
    """303 See Other: after a POST, the browser GETs ``location``.

    An htmx request gets 200 with ``HX-Redirect`` instead: the browser would follow a 303 inside the
    request and htmx would swap the next page (the sign-in form, say) into the section it targets.
    """
    if visit.htmx:
        return _answer(visit, Response("", status_code=200, headers={"HX-Redirect": location}))
    return _answer(visit, Response("", status_code=303, headers={"Location": location}))


def file_response(visit: Visit, body: str, content_type: str, filename: str | None = None) -> Response:
    """A non-HTML answer (chart, CSV, export) with the console's headers (``no-store``: it holds patient data)."""
    headers = {"Content-Type": content_type}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _answer(visit, Response(body=body, status_code=200, headers=headers))


def _answer(visit: Visit, response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if visit.set_cookie is not None:
        response.headers["Set-Cookie"] = visit.set_cookie
    return response


def session_cookie(value: str) -> str:
    return f"{COOKIE}={value}; Secure; HttpOnly; SameSite=Lax; Path=/"


def cleared_cookie() -> str:
    return f"{COOKIE}=; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"


def staff(visit: Visit) -> Principal:
    """The care team's console: a patient's or caregiver's session is refused before any read (403, as the API)."""
    caller = visit.caller
    caller.require(Role.CLINICIAN, Role.ADMIN)
    return caller


def local_path(value: str | None, default: str) -> str:
    """``value`` if it is a console path on this origin, else ``default``: no redirect ever leaves the console.

    Refused: absolute and scheme-relative URLs, backslashes, control characters, and dot segments, also
    percent-encoded (a browser resolves ``%2e%2e`` as ``..``).
    """
    if not value or len(value) > 2048 or not value.isprintable() or "\\" in value:
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    segments = urllib.parse.unquote(parts.path).split("/")[1:]
    if segments[0] != "console" or any(s in ("", ".", "..") for s in segments[1:-1]) or segments[-1] in (".", ".."):
        return default
    return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


# -- the request -------------------------------------------------------------------------------


def read_cookie(headers: dict[str, str], name: str = COOKIE) -> str | None:
    """Cookie ``name`` from the Cookie header, read pair by pair.

    Not ``http.cookies.SimpleCookie``: it drops every cookie when any one is
    outside RFC 6265 (a space or a quote in a value, a bare name), which
    browsers send anyway, so another app's cookie on the parent domain would
    hide the session and loop the browser through sign-in.
    """
    for pair in headers.get("cookie", "").split(";"):
        key, equals, value = pair.strip().partition("=")
        if equals and key.strip() == name:
            return value.strip()
    return None


def _form(request: Any, headers: dict[str, str]) -> dict[str, str]:
    raw = request.raw_body or b""
    if len(raw) > MAX_FORM_BYTES:
        raise MalformedRequestError("The form is larger than 64 KiB.")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and content_type != "application/x-www-form-urlencoded":
        raise MalformedRequestError("Send the form as application/x-www-form-urlencoded.")
    try:
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as error:
        raise MalformedRequestError("The form is not UTF-8.") from error
    return dict(pairs)  # the last of a repeated field wins


def expected_origin(headers: dict[str, str]) -> str:
    """The console's own origin: configured when deployed (behind CloudFront), else the Host it was asked on."""
    configured = bootstrap.container().settings.console_origin
    if configured:
        return configured.rstrip("/")
    return f"http://{headers.get('host', '')}"


def same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None:  # some browsers omit Origin on same-origin form posts; Referer then tells
        referer = headers.get("referer")
        if not referer:
            return False
        parts = urllib.parse.urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == expected_origin(headers)


def _principal(visit: Visit, request: Any) -> Principal | None:
    """The session's principal, verified as the API verifies a bearer token; None ends the session."""
    container = bootstrap.container()
    session = visit.session
    assert session is not None
    try:
        principal = container.token_verifier.verify(session.tokens.access, visit.request_id)
    except AuthenticationError:
        renewed = container.console_sign_in.refresh(session) if session.tokens.refresh else None
        if renewed is None:
            container.console_sessions.end(session)
            return None
        session = container.console_sessions.renew_tokens(session, renewed)
        visit.session = session
        try:
            principal = container.token_verifier.verify(session.tokens.access, visit.request_id)
        except AuthenticationError:  # refreshed, still refused (e.g. no console role now): sign in again
            container.console_sessions.end(session)
            return None
    try:
        container.session_check.check(session.tokens.access, principal)
    except AuthenticationError:  # disabled or signed out in Cognito: the console session goes too
        container.console_sessions.end(session)
        return None
    context = getattr(request, "context", None) or {}
    identity = context.get("identity") if isinstance(context, dict) else None
    source_ip = (identity or {}).get("sourceIp") if isinstance(identity, dict) else None
    return dataclasses.replace(
        principal,
        source_ip=str(source_ip or "")[:64],
        user_agent="".join(c if " " <= c <= "~" else "?" for c in visit.headers.get("user-agent", "")[:256]),
    )


def error_page(visit: Visit, status: int, title: str, detail: str) -> Response:
    return render(visit, "error.html", status=status, title=title, detail=detail)


View = Callable[..., Response]


def page(
    blueprint: Blueprint, path: str, methods: tuple[str, ...] = ("GET",), public: bool = False
) -> Callable[[View], View]:
    """Register a console view: signed in (unless ``public``), POSTs checked for CSRF and Origin."""

    def register(view: View) -> View:
        @blueprint.route(path, methods=list(methods), content_types=[*FORM_TYPES, "application/json", "text/plain"])
        @functools.wraps(view)
        def handle(**params: str) -> Response:
            from chalicelib.api.http import request_id_of

            request = blueprint.current_request
            headers = {k.lower(): v for k, v in request.headers.items()}
            visit = Visit(
                principal=None,
                session=None,
                path=request.context.get("path") or path,
                query=dict(request.query_params or {}),
                headers=headers,
                request_id=request_id_of(request),
            )
            try:
                return _handle(view, visit, request, params, public)
            except (ForbiddenError, AuthenticationError) as error:
                return error_page(visit, 403, "Not allowed", str(error))
            except NotFoundError:
                return error_page(visit, 404, "Not found", "There is nothing here, or it is not in your panel.")
            except ConflictError as error:
                return error_page(visit, 409, "Changed meanwhile", str(error))
            except (InvalidInputError, MalformedRequestError) as error:
                status = 422 if isinstance(error, InvalidInputError) else 400
                fields = "; ".join(f"{f.field}: {f.message}" for f in error.errors)
                return error_page(visit, status, "Please check the form", f"{error} {fields}".strip())
            except CarewireError as error:
                status = next((code for cls, code, _ in problems.STATUS if isinstance(error, cls)), 400)
                return error_page(visit, status, error.title, error.detail)
            except Exception as error:  # noqa: BLE001 - an HTML 500 without details; the log has the traceback
                log_unexpected(error, "console")
                return error_page(visit, 500, "Something went wrong", f"Request {visit.request_id}.")

        return view  # Chalice keeps `handle`; the module keeps the plain view for tests and docs

    return register


def _handle(view: View, visit: Visit, request: Any, params: dict[str, str], public: bool) -> Response:
    container = bootstrap.container()
    visit.session = container.console_sessions.resume(read_cookie(visit.headers))
    if visit.session is not None:
        visit.principal = _principal(visit, request)
        if visit.principal is None:
            visit.session = None
            visit.set_cookie = cleared_cookie()
    if visit.principal is None and not public:
        if request.method == "GET":
            target = urllib.parse.quote(visit.path + _query_string(visit.query), safe="/")
            return redirect(visit, f"{SIGN_IN}?next={target}")
        raise ForbiddenError("Your session has ended: sign in again.")
    if request.method == "POST":
        if not same_origin(visit.headers):
            raise ForbiddenError("This form was not sent from the console.")
        visit.form = _form(request, visit.headers)
        offered = visit.form.get("csrf_token") or visit.headers.get("x-csrf-token")
        if visit.session is not None and not visit.session.csrf_ok(offered):
            raise ForbiddenError("The form has expired: reload the page and try again.")
    return view(visit, **params)


def _query_string(query: dict[str, str]) -> str:
    return "?" + urllib.parse.urlencode(query) if query else ""


def start_session(visit: Visit, subject: str, tokens: Tokens) -> None:
    """Sign ``subject`` in: a new server-side session whose cookie goes out with the answer."""
    cookie, session = bootstrap.container().console_sessions.start(subject, tokens)
    visit.session = session
    visit.set_cookie = session_cookie(cookie)


def end_session(visit: Visit) -> None:
    if visit.session is not None:
        bootstrap.container().console_sessions.end(visit.session)
        visit.session = None
    visit.set_cookie = cleared_cookie()


# -- static files (local stage; deployed, CloudFront serves them from S3) -----------------------


@bp.route("/console/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    path = assets.by_hashed_name().get(name)
    if path is None:
        return Response("Not found", status_code=404, headers={"Content-Type": "text/plain", **SECURITY_HEADERS})
    headers = {
        "Content-Type": assets.CONTENT_TYPES[path.suffix],
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(path.read_text(encoding="utf-8"), status_code=200, headers=headers)  # text types only
