"""Pending console sign-ins in the main table: ``SIGNIN#<sha256 of the pre-session token>`` / ``SIGNIN``.

Between the sign-in forms the server keeps Cognito's ``Session`` (which, for a
first TOTP setup, is enough to attach an authenticator to the account), the
username Cognito answered and the TOTP secret being set up.  The row is keyed
by the SHA-256 of the browser's pre-session token and sealed with a key
derived (HKDF-SHA256) from that token itself: the table alone, leaked or read
by an operator, opens no half-finished sign-in, and no stage secret is needed.
``expires_at`` is the table's TTL attribute (five minutes after the password
step); the service checks the five minutes on every read too, as TTL deletion
is lazy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, serialize
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.staff_sign_in import Challenge, PendingSignIn

SK = "SIGNIN"
INFO = b"carewire console pending sign-in"


def _pk(pre_token: str) -> str:
    return "SIGNIN#" + hashlib.sha256(pre_token.encode()).hexdigest()


def _fernet(pre_token: str) -> Any:
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(pre_token.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class DynamoPendingSignIns:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def save(self, pre_token: str, pending: PendingSignIn, expires_at: datetime) -> None:
        plain = {
            "challenge": pending.challenge.name,
            "session": pending.challenge.session,
            "username": pending.challenge.username,
            "next": pending.next_path,
            "started_at": iso(pending.started_at),
            "totp_secret": pending.totp_secret,
        }
        sealed = _fernet(pre_token).encrypt(json.dumps(plain).encode()).decode()
        item = {"pk": _pk(pre_token), "sk": SK, "entity": "console_sign_in", "sealed": sealed}
        self.table.put({**item, "expires_at": int(expires_at.timestamp())})

    def load(self, pre_token: str) -> PendingSignIn | None:
        from cryptography.fernet import InvalidToken

        item = self.table.get(_pk(pre_token), SK)
        if item is None:
            return None
        try:
            plain = json.loads(_fernet(pre_token).decrypt(str(item["sealed"]).encode()))
        except (InvalidToken, KeyError, ValueError):
            return None
        challenge = Challenge(plain["challenge"], plain["session"], plain["username"])
        return PendingSignIn(challenge, plain["next"], parse_iso(plain["started_at"]), plain.get("totp_secret"))

    def drop(self, pre_token: str) -> None:
        self.table.client.delete_item(TableName=self.table.name, Key=serialize({"pk": _pk(pre_token), "sk": SK}))
