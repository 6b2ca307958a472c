"""The client side of Cognito's SRP sign-in (``USER_SRP_AUTH`` then ``PASSWORD_VERIFIER``), computed on our server.

The console signs staff in on the server (backend-for-frontend): the sign-in
form posts the password to us, and this module turns it into what Cognito asks
for, so the password itself never goes to Cognito (nor to a log, nor to a
store).  It is AWS's variant of SRP-6a (RFC 5054's 3072-bit group, ``g = 2``,
SHA-256), as the AWS SDKs implement it (amazon-cognito-identity-js'
``AuthenticationHelper``), byte for byte:

- numbers are hashed as their *padded* big-endian bytes: the shortest form,
  with a leading zero byte when the top bit is set (Java's ``BigInteger``
  two's complement, which is what Cognito's side hashes);
- ``k = H(N | g)``, ``u = H(A | B)``,
  ``x = H(salt | H(pool_name | user_id_for_srp | ":" | password))``, the salt
  read as a number as the SDK does (a salt whose hex starts with ``00`` loses
  those zeros, as in the SDK);
- ``S = (B - k·g^x)^(a + u·x) mod N``; the key is HKDF-SHA256 of ``S`` with
  ``u`` as salt and "Caldera Derived Key" as info, cut to 16 bytes;
- the claim is ``HMAC-SHA256(key, pool_name | user_id_for_srp | secret_block |
  timestamp)`` in base64, the timestamp in Cognito's own format
  ("Tue Mar 4 09:05:07 UTC 2025": English names, day not padded).

Pure: no clock, no randomness unless asked, no AWS call; tests compare it with
an independent implementation (pycognito) and with a server-side verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class SrpError(ValueError):
    """The server's values fail SRP's safety checks (``B mod N = 0``, ``u = 0``): never answer them."""


def padded(number: int) -> bytes:
    """The bytes SRP hashes for a number: shortest big-endian, a zero byte first when the top bit is set."""
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def _hash(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"".join(parts)).digest(), "big")


K = _hash(padded(N), padded(G))


@dataclass(frozen=True)
class Ephemeral:
    """The client's one-time secret ``a`` and public ``A = g^a mod N`` for one sign-in."""

    a: int = field(repr=False)
    big_a: int

    @property
    def srp_a(self) -> str:
        """``SRP_A`` as InitiateAuth takes it (hex, unpadded)."""
        return format(self.big_a, "x")


def ephemeral(a: int | None = None) -> Ephemeral:
    """A fresh ``a`` (1024 random bits, as the SDKs draw it) unless a test gives one."""
    small = a if a is not None else secrets.randbits(1024) % N
    big = pow(G, small, N)
    if small == 0 or big == 0:
        raise SrpError("A must not be 0 mod N")
    return Ephemeral(small, big)


def authentication_key(
    *, pool_name: str, user_id: str, password: str, salt_hex: str, b_hex: str, secret: Ephemeral
) -> bytes:
    """The 16-byte key both sides derive when the password matches the verifier Cognito holds."""
    big_b = int(b_hex, 16)
    if big_b % N == 0:
        raise SrpError("B must not be 0 mod N")
    u = _hash(padded(secret.big_a), padded(big_b))
    if u == 0:
        raise SrpError("u must not be 0")
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).digest()
    x = _hash(padded(int(salt_hex, 16)), inner)
    s = pow(big_b - K * pow(G, x, N), secret.a + u * x, N)
    prk = hmac.new(padded(u), padded(s), hashlib.sha256).digest()  # HKDF extract (salt u), then expand
    return hmac.new(prk, INFO + b"\x01", hashlib.sha256).digest()[:16]


def timestamp(when: datetime) -> str:
    """Cognito's claim timestamp, e.g. "Tue Mar 4 09:05:07 UTC 2025" (never the locale's names)."""
    t = when.astimezone(UTC)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} {t:%H:%M:%S} UTC {t.year}"


def pool_name(pool_id: str) -> str:
    """The part of a pool id after the region ("us-east-1_AbC" → "AbC"), as SRP hashes it."""
    return pool_id.split("_", 1)[1]


def password_claim(
    *,
    pool_id: str,
    user_id: str,
    password: str,
    salt_hex: str,
    b_hex: str,
    secret_block: str,
    secret: Ephemeral,
    when: datetime,
) -> dict[str, str]:
    """``TIMESTAMP`` and ``PASSWORD_CLAIM_SIGNATURE`` for the PASSWORD_VERIFIER answer."""
    name = pool_name(pool_id)
    key = authentication_key(
        pool_name=name, user_id=user_id, password=password, salt_hex=salt_hex, b_hex=b_hex, secret=secret
    )
    stamp = timestamp(when)
    # Lenient base64 decoding, as the SDKs' (moto's secret block is a UUID, not base64).
    message = name.encode() + user_id.encode() + base64.b64decode(secret_block) + stamp.encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return {"TIMESTAMP": stamp, "PASSWORD_CLAIM_SIGNATURE": signature}
