"""chalicelib/domain/delivery.py: a message's status from its providers' events, in any order, any number of times.

The event files in tests/unit/delivery_events/ follow the shapes AWS documents for SES event publishing (through
SNS) and End User Messaging SMS event destinations, with our own addresses, ids and times.
"""

from __future__ import annotations

import json
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.delivery import Status, UnknownEvent, advance, from_ses, from_sms

EVENTS = Path(__file__).parent / "delivery_events"


def event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def settle(reports: list[Status]) -> Status | None:
    return reduce(advance, reports, None)  # type: ignore[arg-type]


statuses = st.sampled_from(list(Status))


# -- the order of statuses ---------------------------------------------------------------------


@given(st.lists(statuses, min_size=1, max_size=12), st.randoms())
def test_any_order_of_the_same_events_ends_in_the_same_status(reports: list[Status], rng: Any) -> None:
    shuffled = list(reports)
    rng.shuffle(shuffled)
    assert settle(shuffled) == settle(reports) == max(reports, key=lambda s: s.rank)


@given(st.lists(statuses, min_size=1, max_size=12))
def test_every_event_delivered_twice_changes_nothing_the_second_time(reports: list[Status]) -> None:
    once = settle(reports)
    assert settle(reports + reports) == once
    assert settle([r for r in reports for _ in (1, 2)]) == once


@given(statuses, st.sampled_from([Status.QUEUED, Status.SENT]))
def test_a_non_final_event_after_a_final_one_is_ignored(final: Status, later: Status) -> None:
    if final.final:
        assert advance(final, later) is final


def test_what_ranks_above_what() -> None:
    assert [s.value for s in sorted(Status, key=lambda s: s.rank)] == [
        "queued",
        "sent",
        "unknown",
        "delivered",
        "failed",
        "bounced",
        "complained",
    ]
    assert advance(Status.DELIVERED, Status.BOUNCED) is Status.BOUNCED  # accepted, then bounced by the server
    assert advance(Status.DELIVERED, Status.COMPLAINED) is Status.COMPLAINED  # read, then marked as spam
    assert advance(Status.UNKNOWN, Status.DELIVERED) is Status.DELIVERED  # a receipt after the 72 hours
    assert advance(None, "sent") is Status.SENT
    assert not Status.SENT.final and Status.UNKNOWN.final


# -- email: SES ---------------------------------------------------------------------------------


def test_a_permanent_bounce_bounces_the_message_and_the_address() -> None:
    (outcome,) = from_ses(event("ses_bounce_permanent"))
    assert (outcome.channel, outcome.recipient, outcome.status, outcome.unreachable) == (
        "email",
        "recipient@example.com",
        Status.BOUNCED,
        True,
    )
    assert outcome.message_id == "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
    assert outcome.reason == "Permanent bounce (General)" and outcome.at == "2026-12-01T00:41:02.669Z"


def test_a_full_mailbox_fails_the_message_and_keeps_the_address() -> None:
    (outcome,) = from_ses(event("ses_bounce_transient"))
    assert (outcome.status, outcome.unreachable) == (Status.FAILED, False)
    assert outcome.reason == "Transient bounce (MailboxFull)"


def test_a_complaint_suppresses_the_address() -> None:
    (outcome,) = from_ses(event("ses_complaint"))
    assert (outcome.status, outcome.unreachable, outcome.reason) == (Status.COMPLAINED, True, "complaint (abuse)")


def test_a_delivery_and_a_delay() -> None:
    (delivered,) = from_ses(event("ses_delivery"))
    (delayed,) = from_ses(event("ses_delivery_delay"))
    assert (delivered.status, delivered.at) == (Status.DELIVERED, "2026-12-01T00:40:04.127Z")
    assert (delayed.status, delayed.unreachable) == (Status.SENT, False)  # not final: SES keeps trying


@pytest.mark.parametrize("kind", ["Open", "Click", "Subscription"])
def test_engagement_events_say_nothing_about_delivery(kind: str) -> None:
    assert from_ses({**event("ses_delivery"), "eventType": kind}) == []


@pytest.mark.parametrize(
    "record", [{}, {"eventType": "Delivery"}, {"eventType": "Teleported", "mail": {"messageId": "m-1"}}]
)
def test_a_record_without_a_rule_is_refused_by_name(record: dict[str, Any]) -> None:
    with pytest.raises(UnknownEvent):
        from_ses(record)


# -- SMS: End User Messaging --------------------------------------------------------------------


def test_a_carrier_receipt_delivers_the_text() -> None:
    outcome = from_sms(event("sms_successful"))
    assert (outcome.channel, outcome.recipient, outcome.status, outcome.unreachable) == (
        "sms",
        "+14255550156",
        Status.DELIVERED,
        False,
    )
    assert outcome.message_id == "862a8790-60c0-4430-9b2b-658bdexample"


def test_an_invalid_number_fails_the_text_and_the_number() -> None:
    outcome = from_sms(event("sms_invalid"))
    assert (outcome.status, outcome.unreachable) == (Status.FAILED, True)
    assert outcome.reason == "Destination phone number is invalid"


@pytest.mark.parametrize(
    ("kind", "status", "unreachable"),
    [
        ("TEXT_QUEUED", Status.SENT, False),
        ("TEXT_PENDING", Status.SENT, False),
        ("TEXT_DELIVERED", Status.DELIVERED, False),
        ("TEXT_BLOCKED", Status.FAILED, True),
        ("TEXT_UNREACHABLE", Status.FAILED, False),  # a phone switched off is not a wrong number
        ("TEXT_CARRIER_UNREACHABLE", Status.FAILED, False),
        ("TEXT_UNKNOWN", Status.UNKNOWN, False),
    ],
)
def test_each_sms_event_type(kind: str, status: Status, unreachable: bool) -> None:
    outcome = from_sms({**event("sms_successful"), "eventType": kind})
    assert (outcome.status, outcome.unreachable) == (status, unreachable)


def test_an_sms_event_without_a_rule_is_refused() -> None:
    with pytest.raises(UnknownEvent):
        from_sms({**event("sms_successful"), "eventType": "VOICE_COMPLETED"})
