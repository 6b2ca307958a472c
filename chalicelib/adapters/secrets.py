"""Secrets read from AWS Secrets Manager when first needed, then kept for the container's life.

Nothing is fetched at import or when the container is built: a job that never
signs a cursor never calls Secrets Manager (and its role may not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.domain.cursors import CursorCodec


class SecretsManagerSecret:
    """One secret's string value, fetched with ``GetSecretValue`` on first use."""

    def __init__(self, client: Callable[[], Any], arn: str) -> None:
        self._client = client  # built lazily too: creating a boto3 client costs cold start
        self._arn = arn
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def value(self) -> bytes:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = str(self._client().get_secret_value(SecretId=self._arn)["SecretString"]).encode()
        return self._value


class SecretCursorCodec(CursorCodec):
    """A :class:`CursorCodec` whose key is a Secrets Manager secret, read when a cursor is first signed or checked."""

    def __init__(self, secret: SecretsManagerSecret) -> None:  # no key yet: it is fetched on first use
        self._source = secret
        self._codec: CursorCodec | None = None

    def _codec_now(self) -> CursorCodec:
        if self._codec is None:
            self._codec = CursorCodec(self._source.value())
        return self._codec

    def encode(self, scope: str, position: Any) -> str | None:
        return None if position is None else self._codec_now().encode(scope, position)

    def decode(self, scope: str, cursor: str | None) -> Any:
        return None if not cursor else self._codec_now().decode(scope, cursor)
