"""The console's server-side sessions: the browser holds an opaque id, the server the tokens.

A session starts when Cognito signs a clinician in (or, in the local stage, through
its console login shortcut).  The browser gets 32 random bytes in an
``HttpOnly`` cookie; the store keeps only their SHA-256, so a leaked table
row cannot be replayed as a cookie.  The Cognito tokens are kept encrypted
(``TokenCipher``) and never leave the server.  Each session has a CSRF token
for its forms, an absolute lifetime (12 hours, a clinic's shift) and an idle
lifetime (30 minutes without a request); the store's TTL removes the row
later, but expiry is checked on every read, as TTL deletion is lazy.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.ports import Record

ABSOLUTE_LIFETIME = timedelta(hours=12)
IDLE_LIFETIME = timedelta(minutes=30)
# A request refreshes the idle deadline only when it has moved this much: one write per few minutes, not per page.
TOUCH_EVERY = timedelta(minutes=5)


class SessionStore(Protocol):
    """Session rows by the SHA-256 of their id (``DynamoSessionStore``)."""

    def put(self, key: str, row: Record, expires_at: int) -> None: ...

    def get(self, key: str) -> Record | None: ...

    def update(self, key: str, changes: Record) -> None: ...

    def delete(self, key: str) -> None: ...


class TokenCipher(Protocol):
    def encrypt(self, plain: str) -> str: ...

    def decrypt(self, sealed: str) -> str: ...


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str | None = None


@dataclass(frozen=True)
class Session:
    key: str  # sha256 of the cookie value
    subject: str
    csrf_token: str
    tokens: Tokens
    started_at: datetime
    seen_at: datetime

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf_token.encode())


def session_key(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


class SessionService:
    def __init__(self, store: SessionStore, cipher: TokenCipher, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._cipher = cipher
        self._clock = clock

    def start(self, subject: str, tokens: Tokens) -> tuple[str, Session]:
        """A new session for ``subject``; answers the cookie value (shown once, never stored) and the session."""
        cookie = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(session_key(cookie), subject, secrets.token_urlsafe(32), tokens, now, now)
        self._store.put(session.key, self._row(session), self._expiry(now, now))
        return cookie, session

    def resume(self, cookie: str | None) -> Session | None:
        """The live session behind ``cookie``; None when absent, ended or expired (an expired row is removed)."""
        if not cookie or len(cookie) > 128:
            return None
        key = session_key(cookie)
        row = self._store.get(key)
        if row is None:
            return None
        now = self._clock()
        started, seen = parse_iso(row["started_at"]), parse_iso(row["seen_at"])
        if now >= started + ABSOLUTE_LIFETIME or now >= seen + IDLE_LIFETIME:
            self._store.delete(key)
            return None
        try:
            tokens = Tokens(
                self._cipher.decrypt(row["access_token"]),
                self._cipher.decrypt(row["refresh_token"]) if row.get("refresh_token") else None,
            )
        except ValueError:  # sealed under another key (rotated): the session cannot be used
            self._store.delete(key)
            return None
        session = Session(key, row["subject"], row["csrf_token"], tokens, started, seen)
        if now - seen >= TOUCH_EVERY:
            self._store.update(key, {"seen_at": iso(now), "expires_at": self._expiry(started, now)})
            session = Session(key, session.subject, session.csrf_token, tokens, started, now)
        return session

    def renew_tokens(self, session: Session, tokens: Tokens) -> Session:
        """Keep the tokens a refresh answered (Cognito may or may not rotate the refresh token)."""
        kept = Tokens(tokens.access, tokens.refresh or session.tokens.refresh)
        changes: Record = {"access_token": self._cipher.encrypt(kept.access)}
        if kept.refresh:
            changes["refresh_token"] = self._cipher.encrypt(kept.refresh)
        self._store.update(session.key, changes)
        return Session(session.key, session.subject, session.csrf_token, kept, session.started_at, session.seen_at)

    def end(self, session: Session) -> None:
        self._store.delete(session.key)

    def _row(self, session: Session) -> Record:
        row: Record = {
            "subject": session.subject,
            "csrf_token": session.csrf_token,
            "access_token": self._cipher.encrypt(session.tokens.access),
            "started_at": iso(session.started_at),
            "seen_at": iso(session.seen_at),
        }
        if session.tokens.refresh:
            row["refresh_token"] = self._cipher.encrypt(session.tokens.refresh)
        return row

    @staticmethod
    def _expiry(started: datetime, seen: datetime) -> int:
        return int(min(started + ABSOLUTE_LIFETIME, seen + IDLE_LIFETIME).timestamp())
