"""Idempotency by key (pure): ids a replayed request maps to, and fingerprints of what it asked for.

A create that the client may repeat needs a key the repeat will hit again:
the client's own id (``patient_id``, ``reminder_id``, ``message_id``…) or,
where the server chooses the id, an ``Idempotency-Key`` header from which
the id is derived (scoped by caller and resource, so two callers' keys never
meet).  The stored item keeps a fingerprint of the request: a repeat with the
same fingerprint is answered with what was stored; different content under
the same key is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")


def fingerprint(content: Any) -> str:
    """A stable hash of request content (JSON-able), independent of key order."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def derived_id(prefix: str, *scope: str) -> str:
    """An opaque id fixed by ``scope`` (caller, resource, idempotency key): the same inputs give the same id."""
    digest = hashlib.sha256("\x1f".join(scope).encode()).hexdigest()[:24]
    return f"{prefix}-{digest}"


def chosen_id(
    given: str | None, key: str | None, prefix: str, scope: tuple[str, ...], fresh: Callable[[str], str]
) -> str:
    """The client's own id; else one derived from its ``Idempotency-Key`` within ``scope``; else a fresh one."""
    if given:
        return given
    if key:
        return derived_id(prefix, *scope, key)
    return fresh(prefix)
