"""The alert API's use cases on the fakes: read, list, acknowledge, resolve; who may see what; the audit trail."""

from __future__ import annotations

import pytest

from chalicelib.domain.alerts import TransitionIn
from chalicelib.domain.errors import ConflictError, ForbiddenError, MalformedRequestError, NotFoundError
from chalicelib.domain.identity import Principal, Role
from tests.unit.services.conftest import World, admin_principal, clinician_principal

ANA = clinician_principal("c-ana")


def critical(world: World) -> str:
    world.glucose(40)
    return str(world.reading_alert()["alert_id"])


def act(world: World, alert_id: str, action: str, who: Principal = ANA, note: str | None = None) -> str:
    return world.service.transition(who, alert_id, action, TransitionIn(note=note)).status


def test_the_care_team_reads_an_alert_and_the_read_is_audited(world: World) -> None:
    alert_id = critical(world)

    alert = world.service.get(ANA, alert_id)

    assert (alert.alert_id, alert.priority, alert.status, alert.condition) == (
        alert_id,
        "critical",
        "open",
        "glucose_low",
    )
    assert [(e["action"], e["patient_id"]) for e in world.audit_log.entries] == [("read", "p-1")]


@pytest.mark.parametrize(
    "who",
    [
        clinician_principal("c-eve"),
        Principal(subject="p-1", role=Role.PATIENT),
        Principal(subject="p-2", role=Role.PATIENT),
    ],
)
def test_anyone_off_the_care_team_gets_not_found(world: World, who: Principal) -> None:
    alert_id = critical(world)

    with pytest.raises(NotFoundError):
        world.service.get(who, alert_id)


def test_a_clinician_removed_from_the_team_can_no_longer_read_the_alert(world: World) -> None:
    alert_id = critical(world)
    world.patient(care_team=("c-eve",))

    with pytest.raises(NotFoundError):
        world.service.get(ANA, alert_id)


@pytest.mark.parametrize("alert_id", ["a-000000000000000000000000", "nonsense", "a-zz", ""])
def test_an_unknown_alert_is_not_found(world: World, alert_id: str) -> None:
    critical(world)

    with pytest.raises(NotFoundError):
        world.service.get(ANA, alert_id)


def test_an_admin_reads_any_alert(world: World) -> None:
    alert_id = critical(world)

    assert world.service.get(admin_principal(), alert_id).alert_id == alert_id


# -- acknowledge and resolve ----------------------------------------------------------------------


def test_acknowledging_records_who_and_when_and_the_note(world: World) -> None:
    alert_id = critical(world)
    world.clock.advance(minutes=3)

    alert = world.service.transition(ANA, alert_id, "acknowledge", TransitionIn(note="calling her now"))

    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == ("acknowledged", "c-ana", world.clock())
    assert [n.text for n in alert.notes] == ["calling her now"]
    [event] = world.timeline.of("p-1", "alert_acknowledged")
    assert event["summary"] == "alert acknowledged by c-ana"
    assert ("acknowledge", "p-1") in [(e["action"], e["patient_id"]) for e in world.audit_log.entries]


def test_the_same_person_acknowledging_twice_gets_the_same_answer(world: World) -> None:
    alert_id = critical(world)
    first = world.service.transition(ANA, alert_id, "acknowledge", TransitionIn())
    world.clock.advance(minutes=1)

    again = world.service.transition(ANA, alert_id, "acknowledge", TransitionIn())

    assert again == first


def test_a_second_clinician_cannot_acknowledge_an_acknowledged_alert(world: World) -> None:
    world.clinician("c-ben")
    world.patient(care_team=("c-ana", "c-ben"))
    alert_id = critical(world)
    act(world, alert_id, "acknowledge")

    with pytest.raises(ConflictError):
        act(world, alert_id, "acknowledge", clinician_principal("c-ben"))


@pytest.mark.parametrize("path", [["resolve"], ["acknowledge", "resolve"]])
def test_an_open_or_acknowledged_alert_can_be_resolved(world: World, path: list[str]) -> None:
    alert_id = critical(world)

    statuses = [act(world, alert_id, action) for action in path]

    assert statuses[-1] == "resolved"
    assert world.alerts.open_slots("p-1") == {}


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_nothing_follows_resolved(world: World, action: str) -> None:
    world.clinician("c-ben")
    world.patient(care_team=("c-ana", "c-ben"))
    alert_id = critical(world)
    act(world, alert_id, "resolve")

    with pytest.raises(ConflictError):
        act(world, alert_id, action, clinician_principal("c-ben"))


def test_a_patient_cannot_acknowledge(world: World) -> None:
    alert_id = critical(world)

    with pytest.raises(ForbiddenError):
        act(world, alert_id, "acknowledge", Principal(subject="p-1", role=Role.PATIENT))


# -- lists ----------------------------------------------------------------------------------------


