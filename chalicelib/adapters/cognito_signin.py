"""The console's side of Cognito: signing staff in (SRP, MFA), renewing a session's tokens, signing out.

The console is a backend-for-frontend: it talks to the user pool on the
server, with the pool's public app client (no client secret), and the browser
never sees a token.  Signing in is ``InitiateAuth`` with ``USER_SRP_AUTH``,
then the ``PASSWORD_VERIFIER`` answer computed here from the password
(``adapters/srp.py``; the password goes no further than this module), then
whichever challenge Cognito asks for (``services/staff_sign_in.py`` says why
this flow and not managed login).  Cognito's error codes become the flow's
few outcomes here, so the service and the views never read an AWS error code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from chalicelib.adapters import srp
from chalicelib.domain.errors import ThrottledError
from chalicelib.services.console_sessions import Session, Tokens
from chalicelib.services.staff_sign_in import (
    Challenge,
    CodeRejected,
    PasswordRejected,
    SignInExpired,
    SignInRefused,
    TotpSetup,
)

# Cognito's answers that mean "this refresh token no longer works" (expired, revoked, user disabled).
REFUSED = frozenset({"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"})
# ... and that the password step is refused, whatever the reason: one answer, no user enumeration.
PASSWORD_REFUSED = REFUSED | {"PasswordResetRequiredException"}
# A later step whose Cognito session is gone (expired, used up, the user disabled meanwhile): start again.
STEP_EXPIRED = REFUSED | {"ResourceNotFoundException", "ExpiredCodeException", "TooManyFailedAttemptsException"}
WRONG_CODE = frozenset({"CodeMismatchException", "EnableSoftwareTokenMFAException"})
BUSY = frozenset({"TooManyRequestsException", "LimitExceededException"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _client_id(access_token: str) -> str | None:
    import jwt

    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    client_id = claims.get("client_id")
    return client_id if isinstance(client_id, str) else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CognitoSignIn:
    """One user pool's sign-in (``pool_id``, its public ``client_id``), token renewal and sign-out."""

    def __init__(
        self, cognito: Any, pool_id: str = "", client_id: str = "", clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._cognito = cognito
        self._pool_id = pool_id
        self._client_id = client_id
        self._clock = clock  # the SRP claim's timestamp: Cognito refuses one far from its own time

    # -- signing in ------------------------------------------------------------------------------------

    def begin(self, username: str, password: str) -> Tokens | Challenge:
        """The password, proven by SRP: tokens, or the challenge Cognito asks next."""
        secret = srp.ephemeral()
        try:
            started = self._cognito.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_SRP_AUTH",
                AuthParameters={"USERNAME": username, "SRP_A": secret.srp_a},
            )
            params = started.get("ChallengeParameters") or {}
            if started.get("ChallengeName") != "PASSWORD_VERIFIER":
                raise SignInRefused("Cognito did not ask for the password")
            user_id = params["USER_ID_FOR_SRP"]
            claim = srp.password_claim(
                pool_id=self._pool_id,
                user_id=user_id,
                password=password,
                salt_hex=params["SALT"],
                b_hex=params["SRP_B"],
                secret_block=params["SECRET_BLOCK"],
                secret=secret,
                when=self._clock(),
            )
            answer = self._cognito.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName="PASSWORD_VERIFIER",
                Session=started.get("Session") or "",
                ChallengeResponses={
                    "USERNAME": params.get("USERNAME", user_id),
                    "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                    **claim,
                },
            )
        except ClientError as error:
            code = _code(error)
            if code in BUSY:
                raise ThrottledError("Sign-in is busy: try again in a minute.", 60) from None
            if code in PASSWORD_REFUSED:
                raise SignInRefused("refused") from None  # not `from error`: its message may name the user
            raise
        except (KeyError, ValueError) as error:  # a challenge without SRP's parameters, or srp's safety checks
            raise SignInRefused("unusable SRP challenge") from error
        return self._outcome(answer, params.get("USERNAME", user_id))

    def answer_code(self, challenge: Challenge, code: str) -> Tokens | Challenge:
        return self._respond(challenge, {"USERNAME": challenge.username, "SOFTWARE_TOKEN_MFA_CODE": code})

    def answer_new_password(self, challenge: Challenge, password: str) -> Tokens | Challenge:
        return self._respond(challenge, {"USERNAME": challenge.username, "NEW_PASSWORD": password})

    def associate_totp(self, challenge: Challenge) -> TotpSetup:
        """A TOTP secret for the user's first device (``MFA_SETUP``), and the session to verify it with."""
        try:
            answer = self._cognito.associate_software_token(Session=challenge.session)
        except ClientError as error:
            raise self._step_error(error) from None
        return TotpSetup(answer["SecretCode"], answer.get("Session") or challenge.session)

    def verify_totp(self, challenge: Challenge, code: str) -> Tokens | Challenge:
        """A code from the new device proves it holds the secret; then ``MFA_SETUP`` is answered."""
        try:
            verified = self._cognito.verify_software_token(
                Session=challenge.session, UserCode=code, FriendlyDeviceName="Carewire console"
            )
        except ClientError as error:
            raise self._step_error(error) from None
        if verified.get("Status") != "SUCCESS":
            raise CodeRejected("not verified")
        session = verified.get("Session") or challenge.session
        return self._respond(Challenge(challenge.name, session, challenge.username), {"USERNAME": challenge.username})

    def _respond(self, challenge: Challenge, responses: dict[str, str]) -> Tokens | Challenge:
        try:
            answer = self._cognito.respond_to_auth_challenge(
                ClientId=self._client_id,
                ChallengeName=challenge.name,
                Session=challenge.session,
                ChallengeResponses=responses,
            )
        except ClientError as error:
            raise self._step_error(error) from None
        return self._outcome(answer, challenge.username)

    @staticmethod
    def _step_error(error: ClientError) -> Exception:
        code = _code(error)
        if code in WRONG_CODE:
            return CodeRejected("code mismatch")
        if code == "InvalidPasswordException":
            return PasswordRejected("password policy")
        if code in STEP_EXPIRED:
            return SignInExpired("Cognito's session ended")
        if code in BUSY:
            return ThrottledError("Sign-in is busy: try again in a minute.", 60)
        return cast(Exception, error)  # anything else is unexpected: the HTML 500, logged by type

    @staticmethod
    def _outcome(answer: dict[str, Any], username: str) -> Tokens | Challenge:
        result = answer.get("AuthenticationResult") or {}
        if "AccessToken" in result:
            return Tokens(result["AccessToken"], result.get("RefreshToken"))
        params = answer.get("ChallengeParameters") or {}
        name = str(answer.get("ChallengeName") or "")
        if not name or not answer.get("Session"):
            raise SignInRefused("neither tokens nor a challenge")
        # Cognito names the user to answer with (after an email alias, its own username).
        return Challenge(name, str(answer["Session"]), str(params.get("USERNAME") or username))

    # -- a signed-in session ------------------------------------------------------------------------------

    def refresh(self, session: Session) -> Tokens | None:
        """New tokens from the session's refresh token, with the app client that issued them; None if refused."""
        client_id = _client_id(session.tokens.access)
        if not session.tokens.refresh or client_id is None:
            return None
        try:
            answer = self._cognito.initiate_auth(
                ClientId=client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": session.tokens.refresh},
            )
        except ClientError as error:
            if _code(error) in REFUSED:
                return None
            raise
        result = answer.get("AuthenticationResult") or {}
        if "AccessToken" not in result:
            return None
        return Tokens(result["AccessToken"], result.get("RefreshToken"))

    def sign_out(self, session: Session) -> None:
        """End the user's Cognito session too (revokes its refresh tokens); already ended is fine."""
        self.revoke(session.tokens.access)

    def revoke(self, access_token: str) -> None:
        """GlobalSignOut: every refresh token of the user stops working, and their access tokens with GetUser."""
        try:
            self._cognito.global_sign_out(AccessToken=access_token)
        except ClientError as error:
            if _code(error) not in REFUSED:
                raise
