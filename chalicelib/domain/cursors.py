"""Opaque, tamper-proof pagination cursors.

A cursor carries the storage position to resume from and the *scope* it was
issued for (the patient and filters of the query).  It is signed with HMAC
SHA-256, so a client can neither forge a position nor replay a cursor issued
for one patient against another: both answer 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.domain.errors import FieldError, MalformedRequestError


def _invalid() -> MalformedRequestError:
    return MalformedRequestError("The cursor is not valid for this request.", [FieldError("cursor", "invalid cursor")])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, scope: str, body: str) -> str:
        mac = hmac.new(self._secret, f"{scope}\n{body}".encode(), hashlib.sha256).digest()
        return _b64(mac[:20])

    def encode(self, scope: str, position: Any) -> str | None:
        if position is None:
            return None
        body = _b64(json.dumps(position, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._sign(scope, body)}"

    def decode(self, scope: str, cursor: str | None) -> Any:
        if not cursor:
            return None
        body, _, signature = cursor.partition(".")
        if not signature or not hmac.compare_digest(signature.encode(), self._sign(scope, body).encode()):
            raise _invalid()
        try:
            return json.loads(_unb64(body))
        except ValueError as error:
            raise _invalid() from error
