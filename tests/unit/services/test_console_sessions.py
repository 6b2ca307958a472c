"""``SessionService`` (the console's server-side sessions) on the fake store, the real Fernet cipher and a fake clock.

What the console's edge relies on: the browser's cookie is a random secret the
table never holds (only its SHA-256 keys the row), the Cognito tokens are
stored sealed, a cookie that is wrong, missing or oversized resumes nothing,
a session dies 12 hours after it started or 30 minutes after it was last
seen (and its row goes with it), a request moves the idle deadline at most once
per five minutes, and the TTL attribute follows the earlier of the two deadlines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.sessions import FernetTokenCipher
from chalicelib.domain.timeutil import iso
from chalicelib.services.console_sessions import (
    ABSOLUTE_LIFETIME,
    IDLE_LIFETIME,
    TOUCH_EVERY,
    Session,
    SessionService,
    Tokens,
    session_key,
)
from tests.fakes import FakeClock
from tests.fakes.sessions import FakeSessionStore

ACCESS = "eyJhbGciOiJSUzI1NiJ9.access-token-of-c-1.signature"
REFRESH = "refresh-token-of-c-1-0123456789"


class World:
    def __init__(self, key: bytes = b"stage secret") -> None:
        self.clock = FakeClock()
        self.store = FakeSessionStore()
        self.cipher = FernetTokenCipher(key)
        self.service = SessionService(self.store, self.cipher, self.clock)

    def start(self, refresh: str | None = REFRESH) -> tuple[str, Session]:
        return self.service.start("c-1", Tokens(ACCESS, refresh))

    def row(self, session: Session) -> dict[str, Any] | None:
        return self.store.get(session.key)


@pytest.fixture
def world() -> World:
    return World()


# -- starting: what the browser gets and what the table keeps ----------------------------------------


def test_start_gives_a_random_cookie_and_keys_the_row_by_its_sha256_only(world: World) -> None:
    cookie, session = world.start()
    other, _ = world.start()
    assert cookie != other
    assert len(cookie) >= 43  # 32 random bytes, URL-safe base64
    assert session.key == hashlib.sha256(cookie.encode()).hexdigest() == session_key(cookie)
    assert list(world.store.rows) == [session.key, session_key(other)]
    stored = json.dumps(world.store.rows)
    assert cookie not in stored and other not in stored


def test_tokens_are_stored_sealed_never_plain(world: World) -> None:
    _, session = world.start()
    row = world.row(session)
    assert row is not None
    stored = json.dumps(row)
    assert ACCESS not in stored and REFRESH not in stored
    assert world.cipher.decrypt(str(row["access_token"])) == ACCESS
    assert world.cipher.decrypt(str(row["refresh_token"])) == REFRESH


def test_the_row_holds_subject_csrf_token_and_times_and_expires_after_the_idle_lifetime(world: World) -> None:
    _, session = world.start()
    row = world.row(session)
    assert row is not None
    assert row["subject"] == "c-1"
    assert row["csrf_token"] == session.csrf_token
    assert row["started_at"] == row["seen_at"] == iso(world.clock())
    assert row["expires_at"] == int((world.clock() + IDLE_LIFETIME).timestamp())


def test_each_session_has_its_own_csrf_token_and_only_that_one_is_accepted(world: World) -> None:
    _, first = world.start()
    _, second = world.start()
    assert first.csrf_token != second.csrf_token and len(first.csrf_token) >= 43
    assert first.csrf_ok(first.csrf_token)
    assert not first.csrf_ok(second.csrf_token)
    assert not first.csrf_ok(None)
    assert not first.csrf_ok("")
    assert not first.csrf_ok(first.csrf_token + "x")


def test_a_session_without_a_refresh_token_stores_none_and_resumes_without_one(world: World) -> None:
    cookie, session = world.start(refresh=None)
    row = world.row(session)
    assert row is not None and "refresh_token" not in row
    resumed = world.service.resume(cookie)
    assert resumed is not None and resumed.tokens == Tokens(ACCESS, None)


# -- resuming ------------------------------------------------------------------------------------


def test_the_cookie_resumes_its_session(world: World) -> None:
    cookie, session = world.start()
    world.clock.advance(minutes=1)
    resumed = world.service.resume(cookie)
    assert resumed == session


@pytest.mark.parametrize("cookie", [None, "", "not-the-cookie"])
def test_an_absent_or_wrong_cookie_resumes_nothing(world: World, cookie: str | None) -> None:
    real, _ = world.start()
    assert world.service.resume(cookie) is None
    assert world.service.resume(real[:-1]) is None
    assert world.service.resume(real + "A") is None


def test_an_oversized_cookie_resumes_nothing_even_when_a_row_is_keyed_by_it(world: World) -> None:
    """Over 128 characters is refused before hashing: the store cannot be made to look up arbitrary input."""
    _, session = world.start()
    row = world.row(session)
    assert row is not None
    fits, oversized = "a" * 128, "a" * 129
    for cookie in (fits, oversized):
        world.store.put(session_key(cookie), row, int(row["expires_at"]))
    assert world.service.resume(fits) is not None
    assert world.service.resume(oversized) is None


def test_a_session_idle_for_30_minutes_is_over_and_its_row_removed(world: World) -> None:
    cookie, session = world.start()
    world.clock.advance(seconds=IDLE_LIFETIME.total_seconds() - 1)
    assert world.service.resume(cookie) is not None  # 29:59 idle: alive (and the deadline moved)

    cookie, session = world.start()
    world.clock.advance(minutes=30)
    assert world.service.resume(cookie) is None
    assert world.row(session) is None


def test_the_idle_deadline_counts_from_the_last_recorded_request(world: World) -> None:
    cookie, session = world.start()
    world.clock.advance(minutes=10)
    assert world.service.resume(cookie) is not None  # recorded: seen at +10
    world.clock.advance(seconds=30 * 60 - 1)
    assert world.service.resume(cookie) is not None  # +39:59, 29:59 after the last recorded request
    cookie, session = world.start()
    world.clock.advance(minutes=10)
    assert world.service.resume(cookie) is not None
    world.clock.advance(minutes=30)
    assert world.service.resume(cookie) is None
    assert world.row(session) is None


def test_a_session_ends_12_hours_after_it_started_however_busy(world: World) -> None:
    cookie, session = world.start()
    started = world.clock()
    while world.clock() + timedelta(minutes=20) < started + ABSOLUTE_LIFETIME:
        world.clock.advance(minutes=20)
        assert world.service.resume(cookie) is not None, world.clock()
    world.clock.now = started + ABSOLUTE_LIFETIME - timedelta(seconds=1)
    assert world.service.resume(cookie) is not None
    world.clock.now = started + ABSOLUTE_LIFETIME
    assert world.service.resume(cookie) is None
    assert world.row(session) is None


def test_a_request_moves_the_idle_deadline_at_most_once_per_five_minutes(world: World) -> None:
    cookie, session = world.start()
    started = world.clock()
    writes = world.store.writes
    world.clock.advance(seconds=TOUCH_EVERY.total_seconds() - 1)
    for _ in range(3):
        resumed = world.service.resume(cookie)
        assert resumed is not None and resumed.seen_at == started
    assert world.store.writes == writes  # 4:59 after the last recorded request: no write
    row = world.row(session)
    assert row is not None and row["seen_at"] == iso(started)

    world.clock.advance(seconds=1)
    for _ in range(3):
        resumed = world.service.resume(cookie)
        assert resumed is not None and resumed.seen_at == world.clock()
    assert world.store.writes == writes + 1  # one write, then the new deadline stands
    row = world.row(session)
    assert row is not None
    assert row["seen_at"] == iso(world.clock())
    assert row["started_at"] == iso(started)
    assert row["expires_at"] == int((world.clock() + IDLE_LIFETIME).timestamp())


def test_the_ttl_attribute_is_the_earlier_of_the_absolute_and_idle_deadlines(world: World) -> None:
    cookie, session = world.start()
    started = world.clock()
    # Busy all day: the idle deadline moves on until the absolute one comes first.
    world.clock.now = started + ABSOLUTE_LIFETIME - timedelta(minutes=20)
    world.store.update(session.key, {"seen_at": iso(world.clock() - timedelta(minutes=6))})
    assert world.service.resume(cookie) is not None
    row = world.row(session)
    assert row is not None
    assert row["expires_at"] == int((started + ABSOLUTE_LIFETIME).timestamp())
    assert isinstance(row["expires_at"], int)


# -- tokens, keys, the end -------------------------------------------------------------------------


def test_renewed_tokens_replace_the_sealed_ones(world: World) -> None:
    cookie, session = world.start()
    renewed = world.service.renew_tokens(session, Tokens("new-access", "new-refresh"))
    assert renewed.tokens == Tokens("new-access", "new-refresh")
    assert renewed.csrf_token == session.csrf_token and renewed.key == session.key
    row = world.row(session)
    assert row is not None and "new-access" not in json.dumps(row)
    assert world.cipher.decrypt(str(row["access_token"])) == "new-access"
    assert world.cipher.decrypt(str(row["refresh_token"])) == "new-refresh"
    resumed = world.service.resume(cookie)
    assert resumed is not None and resumed.tokens == Tokens("new-access", "new-refresh")


def test_renewing_keeps_the_old_refresh_token_when_cognito_answers_none(world: World) -> None:
    cookie, session = world.start()
    renewed = world.service.renew_tokens(session, Tokens("new-access", None))
    assert renewed.tokens == Tokens("new-access", REFRESH)
    resumed = world.service.resume(cookie)
    assert resumed is not None and resumed.tokens == Tokens("new-access", REFRESH)


def test_renewing_an_ended_session_does_not_bring_it_back(world: World) -> None:
    cookie, session = world.start()
    world.service.end(session)
    world.service.renew_tokens(session, Tokens("new-access", "new-refresh"))
    assert world.row(session) is None
    assert world.service.resume(cookie) is None


def test_a_row_sealed_under_another_key_resumes_nothing_and_is_removed(world: World) -> None:
    cookie, session = world.start()
    rotated = SessionService(world.store, FernetTokenCipher(b"the next stage secret"), world.clock)
    assert rotated.resume(cookie) is None
    assert world.row(session) is None
    assert world.service.resume(cookie) is None


def test_the_sealing_key_is_derived_from_the_secret_not_the_secret_itself() -> None:
    """A Fernet key built from the raw secret bytes (padded to 32) must not open what the cipher sealed."""
    import base64

    from cryptography.fernet import Fernet, InvalidToken

    secret = b"0123456789abcdef0123456789abcdef"
    sealed = FernetTokenCipher(secret).encrypt(ACCESS)
    with pytest.raises(InvalidToken):
        Fernet(base64.urlsafe_b64encode(secret)).decrypt(sealed.encode())
    assert FernetTokenCipher(secret).decrypt(sealed) == ACCESS


def test_ending_a_session_removes_its_row(world: World) -> None:
    cookie, session = world.start()
    _, other = world.start()
    world.service.end(session)
    assert world.row(session) is None
    assert world.service.resume(cookie) is None
    assert world.row(other) is not None
