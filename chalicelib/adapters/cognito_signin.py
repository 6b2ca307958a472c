"""The console's side of Cognito: renewing a session's tokens and ending its Cognito session.

The console is a backend-for-frontend: it talks to the user pool on the
server, with the pool's public app client, and the browser never sees a token.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.services.console_sessions import Session, Tokens

# Cognito's answers that mean "this refresh token no longer works" (expired, revoked, user disabled).
REFUSED = frozenset({"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"})


def _client_id(access_token: str) -> str | None:
    import jwt

    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    client_id = claims.get("client_id")
    return client_id if isinstance(client_id, str) else None


class CognitoSignIn:
    def __init__(self, cognito: Any) -> None:
        self._cognito = cognito

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
            if error.response.get("Error", {}).get("Code") in REFUSED:
                return None
            raise
        result = answer.get("AuthenticationResult") or {}
        if "AccessToken" not in result:
            return None
        return Tokens(result["AccessToken"], result.get("RefreshToken"))

    def sign_out(self, session: Session) -> None:
        """End the user's Cognito session too (revokes its refresh tokens); already ended is fine."""
        try:
            self._cognito.global_sign_out(AccessToken=session.tokens.access)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in REFUSED:
                raise
