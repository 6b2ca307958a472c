"""Cognito JWT verification against the user pool's JWKS.

The same code runs in AWS and locally: only the JWKS URL differs (moto's
Cognito serves one at ``/<pool-id>/.well-known/jwks.json`` and signs RS256
tokens, like the real service).  Keys are cached per process and refetched,
at most once a minute, when a token names a key id we have not seen.
Patients and staff sign in to separate pools: ``UserPoolVerifiers`` picks the
pool by the token's issuer, and each pool is trusted for its own roles only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Mapping
from typing import Any

from chalicelib.domain.errors import AuthenticationError, ThrottledError
from chalicelib.domain.identity import Principal, Role, role_from_groups

JWKS_TTL_SECONDS = 3600.0
VERIFIED_CACHE_SIZE = 2048
REFETCH_INTERVAL_SECONDS = 60.0
# A staff session is confirmed with Cognito at most this often per token (F15).
STAFF_RECHECK_SECONDS = 60.0


def fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - URL comes from settings
        return dict(json.loads(response.read()))


class CognitoTokenVerifier:
    def __init__(
        self,
        issuer: str,
        jwks_url: str,
        client_ids: list[str],
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.time,
        roles: Collection[Role] | None = None,
    ) -> None:
        self._issuer = issuer
        # The roles this pool may grant (staff roles only from the staff pool); None: any.
        self._roles = frozenset(roles) if roles is not None else None
        self._jwks_url = jwks_url
        self._client_ids = set(client_ids)
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        # token -> (claims) for tokens whose signature already checked out; an
        # app reuses one access token for up to an hour, and an RSA verify per
        # request is most of the auth cost.  exp is still checked every time.
        self._verified: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, kid: str) -> Any:
        now = self._clock()
        stale = now - self._fetched_at > JWKS_TTL_SECONDS
        unknown = kid not in self._keys and now - self._fetched_at > REFETCH_INTERVAL_SECONDS
        if stale or unknown:
            with self._lock:
                self._refresh(now)
        key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError("The token was signed by an unknown key.")
        return key

    def _refresh(self, now: float) -> None:
        from jwt import PyJWK  # lazy: cryptography costs cold start on routes that never verify

        try:
            document = self._fetch(self._jwks_url)
        except OSError as error:
            if self._keys:  # keep serving with the keys we have
                return
            # Our outage, not the caller's bad token: 503 and a retry, never a 401 that makes a client (or the
            # console) drop a good session.
            raise ThrottledError("Sign-in keys are unreachable right now; try again shortly.", 5) from error
        self._keys = {k["kid"]: PyJWK(k).key for k in document.get("keys", []) if k.get("kid")}
        self._fetched_at = now

    def verify(self, token: str, request_id: str = "") -> Principal:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = claims
        if not isinstance(claims["exp"], (int, float)) or claims["exp"] <= self._clock():
            raise AuthenticationError("The token has expired.")
        return self._principal(claims, request_id)

    def _verify_signature(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise AuthenticationError("The token must be RS256-signed.")
            claims = jwt.decode(
                token,
                key=self._key(str(header.get("kid", ""))),
                algorithms=["RS256"],
                issuer=self._issuer,
                # exp is checked in verify(), against the injected clock, on every use.
                options={"require": ["exp", "iss", "token_use"], "verify_aud": False, "verify_exp": False},
            )
        except jwt.InvalidIssuerError as error:
            raise AuthenticationError("The token was issued by another issuer.") from error
        except jwt.PyJWTError as error:
            raise AuthenticationError("The token is not valid.") from error
        return dict(claims)

    def _principal(self, claims: dict[str, Any], request_id: str) -> Principal:
        if claims.get("token_use") != "access":
            raise AuthenticationError("An access token is required.")
        # No configured app client refuses every token (F15): never "any client of the pool".
        if not self._client_ids or claims.get("client_id") not in self._client_ids:
            raise AuthenticationError("The token was issued to another client.")
        subject = claims.get("username")
        role = role_from_groups(claims.get("cognito:groups") or [])
        if not isinstance(subject, str) or not subject or role is None:
            raise AuthenticationError("The token carries no Carewire role.")
        if self._roles is not None and role not in self._roles:
            raise AuthenticationError("The token's role is not signed in through this user pool.")
        client = claims.get("client_id")
        return Principal(
            subject=subject, role=role, request_id=request_id, client_id=client if isinstance(client, str) else ""
        )


class UserPoolVerifiers:
    """One verifier per user pool (patients, staff), chosen by the token's issuer.

    The issuer is read before the signature is checked only to pick the pool;
    that pool's verifier then checks signature, issuer, expiry, client and role.
    """

    def __init__(self, verifiers: Mapping[str, CognitoTokenVerifier]) -> None:
        self._by_issuer = dict(verifiers)

    def verify(self, token: str, request_id: str = "") -> Principal:
        import jwt

        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as error:
            raise AuthenticationError("The token is not valid.") from error
        verifier = self._by_issuer.get(issuer) if isinstance(issuer, str) else None
        if verifier is None:
            raise AuthenticationError("The token was issued by another issuer.")
        return verifier.verify(token, request_id)


class CognitoSessionCheck:
    """Staff sessions Cognito still honours: a disabled or signed-out user loses access within a minute (F15).

    A verified signature only proves the token was issued; Cognito alone knows
    whether the user was disabled, deleted or globally signed out since.  For a
    clinician or admin, ``GetUser`` with the access token asks it, at most once
    per ``recheck_seconds`` per token (the answer is cached either way).
    ``NotAuthorizedException`` / ``UserNotFoundException`` is a 401.  When
    Cognito cannot be asked (throttled, unreachable), the last good answer stands
    for ``stale_seconds`` more, then the request is a 503: a revoked session is
    never honoured on a guess for long.  Patients' tokens are not checked (their
    pool, their risk: one patient's own record).
    """

    REVOKED = frozenset({"NotAuthorizedException", "UserNotFoundException"})

    def __init__(
        self,
        get_user: Callable[[str], Any],
        recheck_seconds: float = STAFF_RECHECK_SECONDS,
        stale_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get_user = get_user
        self._recheck = recheck_seconds
        self._stale = stale_seconds
        self._clock = clock
        # sha256(token) -> (when Cognito last answered, whether the session stood)
        self._answers: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def check(self, token: str, principal: Principal) -> None:
        if principal.role not in (Role.CLINICIAN, Role.ADMIN):
            return
        from botocore.exceptions import BotoCoreError, ClientError

        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        with self._lock:
            answer = self._answers.get(key)
        if answer is not None and now - answer[0] < self._recheck:
            if not answer[1]:
                raise AuthenticationError("The session has been revoked.")
            return
        try:
            self._get_user(token)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in self.REVOKED:
                self._remember(key, now, standing=False)
                raise AuthenticationError("The session has been revoked.") from error
            self._unanswered(answer, now, error)
        except BotoCoreError as error:  # unreachable, timed out
            self._unanswered(answer, now, error)
        else:
            self._remember(key, now, standing=True)

    def _unanswered(self, answer: tuple[float, bool] | None, now: float, error: Exception) -> None:
        from chalicelib.observability import count

        count("SessionChecksUnanswered")
        if answer is not None and answer[1] and now - answer[0] < self._recheck + self._stale:
            return
        raise ThrottledError(
            "Sign-in could not be confirmed right now; retry shortly.", retry_after_seconds=5
        ) from error

    def _remember(self, key: str, now: float, standing: bool) -> None:
        with self._lock:
            if len(self._answers) >= VERIFIED_CACHE_SIZE:
                self._answers.clear()
            self._answers[key] = (now, standing)
