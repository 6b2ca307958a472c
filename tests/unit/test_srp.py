"""Cognito SRP from the client's side: the claim agrees with pycognito's, and a server holding the verifier accepts it.

Two independent checks.  pycognito (test-only) is another implementation of
the same AWS variant: for the same ``a``, salt, ``B``, secret block and
timestamp both must produce the same key and signature.  And a small SRP-6a
server written here (the verifier ``v = g^x``, ``B = k·v + g^b``, ``S =
(A·v^u)^b``) accepts the claim for the right password and refuses it for a
wrong one, which moto's Cognito never checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters import srp

POOL_ID = "us-east-1_Staff7Pool"
USER_ID = "c-1"
PASSWORD = "Cw1!correct-horse-battery"
WHEN = datetime(2025, 3, 4, 9, 5, 7, tzinfo=UTC)
SECRET_BLOCK = base64.b64encode(b"an opaque secret block from cognito" * 3).decode()


def oracle(small_a: int, when: datetime) -> Any:
    """pycognito's AWSSRP with a fixed ``a`` and a fixed clock (its own code computes everything else)."""
    from pycognito import aws_srp

    helper = aws_srp.AWSSRP(USER_ID, PASSWORD, POOL_ID, "client-id", client=object())
    helper.small_a_value = small_a
    helper.large_a_value = helper.calculate_a()
    aws_srp.datetime = SimpleNamespace(datetime=SimpleNamespace(utcnow=lambda: when.replace(tzinfo=None)))
    return helper


@pytest.fixture(autouse=True)
def _restore_pycognito_clock() -> Any:
    import datetime as real_datetime

    from pycognito import aws_srp

    yield
    aws_srp.datetime = real_datetime


def challenge(small_a: int, salt: int, big_b: int, secret_block: str = SECRET_BLOCK) -> dict[str, str]:
    return {
        "USERNAME": USER_ID,
        "USER_ID_FOR_SRP": USER_ID,
        "SALT": format(salt, "x"),
        "SRP_B": format(big_b, "x"),
        "SECRET_BLOCK": secret_block,
    }


def our_claim(small_a: int, params: dict[str, str], password: str = PASSWORD, when: datetime = WHEN) -> dict[str, str]:
    return srp.password_claim(
        pool_id=POOL_ID,
        user_id=params["USER_ID_FOR_SRP"],
        password=password,
        salt_hex=params["SALT"],
        b_hex=params["SRP_B"],
        secret_block=params["SECRET_BLOCK"],
        secret=srp.ephemeral(small_a),
        when=when,
    )


# Fixed "random" values: xdist workers must collect the same parameters (a seeded generator, not secrets).
_RNG = random.Random(2026_12_03)
CASES = [
    # (a, salt, B): small and large, with and without the top bit set (the padded zero byte), B above and below N/2
    (0x1234567, 0xABCDEF0123456789, 0x7F00FF),
    (0xDEADBEEF, 0x1F2E3D4C5B6A7988, srp.N - 12345),
    (_RNG.getrandbits(1024) % srp.N, _RNG.getrandbits(128) | 1 << 127, _RNG.getrandbits(3072) % srp.N),
    (_RNG.getrandbits(1024) % srp.N, _RNG.getrandbits(120) | 1 << 119, _RNG.getrandbits(3000)),
]


@pytest.mark.parametrize(("small_a", "salt", "big_b"), CASES)
def test_our_key_and_signature_agree_with_pycognito_for_the_same_a_salt_b_block_and_time(
    small_a: int, salt: int, big_b: int
) -> None:
    helper = oracle(small_a, WHEN)
    params = challenge(small_a, salt, big_b)

    theirs = helper.process_challenge(params, {"USERNAME": USER_ID})
    ours = our_claim(small_a, params)

    assert srp.ephemeral(small_a).srp_a == helper.get_auth_params()["SRP_A"]
    assert ours == {"TIMESTAMP": theirs["TIMESTAMP"], "PASSWORD_CLAIM_SIGNATURE": theirs["PASSWORD_CLAIM_SIGNATURE"]}
    key = srp.authentication_key(
        pool_name="Staff7Pool",
        user_id=USER_ID,
        password=PASSWORD,
        salt_hex=params["SALT"],
        b_hex=params["SRP_B"],
        secret=srp.ephemeral(small_a),
    )
    assert key == bytes(helper.get_password_authentication_key(USER_ID, PASSWORD, big_b, params["SALT"]))


