"""The due index: everything that becomes due at a time, found by the minute tick without a Scan.

Items that fall due carry ``due_shard`` and ``due_at`` (the table's ``due``
index).  Ordinary work is spread over sixteen shards ``DUE#00``..``DUE#15`` by
a hash of a stable key, so one time zone's 08:00 reminders do not all land on
one partition; critical-alert escalations live on ``DUE#URGENT``, which every
tick reads first.  The key formats live here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.domain.timeutil import iso
from chalicelib.resources import DUE_SHARDS, URGENT_DUE_SHARD


def due_shard(key: str) -> str:
    """The ordinary shard of the item with this stable key (the same key always lands on the same shard)."""
    return f"DUE#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS:02d}"


def shard_key(shard: int | str) -> str:
    """``DUE#07`` for shard 7; a shard key given as a string (``DUE#URGENT``) is used as it is."""
    return shard if isinstance(shard, str) else f"DUE#{shard:02d}"


class DynamoDueIndex:
    URGENT = URGENT_DUE_SHARD
    SHARDS = DUE_SHARDS

    def __init__(self, table: DynamoTable) -> None:
        self._table = table

    def due_pages(self, shard: int | str, now: datetime) -> Iterator[list[dict[str, Any]]]:
        """Items of ``shard`` due at or before ``now``, a Query page at a time (empty pages skipped)."""
        start = None
        while True:
            page = self._table.query(
                "due_shard = :s AND due_at <= :now",
                {":s": shard_key(shard), ":now": iso(now)},
                index="due",
                start_key=start,
            )
            if page.items:
                yield page.items
            start = page.last_key
            if not start:
                return
