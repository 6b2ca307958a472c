"""Signing staff in to the console through the staff user pool, one form at a time (backend-for-frontend).

Why a server-side form over Cognito's own ``InitiateAuth`` (``USER_SRP_AUTH``)
rather than managed login with authorization code + PKCE: both keep the tokens
on the server, but only this one runs unchanged against the local stage's
emulated pool.  moto implements ``InitiateAuth`` with SRP, the
``PASSWORD_VERIFIER``, ``SOFTWARE_TOKEN_MFA``, ``MFA_SETUP`` and
``NEW_PASSWORD_REQUIRED`` challenges and the TOTP association calls, but no
hosted UI and no ``/oauth2`` endpoints; with PKCE the local stage (and every
test) would sign in through a different code path from the deployed one.  The
cost is ours to carry: the server computes SRP from the posted password
(``adapters/srp.py``), which is never stored or logged.

A sign-in is a short conversation with Cognito: the password (SRP), then,
when Cognito asks, a TOTP code (``SOFTWARE_TOKEN_MFA``), the first-time TOTP
setup (``MFA_SETUP``: associate, show the secret, verify a code) or a new
password (``NEW_PASSWORD_REQUIRED``).  Between the forms the pending state
(Cognito's ``Session``, the username Cognito answered, the TOTP secret being
set up, where to go afterwards) stays on the server for five minutes, keyed
by the browser's pre-session token (``PendingSignIns``): the browser never
carries the username or Cognito's session in a field we would have to trust.

Failures say as little as Cognito lets us: an unknown user, a disabled one and
a wrong password are one :class:`SignInRefused`; a wrong code is
:class:`CodeRejected` (try again while Cognito's session lasts).  Each outcome
is counted; no username or password is ever logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.errors import AuthenticationError
from chalicelib.domain.identity import Principal
from chalicelib.services.console_sessions import Tokens

PENDING_LIFETIME = timedelta(minutes=5)

# Cognito's challenges this flow answers, and the form each needs.
CODE = "SOFTWARE_TOKEN_MFA"
SETUP = "MFA_SETUP"
NEW_PASSWORD = "NEW_PASSWORD_REQUIRED"
STEPS = {CODE: "mfa", SETUP: "mfa-setup", NEW_PASSWORD: "new-password"}


class SignInError(Exception):
    """A sign-in that cannot go on as asked; the view says which in the user's words."""


class SignInRefused(SignInError):
    """Wrong password, unknown, disabled or unconfirmed user: one answer, so no one learns which."""


class CodeRejected(SignInError):
    """The TOTP code did not match; the same step may be tried again."""


class PasswordRejected(SignInError):
    """The new password breaks the pool's password policy."""


class SignInExpired(SignInError):
    """No pending sign-in (never started, five minutes passed, or Cognito's session ended): start again."""


class NoConsoleAccess(SignInError):
    """Cognito signed the user in, but the token carries no role the console's verifier accepts."""


class UnsupportedChallenge(SignInError):
    """Cognito asked for a step this console does not offer (SMS MFA, a custom challenge)."""


@dataclass(frozen=True)
class Challenge:
    """What Cognito asks next: its name, its ``Session`` and the ``USERNAME`` to answer with."""

    name: str
    session: str
    username: str


@dataclass(frozen=True)
class TotpSetup:
    """A TOTP secret Cognito associated with a signing-in user, and the session to verify it with."""

    secret: str
    session: str


class CognitoFlows(Protocol):
    """The user pool's sign-in calls (``CognitoSignIn``); each answers tokens or the next challenge."""

    def begin(self, username: str, password: str) -> Tokens | Challenge: ...

    def answer_code(self, challenge: Challenge, code: str) -> Tokens | Challenge: ...

    def answer_new_password(self, challenge: Challenge, password: str) -> Tokens | Challenge: ...

    def associate_totp(self, challenge: Challenge) -> TotpSetup: ...

    def verify_totp(self, challenge: Challenge, code: str) -> Tokens | Challenge: ...

    def revoke(self, access_token: str) -> None: ...


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in between two forms; ``totp_secret`` only while the first TOTP device is being set up."""

    challenge: Challenge
    next_path: str
    started_at: datetime
    totp_secret: str | None = None

    @property
    def step(self) -> str:
        return STEPS[self.challenge.name]


class PendingSignIns(Protocol):
    """Pending sign-ins by the browser's pre-session token (``DynamoPendingSignIns``: sealed, TTL-removed)."""

    def save(self, pre_token: str, pending: PendingSignIn, expires_at: datetime) -> None: ...

    def load(self, pre_token: str) -> PendingSignIn | None: ...

    def drop(self, pre_token: str) -> None: ...


class TokenVerifier(Protocol):
    def verify(self, token: str, request_id: str = "") -> Principal: ...


@dataclass(frozen=True)
class SignedIn:
    subject: str
    tokens: Tokens
    next_path: str


