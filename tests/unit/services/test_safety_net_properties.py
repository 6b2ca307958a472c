"""The safety net as properties on the fakes: random sequences of readings, actions and time, checked after each step.

The fast twin of ``tests/integration/test_safety_properties.py`` (which
drives the real stack through HTTP, the stream and the queues, a few
examples at a time): here the same promises of docs/clinical.md "Safety net" are
checked over hundreds of sequences in about a second, with shrinking on.

After every step:

- a current critical reading pages (level 0) unless its condition's alert was
  paged in the last 60 minutes, and then it pages nobody (rule 2); the patient
  gets a safety message unless that condition had one in the last 15 (rule 3);
- a late reading pages nobody and messages nobody (rule 4);
- an open critical alert is at escalation level ``minutes // 15`` (at most 3,
  and unanswered at 3) since the page that started its round (rule 6);
- at most one open or acknowledged alert per condition (rule 1).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.domain.alerts import TransitionIn
from chalicelib.domain.timeutil import parse_iso
from tests.unit.services.conftest import World, clinician_principal

GLUCOSE = {"critical low": 40, "low": 65, "normal": 110, "high": 250, "critical high": 450}
BP = {"crisis": (190, 100), "high": (150, 95), "normal": (118, 76), "low": (85, 55), "critical low": (60, 40)}


class SafetyNet(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        w = self.world
        w.clinician("c-ana", contacts=("c-eve",))
        w.clinician("c-eve")
        w.clinician("c-nia", phone=False)
        w.clinician("c-oli")
        w.on_call("c-oli")
        w.patient(care_team=("c-ana", "c-nia"))
        self.round_start: dict[str, datetime] = {}
        self.last_safety: dict[str, datetime] = {}

    # -- moves ---------------------------------------------------------------------------------

    def _reading(self, take: Any, late: bool) -> None:
        w = self.world
        before = {a["alert_id"]: a for a in w.alerts.of_patient("p-1")}
        w.outbox.take()
        reading = take()
        sent = w.outbox.take()
        pages = [i for i in sent if i.intent_id.startswith("page:")]
        safety = [i for i in sent if i.intent_id.startswith("safety:")]
        classification = reading["classification"]
        critical = classification["severity"].startswith("critical")
        if late:
            assert pages == [] and safety == [], "rule 4: a late reading pages and messages nobody"
            return
        if not critical:
            assert pages == [] and safety == []
            return
        after = {a["alert_id"]: a for a in w.alerts.of_patient("p-1")}
        [alert] = [
            a for a in after.values() if reading["reading_id"] in a["reading_ids"] and a["kind"].startswith("critical")
        ]
        condition = alert["condition"]
        old = before.get(alert["alert_id"])
        last_page = (
            parse_iso(old.get("last_paged_at") or old["opened_at"]) if old and old["priority"] == "critical" else None
        )
        should_page = last_page is None or w.clock() - last_page >= timedelta(minutes=60)
        paged = {p.recipient.id for p in pages}
        if should_page:
            assert paged == {"c-ana", "c-nia", "c-oli"}, (
                "rules 2 and 5: the team, and on-call for the email-only member"
            )
            self.round_start[alert["alert_id"]] = w.clock()
        else:
            assert paged == set(), "paged within the hour: nobody again"
        previous = self.last_safety.get(condition)
        if previous is None or w.clock() - previous >= timedelta(minutes=15):
            assert [s.params["condition"] for s in safety] == [condition], "rule 3"
            self.last_safety[condition] = w.clock()
        else:
            assert safety == [], "rule 3: at most one per condition per 15 minutes"

    @rule(level=st.sampled_from(sorted(GLUCOSE)), late=st.booleans())
    def glucose(self, level: str, late: bool) -> None:
        ago = timedelta(hours=7) if late else timedelta(0)
        self._reading(lambda: self.world.glucose(GLUCOSE[level], measured_ago=ago), late)

    @rule(level=st.sampled_from(sorted(BP)), late=st.booleans())
    def blood_pressure(self, level: str, late: bool) -> None:
        ago = timedelta(hours=7) if late else timedelta(0)
        self._reading(lambda: self.world.bp(*BP[level], measured_ago=ago), late)

    @rule(minutes=st.integers(min_value=1, max_value=75))
    def time_passes(self, minutes: int) -> None:
        self.world.advance(minutes)

    def _live(self) -> list[dict[str, Any]]:
        return [a for a in self.world.alerts.of_patient("p-1") if a["status"] != "resolved"]

    @precondition(lambda self: any(a["status"] == "open" for a in self._live()))
    @rule(data=st.data(), action=st.sampled_from(["acknowledge", "resolve"]))
    def act(self, data: st.DataObject, action: str) -> None:
        candidates = sorted(a["alert_id"] for a in self._live() if a["status"] == "open")
        alert_id = data.draw(st.sampled_from(candidates))
        self.world.service.transition(clinician_principal("c-ana"), alert_id, action, TransitionIn())
        self.round_start.pop(alert_id, None)

    # -- promises --------------------------------------------------------------------------------

    @invariant()
    def one_live_alert_per_condition(self) -> None:
        slots: dict[str, int] = defaultdict(int)
        for alert in self._live():
            slots[alert.get("condition") or alert["kind"]] += 1
        assert all(n == 1 for n in slots.values()), slots

    @invariant()
    def open_critical_alerts_climb_the_ladder_on_time(self) -> None:
        now = self.world.clock()
        for alert in self._live():
            start = self.round_start.get(alert["alert_id"])
            if alert["status"] != "open" or alert["priority"] != "critical" or start is None:
                continue
            expected = min(3, int((now - start) / timedelta(minutes=15)))
            assert alert["escalation_level"] == expected, (alert, start, now)
            assert bool(alert.get("unanswered")) == (expected == 3)


SafetyNet.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestTheSafetyNetHoldsOnTheFakes = SafetyNet.TestCase
