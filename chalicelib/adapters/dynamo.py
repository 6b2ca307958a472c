"""DynamoDB plumbing shared by every repository.

Repositories speak plain Python dicts; this module converts to and from
DynamoDB's typed wire format (floats travel as Decimal), and maps the
throttling errors a client can trigger into :class:`ThrottledError`.

**Retry-safe writes.**  botocore retries a request whose answer it did not
get (a read timeout, a dropped connection), and the first attempt may already
have landed.  A conditional write would then refuse its own retry ("the key
exists", "the version moved"), and a non-idempotent update (``ADD``,
``list_append``) would apply twice.  So every conditional or transactional
write here carries a fresh *write token*: the item records it, each write is
guarded by "this item does not already carry my token", and a refused write
asks for the item back (``ReturnValuesOnConditionCheckFailure=ALL_OLD``).  If
the item that stopped it carries the same token, the write that stopped it
was this one's first attempt: it succeeded.  This works the same on DynamoDB,
DynamoDB Local and moto (moto ignores ``ClientRequestToken``).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib import readers
from chalicelib.domain.errors import ThrottledError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # DynamoDB normalises 112.0 to 112; do it first so what we answer now
        # and what a replay reads back are the same JSON.
        return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def _number(text: str) -> int | float:
    """A DynamoDB number as the app reads it: an int when it is whole, else a float (as ``_from_dynamo``)."""
    try:
        return int(text)
    except ValueError:
        return _from_dynamo(Decimal(text))  # type: ignore[no-any-return]


def _attribute(value: Mapping[str, Any]) -> Any:
    """One typed attribute value as plain Python, the common types without boto3's Decimal round trip."""
    # botocore parses an empty map ({"M": {}}) inside a stream record as {}, at any depth.
    if not value:
        return {}
    ((kind, raw),) = value.items()
    if kind == "S" or kind == "BOOL":
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "M":
        return {k: _attribute(v) for k, v in raw.items()}
    if kind == "L":
        return [_attribute(v) for v in raw]
    if kind == "SS":
        return list(raw)
    if kind == "NS":
        return [_number(n) for n in raw]
    return _from_dynamo(_deserializer.deserialize(value))  # NULL, B, BS


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _attribute(v) for k, v in item.items()}


# -- reading responses ---------------------------------------------------------------------

FAST_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")


def read_fast(client: Any) -> None:
    """Parse the answers of ``client``'s reads with ``json.loads`` instead of botocore's model walk.

    botocore turns every typed attribute value (``{"S": "..."}``) into a dict by walking the
    response model in Python: about half the CPU of reading a page of items, and the worklist
    reads about 2,500 of them (bench/README.md "console").  DynamoDB's JSON answer already has the
    shape botocore would build, except for binary values (base64 text, which botocore decodes), so
    an answer holding one, like any error answer, is left to botocore.  Same shapes either way:
    numbers stay strings until :func:`deserialize`.
    """
    for operation in FAST_READS:
        client.meta.events.register(f"before-parse.dynamodb.{operation}", _parse_read)


