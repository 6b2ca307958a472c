"""Console pages: signing in through the staff user pool (password, TOTP code, first TOTP setup, new password) and out.

The flow itself (and why a server-side form over Cognito's SRP rather than
managed login + PKCE) is ``services/staff_sign_in.py``; this module is its
HTTP edge.

- **CSRF before a session exists**: a signed-out browser has no session CSRF
  token, so the sign-in forms use a double-submit *pre-session* token: 32
  random bytes in ``__Host-carewire-pre`` (``Secure; HttpOnly;
  SameSite=Strict; Path=/``, ten minutes) that each form echoes as
  ``csrf_token``.  Together with the Origin check ``web.py`` makes on every
  POST, a form posted from another site (login CSRF) is a 403.  The same token
  keys (and seals) the pending sign-in between the forms, so the username and
  Cognito's session never travel in a form field.
- **Post/redirect/get**: each form posts, and answers either a 303 to the next
  step's page or the same form again with what went wrong (401 for a refused
  password or a wrong code, one generic message for every refused password).
- **Where to go afterwards**: ``next`` only ever names a console path on this
  origin; anything else (``//host``, ``https://…``, ``/console/../x``) goes to
  the worklist, so the sign-in page is no open redirect.
- **Sign-out** ends the server session and the user's Cognito session
  (GlobalSignOut: the refresh token stops working), whichever fails.
"""

from __future__ import annotations

import hmac
import re
import secrets
import urllib.parse
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib import bootstrap
from chalicelib.console import web
from chalicelib.console.web import Visit, bp, local_path, page, read_cookie, redirect, render
from chalicelib.domain.errors import ForbiddenError
from chalicelib.services.staff_sign_in import (
    CodeRejected,
    NextStep,
    NoConsoleAccess,
    Outcome,
    PasswordRejected,
    SignInExpired,
    SignInRefused,
    UnsupportedChallenge,
)

if TYPE_CHECKING:
    from chalicelib.services.staff_sign_in import StaffSignIn

SIGN_IN = web.SIGN_IN
HOME = "/console/"
PRE_COOKIE = "__Host-carewire-pre"
PRE_SECONDS = 600
PRE_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
STEP_PATHS = {"mfa": f"{SIGN_IN}/mfa", "mfa-setup": f"{SIGN_IN}/mfa-setup", "new-password": f"{SIGN_IN}/new-password"}
TEMPLATES = {"password": "password", "mfa": "mfa", "mfa-setup": "mfa_setup", "new-password": "new_password"}
ISSUER = "Carewire"


def staff_sign_in() -> StaffSignIn:
    """The sign-in flow over the stage's staff pool and its public app client (built once by the container)."""
    return bootstrap.container().staff_sign_in


# -- the pre-session token ---------------------------------------------------------------------------------


def pre_cookie(value: str) -> str:
    return f"{PRE_COOKIE}={value}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={PRE_SECONDS}"


def cleared_pre_cookie() -> str:
    return f"{PRE_COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"


def _pre_token(visit: Visit) -> str | None:
    value = read_cookie(visit.headers, PRE_COOKIE)  # pair by pair: one odd cookie must not hide this one
    return value if value and PRE_FORMAT.fullmatch(value) else None


def _checked_pre_token(visit: Visit) -> str:
    """The pre-session token, when the form echoes the cookie's; else the POST is a 403 (login CSRF)."""
    cookie, echoed = _pre_token(visit), visit.form.get("csrf_token", "")
    if cookie is None or not hmac.compare_digest(cookie.encode(), echoed.encode()):
        raise ForbiddenError("The form has expired: reload the page and try again.")
    return cookie


def _with_cookies(response: Response, *cookies: str) -> Response:
    """Add Set-Cookie values to those ``web`` already set (Chalice sends a list as one header each)."""
    sent = response.headers.get("Set-Cookie")
    values = ([sent] if isinstance(sent, str) else list(sent or [])) + list(cookies)
    response.headers["Set-Cookie"] = values[0] if len(values) == 1 else values
    return response


# -- where to go afterwards --------------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """``value`` if it is a console path on this origin and not the sign-in itself, else the worklist."""
    path = local_path(value, HOME)
    bare = path.split("?", 1)[0]
    if bare == SIGN_IN or bare.startswith(SIGN_IN + "/"):
        return HOME
    return path


# -- pages -----------------------------------------------------------------------------------------------


