"""A list page of more than 100 patients: one audit view in the request, each patient's record from the stream.

On DynamoDB Local, writing 500 audit records in the request (transactions, batches or puts alike) is half a
second of a worklist that must render in 300 ms (bench/README.md "console"), so the request writes one view
item and the table's stream writes the records (chalicelib/adapters/stores.py ``DynamoAuditLog``).  What an
auditor reads afterwards must be the same as if the request had written them itself, once each.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.adapters.dynamo import serialize
from tests.integration.test_record import Requests


def _records(log: Any, patient_id: str) -> list[dict[str, Any]]:
    return log.query_all("pk = :p", {":p": f"PATIENT#{patient_id}"}, consistent=True)


def test_a_list_of_150_patients_is_one_put_in_the_request_and_one_record_each_after_the_stream(
    app: Any, stream_runner: Any
) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role

    c = bootstrap.container()
    tag = uuid.uuid4().hex[:8]
    me = Principal(f"c-{tag}", Role.CLINICIAN, f"req-{tag}", client_id="console", source_ip="198.51.100.7")
    pids = [f"p-{tag}-{n:03d}" for n in range(150)]
    stream_runner.drain()

    with Requests() as requests:
        c.audit.record_many(me, "list", "worklist", [(p, {"rank": n} if n == 7 else None) for n, p in enumerate(pids)])

    assert requests.calls == ["PutItem"]
    assert _records(c.audit_table, pids[0]) == []  # not yet: the stream writes them

    stream_runner.drain()

    by_actor = c.audit_table.query_all("actor_pk = :a", {":a": f"ACTOR#{me.subject}"}, index="by_actor")
    assert sorted(r["patient_id"] for r in by_actor) == pids
    for n in (0, 7, 99, 100, 149):
        (record,) = _records(c.audit_table, pids[n])
        assert (record["actor"], record["role"], record["action"], record["resource"]) == (
            me.subject,
            "clinician",
            "list",
            "worklist",
        )
        assert (record["request_id"], record["client_id"], record["source_ip"]) == (
            f"req-{tag}",
            "console",
            "198.51.100.7",
        )
        assert record.get("detail") == ({"rank": 7} if n == 7 else None)
        assert record["day_pk"] == f"DAY#{record['at'][:10]}"


def test_a_redelivered_view_writes_nothing_twice(app: Any, stream_runner: Any) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role

    c = bootstrap.container()
    tag = uuid.uuid4().hex[:8]
    me = Principal(f"c-{tag}", Role.CLINICIAN, f"req-{tag}")
    pids = [f"p-{tag}-{n:03d}" for n in range(230)]
    c.audit.record_many(me, "list", "worklist", [(p, None) for p in pids])
    stream_runner.drain()
    (view,) = c.table.query_all("pk = :p", {":p": f"AUDIT_VIEW#req-{tag}#{_first_seq(c, pids[0])}"}, consistent=True)

    record = {"eventName": "INSERT", "dynamodb": {"NewImage": serialize(view)}}
    assert c.audit_log.expand_view(view) == 0  # every chunk was written by the first delivery
    c.changes.handle_record(record)  # the stream's own path, again: no error, nothing new

    by_actor = c.audit_table.query_all("actor_pk = :a", {":a": f"ACTOR#{me.subject}"}, index="by_actor")
    assert sorted(r["patient_id"] for r in by_actor) == pids


def test_a_list_of_100_patients_or_fewer_is_still_written_in_the_request(app: Any) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.identity import Principal, Role

    c = bootstrap.container()
    tag = uuid.uuid4().hex[:8]
    me = Principal(f"c-{tag}", Role.CLINICIAN, f"req-{tag}")
    pids = [f"p-{tag}-{n:03d}" for n in range(100)]

    with Requests() as requests:
        c.audit.record_many(me, "list", "alert", [(p, None) for p in pids])

    assert requests.calls == ["TransactWriteItems"]
    assert [r["resource"] for r in _records(c.audit_table, pids[99])] == ["alert"]


def _first_seq(c: Any, patient_id: str) -> Any:
    (record,) = _records(c.audit_table, patient_id)
    return record["seq"]
