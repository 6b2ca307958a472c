"""Scope rules and cursor integrity, without tokens or tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import MalformedRequestError
from chalicelib.domain.identity import Principal, Role, can_see_patient, is_care_team, role_from_groups


def test_highest_group_wins() -> None:
    assert role_from_groups(["patients", "admins"]) is Role.ADMIN
    assert role_from_groups(["clinicians"]) is Role.CLINICIAN
    assert role_from_groups(["visitors"]) is None


def test_patient_sees_only_themselves() -> None:
    me = Principal("p-1", Role.PATIENT)

    assert can_see_patient(me, "p-1", [])
    assert not can_see_patient(me, "p-2", ["p-1"])


def test_clinician_sees_only_their_panel_and_admin_everything() -> None:
    doc = Principal("c-1", Role.CLINICIAN)
    admin = Principal("a-1", Role.ADMIN)

    assert can_see_patient(doc, "p-1", ["c-1"])
    assert not can_see_patient(doc, "p-1", ["c-2"])
    assert can_see_patient(admin, "p-1", [])
    assert is_care_team(admin, []) and not is_care_team(Principal("p-1", Role.PATIENT), ["p-1"])


codec = CursorCodec(b"k" * 32)
positions = st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=10), st.integers()), max_size=4)


@given(positions)
def test_cursor_round_trips_within_its_scope(position: dict[str, object]) -> None:
    assert codec.decode("readings:p-1", codec.encode("readings:p-1", position)) == position


@given(positions)
def test_cursor_from_one_scope_is_refused_in_another(position: dict[str, object]) -> None:
    cursor = codec.encode("readings:p-1", position)

    with pytest.raises(MalformedRequestError):
        codec.decode("readings:p-2", cursor)


@given(st.text(min_size=1, max_size=60))
def test_forged_cursors_are_refused(text: str) -> None:
    with pytest.raises(MalformedRequestError):
        codec.decode("readings:p-1", text)


def test_cursor_signed_with_another_key_is_refused() -> None:
    cursor = CursorCodec(b"x" * 32).encode("s", {"k": 1})

    with pytest.raises(MalformedRequestError):
        codec.decode("s", cursor)