@dataclass(frozen=True)
class NextStep:
    """Cognito wants another form: ``pending.step`` names it."""

    pending: PendingSignIn


Outcome = SignedIn | NextStep


class StaffSignIn:
    def __init__(
        self,
        cognito: CognitoFlows,
        pending: PendingSignIns,
        verifier: TokenVerifier,
        clock: Callable[[], datetime],
        count: Callable[[str], None] = lambda name: None,
    ) -> None:
        self._cognito = cognito
        self._pending = pending
        self._verifier = verifier
        self._clock = clock
        self._count = count

    def password(self, pre_token: str, username: str, password: str, next_path: str) -> Outcome:
        """The first form: Cognito checks the password (SRP) and answers tokens or a challenge."""
        self._pending.drop(pre_token)  # a new attempt replaces any half-finished one
        if not username or not password:
            self._count("ConsoleSignInRefused")
            raise SignInRefused("username and password are both required")
        try:
            step = self._cognito.begin(username, password)
        except SignInRefused:
            self._count("ConsoleSignInRefused")
            raise
        return self._after(pre_token, step, next_path, self._clock())

    def current(self, pre_token: str) -> PendingSignIn | None:
        """The pending sign-in behind this browser, if it is still within its five minutes."""
        pending = self._pending.load(pre_token)
        if pending is None or self._clock() >= pending.started_at + PENDING_LIFETIME:
            return None
        return pending

    def code(self, pre_token: str, code: str) -> Outcome:
        """The TOTP code for ``SOFTWARE_TOKEN_MFA``; a wrong one may be tried again."""
        pending = self._expect(pre_token, CODE)
        step = self._answer(lambda: self._cognito.answer_code(pending.challenge, _digits(code)), pre_token)
        return self._after(pre_token, step, pending.next_path, pending.started_at)

    def setup(self, pre_token: str, code: str) -> Outcome:
        """The first TOTP device: a code from it proves the secret was stored; then Cognito finishes."""
        pending = self._expect(pre_token, SETUP)
        step = self._answer(lambda: self._cognito.verify_totp(pending.challenge, _digits(code)), pre_token)
        return self._after(pre_token, step, pending.next_path, pending.started_at)

    def new_password(self, pre_token: str, password: str, again: str) -> Outcome:
        """Replace a temporary password (``NEW_PASSWORD_REQUIRED``)."""
        pending = self._expect(pre_token, NEW_PASSWORD)
        if not password or password != again:
            raise PasswordRejected("the two passwords differ")
        step = self._answer(lambda: self._cognito.answer_new_password(pending.challenge, password), pre_token)
        return self._after(pre_token, step, pending.next_path, pending.started_at)

    # -- between the steps ----------------------------------------------------------------------------

    def _expect(self, pre_token: str, challenge: str) -> PendingSignIn:
        pending = self.current(pre_token)
        if pending is None or pending.challenge.name != challenge:
            self._count("ConsoleSignInExpired")
            raise SignInExpired("no pending sign-in at this step")
        return pending

    def _answer(self, call: Callable[[], Tokens | Challenge], pre_token: str) -> Tokens | Challenge:
        try:
            return call()
        except CodeRejected:
            self._count("ConsoleSignInCodeRejected")
            raise
        except (SignInExpired, SignInRefused):
            self._pending.drop(pre_token)
            self._count("ConsoleSignInExpired")
            raise

    def _after(self, pre_token: str, step: Tokens | Challenge, next_path: str, started_at: datetime) -> Outcome:
        if isinstance(step, Tokens):
            self._pending.drop(pre_token)
            return SignedIn(self._subject(step), step, next_path)
        if step.name not in STEPS:
            self._pending.drop(pre_token)
            self._count("ConsoleSignInUnsupported")
            raise UnsupportedChallenge(step.name)
        pending = PendingSignIn(step, next_path, started_at)
        if step.name == SETUP:
            setup = self._cognito.associate_totp(step)
            pending = replace(pending, challenge=replace(step, session=setup.session), totp_secret=setup.secret)
        self._pending.save(pre_token, pending, started_at + PENDING_LIFETIME)
        return NextStep(pending)

    def _subject(self, tokens: Tokens) -> str:
        """The token's subject exactly as the API reads it; a token the console cannot use is revoked."""
        try:
            principal = self._verifier.verify(tokens.access)
        except AuthenticationError as error:
            self._cognito.revoke(tokens.access)
            self._count("ConsoleSignInNoAccess")
            raise NoConsoleAccess("the token carries no console role") from error
        self._count("ConsoleSignIns")
        return principal.subject


def _digits(code: str) -> str:
    """A TOTP code as typed ("123 456" is fine); anything but six digits is a wrong code, not a request to Cognito."""
    cleaned = "".join(code.split())
    if len(cleaned) != 6 or not cleaned.isascii() or not cleaned.isdigit():
        raise CodeRejected("a code is six digits")
    return cleaned
