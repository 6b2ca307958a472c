"""Contact verification and the country allow-list (docs/api.md "Trust rules"; security review F2, F3): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import contacts as rules
from chalicelib.domain.errors import InvalidInputError
from chalicelib.domain.reminders import label_author, sendable_label

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
PID, PHONE = "p-b", "+15557770001"


def _challenge(code: str = "123456", **changes: object) -> dict[str, object]:
    return {**rules.challenge_for(PID, "sms", PHONE, code, rules.new_salt(), NOW), **changes}


def test_a_code_is_six_ascii_digits_with_leading_zeros_kept() -> None:
    assert rules.new_code(lambda _: 42) == "000042"
    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in (rules.new_code() for _ in range(50)))


def test_a_code_is_stored_only_as_a_salted_hash_bound_to_patient_channel_and_address() -> None:
    stored = _challenge("123456")

    assert "123456" not in repr(stored)
    assert rules.code_matches(stored, PID, "123456")
    assert not rules.code_matches(stored, "p-other", "123456")
    assert not rules.code_matches({**stored, "address": "+15557770002"}, PID, "123456")
    assert not rules.code_matches({**stored, "channel": "email"}, PID, "123456")


def test_the_same_code_under_two_salts_hashes_differently() -> None:
    assert _challenge("123456")["code_hash"] != _challenge("123456")["code_hash"]


def test_the_right_code_for_the_pending_value_within_ten_minutes_verifies() -> None:
    assert rules.judge(_challenge(), PHONE, PID, "123456", NOW + timedelta(minutes=9, seconds=59)) == "right"


def test_a_wrong_code_is_wrong() -> None:
    assert rules.judge(_challenge(), PHONE, PID, "654321", NOW) == "wrong"


def test_a_code_expires_after_ten_minutes() -> None:
    assert rules.judge(_challenge(), PHONE, PID, "123456", NOW + timedelta(minutes=10)) == "expired"


def test_five_wrong_tries_exhaust_a_code_even_the_right_one() -> None:
    assert rules.judge(_challenge(tries=4), PHONE, PID, "123456", NOW) == "right"
    assert rules.judge(_challenge(tries=5), PHONE, PID, "123456", NOW) == "exhausted"
    assert rules.tries_left(_challenge(tries=3)) == 1 and rules.tries_left(_challenge(tries=4)) == 0


def test_a_code_for_a_value_no_longer_pending_verifies_nothing() -> None:
    assert rules.judge(None, PHONE, PID, "123456", NOW) == "nothing_pending"
    assert rules.judge(_challenge(), None, PID, "123456", NOW) == "nothing_pending"
    assert rules.judge(_challenge(), "+15557770009", PID, "123456", NOW) == "nothing_pending"


def test_a_retried_verification_with_the_same_code_is_answered_the_same() -> None:
    verified = _challenge(status="verified")

    assert rules.judge(verified, None, PID, "123456", NOW + timedelta(hours=1)) == "already_verified"
    assert rules.judge(verified, None, PID, "000000", NOW) == "nothing_pending"


def test_a_repeated_change_within_a_minute_sends_no_second_code() -> None:
    live = _challenge()

    assert rules.recently_sent(live, PHONE, NOW + timedelta(seconds=59))
    assert not rules.recently_sent(live, PHONE, NOW + timedelta(minutes=1))
    assert not rules.recently_sent(live, "+15557770002", NOW)
    assert not rules.recently_sent(None, PHONE, NOW)


def test_a_phone_outside_the_allowed_calling_codes_is_422_naming_phone_and_the_codes() -> None:
    rules.check_phone_country("+15551230001", ("+1",))
    rules.check_phone_country(None, ("+1",))

    with pytest.raises(InvalidInputError) as refused:
        rules.check_phone_country("+88213000001", ("+1", "+351"))

    assert refused.value.errors[0].field == "phone"
    assert "+1, +351" in refused.value.detail and "+1, +351" in refused.value.errors[0].message


def test_calling_codes_are_validated_and_a_code_only_matches_its_own_prefix() -> None:
    assert rules.calling_codes([" +1", "+351", "+1"]) == ("+1", "+351")
    for bad in (["1"], ["+0"], ["+1234"], [""], ["+1x"]):
        with pytest.raises(ValueError, match="calling codes"):
            rules.calling_codes(bad)
    assert rules.allowed_destination("+351912345678", ("+351",))
    assert not rules.allowed_destination("+35312345678", ("+351",))


def test_a_label_the_patient_typed_is_never_sendable_and_the_care_teams_is() -> None:
    assert label_author(True, "Call +1 900 now") == "patient"
    assert label_author(False, "Metformin 500 mg") == "staff"
    assert label_author(False, None) is None
    assert sendable_label({"label": "ACCOUNT LOCKED", "label_by": "patient"}) == ""
    assert sendable_label({"label": "Metformin 500 mg", "label_by": "staff"}) == "Metformin 500 mg"


def test_a_legacy_label_of_unknown_author_is_not_sendable() -> None:
    assert sendable_label({"label": "written before label_by existed"}) == ""