def test_a_uuid_secret_block_as_moto_sends_it_is_decoded_as_the_sdks_decode_it() -> None:
    small_a, block = 0x1234567, "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    params = challenge(small_a, 0xABCDEF, 0x7F00FF, secret_block=block)

    theirs = oracle(small_a, WHEN).process_challenge(params, {"USERNAME": USER_ID})

    assert our_claim(small_a, params)["PASSWORD_CLAIM_SIGNATURE"] == theirs["PASSWORD_CLAIM_SIGNATURE"]


@pytest.mark.parametrize(
    "when",
    [
        WHEN,
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 10, 22, 30, 0, tzinfo=timezone(timedelta(hours=-5))),  # next day in UTC
    ],
)
def test_the_timestamp_is_cognitos_format_in_utc_with_english_names_and_an_unpadded_day(when: datetime) -> None:
    from pycognito.aws_srp import AWSSRP

    expected = AWSSRP.get_cognito_formatted_timestamp(when.astimezone(UTC))

    assert srp.timestamp(when) == expected


def test_the_timestamp_by_hand() -> None:
    assert srp.timestamp(WHEN) == "Tue Mar 4 09:05:07 UTC 2025"
    assert srp.timestamp(datetime(2026, 1, 10, 22, 30, tzinfo=timezone(timedelta(hours=-5)))) == (
        "Sun Jan 11 03:30:00 UTC 2026"
    )


def test_numbers_are_hashed_with_a_zero_byte_when_their_top_bit_is_set() -> None:
    assert srp.padded(0) == b"\x00"
    assert srp.padded(0x7F) == b"\x7f"
    assert srp.padded(0x80) == b"\x00\x80"
    assert srp.padded(0x0102) == b"\x01\x02"
    assert srp.padded(srp.N)[:2] == b"\x00\xff"


# -- a server that holds the verifier ----------------------------------------------------------------------


class SrpServer:
    """Cognito's side of SRP-6a, enough to check a claim: it knows the verifier, never the password."""

    def __init__(self, password: str, salt: int) -> None:
        inner = hashlib.sha256(f"Staff7Pool{USER_ID}:{password}".encode()).digest()
        x = int.from_bytes(hashlib.sha256(srp.padded(salt) + inner).digest(), "big")
        self.salt = salt
        self.verifier = pow(srp.G, x, srp.N)
        self.b = secrets.randbits(1024) % srp.N
        self.big_b = (srp.K * self.verifier + pow(srp.G, self.b, srp.N)) % srp.N

    def challenge(self) -> dict[str, str]:
        return challenge(0, self.salt, self.big_b)

    def accepts(self, srp_a: str, claim: dict[str, str]) -> bool:
        big_a = int(srp_a, 16)
        u = int.from_bytes(hashlib.sha256(srp.padded(big_a) + srp.padded(self.big_b)).digest(), "big")
        s = pow(big_a * pow(self.verifier, u, srp.N), self.b, srp.N)
        prk = hmac.new(srp.padded(u), srp.padded(s), hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        message = b"Staff7Pool" + USER_ID.encode() + base64.b64decode(SECRET_BLOCK) + claim["TIMESTAMP"].encode()
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, claim["PASSWORD_CLAIM_SIGNATURE"])


def test_a_server_holding_the_verifier_accepts_the_claim_for_the_right_password() -> None:
    server = SrpServer(PASSWORD, salt=secrets.randbits(128) | 1 << 127)
    secret = srp.ephemeral()

    claim = our_claim(secret.a, server.challenge())

    assert server.accepts(secret.srp_a, claim)


def test_a_server_holding_the_verifier_refuses_the_claim_for_a_wrong_password() -> None:
    server = SrpServer(PASSWORD, salt=secrets.randbits(128) | 1 << 127)
    secret = srp.ephemeral()

    claim = our_claim(secret.a, server.challenge(), password=PASSWORD + "x")

    assert not server.accepts(secret.srp_a, claim)


def test_each_sign_in_draws_a_fresh_secret_a() -> None:
    assert srp.ephemeral().a != srp.ephemeral().a


@pytest.mark.parametrize("big_b", [0, srp.N, 2 * srp.N])
def test_a_b_that_is_zero_mod_n_is_refused_before_anything_is_sent(big_b: int) -> None:
    with pytest.raises(srp.SrpError):
        our_claim(0x1234567, challenge(0x1234567, 0xABCDEF, big_b))


def test_the_secret_a_is_not_in_the_repr() -> None:
    secret = srp.ephemeral(0x1234567)

    assert str(0x1234567) not in repr(secret) and "a=" not in repr(secret).replace("big_a=", "")
