"""The ``SessionStore`` contract (services/console_sessions.py), on ``FakeSessionStore`` and ``DynamoSessionStore``.

What ``SessionService`` relies on: a row reads back as it was put, with its
``expires_at`` as a number (DynamoDB's TTL ignores anything else, and the row
would then live forever); an update changes only the fields it names; an
update of a row that is gone writes nothing (a renewal or touch racing a
sign-out in another tab must not bring the session back); a delete removes it,
and deleting what is gone is fine.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contract.conftest import BACKENDS

EXPIRES = 1_772_443_800  # 2026-03-02T09:30:00Z


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.fakes.sessions import FakeSessionStore

        return FakeSessionStore()
    from chalicelib.adapters.sessions import DynamoSessionStore

    return DynamoSessionStore(request.getfixturevalue("dynamo_table"))


def key() -> str:
    return uuid.uuid4().hex * 2  # a sha256's length


def row(**changes: Any) -> dict[str, Any]:
    return {
        "subject": "c-1",
        "csrf_token": "csrf-" + uuid.uuid4().hex,
        "access_token": "sealed-access",
        "refresh_token": "sealed-refresh",
        "started_at": "2026-03-02T09:00:00.000Z",
        "seen_at": "2026-03-02T09:00:00.000Z",
        **changes,
    }


def test_a_row_reads_back_as_put_with_its_expiry(store: Any) -> None:
    k, put = key(), row()
    store.put(k, put, EXPIRES)
    assert store.get(k) == {**put, "expires_at": EXPIRES}


def test_expires_at_is_a_number(store: Any) -> None:
    k = key()
    store.put(k, row(), EXPIRES)
    found = store.get(k)
    assert type(found["expires_at"]) is int


def test_expires_at_is_stored_as_a_dynamodb_number(dynamo_table: Any) -> None:
    """The TTL reads the attribute only if its type is N: the item as DynamoDB holds it (the fake has no wire)."""
    from chalicelib.adapters.sessions import DynamoSessionStore

    k = key()
    DynamoSessionStore(dynamo_table).put(k, row(), EXPIRES)
    item = dynamo_table.client.get_item(
        TableName=dynamo_table.name, Key={"pk": {"S": f"SESSION#{k}"}, "sk": {"S": "SESSION"}}
    )
    assert item["Item"]["expires_at"] == {"N": str(EXPIRES)}


def test_an_unknown_key_reads_none(store: Any) -> None:
    assert store.get(key()) is None


def test_an_update_changes_only_the_fields_it_names(store: Any) -> None:
    k, put = key(), row()
    store.put(k, put, EXPIRES)
    store.update(k, {"seen_at": "2026-03-02T09:06:00.000Z", "expires_at": EXPIRES + 360})
    found = store.get(k)
    assert found["seen_at"] == "2026-03-02T09:06:00.000Z"
    assert found["expires_at"] == EXPIRES + 360 and type(found["expires_at"]) is int
    for name in ("subject", "csrf_token", "access_token", "refresh_token", "started_at"):
        assert found[name] == put[name]


def test_an_update_can_add_a_field_the_row_lacked(store: Any) -> None:
    k, put = key(), row()
    del put["refresh_token"]
    store.put(k, put, EXPIRES)
    store.update(k, {"access_token": "sealed-access-2", "refresh_token": "sealed-refresh-2"})
    found = store.get(k)
    assert (found["access_token"], found["refresh_token"]) == ("sealed-access-2", "sealed-refresh-2")


def test_updating_an_ended_session_writes_nothing(store: Any) -> None:
    k = key()
    store.put(k, row(), EXPIRES)
    store.delete(k)
    store.update(k, {"access_token": "sealed-access-2"})
    assert store.get(k) is None
    store.update(key(), {"seen_at": "2026-03-02T09:06:00.000Z"})  # never existed: no error, no row


def test_a_put_replaces_the_row(store: Any) -> None:
    k = key()
    store.put(k, row(subject="c-1"), EXPIRES)
    store.put(k, row(subject="c-2"), EXPIRES + 1)
    found = store.get(k)
    assert (found["subject"], found["expires_at"]) == ("c-2", EXPIRES + 1)


def test_a_delete_removes_only_that_row_and_may_repeat(store: Any) -> None:
    k, other = key(), key()
    store.put(k, row(), EXPIRES)
    store.put(other, row(), EXPIRES)
    store.delete(k)
    store.delete(k)
    assert store.get(k) is None
    assert store.get(other) is not None
