"""The ``AlertStore`` contract, on ``FakeAlertStore`` and on ``DynamoAlertStore`` (DynamoDB Local).

What the alert service relies on: one open alert per slot (the loser gets the
holder back), a reading counted once, each conditional step (upgrade,
re-page, escalation, transition) taken by one writer only, list entries that
follow status, priority and care team, in "critical first, then newest"
order, and digests that count a stage 1 reading once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.alerts import alert_id_for
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import OpenSlot, TimelineEntry
from tests.contract.conftest import AlertBackend

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def new_alert(
    pid: str,
    origin: str = "r-1",
    kind: str = "critical_low",
    priority: str = "critical",
    condition: str | None = "glucose_low",
    at: datetime = T0,
) -> dict[str, Any]:
    return {
        "alert_id": alert_id_for(pid, f"{kind}:{origin}"),
        "patient_id": pid,
        "kind": kind,
        "priority": priority,
        "status": "open",
        "opened_at": iso(at),
        "last_event_at": iso(at),
        "occurrences": 1,
        "reading_ids": [origin],
        "escalation_level": 0,
        "notes": [],
        "since": iso(at),
        "condition": condition,
        "reading_type": "blood_glucose",
        "last_paged_at": iso(at) if priority == "critical" else None,
    }


def opened(alert: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        alert["patient_id"],
        "alert_opened",
        T0 + timedelta(milliseconds=1),
        f"alert-opened-{alert['alert_id']}",
        "opened",
        None,
        {"alert_id": alert["alert_id"]},
    )


def joined(alert: dict[str, Any], reading_id: str) -> dict[str, TimelineEntry]:
    entry = TimelineEntry(
        alert["patient_id"], "alert_joined", T0, f"alert-joined-{alert['alert_id']}-{reading_id}", "joined"
    )
    return {alert["alert_id"]: entry}


def open_one(backend: AlertBackend, alert: dict[str, Any], team: list[str], escalate: bool = True) -> None:
    escalate_at = T0 + timedelta(minutes=15) if escalate and alert["priority"] == "critical" else None
    assert backend.store.open(alert, team, escalate_at, opened(alert)) is None


def acked_by(who: str) -> dict[str, Any]:
    return {"status": "acknowledged", "acknowledged_by": who, "acknowledged_at": iso(T0)}


def mine(items: list[dict[str, Any]], pid: str) -> list[dict[str, Any]]:
    return [i for i in items if i["patient_id"] == pid]


# -- opening --------------------------------------------------------------------------------------


def test_an_opened_alert_reads_back_with_its_care_team(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid)

    open_one(alert_backend, alert, [cid])

    got = alert_backend.store.get(pid, alert["alert_id"])
    assert {k: got[k] for k in alert if alert[k] is not None} == {k: v for k, v in alert.items() if v is not None}
    assert got["care_team"] == [cid]
    assert got.get("last_paged_at") == iso(T0)


def test_a_null_field_is_not_stored(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid, kind="low", priority="routine")

    open_one(alert_backend, alert, [])

    assert "last_paged_at" not in alert_backend.store.get(pid, alert["alert_id"])


def test_opening_takes_the_slot_and_names_its_holder(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)

    open_one(alert_backend, alert, [])

    slots = alert_backend.store.open_slots(pid)
    assert list(slots) == ["glucose_low"]
    assert slots["glucose_low"] == OpenSlot(alert["alert_id"], "critical", iso(T0))


def test_a_second_alert_in_a_taken_slot_gets_the_holder_and_writes_nothing(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    first, second = new_alert(pid, "r-1"), new_alert(pid, "r-2", kind="low", priority="routine")
    open_one(alert_backend, first, [])

    holder = alert_backend.store.open(second, [], None, opened(second))

    assert holder == OpenSlot(first["alert_id"], "critical", iso(T0))
    assert alert_backend.store.get(pid, second["alert_id"]) is None
    assert [a["alert_id"] for a in alert_backend.store.of_patient(pid)] == [first["alert_id"]]
    assert alert_backend.events(pid) == [("alert_opened", f"alert-opened-{first['alert_id']}")]


def test_different_slots_hold_different_alerts(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    low = new_alert(pid, "r-1")
    bp = new_alert(pid, "r-2", kind="critical_high", condition="bp_high")
    trend = new_alert(pid, "r-3", kind="recurrent_lows", priority="routine", condition=None)

    for alert in (low, bp, trend):
        open_one(alert_backend, alert, [])

    assert sorted(alert_backend.store.open_slots(pid)) == ["bp_high", "glucose_low", "recurrent_lows"]


def test_opening_writes_its_timeline_event(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)

    open_one(alert_backend, alert, [])

    assert alert_backend.events(pid) == [("alert_opened", f"alert-opened-{alert['alert_id']}")]


def test_an_opaque_alert_id_finds_its_patient(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)

    open_one(alert_backend, alert, [])

    assert alert_backend.store.patient_of(alert["alert_id"]) == pid
    assert alert_backend.store.patient_of(alert_id_for(pid, "never")) is None


def test_an_opened_critical_alert_is_due_at_its_escalation_time(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    if not hasattr(alert_backend.store, "due_escalations"):
        pytest.skip("not part of the port")
    pid = ids("p")
    alert = new_alert(pid)

    open_one(alert_backend, alert, [])

    assert mine(alert_backend.store.due_escalations(T0 + timedelta(minutes=14)), pid) == []
    [due] = mine(alert_backend.store.due_escalations(T0 + timedelta(minutes=15)), pid)
    assert (due["alert_id"], due["due_at"], due["escalation_level"]) == (
        alert["alert_id"],
        iso(T0 + timedelta(minutes=15)),
        0,
    )


# -- joining --------------------------------------------------------------------------------------


def test_a_reading_is_counted_on_an_alert_once(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])

    first = alert_backend.store.join_many(pid, joined(alert, "r-2"), "r-2", iso(T0 + timedelta(minutes=1)))
    again = alert_backend.store.join_many(pid, joined(alert, "r-2"), "r-2", iso(T0 + timedelta(minutes=2)))

    assert (first, again) == ({alert["alert_id"]}, set())
    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["occurrences"], got["reading_ids"], got["last_event_at"]) == (
        2,
        ["r-1", "r-2"],
        iso(T0 + timedelta(minutes=1)),
    )
    assert ("alert_joined", f"alert-joined-{alert['alert_id']}-r-2") in alert_backend.events(pid)


def test_the_opening_reading_is_not_counted_again(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])

    assert alert_backend.store.join_many(pid, joined(alert, "r-1"), "r-1", iso(T0)) == set()


def test_joining_several_alerts_counts_on_those_that_accept(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    low = new_alert(pid, "r-1")
    trend = new_alert(pid, "r-9", kind="recurrent_lows", priority="routine", condition=None)
    open_one(alert_backend, low, [])
    open_one(alert_backend, trend, [])

    result = alert_backend.store.join_many(pid, {**joined(low, "r-9"), **joined(trend, "r-9")}, "r-9", iso(T0))

    assert result == {low["alert_id"]}
    assert alert_backend.store.get(pid, low["alert_id"])["occurrences"] == 2
    assert alert_backend.store.get(pid, trend["alert_id"])["occurrences"] == 1


def test_a_resolved_alert_takes_no_more_readings(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    current = alert_backend.store.get(pid, alert["alert_id"])
    alert_backend.store.transition(current, {"status": "resolved", "resolved_by": "c", "resolved_at": iso(T0)}, None)

    assert alert_backend.store.join_many(pid, joined(alert, "r-2"), "r-2", iso(T0)) == set()


def test_joining_an_alert_that_does_not_exist_counts_nothing(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")

    assert alert_backend.store.join_many(pid, joined(new_alert(pid), "r-2"), "r-2", iso(T0)) == set()
    assert alert_backend.store.of_patient(pid) == []


# -- the reading names the alert it opened or joined ---------------------------------------------------


def stored_reading(backend: AlertBackend, pid: str, reading_id: str) -> None:
    backend.put_reading(
        {
            "reading_id": reading_id,
            "patient_id": pid,
            "type": "blood_glucose",
            "value": 40,
            "unit": "mg/dL",
            "value_mg_dl": 40,
            "measured_at": iso(T0),
            "received_at": iso(T0),
        }
    )


def named(backend: AlertBackend, pid: str, reading_id: str) -> Any:
    found = backend.reading(pid, reading_id)
    assert found is not None
    return found.get("alert_id")


def test_the_reading_that_opens_an_alert_names_it_once(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    stored_reading(alert_backend, pid, "r-1")
    alert = new_alert(pid, "r-1")
    trend = new_alert(pid, "r-1", kind="recurrent_lows", priority="routine", condition=None)

    assert alert_backend.store.open(alert, [], None, opened(alert), "r-1") is None
    assert alert_backend.store.open(alert, [], None, opened(alert), "r-1") == OpenSlot(
        alert["alert_id"], "critical", iso(T0)
    )  # a redelivery: the slot is held, nothing written
    assert alert_backend.store.open(trend, [], None, opened(trend), "r-1") is None

    assert named(alert_backend, pid, "r-1") == alert["alert_id"]  # the first alert it opened


def test_an_alert_opened_for_a_reading_that_is_not_stored_opens_and_stores_no_reading(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    alert = new_alert(pid, "r-gone")

    assert alert_backend.store.open(alert, [], None, opened(alert), "r-gone") is None

    assert alert_backend.store.get(pid, alert["alert_id"]) is not None
    assert alert_backend.reading(pid, "r-gone") is None


def test_a_joining_reading_names_the_first_alert_it_is_counted_on_once(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    low = new_alert(pid, "r-1")
    trend = new_alert(pid, "r-8", kind="recurrent_lows", priority="routine", condition=None)
    open_one(alert_backend, low, [])
    open_one(alert_backend, trend, [])
    for rid in ("r-2", "r-3"):
        stored_reading(alert_backend, pid, rid)
    both = {**joined(trend, "r-2"), **joined(low, "r-2")}

    first = alert_backend.store.join_many(pid, both, "r-2", iso(T0), stored_reading=True)
    again = alert_backend.store.join_many(pid, both, "r-2", iso(T0), stored_reading=True)
    unmarked = alert_backend.store.join_many(pid, joined(low, "r-3"), "r-3", iso(T0))

    assert (first, again, unmarked) == ({low["alert_id"], trend["alert_id"]}, set(), {low["alert_id"]})
    assert named(alert_backend, pid, "r-2") == trend["alert_id"]
    assert named(alert_backend, pid, "r-3") is None
    assert alert_backend.store.get(pid, low["alert_id"])["occurrences"] == 3


def test_a_reading_that_names_an_alert_keeps_it_and_one_not_stored_is_still_counted(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    stored_reading(alert_backend, pid, "r-1")
    first = new_alert(pid, "r-1")
    second = new_alert(pid, "r-7", kind="high", priority="routine", condition="glucose_high")
    assert alert_backend.store.open(first, [], None, opened(first), "r-1") is None
    open_one(alert_backend, second, [])

    assert alert_backend.store.join_many(pid, joined(second, "r-1"), "r-1", iso(T0), stored_reading=True) == {
        second["alert_id"]
    }
    assert alert_backend.store.join_many(pid, joined(second, "r-gone"), "r-gone", iso(T0), stored_reading=True) == {
        second["alert_id"]
    }

    assert named(alert_backend, pid, "r-1") == first["alert_id"]
    assert alert_backend.reading(pid, "r-gone") is None
    assert alert_backend.store.get(pid, second["alert_id"])["reading_ids"] == ["r-7", "r-1", "r-gone"]


# -- upgrade, re-page, escalation -----------------------------------------------------------------


def test_a_routine_alert_is_upgraded_once(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid, kind="low", priority="routine")
    open_one(alert_backend, alert, [cid])
    current = alert_backend.store.get(pid, alert["alert_id"])
    escalate_at = T0 + timedelta(minutes=25)

    first = alert_backend.store.upgrade(current, "critical_low", "critical", escalate_at)
    again = alert_backend.store.upgrade(current, "critical_low", "critical", escalate_at)

    assert (first, again) == (True, False)
    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["kind"], got["priority"], got["status"], got["escalation_level"]) == (
        "critical_low",
        "critical",
        "open",
        0,
    )
    assert got["last_paged_at"] == iso(T0 + timedelta(minutes=10))
    assert alert_backend.store.open_slots(pid)["glucose_low"].priority == "critical"
    assert [e["priority"] for e in alert_backend.store.clinician_entries(cid, "open")] == ["critical"]


def test_an_upgrade_reopens_an_acknowledged_alert(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid, kind="low", priority="routine")
    open_one(alert_backend, alert, [cid])
    current = alert_backend.store.get(pid, alert["alert_id"])
    acked = alert_backend.store.transition(
        current, {"status": "acknowledged", "acknowledged_by": cid, "acknowledged_at": iso(T0)}, None
    )

    assert alert_backend.store.upgrade(acked, "critical_low", "critical", T0 + timedelta(minutes=15))

    got = alert_backend.store.get(pid, alert["alert_id"])
    assert got["status"] == "open" and "acknowledged_by" not in got
    assert [e["alert_id"] for e in alert_backend.store.clinician_entries(cid, "open")] == [alert["alert_id"]]
    assert alert_backend.store.clinician_entries(cid, "acknowledged") == []


@pytest.mark.parametrize(("minutes_since_page", "wins"), [(30, False), (59, False), (60, True), (90, True)])
def test_a_re_page_needs_the_last_page_to_be_old_enough(
    alert_backend: AlertBackend, ids: Callable[[str], str], minutes_since_page: int, wins: bool
) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    current = alert_backend.store.get(pid, alert["alert_id"])
    now = T0 + timedelta(minutes=minutes_since_page)

    result = alert_backend.store.repage(current, now, now - timedelta(minutes=60), now + timedelta(minutes=15))

    assert result is wins
    got = alert_backend.store.get(pid, alert["alert_id"])
    assert got["last_paged_at"] == (iso(now) if wins else iso(T0))


def test_a_re_page_is_taken_once(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    current = alert_backend.store.get(pid, alert["alert_id"])
    now = T0 + timedelta(minutes=61)

    first = alert_backend.store.repage(current, now, now - timedelta(minutes=60), now + timedelta(minutes=15))
    again = alert_backend.store.repage(current, now, now - timedelta(minutes=60), now + timedelta(minutes=15))

    assert (first, again) == (True, False)


def test_a_re_page_reopens_an_acknowledged_alert_and_restarts_its_ladder(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [cid])
    current = alert_backend.store.get(pid, alert["alert_id"])
    assert alert_backend.store.escalate(current, 1, T0 + timedelta(minutes=30), False)
    current = alert_backend.store.get(pid, alert["alert_id"])
    acked = alert_backend.store.transition(
        current, {"status": "acknowledged", "acknowledged_by": cid, "acknowledged_at": iso(T0)}, None
    )
    now = T0 + timedelta(minutes=90)

    assert alert_backend.store.repage(acked, now, now - timedelta(minutes=60), now + timedelta(minutes=15))

    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["status"], got["escalation_level"], got["due_at"]) == ("open", 0, iso(now + timedelta(minutes=15)))
    assert "acknowledged_by" not in got
    assert [e["alert_id"] for e in alert_backend.store.clinician_entries(cid, "open")] == [alert["alert_id"]]


def test_a_re_page_read_before_a_status_change_loses(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    read = alert_backend.store.get(pid, alert["alert_id"])
    alert_backend.store.transition(read, acked_by("c"), None)
    now = T0 + timedelta(minutes=90)

    assert not alert_backend.store.repage(read, now, now - timedelta(minutes=60), now + timedelta(minutes=15))


def test_each_level_is_reached_once_per_due_time(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    due = alert_backend.store.get(pid, alert["alert_id"])

    first = alert_backend.store.escalate(due, 1, T0 + timedelta(minutes=30), False)
    again = alert_backend.store.escalate(due, 1, T0 + timedelta(minutes=30), False)
    skipped = alert_backend.store.escalate(due, 3, None, True)

    assert (first, again, skipped) == (True, False, False)
    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["escalation_level"], got["due_at"], got["last_paged_at"]) == (
        1,
        iso(T0 + timedelta(minutes=30)),
        iso(T0 + timedelta(minutes=15)),
    )


def test_the_last_level_marks_unanswered_everywhere_and_leaves_the_due_index(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [cid])
    for level in (1, 2):
        due = alert_backend.store.get(pid, alert["alert_id"])
        assert alert_backend.store.escalate(due, level, T0 + timedelta(minutes=15 * (level + 1)), False)
    due = alert_backend.store.get(pid, alert["alert_id"])

    assert alert_backend.store.escalate(due, 3, None, True)

    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["escalation_level"], got.get("unanswered"), "due_at" in got) == (3, True, False)
    assert [e.get("unanswered") for e in alert_backend.store.clinician_entries(cid, "open")] == [True]
    admin = mine(alert_backend.store.list_page(None, "open", 1000, None, None).items, pid)
    assert [e.get("unanswered") for e in admin] == [True]


def test_an_acknowledged_alert_does_not_escalate(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    due = alert_backend.store.get(pid, alert["alert_id"])
    alert_backend.store.transition(due, acked_by("c"), None)

    assert not alert_backend.store.escalate(due, 1, T0 + timedelta(minutes=30), False)


# -- transitions ----------------------------------------------------------------------------------


def test_acknowledging_moves_the_entries_and_leaves_the_due_index(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [cid])
    current = alert_backend.store.get(pid, alert["alert_id"])
    changes = {"status": "acknowledged", "acknowledged_by": cid, "acknowledged_at": iso(T0)}

    after = alert_backend.store.transition(current, changes, {"by": cid, "at": iso(T0), "text": "on it"})

    assert after["status"] == "acknowledged" and after["notes"] == [{"by": cid, "at": iso(T0), "text": "on it"}]
    got = alert_backend.store.get(pid, alert["alert_id"])
    assert (got["status"], got["acknowledged_by"], "due_at" in got) == ("acknowledged", cid, False)
    assert got["notes"] == [{"by": cid, "at": iso(T0), "text": "on it"}]
    assert alert_backend.store.clinician_entries(cid, "open") == []
    assert [e["alert_id"] for e in alert_backend.store.clinician_entries(cid, "acknowledged")] == [alert["alert_id"]]
    assert list(alert_backend.store.open_slots(pid)) == ["glucose_low"]


def test_resolving_frees_the_slot(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    current = alert_backend.store.get(pid, alert["alert_id"])

    alert_backend.store.transition(current, {"status": "resolved", "resolved_by": "c", "resolved_at": iso(T0)}, None)

    assert alert_backend.store.open_slots(pid) == {}
    assert open_one(alert_backend, new_alert(pid, "r-2"), []) is None


def test_a_transition_from_a_status_the_alert_left_conflicts(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid = ids("p")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [])
    read = alert_backend.store.get(pid, alert["alert_id"])
    alert_backend.store.transition(read, acked_by("a"), None)

    with pytest.raises(ConflictError):
        alert_backend.store.transition(read, acked_by("b"), None)

    assert alert_backend.store.get(pid, alert["alert_id"])["acknowledged_by"] == "a"


def test_a_transition_gives_the_entries_to_the_current_care_team(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, old, new = ids("p"), ids("c-old"), ids("c-new")
    alert = new_alert(pid)
    open_one(alert_backend, alert, [old])
    current = alert_backend.store.get(pid, alert["alert_id"])

    alert_backend.store.transition(
        current, {"status": "acknowledged", "acknowledged_by": new, "acknowledged_at": iso(T0)}, None, [new]
    )

    assert alert_backend.store.get(pid, alert["alert_id"])["care_team"] == [new]
    assert [e["alert_id"] for e in alert_backend.store.clinician_entries(new, "acknowledged")] == [alert["alert_id"]]
    assert alert_backend.store.clinician_entries(old, "acknowledged") == []
    assert alert_backend.store.clinician_entries(old, "open") == []


# -- safety messages ------------------------------------------------------------------------------


def test_the_safety_message_claim_holds_fifteen_minutes(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    claim = alert_backend.store.claim_safety_message
    every = timedelta(minutes=15)

    first = claim(pid, "glucose_low", "r-1", T0, T0 - every)
    redelivered = claim(pid, "glucose_low", "r-1", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1) - every)
    too_soon = claim(pid, "glucose_low", "r-2", T0 + timedelta(minutes=14), T0 + timedelta(minutes=14) - every)
    other_condition = claim(pid, "bp_high", "r-3", T0 + timedelta(minutes=14), T0 + timedelta(minutes=14) - every)
    later = claim(pid, "glucose_low", "r-4", T0 + timedelta(minutes=31), T0 + timedelta(minutes=31) - every)

    assert (first, redelivered, too_soon, other_condition, later) == ("r-1", "r-1", "r-1", "r-3", "r-4")


# -- reading back ---------------------------------------------------------------------------------


def _listed(backend: AlertBackend, pid: str, cid: str) -> list[dict[str, Any]]:
    alerts = [
        new_alert(pid, "r-1", at=T0),
        new_alert(pid, "r-2", kind="low", priority="routine", condition="x1", at=T0 + timedelta(minutes=1)),
        new_alert(pid, "r-3", kind="critical_high", condition="bp_high", at=T0 + timedelta(minutes=2)),
        new_alert(pid, "r-4", kind="high", priority="routine", condition="x2", at=T0 + timedelta(minutes=3)),
        new_alert(pid, "r-5", kind="critical_high", condition="pulse", at=T0 + timedelta(minutes=4)),
    ]
    for alert in alerts:
        open_one(backend, alert, [cid])
    return alerts


def test_a_clinicians_list_is_critical_first_then_newest(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    a = _listed(alert_backend, pid, cid)

    entries = alert_backend.store.clinician_entries(cid, "open")

    assert [e["alert_id"] for e in entries] == [
        a[4]["alert_id"],
        a[2]["alert_id"],
        a[0]["alert_id"],
        a[3]["alert_id"],
        a[1]["alert_id"],
    ]
    assert {k for k in entries[0] if k in ("alert_id", "patient_id", "priority", "status", "opened_at", "kind")} == {
        "alert_id",
        "patient_id",
        "priority",
        "status",
        "opened_at",
        "kind",
    }


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_paging_a_list_yields_every_entry_once_in_order(
    alert_backend: AlertBackend, ids: Callable[[str], str], limit: int
) -> None:
    pid, cid = ids("p"), ids("c")
    _listed(alert_backend, pid, cid)
    expected = [e["alert_id"] for e in alert_backend.store.clinician_entries(cid, "open")]

    seen: list[str] = []
    start = None
    pages = 0
    while True:
        page = alert_backend.store.list_page(cid, "open", limit, start, None)
        seen += [e["alert_id"] for e in page.items]
        pages += 1
        start = page.last_key
        if not start:
            break

    assert seen == expected
    assert pages == len(expected) // limit + 1  # a full last page still hands back a key


@pytest.mark.parametrize("priority", ["critical", "routine"])
def test_a_list_filtered_by_priority_holds_only_that_priority(
    alert_backend: AlertBackend, ids: Callable[[str], str], priority: str
) -> None:
    pid, cid = ids("p"), ids("c")
    _listed(alert_backend, pid, cid)

    page = alert_backend.store.list_page(cid, "open", 10, None, priority)

    assert {e["priority"] for e in page.items} == {priority}
    assert len(page.items) == (3 if priority == "critical" else 2)


def test_the_admins_list_holds_every_alert(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    a = _listed(alert_backend, pid, cid)

    admin = mine(alert_backend.store.list_page(None, "open", 1000, None, None).items, pid)

    assert sorted(e["alert_id"] for e in admin) == sorted(x["alert_id"] for x in a)


def test_alerts_are_read_many_at_once_and_missing_ones_are_left_out(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    a = _listed(alert_backend, pid, cid)

    found = alert_backend.store.many([(pid, a[0]["alert_id"]), (pid, a[3]["alert_id"]), (pid, "a-missing")])

    assert sorted(f["alert_id"] for f in found) == sorted([a[0]["alert_id"], a[3]["alert_id"]])


def test_every_alert_of_a_patient_is_read_back(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    pid, cid = ids("p"), ids("c")
    a = _listed(alert_backend, pid, cid)

    found = alert_backend.store.of_patient(pid)

    assert [f["alert_id"] for f in found] == sorted((x["alert_id"] for x in a), reverse=True)


def test_a_patients_alerts_of_some_statuses_are_read_back_without_the_others(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    pid, cid = ids("p"), ids("c")
    a = _listed(alert_backend, pid, cid)
    store = alert_backend.store
    store.transition(store.get(pid, a[1]["alert_id"]), acked_by(cid), None)
    store.transition(
        store.get(pid, a[2]["alert_id"]), {"status": "resolved", "resolved_by": cid, "resolved_at": iso(T0)}, None
    )

    def of(*statuses: str) -> list[str]:
        return [f["alert_id"] for f in store.of_patient(pid, statuses)]

    assert of("acknowledged") == [a[1]["alert_id"]]
    assert of("resolved") == [a[2]["alert_id"]]
    assert of("open", "acknowledged") == sorted((a[n]["alert_id"] for n in (0, 1, 3, 4)), reverse=True)


# -- digests --------------------------------------------------------------------------------------


def test_a_stage_1_reading_is_counted_once_and_a_digest_advances_once(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    cid = ids("c")
    due = T0 + timedelta(hours=23)
    alert_backend.store.schedule_digest(cid, "UTC", T0, due)
    alert_backend.store.note_stage1(cid, "r-1")
    alert_backend.store.note_stage1(cid, "r-1")
    alert_backend.store.note_stage1(cid, "r-2")
    digest = alert_backend.digest(cid)
    assert sorted(digest["stage1_readings"]) == ["r-1", "r-2"]

    alert_backend.store.note_stage1(cid, "r-3")  # after the tick read the digest
    first = alert_backend.store.advance_digest(digest, due + timedelta(days=1), due)
    again = alert_backend.store.advance_digest(digest, due + timedelta(days=1), due)

    assert (first, again) == (True, False)
    after = alert_backend.digest(cid)
    assert (after["due_at"], after["last_digest_at"]) == (iso(due + timedelta(days=1)), iso(due))
    assert list(after["stage1_readings"]) == ["r-3"]


def test_advancing_a_digest_that_counted_every_reading_leaves_none(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    cid = ids("c")
    due = T0 + timedelta(hours=23)
    alert_backend.store.schedule_digest(cid, "UTC", T0, due)
    alert_backend.store.note_stage1(cid, "r-1")

    assert alert_backend.store.advance_digest(alert_backend.digest(cid), due + timedelta(days=1), due)

    assert "stage1_readings" not in alert_backend.digest(cid)


def test_a_stage_1_reading_without_a_digest_is_not_kept(alert_backend: AlertBackend, ids: Callable[[str], str]) -> None:
    cid = ids("c")

    alert_backend.store.note_stage1(cid, "r-1")

    assert alert_backend.digest(cid) is None


def test_scheduling_a_digest_again_starts_its_count_over(
    alert_backend: AlertBackend, ids: Callable[[str], str]
) -> None:
    cid = ids("c")
    alert_backend.store.schedule_digest(cid, "UTC", T0, T0 + timedelta(hours=23))
    alert_backend.store.note_stage1(cid, "r-1")

    alert_backend.store.schedule_digest(cid, "Europe/Paris", T0, T0 + timedelta(hours=22))

    digest = alert_backend.digest(cid)
    assert (digest["timezone"], digest["due_at"], "stage1_readings" in digest) == (
        "Europe/Paris",
        iso(T0 + timedelta(hours=22)),
        False,
    )