def several(world: World) -> dict[str, str]:
    world.glucose(250)  # routine, glucose_high
    world.clock.advance(minutes=1)
    world.bp(190, 100)  # critical, bp_high
    world.clock.advance(minutes=1)
    world.bp(85, 55)  # routine, bp_low
    world.clock.advance(minutes=1)
    world.glucose(40)  # critical, glucose_low
    return {a["condition"]: a["alert_id"] for a in world.alerts.of_patient("p-1")}


def test_a_clinicians_open_alerts_are_listed_critical_first_then_newest(world: World) -> None:
    ids = several(world)

    alerts, cursor = world.service.page(ANA, None, None, None, 10, None)

    assert [a.alert_id for a in alerts] == [ids[c] for c in ("glucose_low", "bp_high", "bp_low", "glucose_high")]
    assert cursor is None


@pytest.mark.parametrize("patient_id", [None, "p-1"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_through_a_list_shows_every_alert_once(world: World, patient_id: str | None, limit: int) -> None:
    ids = several(world)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        alerts, cursor = world.service.page(ANA, "open", None, patient_id, limit, cursor)
        seen += [a.alert_id for a in alerts]
        if cursor is None:
            break

    assert seen == [ids[c] for c in ("glucose_low", "bp_high", "bp_low", "glucose_high")]


@pytest.mark.parametrize(("priority", "count"), [("critical", 2), ("routine", 2)])
def test_a_list_filtered_by_priority(world: World, priority: str, count: int) -> None:
    several(world)

    alerts, _ = world.service.page(ANA, None, priority, None, 10, None)

    assert len(alerts) == count and {a.priority for a in alerts} == {priority}


def test_an_acknowledged_alert_moves_to_the_acknowledged_list(world: World) -> None:
    ids = several(world)
    act(world, ids["bp_high"], "acknowledge")

    open_alerts, _ = world.service.page(ANA, "open", None, None, 10, None)
    acknowledged, _ = world.service.page(ANA, "acknowledged", None, None, 10, None)

    assert ids["bp_high"] not in [a.alert_id for a in open_alerts]
    assert [a.alert_id for a in acknowledged] == [ids["bp_high"]]


def test_the_admins_list_holds_every_patients_alerts(world: World) -> None:
    world.patient("p-2", care_team=("c-eve",))
    world.glucose(40)
    world.glucose(40, pid="p-2")

    alerts, _ = world.service.page(admin_principal(), None, None, None, 10, None)

    assert {a.patient_id for a in alerts} == {"p-1", "p-2"}


def test_a_clinician_sees_only_their_patients_alerts(world: World) -> None:
    world.patient("p-2", care_team=("c-eve",))
    world.glucose(40)
    world.glucose(40, pid="p-2")

    alerts, _ = world.service.page(ANA, None, None, None, 10, None)

    assert {a.patient_id for a in alerts} == {"p-1"}


def test_a_clinician_off_the_team_cannot_list_a_patients_alerts(world: World) -> None:
    several(world)

    with pytest.raises(NotFoundError):
        world.service.page(clinician_principal("c-eve"), None, None, "p-1", 10, None)


def test_a_clinician_dropped_from_the_team_no_longer_sees_the_alerts_in_their_list(world: World) -> None:
    several(world)
    world.patient(care_team=("c-eve",))

    alerts, _ = world.service.page(ANA, None, None, None, 10, None)

    assert alerts == []


@pytest.mark.parametrize(("status", "priority"), [("closed", None), ("open", "urgent")])
def test_an_unknown_status_or_priority_is_refused(world: World, status: str, priority: str | None) -> None:
    with pytest.raises(MalformedRequestError):
        world.service.page(ANA, status, priority, None, 10, None)


def test_a_cursor_from_another_query_is_refused(world: World) -> None:
    several(world)
    _, cursor = world.service.page(ANA, "open", None, None, 1, None)

    with pytest.raises(MalformedRequestError):
        world.service.page(ANA, "acknowledged", None, None, 1, cursor)


def test_every_patient_a_list_shows_is_audited(world: World) -> None:
    world.patient("p-2", care_team=("c-ana",))
    world.glucose(40)
    world.glucose(40, pid="p-2")

    world.service.page(ANA, None, None, None, 10, None)

    assert sorted(e["patient_id"] for e in world.audit_log.entries if e["action"] == "list") == ["p-1", "p-2"]


def test_the_worklist_counts_read_a_clinicians_open_and_acknowledged_entries(world: World) -> None:
    ids = several(world)
    act(world, ids["bp_high"], "acknowledge")
    act(world, ids["glucose_high"], "resolve")

    entries = world.service.live_entries("c-ana")

    assert sorted((e["alert_id"], e["status"]) for e in entries) == sorted(
        [(ids["glucose_low"], "open"), (ids["bp_low"], "open"), (ids["bp_high"], "acknowledged")]
    )