def _page(visit: Visit, step: str, pre_token: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("error", None)
    context.setdefault("notice", None)
    response = render(
        visit, "sign_in.html", status=status, step=TEMPLATES[step], pre_token=pre_token, action=_action(step), **context
    )
    return _with_cookies(response, pre_cookie(pre_token))


def _action(step: str) -> str:
    return STEP_PATHS.get(step, SIGN_IN)


def _proceed(visit: Visit, pre_token: str, outcome: Outcome) -> Response:
    """Signed in: a new session and off to ``next``; else a 303 to the form Cognito asks for next."""
    if isinstance(outcome, NextStep):
        return _with_cookies(redirect(visit, STEP_PATHS[outcome.pending.step]), pre_cookie(pre_token))
    web.start_session(visit, outcome.subject, outcome.tokens)
    return _with_cookies(redirect(visit, safe_next(outcome.next_path)), cleared_pre_cookie())


def _start_again(visit: Visit) -> Response:
    return redirect(visit, f"{SIGN_IN}?expired=1")


def _refusal(visit: Visit, pre_token: str, error: Exception, username: str = "", next_path: str = HOME) -> Response:
    """The password form again, saying why in as few words as the reason allows (one message for any refusal)."""
    status, reason = (
        (403, "no_access")
        if isinstance(error, NoConsoleAccess)
        else (401, "unsupported")
        if isinstance(error, UnsupportedChallenge)
        else (401, "refused")
    )
    return _page(visit, "password", pre_token, status, error=reason, username=username, next_path=next_path)


@page(bp, SIGN_IN, methods=("GET",), public=True)
def sign_in_form(visit: Visit) -> Response:
    next_path = safe_next(visit.query.get("next"))
    if visit.principal is not None:
        return redirect(visit, next_path)
    notice = "signed_out" if "signed_out" in visit.query else "expired" if "expired" in visit.query else None
    pre_token = _pre_token(visit) or secrets.token_urlsafe(32)
    return _page(visit, "password", pre_token, notice=notice, username="", next_path=next_path)


@page(bp, SIGN_IN, methods=("POST",), public=True)
def sign_in(visit: Visit) -> Response:
    pre_token = _checked_pre_token(visit)
    username = visit.form.get("username", "").strip()
    next_path = safe_next(visit.form.get("next"))
    try:
        outcome = staff_sign_in().password(pre_token, username, visit.form.get("password", ""), next_path)
    except (SignInRefused, NoConsoleAccess, UnsupportedChallenge) as error:
        return _refusal(visit, pre_token, error, username[:128], next_path)
    return _proceed(visit, pre_token, outcome)


def _step_form(visit: Visit, step: str) -> Response:
    pre_token = _pre_token(visit)
    pending = staff_sign_in().current(pre_token) if pre_token else None
    if pre_token is None or pending is None:
        return _start_again(visit)
    if pending.step != step:
        return redirect(visit, STEP_PATHS[pending.step])
    return _page(visit, step, pre_token, **_step_context(pending.challenge.username, pending.totp_secret))


def _step_context(username: str, secret: str | None) -> dict[str, Any]:
    if secret is None:
        return {}
    label = urllib.parse.quote(f"{ISSUER}:{username}")
    query = urllib.parse.urlencode({"secret": secret, "issuer": ISSUER})
    return {"secret": secret, "otpauth_uri": f"otpauth://totp/{label}?{query}"}


def _step_answer(visit: Visit, step: str, answer: Any) -> Response:
    """Post one step's form: on, the same form with what went wrong, or back to the start."""
    pre_token = _checked_pre_token(visit)
    flow = staff_sign_in()
    try:
        outcome = answer(flow, pre_token)
    except (CodeRejected, PasswordRejected) as error:
        pending = flow.current(pre_token)
        if pending is None:
            return _start_again(visit)
        reason = "wrong_code" if isinstance(error, CodeRejected) else "password_rejected"
        status = 401 if isinstance(error, CodeRejected) else 422
        context = _step_context(pending.challenge.username, pending.totp_secret)
        return _page(visit, step, pre_token, status, error=reason, **context)
    except SignInExpired:
        return _start_again(visit)
    except (SignInRefused, NoConsoleAccess, UnsupportedChallenge) as error:
        return _refusal(visit, pre_token, error)
    return _proceed(visit, pre_token, outcome)


@page(bp, f"{SIGN_IN}/mfa", methods=("GET",), public=True)
def mfa_form(visit: Visit) -> Response:
    return _step_form(visit, "mfa")


@page(bp, f"{SIGN_IN}/mfa", methods=("POST",), public=True)
def mfa(visit: Visit) -> Response:
    return _step_answer(visit, "mfa", lambda flow, pre: flow.code(pre, visit.form.get("code", "")))


@page(bp, f"{SIGN_IN}/mfa-setup", methods=("GET",), public=True)
def mfa_setup_form(visit: Visit) -> Response:
    return _step_form(visit, "mfa-setup")


@page(bp, f"{SIGN_IN}/mfa-setup", methods=("POST",), public=True)
def mfa_setup(visit: Visit) -> Response:
    return _step_answer(visit, "mfa-setup", lambda flow, pre: flow.setup(pre, visit.form.get("code", "")))


@page(bp, f"{SIGN_IN}/new-password", methods=("GET",), public=True)
def new_password_form(visit: Visit) -> Response:
    return _step_form(visit, "new-password")


@page(bp, f"{SIGN_IN}/new-password", methods=("POST",), public=True)
def new_password(visit: Visit) -> Response:
    form = visit.form
    return _step_answer(
        visit,
        "new-password",
        lambda flow, pre: flow.new_password(pre, form.get("new_password", ""), form.get("new_password_again", "")),
    )


@page(bp, "/console/sign-out", methods=("POST",), public=True)
def sign_out(visit: Visit) -> Response:
    """End the console session and the Cognito session; signing out twice (or after expiry) just signs out.

    Public so that an expired session's "Sign out" still lands on the sign-in
    page; with a live session ``web`` checks its CSRF token as for any POST.
    """
    from chalicelib.observability import count, log_unexpected

    if visit.session is not None:
        try:
            bootstrap.container().console_sign_in.sign_out(visit.session)
        except Exception as error:  # noqa: BLE001 - Cognito unreachable: the server session still ends
            log_unexpected(error, "console sign-out")
        count("ConsoleSignOuts")
    web.end_session(visit)
    return _with_cookies(redirect(visit, f"{SIGN_IN}?signed_out=1"), cleared_pre_cookie())
