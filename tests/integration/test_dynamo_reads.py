"""Reads parsed with ``json.loads`` (chalicelib/adapters/dynamo.py ``read_fast``) answer what botocore's parser does.

The app's DynamoDB client skips botocore's walk of the response model for GetItem, BatchGetItem, Query,
Scan and TransactGetItems, which was half the CPU of a page of items.  Here every attribute type is
written to DynamoDB Local and read back by both clients, through every read the hook takes over.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

ITEM: dict[str, Any] = {
    "s": {"S": 'héllo \u2019 "quoted" \\ back'},
    "n_int": {"N": "42"},
    "n_big": {"N": "123456789012345678901234567890"},
    "n_float": {"N": "98.6"},
    "n_exp": {"N": "1E+2"},
    "n_neg": {"N": "-0.5"},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "m": {"M": {"inner": {"L": [{"S": "a"}, {"N": "1"}, {"M": {}}]}, "empty": {"M": {}}}},
    "l": {"L": []},
    "ss": {"SS": ["b", "a"]},
    "ns": {"NS": ["1", "2.5"]},
}
BINARY: dict[str, Any] = {"b": {"B": b"\x00\xffbytes"}, "bs": {"BS": [b"\x01", b"\x02"]}}


@pytest.fixture(scope="module")
def clients(app: Any) -> tuple[Any, Any, str]:
    import boto3

    from chalicelib import bootstrap

    c = bootstrap.container()
    return c.client("dynamodb"), boto3.client("dynamodb"), c.table.name


def _reads(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    pk = key["pk"]["S"]
    answers = {
        "get": client.get_item(TableName=table, Key=key, ConsistentRead=True),
        "batch": client.batch_get_item(RequestItems={table: {"Keys": [key], "ConsistentRead": True}}),
        "query": client.query(
            TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}
        ),
        "transact": client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}}]),
    }
    for answer in answers.values():
        answer.pop("ResponseMetadata")
    return answers


@pytest.mark.parametrize("extra", [{}, BINARY], ids=["json", "binary"])
def test_every_attribute_type_reads_back_as_botocore_parses_it(
    clients: tuple[Any, Any, str], extra: dict[str, Any]
) -> None:
    fast, plain, table = clients
    key = {"pk": {"S": f"TEST#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    plain.put_item(TableName=table, Item={**key, **ITEM, **extra})

    assert _reads(fast, table, key) == _reads(plain, table, key)


def test_deserialize_gives_plain_python(clients: tuple[Any, Any, str]) -> None:
    from chalicelib.adapters.dynamo import deserialize

    fast, plain, table = clients
    key = {"pk": {"S": f"TEST#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    plain.put_item(TableName=table, Item={**key, **ITEM})

    item = deserialize(fast.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])

    assert item["n_int"] == 42 and type(item["n_int"]) is int
    assert item["n_big"] == 123456789012345678901234567890
    assert item["n_float"] == 98.6 and item["n_exp"] == 100 and type(item["n_exp"]) is int and item["n_neg"] == -0.5
    assert item["yes"] is True and item["nothing"] is None and item["s"] == ITEM["s"]["S"]
    assert item["m"] == {"inner": ["a", 1, {}], "empty": {}} and item["l"] == []
    assert sorted(item["ss"]) == ["a", "b"] and sorted(item["ns"]) == [1, 2.5]
    assert not any(isinstance(v, Decimal) for v in item.values())


def test_an_error_answer_is_still_botocores(clients: tuple[Any, Any, str]) -> None:
    from botocore.exceptions import ClientError

    fast, _, _ = clients
    with pytest.raises(ClientError) as raised:
        fast.get_item(TableName="no-such-table", Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_query_each_reads_a_page_only_when_the_caller_gets_to_it(clients: tuple[Any, Any, str]) -> None:
    from itertools import islice

    from chalicelib import bootstrap

    table = bootstrap.container().table
    pk = f"TEST#{uuid.uuid4().hex}"
    for n in range(5):
        table.client.put_item(TableName=table.name, Item={"pk": {"S": pk}, "sk": {"S": f"ITEM#{n}"}})
    queries: list[str] = []

    def counted(**_: Any) -> None:
        queries.append("Query")

    table.client.meta.events.register("before-call.dynamodb.Query", counted)
    try:
        first = list(islice(table.query_each("pk = :p", {":p": pk}, limit=2), 2))
        assert [i["sk"] for i in first] == ["ITEM#0", "ITEM#1"] and len(queries) == 1  # stopping early reads less
        queries.clear()
        every = [i["sk"] for i in table.query_each("pk = :p", {":p": pk}, limit=2)]
        assert every == [f"ITEM#{n}" for n in range(5)] and len(queries) == 3  # 2 + 2 + 1, by LastEvaluatedKey
    finally:
        table.client.meta.events.unregister("before-call.dynamodb.Query", counted)
    assert table.query_all("pk = :p", {":p": pk}, limit=2) == table.query_all("pk = :p", {":p": pk})