def _parse_read(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    body = response_dict.get("body")
    if response_dict.get("status_code", 500) >= 300 or not isinstance(body, bytes) or not body:
        return
    if b'"B":' in body or b'"BS":' in body:
        return  # a binary attribute (or one named B): botocore decodes it
    customized_response_dict.update(json.loads(body))
    response_dict["body"] = b"{}"  # botocore still parses the headers (request id, CRC32 checked on the raw body)


def as_stored(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` exactly as a later read of it will return it."""
    return {k: _from_dynamo(_to_dynamo(v)) for k, v in item.items() if v is not None}


TOKEN_ATTRIBUTE = "write_token"
_TOKEN_NAME = "#wtok"
_TOKEN_VALUE = ":wtok"
_SET = re.compile(r"\bSET\b")


def new_write_token() -> str:
    return secrets.token_hex(8)


def guarded(condition: str | None) -> str:
    """``condition`` plus "not already written by this very request" (true on every first attempt)."""
    guard = f"(attribute_not_exists({_TOKEN_NAME}) OR {_TOKEN_NAME} <> {_TOKEN_VALUE})"
    return f"({condition}) AND {guard}" if condition else guard


def _setting_token(expression: str) -> str:
    match = _SET.search(expression)
    if match is None:
        return f"SET {_TOKEN_NAME} = {_TOKEN_VALUE} {expression}"
    return f"{expression[: match.end()]} {_TOKEN_NAME} = {_TOKEN_VALUE},{expression[match.end() :]}"


def landed(wire_item: Mapping[str, Any] | None, token: str) -> bool:
    """Whether an item handed back by a refused write was written by the request carrying ``token``."""
    return bool(wire_item) and (wire_item or {}).get(TOKEN_ATTRIBUTE, {}).get("S") == token


def with_token(request: dict[str, Any], token: str) -> dict[str, Any]:
    """A Put or Update request (PutItem/UpdateItem parameters, or a transaction's Put/Update) made retry-safe."""
    out = dict(request)
    if "Item" in out:
        out["Item"] = {**out["Item"], TOKEN_ATTRIBUTE: {"S": token}}
    if "UpdateExpression" in out:
        out["UpdateExpression"] = _setting_token(out["UpdateExpression"])
    out["ConditionExpression"] = guarded(out.get("ConditionExpression"))
    out["ExpressionAttributeNames"] = {**out.get("ExpressionAttributeNames", {}), _TOKEN_NAME: TOKEN_ATTRIBUTE}
    out["ExpressionAttributeValues"] = {**out.get("ExpressionAttributeValues", {}), _TOKEN_VALUE: {"S": token}}
    out["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return out


CONFLICT_ATTEMPTS = 3


def only_conflicts(error: ClientError) -> bool:
    """Whether a cancelled transaction was refused for conflicts only (no condition failed)."""
    codes = {str(r.get("Code", "None")) for r in error.response.get("CancellationReasons") or []}
    return "TransactionConflict" in codes and codes <= {"TransactionConflict", "None"}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def throttling_as_503() -> Iterator[None]:
    """Turn DynamoDB throttling (after botocore's own retries) into a 503 for the client."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in THROTTLING_CODES:
            raise ThrottledError("The service is busy; retry shortly.", retry_after_seconds=2) from error
        raise


def batch_put(client: Any, items_by_table: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """Unconditional puts across tables in one BatchWriteItem (retrying what DynamoDB leaves unprocessed)."""
    pending: dict[str, Any] = {
        table: [{"PutRequest": {"Item": serialize(item)}} for item in items]
        for table, items in items_by_table.items()
        if items
    }
    for _ in range(8):
        if not pending:
            return
        with throttling_as_503():
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    raise ThrottledError("The service is busy; retry shortly.", retry_after_seconds=2)


class Page:
    """One page of a Query: items plus the key to continue from."""

    def __init__(self, items: list[dict[str, Any]], last_key: dict[str, Any] | None) -> None:
        self.items = items
        self.last_key = last_key


class DynamoTable:
    """A table name bound to a low-level client; the repositories' only door to DynamoDB."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        with throttling_as_503():
            response = self.client.get_item(
                TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
            )
        item = response.get("Item")
        return deserialize(item) if item else None

    def put(self, item: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        with throttling_as_503():
            return dict(self.client.put_item(TableName=self.name, Item=serialize(item), **kwargs))

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Put ``item`` unless its key exists; False when it does (the write already happened)."""
        return self.put_if(item, "attribute_not_exists(pk)")

    def put_if(
        self,
        item: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """A PutItem guarded by ``condition``; False when the condition failed (not counting its own retry)."""
        return self.put_checked(item, condition, values, names) is None

    def put_checked(
        self,
        item: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """A retry-safe conditional PutItem: None when written, else the stored item that refused it."""
        token = new_write_token()
        request: dict[str, Any] = {"TableName": self.name, "Item": serialize(item), "ConditionExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = serialize(values)
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            with throttling_as_503():
                self.client.put_item(**with_token(request, token))
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            return None if landed(old, token) else deserialize(old or {})
        return None

    def update_if(self, key: Mapping[str, Any], **kwargs: Any) -> bool:
        """A retry-safe UpdateItem guarded by its ConditionExpression; False when the condition failed.

        Also the way to apply a non-idempotent update (``ADD``) exactly once: the
        write-token guard refuses its own retry.  ``ExpressionAttributeValues``
        come serialized, as for the client.
        """
        token = new_write_token()
        request = with_token({"TableName": self.name, "Key": serialize(key), **kwargs}, token)
        try:
            with throttling_as_503():
                self.client.update_item(**request)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return landed(error.response.get("Item"), token)
            raise
        return True

    def update_and_read(self, key: Mapping[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """A retry-safe conditional UpdateItem that hands back the item in the same request.

        The item as written, or as found when the condition failed (None: there is no item):
        an update and a consistent read for the price of one request.
        """
        request = with_token({"TableName": self.name, "Key": serialize(key), **kwargs}, new_write_token())
        try:
            with throttling_as_503():
                response = self.client.update_item(**request, ReturnValues="ALL_NEW")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                found = error.response.get("Item")
                return deserialize(found) if found else None
            raise
        return deserialize(response["Attributes"])

    def query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        index: str | None = None,
        limit: int | None = None,
        start_key: dict[str, Any] | None = None,
        forward: bool = True,
        names: Mapping[str, str] | None = None,
        consistent: bool = False,
        filter_expression: str | None = None,
    ) -> Page:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        with throttling_as_503():
            response = self.client.query(**kwargs)
        return Page([deserialize(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey"))

    def query_all(self, key_condition: str, values: Mapping[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        """Every item a Query matches, following LastEvaluatedKey (for reads bounded by their key range)."""
        return list(self.query_each(key_condition, values, **kwargs))

    def query_each(self, key_condition: str, values: Mapping[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The items a Query matches, one page read at a time as the caller goes on (stop early, read less)."""
        start_key = None
        while True:
            page = self.query(key_condition, values, start_key=start_key, **kwargs)
            yield from page.items
            start_key = page.last_key
            if not start_key:
                return

    def batch_get(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every item found for ``keys``, retrying unprocessed keys: 100 keys a request, side by side."""
        chunks = [keys[start : start + 100] for start in range(0, len(keys), 100)]
        if len(chunks) <= 1:
            return self._batch_get(keys) if keys else []
        return [item for part in readers.each([partial(self._batch_get, c) for c in chunks]) for item in part]

    def _batch_get(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending: dict[str, Any] = {
            self.name: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys], "ConsistentRead": True}
        }
        for _ in range(8):
            with throttling_as_503():
                response = self.client.batch_get_item(RequestItems=pending)
            found.extend(deserialize(i) for i in response.get("Responses", {}).get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise ThrottledError("The service is busy; retry shortly.", retry_after_seconds=2)

    def batch_write(self, puts: Sequence[Mapping[str, Any]], deletes: Sequence[tuple[str, str]]) -> None:
        """Unconditional puts and deletes, 25 a BatchWriteItem, retrying what DynamoDB leaves unprocessed.

        A request may not name one key twice, so the caller's keys are each written once (the last put of a key
        wins; a key both put and deleted is put).
        """
        writes: dict[tuple[str, str], dict[str, Any]] = {}
        for pk, sk in deletes:
            writes[(pk, sk)] = {"DeleteRequest": {"Key": serialize({"pk": pk, "sk": sk})}}
        for item in puts:
            writes[(item["pk"], item["sk"])] = {"PutRequest": {"Item": serialize(item)}}
        requests = list(writes.values())
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.name: requests[start : start + 25]}
            for _ in range(8):
                with throttling_as_503():
                    pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05)
            else:
                raise ThrottledError("The service is busy; retry shortly.", retry_after_seconds=2)

    def transact(self, operations: list[dict[str, Any]]) -> None:
        """TransactWriteItems, retry-safe: every Put and Update carries this call's write token.

        When a retry is cancelled because its first attempt landed, one of the
        refused items carries the token (the transaction is all or nothing),
        and the call succeeds.  Other cancellations raise as before, with the
        refused items in the cancellation reasons.
        """
        token = new_write_token()
        ops = [
            {kind: with_token(body, token) if kind in ("Put", "Update") else body for kind, body in op.items()}
            for op in operations
        ]
        try:
            with throttling_as_503():
                self.client.transact_write_items(TransactItems=ops)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and any(
                reason.get("Code") == "ConditionalCheckFailed" and landed(reason.get("Item"), token)
                for reason in error.response.get("CancellationReasons") or []
            ):
                return
            raise

    def transact_if(self, operations: list[dict[str, Any]]) -> bool:
        """A transaction that may lose a race: False when DynamoDB refused it for a condition.

        A cancellation by conflicts alone (another transaction on one of its items at the same
        moment) wrote nothing and says nothing about the conditions: it is tried again, a few
        times, before it counts as lost.  botocore does not retry a cancelled transaction.
        """
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self.transact(operations)
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                if not only_conflicts(error) or attempt == CONFLICT_ATTEMPTS - 1:
                    return False
                time.sleep(0.02 * (attempt + 1))
                continue
            return True
        return False

    def put_op(
        self,
        item: Mapping[str, Any],
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A transaction's Put; ``values`` (plain, serialized here) and ``names`` serve its condition."""
        op: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        return {"Put": _conditioned(op, condition, values, names)}

    def delete_op(
        self, pk: str, sk: str, condition: str | None = None, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        op: dict[str, Any] = {"TableName": self.name, "Key": serialize({"pk": pk, "sk": sk})}
        return {"Delete": _conditioned(op, condition, values, None)}

    def update_op(
        self,
        key: Mapping[str, Any],
        expression: str,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A transaction's Update of the item at ``key`` (``values`` plain, serialized here)."""
        op: dict[str, Any] = {"TableName": self.name, "Key": serialize(dict(key)), "UpdateExpression": expression}
        return {"Update": _conditioned(op, condition, values, names)}


def _conditioned(
    op: dict[str, Any], condition: str | None, values: Mapping[str, Any] | None, names: Mapping[str, str] | None
) -> dict[str, Any]:
    if condition:
        op["ConditionExpression"] = condition
    if values:
        op["ExpressionAttributeValues"] = serialize(dict(values))
    if names:
        op["ExpressionAttributeNames"] = dict(names)
    return op
