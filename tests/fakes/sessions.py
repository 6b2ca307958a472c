"""An in-memory fake of the console session service's ``SessionStore`` port (chalicelib/services/console_sessions.py).

``FakeSessionStore`` keeps what ``DynamoSessionStore`` keeps: one row per key, the
row as put plus its ``expires_at`` (the table's TTL attribute, epoch seconds); an
update of a row that is gone writes nothing (DynamoDB's ``attribute_exists``
condition: an ended session is never brought back); reads are copies.  It also
counts writes, so a service test can say "one write per five minutes".
``tests/contract/test_session_store.py`` runs the same suite on it and on the adapter.
"""

from __future__ import annotations

import copy
from typing import Any

Record = dict[str, Any]


class FakeSessionStore:
    def __init__(self) -> None:
        self.rows: dict[str, Record] = {}
        self.writes = 0  # puts, updates that changed a row, deletes of a row

    def put(self, key: str, row: Record, expires_at: int) -> None:
        self.rows[key] = {**copy.deepcopy(row), "expires_at": int(expires_at)}
        self.writes += 1

    def get(self, key: str) -> Record | None:
        row = self.rows.get(key)
        return copy.deepcopy(row) if row is not None else None

    def update(self, key: str, changes: Record) -> None:
        row = self.rows.get(key)
        if row is None:  # the adapter's condition: no row, no write
            return
        row.update(copy.deepcopy(changes))
        self.writes += 1

    def delete(self, key: str) -> None:
        if self.rows.pop(key, None) is not None:
            self.writes += 1
