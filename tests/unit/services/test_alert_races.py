"""Races the stream and the tick can run into, played on the fakes: the loser of each conditional write pages nobody.

A writer that read before another wrote is played by a fake whose reads are
stale (it answers what the table held before the other writer's write); the
write itself still goes to the shared state and loses as DynamoDB's would.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from chalicelib.domain.alerts import TransitionIn
from chalicelib.services.ports import OpenSlot
from tests.fakes import FakeAlertStore
from tests.unit.services.conftest import World, clinician_principal


class StaleReads(FakeAlertStore):
    """Answers ``open_slots`` and ``get`` from a snapshot taken before another writer acted."""

    def __init__(self, live: FakeAlertStore) -> None:
        self.__dict__ = live.__dict__  # the same table
        self._snapshot: dict[str, Any] | None = None

    def freeze(self, alerts: bool = True) -> None:
        """From now on, answer the slots (and, with ``alerts``, the alerts) as they are at this moment."""
        self._snapshot = {"alerts": copy.deepcopy(self.alerts) if alerts else None, "slots": copy.deepcopy(self.slots)}

    def open_slots(self, patient_id: str) -> dict[str, OpenSlot]:
        if self._snapshot is None:
            return super().open_slots(patient_id)
        return {s: self._holder(h) for (p, s), h in self._snapshot["slots"].items() if p == patient_id}

    def get(self, patient_id: str, alert_id: str) -> dict[str, Any] | None:
        if self._snapshot is None or self._snapshot["alerts"] is None:
            return super().get(patient_id, alert_id)
        found = self._snapshot["alerts"].get((patient_id, alert_id))
        return copy.deepcopy(found) if found else None


def stale(world: World) -> StaleReads:
    store = StaleReads(world.alerts)
    world.service._alerts = store
    return store


def test_two_batches_racing_to_open_an_alert_open_one_and_the_loser_joins_it(world: World) -> None:
    store = stale(world)
    store.freeze(alerts=False)  # the second batch read the slots before the first opened the alert
    world.glucose(40)
    world.pages()

    world.glucose(40)

    alert = world.reading_alert()
    assert alert["occurrences"] == 2
    assert world.pages() == []  # joined within the hour of the winner's page


def test_a_routine_loser_of_the_opening_race_upgrades_nothing_twice(world: World) -> None:
    store = stale(world)
    store.freeze(alerts=False)
    world.glucose(250)

    world.glucose(450)

    alert = world.reading_alert()
    assert (alert["priority"], alert["occurrences"]) == ("critical", 2)
    assert world.paged() == {"c-ana"}


def test_two_batches_racing_to_re_page_page_once(world: World) -> None:
    world.glucose(40)
    alert_id = world.reading_alert()["alert_id"]
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.clock.advance(minutes=61)
    store = stale(world)
    store.freeze()  # both batches read the alert before either re-paged
    world.pages()

    world.glucose(40)
    world.glucose(40)

    assert len(world.pages()) == 1
    assert len(world.timeline.of("p-1", "alert_escalated")) == 1


def test_two_batches_racing_to_upgrade_page_once(world: World) -> None:
    world.glucose(250)
    store = stale(world)
    store.freeze()  # both read the routine alert before either upgraded it

    world.glucose(450)
    world.glucose(450)

    assert len(world.pages()) == 1
    assert world.reading_alert()["occurrences"] == 3


def test_an_acknowledgment_racing_a_re_page_loses_cleanly(world: World) -> None:
    world.glucose(40)
    alert_id = world.reading_alert()["alert_id"]
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.clock.advance(minutes=61)
    store = stale(world)
    store.freeze()  # the resolve below read the alert as acknowledged, before the re-page reopened it
    world.glucose(40)

    try:
        world.service.transition(clinician_principal("c-ana"), alert_id, "resolve", TransitionIn())
    except Exception as error:
        raised = error
    else:
        raised = None

    assert type(raised).__name__ == "ConflictError"
    assert world.reading_alert()["status"] == "open"


def test_an_escalation_racing_an_acknowledgment_pages_nobody(world: World) -> None:
    world.glucose(40)
    world.clock.advance(minutes=15)
    [due] = world.alerts.due_escalations(world.clock())
    world.service.transition(
        clinician_principal("c-ana"), world.reading_alert()["alert_id"], "acknowledge", TransitionIn()
    )
    world.pages()

    world.service.escalate_due(due, world.clock() + timedelta(seconds=1))

    assert world.pages() == []
    assert world.reading_alert()["escalation_level"] == 0
