"""Who a page reaches (rules 5 and 6): real-time channels, email-only members through on-call, empty teams.

The pure rule (``domain.alerts.page_recipients``) is tested on its own,
property-based, and through the service on the fakes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.alerts import ON_CALL_FROM_LEVEL, TransitionIn, page_recipients
from tests.unit.services.conftest import World, clinician_principal

PHONE = {"phone": "+15555550100", "email": "x@clinic.example"}
EMAIL_ONLY = {"email": "y@clinic.example"}


# -- the rule -------------------------------------------------------------------------------------


def test_a_team_that_can_be_woken_is_paged_alone_at_level_0() -> None:
    assert page_recipients(["a", "b"], {"a": PHONE, "b": PHONE}, ["o"]) == {"care team": ["a", "b"]}


def test_an_email_only_member_gets_the_page_in_their_inbox_and_on_call_is_paged_in_their_place() -> None:
    recipients = page_recipients(["a", "n"], {"a": PHONE, "n": EMAIL_ONLY}, ["o"])

    assert recipients == {"care team": ["a"], "care team by email only": ["n"], "on-call": ["o"]}


def test_an_empty_team_pages_the_on_call_list() -> None:
    assert page_recipients([], {}, ["o", "p"]) == {"on-call": ["o", "p"]}


def test_a_member_without_a_profile_is_paged_through_on_call_and_not_by_email() -> None:
    assert page_recipients(["ghost"], {}, ["o"]) == {"on-call": ["o"]}


def test_nobody_at_all_gives_no_roles() -> None:
    assert page_recipients([], {}, []) == {}


def test_level_1_adds_escalation_contacts_not_already_woken() -> None:
    profiles = {"a": {**PHONE, "escalation_contacts": ["b", "e"]}, "b": PHONE}

    recipients = page_recipients(["a", "b"], profiles, ["o"], level=1)

    assert recipients == {"care team": ["a", "b"], "escalation contact": ["e"]}


@pytest.mark.parametrize("level", [2, 3])
def test_from_level_2_the_on_call_list_is_paged_without_repeating_anyone(level: int) -> None:
    profiles = {"a": {**PHONE, "escalation_contacts": ["e"]}}

    recipients = page_recipients(["a"], profiles, ["a", "e", "o"], level=level)

    assert recipients == {"care team": ["a"], "escalation contact": ["e"], "on-call": ["o"]}


def test_a_team_member_listed_twice_is_paged_once() -> None:
    assert page_recipients(["a", "a"], {"a": PHONE}, []) == {"care team": ["a"]}


people = st.sampled_from(["a", "b", "c", "d", "e", "o1", "o2"])
profile = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"email": st.just("x@clinic.example"), "escalation_contacts": st.lists(people, max_size=3)},
        optional={"phone": st.just("+15555550100")},
    ),
)


@given(
    team=st.lists(people, max_size=5),
    profiles=st.dictionaries(people, profile),
    on_call=st.lists(people, max_size=3, unique=True),
    level=st.integers(min_value=0, max_value=3),
)
def test_every_page_wakes_every_reachable_member_and_never_leaves_an_unwakeable_one_uncovered(
    team: list[str], profiles: dict[str, Any], on_call: list[str], level: int
) -> None:
    profiles = {k: v for k, v in profiles.items() if v is not None}

    recipients = page_recipients(team, profiles, on_call, level)

    reachable = [c for c in dict.fromkeys(team) if profiles.get(c, {}).get("phone")]
    assert recipients.get("care team", []) == reachable
    assert all(ids for ids in recipients.values()), "no empty role"
    named = [c for role, ids in recipients.items() if role != "on-call" for c in ids]
    on_call_paged = recipients.get("on-call", [])
    assert not set(on_call_paged) & set(named), "nobody paged twice"
    needs_on_call = level >= ON_CALL_FROM_LEVEL or len(reachable) < len(set(team)) or not team
    expected = [c for c in on_call if c not in named] if needs_on_call else []
    assert on_call_paged == expected
    if level == 0:
        assert "escalation contact" not in recipients


# -- through the service --------------------------------------------------------------------------


def test_a_critical_page_goes_to_every_reachable_member(world: World) -> None:
    world.clinician("c-ben")
    world.patient(care_team=("c-ana", "c-ben"))

    world.glucose(40)

    assert world.paged() == {"c-ana", "c-ben"}


def test_an_email_only_member_is_paged_through_the_on_call_list(world: World) -> None:
    world.clinician("c-nia", phone=False)
    world.patient(care_team=("c-ana", "c-nia"))

    world.glucose(40)

    assert world.paged() == {"c-ana", "c-nia", "c-oli"}
    [event] = world.timeline.of("p-1", "alert_opened")
    assert event["summary"].endswith("paging care team c-ana; care team by email only c-nia; on-call c-oli")


def test_an_empty_care_team_is_paged_through_the_on_call_list(world: World) -> None:
    world.patient(care_team=())

    world.glucose(40)

    assert world.paged() == {"c-oli"}


def test_pages_go_to_the_patients_current_care_team_not_the_alerts(world: World) -> None:
    world.clinician("c-ben")
    world.glucose(40)
    alert_id = world.reading_alert()["alert_id"]
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.pages()
    world.patient(care_team=("c-ben",))
    world.clock.advance(minutes=60)

    world.glucose(40)

    assert world.paged() == {"c-ben"}


def test_a_page_carries_no_patient_identifier(world: World) -> None:
    world.glucose(40)

    [page] = world.pages()

    assert "p-1" not in str(page.params)
    assert page.params["link"] == f"https://console.example/alerts/{world.reading_alert()['alert_id']}"


def test_one_page_per_person_even_when_named_in_two_roles(world: World) -> None:
    world.clinician("c-ana", contacts=("c-oli",))
    world.glucose(40)
    world.advance(30)

    ids = [p.intent_id for p in world.outbox.sent() if p.intent_id.startswith("page:")]

    assert len(ids) == len(set(ids))
    assert sum(1 for i in ids if i.endswith(":c-oli") and ":2:" in i) == 1
