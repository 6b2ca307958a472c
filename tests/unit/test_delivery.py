"""chalicelib/domain/delivery.py: a message's status from its providers' events, in any order, any number of times.

The event files in tests/unit/delivery_events/ follow the shapes AWS documents for SES event publishing (through
SNS), SNS's SMS delivery status logs, End User Messaging voice events and SNS push platform DeliveryFailure
events, with our own addresses, ids and times.
"""

from __future__ import annotations

import json
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.delivery import (
    Status,
    UnknownEvent,
    advance,
    from_push,
    from_ses,
    from_sms_log,
    from_voice,
    outcomes_of,
    unreachable,
    unreachable_channels,
)

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


# -- SMS: SNS delivery status logs --------------------------------------------------------------


def test_a_carrier_receipt_delivers_the_text() -> None:
    outcome = from_sms_log(event("sms_success"))
    assert (outcome.channel, outcome.recipient, outcome.status, outcome.unreachable) == (
        "sms",
        "+14255550156",
        Status.DELIVERED,
        False,
    )
    assert outcome.message_id == "34d9b400-c6dd-5444-820d-fbeb0f1f54cf"


def test_a_failure_of_the_day_fails_the_text_and_keeps_the_number() -> None:
    outcome = from_sms_log(event("sms_failure_unknown"))
    assert (outcome.status, outcome.unreachable) == (Status.FAILED, False)
    assert outcome.reason == "Unknown error attempting to reach phone"


@pytest.mark.parametrize(
    ("words", "gone"),
    [
        ("Invalid phone number", True),
        ("This phone number is opted out", False),  # STOP/START move consent; a mark would outlive START
        ("Phone has blocked SMS", True),
        ("Phone is currently unreachable/unavailable", False),  # switched off: today's failure
        ("Phone carrier is currently unreachable/unavailable", False),
        ("Phone carrier has blocked this message", False),  # the content, not the number
        ("Blocked as spam by phone carrier", False),
        ("Message has expired", False),
    ],
)
def test_only_words_about_the_number_mark_it_gone(words: str, gone: bool) -> None:
    record = event("sms_failure_unknown")
    record["delivery"]["providerResponse"] = words
    outcome = from_sms_log(record)
    assert (outcome.status, outcome.unreachable) == (Status.FAILED, gone)


@pytest.mark.parametrize("record", [{}, {"status": "SUCCESS"}, {"notification": {"messageId": "m"}, "status": "OK"}])
def test_an_sms_record_without_a_rule_is_refused(record: dict[str, Any]) -> None:
    with pytest.raises(UnknownEvent):
        from_sms_log(record)


# -- voice and push ----------------------------------------------------------------------------


def test_an_unanswered_call_fails_and_keeps_the_number() -> None:
    outcome = from_voice(event("voice_no_answer"))
    assert (outcome.channel, outcome.status, outcome.unreachable) == ("voice", Status.FAILED, False)
    assert outcome.at == "1796283104470"


@pytest.mark.parametrize(
    ("kind", "status"),
    [("VOICE_RINGING", Status.SENT), ("VOICE_COMPLETED", Status.DELIVERED), ("VOICE_BUSY", Status.FAILED)],
)
def test_each_voice_event_type(kind: str, status: Status) -> None:
    assert from_voice({**event("voice_no_answer"), "eventType": kind}).status is status


def test_a_push_delivery_failure_removes_the_device() -> None:
    outcome = from_push(event("push_delivery_failure"))
    assert (outcome.channel, outcome.status, outcome.unreachable) == ("push", Status.FAILED, True)
    assert outcome.recipient.endswith("/3f08fd15-d349-3d82-b415-49df9ff9d8dd")
    assert outcome.reason.startswith("InvalidPlatformToken")


@pytest.mark.parametrize(
    ("name", "channel"),
    [("ses_bounce_permanent", "email"), ("push_delivery_failure", "push"), ("voice_no_answer", "voice")],
)
def test_the_topic_s_notifications_are_told_apart_by_shape(name: str, channel: str) -> None:
    assert {o.channel for o in outcomes_of(event(name))} == {channel}


@pytest.mark.parametrize("notification", [{}, {"EventType": "EndpointCreated", "EndpointArn": "a"}, {"x": 1}])
def test_a_notification_of_no_known_shape_is_refused(notification: dict[str, Any]) -> None:
    with pytest.raises(UnknownEvent):
        outcomes_of(notification)


# -- marks on addresses ------------------------------------------------------------------------


def test_a_mark_holds_while_the_address_is_the_same_and_lifts_when_it_changes() -> None:
    profile = {"email": "a@example.org", "phone": "+15550001", "unreachable_email": {"address": "a@example.org"}}
    assert unreachable(profile, "email") and not unreachable(profile, "sms")
    assert unreachable_channels(profile) == ["email"]
    assert not unreachable({**profile, "email": "b@example.org"}, "email")
    assert not unreachable({**profile, "email": None}, "email")
    assert not unreachable(profile, "push")  # a push device is removed, not marked
