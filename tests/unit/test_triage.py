"""The worklist's triage buckets: every rule at its boundaries, first match wins, and the stored records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import triage
from chalicelib.domain.patients import ID_PATTERN
from chalicelib.domain.triage import Bucket

TODAY = date(2026, 11, 22)


def day(offset: int) -> str:
    """The local day ``offset`` days before TODAY (negative: after it)."""
    return (TODAY - timedelta(days=offset)).isoformat()


def readings(*values: Any, offset: int = 0) -> list[tuple[str, Any]]:
    return [(day(offset), v) for v in values]


NORMAL = 120.0


def bucket(glucose: list[tuple[str, Any]], bp: list[tuple[str, float, float]] | None = None) -> Bucket:
    return triage.triage(glucose, bp or [], TODAY)


# -- labels and ranks -------------------------------------------------------------------------------


def test_labels_and_ranks_in_rule_order() -> None:
    assert [(b.rank, b.label) for b in Bucket] == [
        (0, "Very low glucose"),
        (1, "Low glucose"),
        (2, "Blood pressure crisis"),
        (3, "Very high glucose"),
        (4, "High glucose"),
        (5, "No data"),
        (6, "Meeting targets"),
    ]
    assert Bucket("very_low") is Bucket.VERY_LOW


# -- each rule at its boundaries ----------------------------------------------------------------------


def test_very_low_is_any_reading_below_54_or_a_meter_lo() -> None:
    assert bucket(readings(53.9, *[NORMAL] * 99)) is Bucket.VERY_LOW
    assert bucket(readings("LO", *[NORMAL] * 99)) is Bucket.VERY_LOW
    assert bucket(readings(Decimal("53.9"), *[NORMAL] * 99)) is Bucket.VERY_LOW
    # 54.0 is not below 54; one of 100 is 1 % below 70: not low either
    assert bucket(readings(54.0, *[NORMAL] * 99)) is Bucket.MEETING_TARGETS


def test_low_from_exactly_4_percent_below_70() -> None:
    assert bucket(readings(*[69.9] * 400, *[NORMAL] * 9600)) is Bucket.LOW  # 4.00 %
    assert bucket(readings(*[69.9] * 399, *[NORMAL] * 9601)) is Bucket.MEETING_TARGETS  # 3.99 %
    assert bucket(readings(69.9, *[NORMAL] * 24)) is Bucket.LOW  # 1 of 25
    assert bucket(readings(69.9, *[NORMAL] * 25)) is Bucket.MEETING_TARGETS  # 1 of 26: 3.85 %
    assert bucket(readings(70.0, *[NORMAL] * 24)) is Bucket.MEETING_TARGETS  # 70 is in range


def test_bp_crisis_is_systolic_above_180_or_diastolic_above_120() -> None:
    assert bucket([], [(day(13), 181, 80)]) is Bucket.BP_CRISIS
    assert bucket([], [(day(0), 119, 121)]) is Bucket.BP_CRISIS
    # 180/120 is no crisis; it is a 7-day mean at or above 135/85, so high
    assert bucket([], [(day(0), 180, 120)]) is Bucket.HIGH
    assert bucket([], [(day(10), 180, 120)]) is Bucket.MEETING_TARGETS  # outside the 7 days of the mean


def test_very_high_from_5_percent_above_250() -> None:
    assert bucket(readings(*[250.1] * 5, *[NORMAL] * 95)) is Bucket.VERY_HIGH
    assert bucket(readings(*["HI"] * 5, *[NORMAL] * 95)) is Bucket.VERY_HIGH
    assert bucket(readings(*[250.1] * 4, *[NORMAL] * 96)) is Bucket.MEETING_TARGETS
    assert bucket(readings(*[250.0] * 5, *[NORMAL] * 95)) is Bucket.MEETING_TARGETS  # 250 is not above 250


def test_high_from_25_percent_above_180() -> None:
    assert bucket(readings(*[180.1] * 25, *[NORMAL] * 75)) is Bucket.HIGH
    assert bucket(readings(*[180.1] * 24, *[NORMAL] * 76)) is Bucket.MEETING_TARGETS
    assert bucket(readings(*[180.0] * 25, *[NORMAL] * 75)) is Bucket.MEETING_TARGETS  # 180 is in range


def test_high_from_a_7_day_bp_mean_at_or_above_135_or_85() -> None:
    assert bucket([], [(day(0), 140, 80), (day(6), 130, 80)]) is Bucket.HIGH  # mean 135/80
    assert bucket([], [(day(0), 140, 80), (day(6), 129, 80)]) is Bucket.MEETING_TARGETS  # 134.5/80
    assert bucket([], [(day(0), 120, 85)]) is Bucket.HIGH
    assert bucket([], [(day(0), 134, 84)]) is Bucket.MEETING_TARGETS
    # 150/95 eight days ago is in the 14 days but not in the 7-day mean
    assert bucket([], [(day(7), 150, 95), (day(0), 120, 70)]) is Bucket.MEETING_TARGETS


def test_no_data_only_without_any_reading_in_the_14_days() -> None:
    assert bucket([]) is Bucket.NO_DATA
    assert bucket(readings(40, offset=14), [(day(14), 200, 130)]) is Bucket.NO_DATA  # the 15th day back
    assert bucket([], [(day(13), 120, 70)]) is Bucket.MEETING_TARGETS
    assert bucket(readings(NORMAL, offset=13)) is Bucket.MEETING_TARGETS


def test_readings_outside_the_14_days_are_ignored_but_a_reading_dated_tomorrow_counts() -> None:
    assert bucket(readings(53.9, offset=14) + readings(NORMAL)) is Bucket.MEETING_TARGETS
    assert bucket(readings(53.9, offset=13) + readings(NORMAL)) is Bucket.VERY_LOW
    assert bucket(readings(53.9, offset=-1) + readings(NORMAL)) is Bucket.VERY_LOW


# -- first match wins ----------------------------------------------------------------------------------


def test_a_low_outranks_a_crisis_and_a_crisis_outranks_high_glucose() -> None:
    assert bucket(readings(53.9, *[300.0] * 9), [(day(0), 190, 125)]) is Bucket.VERY_LOW
    assert bucket(readings(60.0, *[300.0] * 9), [(day(0), 190, 125)]) is Bucket.LOW
    assert bucket(readings(*[300.0] * 10), [(day(0), 190, 125)]) is Bucket.BP_CRISIS


def test_very_high_comes_before_high_unlike_the_list_in_console_md() -> None:
    """Deliberate: 5 % above 250 nearly always means 25 % above 180, so "high" first would hide every very high."""
    glucose = readings(*[260.0] * 5, *[NORMAL] * 15)  # 25 % above 250, and so 25 % above 180
    assert triage.matching_rules(glucose, [], TODAY) == (Bucket.VERY_HIGH, Bucket.HIGH, Bucket.MEETING_TARGETS)
    assert bucket(glucose) is Bucket.VERY_HIGH


def test_generators_are_read_once() -> None:
    bp = ((d, s, dia) for d, s, dia in [(day(0), 181.0, 80.0)])
    assert triage.triage(iter(readings(NORMAL)), bp, TODAY) is Bucket.BP_CRISIS


# An oracle written apart from the module: exact fractions, each rule on its own.
glucose_values = st.one_of(
    st.floats(min_value=10, max_value=600, allow_nan=False),
    st.sampled_from([53.9, 54.0, 69.9, 70.0, 180.0, 180.1, 250.0, 250.1, "LO", "HI"]),
)
offsets = st.integers(min_value=-1, max_value=16)
glucose_lists = st.lists(st.tuples(offsets, glucose_values), max_size=40)
bp_lists = st.lists(
    st.tuples(
        offsets,
        st.one_of(st.integers(80, 200), st.sampled_from([134, 135, 180, 181])),
        st.one_of(st.integers(50, 130), st.sampled_from([84, 85, 120, 121])),
    ),
    max_size=15,
)


def oracle(glucose: list[tuple[int, Any]], bp: list[tuple[int, int, int]]) -> list[Bucket]:
    g = [v for offset, v in glucose if offset <= 13]
    p = [(s, d) for offset, s, d in bp if offset <= 13]
    week = [(s, d) for offset, s, d in bp if offset <= 6]

    def share(test: Any) -> Fraction:
        return Fraction(sum(1 for v in g if test(v)), len(g)) if g else Fraction(0)

    def is_below(limit: float) -> Any:
        return lambda v: v == "LO" or (not isinstance(v, str) and v < limit)

    def is_above(limit: float) -> Any:
        return lambda v: v == "HI" or (not isinstance(v, str) and v > limit)

    mean_high = bool(week) and (
        Fraction(sum(s for s, _ in week), len(week)) >= 135 or Fraction(sum(d for _, d in week), len(week)) >= 85
    )
    rules = [
        (Bucket.VERY_LOW, any(is_below(54)(v) for v in g)),
        (Bucket.LOW, bool(g) and share(is_below(70)) >= Fraction(4, 100)),
        (Bucket.BP_CRISIS, any(s > 180 or d > 120 for s, d in p)),
        (Bucket.VERY_HIGH, bool(g) and share(is_above(250)) >= Fraction(5, 100)),
        (Bucket.HIGH, (bool(g) and share(is_above(180)) >= Fraction(25, 100)) or mean_high),
        (Bucket.NO_DATA, not g and not p),
        (Bucket.MEETING_TARGETS, True),
    ]
    return [b for b, holds in rules if holds]


@given(glucose_lists, bp_lists)
def test_the_bucket_is_the_first_rule_that_holds(
    glucose: list[tuple[int, Any]], bp: list[tuple[int, int, int]]
) -> None:
    g = [(day(offset), v) for offset, v in glucose]
    p = [(day(offset), float(s), float(d)) for offset, s, d in bp]
    expected = oracle(glucose, bp)
    matched = triage.matching_rules(g, p, TODAY)
    assert list(matched) == expected
    assert triage.triage(g, p, TODAY) is expected[0]
    assert [b.rank for b in matched] == sorted(b.rank for b in matched)
    assert matched[-1] is Bucket.MEETING_TARGETS


@given(glucose_lists, bp_lists, st.sampled_from([53.9, "LO"]))
def test_a_reading_below_54_in_the_14_days_always_makes_very_low(
    glucose: list[tuple[int, Any]], bp: list[tuple[int, int, int]], low: Any
) -> None:
    g = [(day(offset), v) for offset, v in glucose] + [(day(5), low)]
    assert triage.triage(g, [(day(o), s, d) for o, s, d in bp], TODAY) is Bucket.VERY_LOW


@given(glucose_lists, bp_lists, st.lists(st.tuples(st.integers(14, 60), glucose_values), max_size=10))
def test_readings_before_the_14_days_change_nothing(
    glucose: list[tuple[int, Any]], bp: list[tuple[int, int, int]], old: list[tuple[int, Any]]
) -> None:
    g = [(day(offset), v) for offset, v in glucose]
    p = [(day(o), float(s), float(d)) for o, s, d in bp]
    assert triage.triage(g + [(day(o), v) for o, v in old], p, TODAY) is triage.triage(g, p, TODAY)


# -- the recent-readings records ------------------------------------------------------------------------


def test_record_format() -> None:
    assert triage.encode_glucose("r-1", "2026-11-22", 99.9) == "g|r-1|2026-11-22|99.9"
    assert triage.encode_glucose("r-2", "2026-11-22", 120.0) == "g|r-2|2026-11-22|120"
    assert triage.encode_glucose("r-3", "2026-11-22", "LO") == "g|r-3|2026-11-22|LO"
    assert triage.encode_bp("r-4", "2026-11-22", 128, 82) == "b|r-4|2026-11-22|128|82"


def test_a_record_from_a_stream_image_keeps_the_exact_value() -> None:
    glucose = {"type": "blood_glucose", "reading_id": "r-1", "value_mg_dl": Decimal("69.98")}
    assert triage.record_for(glucose, "2026-11-22") == "g|r-1|2026-11-22|69.98"
    assert triage.decode("g|r-1|2026-11-22|69.98") == triage.GlucoseRecord("r-1", "2026-11-22", 69.98)
    flagged = {"type": "blood_glucose", "reading_id": "r-2", "value_mg_dl": None, "meter_flag": "HI"}
    assert triage.record_for(flagged, "2026-11-22") == "g|r-2|2026-11-22|HI"
    pressure = {"type": "blood_pressure", "reading_id": "r-3", "systolic": Decimal(181), "diastolic": Decimal(90)}
    assert triage.record_for(pressure, "2026-11-21") == "b|r-3|2026-11-21|181|90"


@pytest.mark.parametrize(
    ("reading_id", "day_text", "value"),
    [
        ("bad id", "2026-11-22", 100.0),
        ("r|1", "2026-11-22", 100.0),
        ("r-1", "20261122", 100.0),
        ("r-1", "2026-11-31", 100.0),
        ("r-1", "2026-11-22", float("nan")),
        ("r-1", "2026-11-22", float("inf")),
        ("r-1", "2026-11-22", 0.0),
        ("r-1", "2026-11-22", -5.0),
        ("r-1", "2026-11-22", 1e16),
    ],
)
def test_encoding_refuses_what_no_record_can_hold(reading_id: str, day_text: str, value: float) -> None:
    with pytest.raises(ValueError):
        triage.encode_glucose(reading_id, day_text, value)


ids = st.from_regex(ID_PATTERN, fullmatch=True)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)).map(date.isoformat)
mg_dl = st.floats(min_value=10, max_value=600, allow_nan=False, allow_infinity=False)
mm_hg = st.floats(min_value=20, max_value=300, allow_nan=False, allow_infinity=False)


@given(ids, days, st.one_of(mg_dl, st.sampled_from(["LO", "HI"])))
def test_glucose_records_round_trip(reading_id: str, day_text: str, value: Any) -> None:
    assert triage.decode(triage.encode_glucose(reading_id, day_text, value)) == triage.GlucoseRecord(
        reading_id, day_text, value
    )


@given(ids, days, mm_hg, mm_hg)
def test_bp_records_round_trip(reading_id: str, day_text: str, systolic: float, diastolic: float) -> None:
    assert triage.decode(triage.encode_bp(reading_id, day_text, systolic, diastolic)) == triage.BpRecord(
        reading_id, day_text, systolic, diastolic
    )


BAD = [
    "",
    "garbage",
    "g|r-1|2026-11-22",
    "g|r-1|2026-11-22|",
    "g|r-1|2026-11-22|abc",
    "g|r-1|2026-11-22|lo",
    "g|r-1|2026-11-22|100|",
    "g|r-1|2026-13-01|100",
    "g|r-1|20261122|100",
    "g|r 1|2026-11-22|100",
    "g||2026-11-22|100",
    "g|r-1|2026-11-22|nan",
    "g|r-1|2026-11-22|inf",
    "g|r-1|2026-11-22|-5",
    "g|r-1|2026-11-22|0",
    "g|r-1|2026-11-22|1e3",
    "g|r-1|2026-11-22|9_9",
    "g|r-1|2026-11-22| 99",
    "g|r-1|2026-11-22|99\n",
    "g|r-1\n|2026-11-22|99",
    "b|r-1|2026-11-22|120",
    "b|r-1|2026-11-22|120|80|1",
    "b|r-1|2026-11-22|120|x",
    "b|r-1|2026-11-22|LO|80",
    "x|r-1|2026-11-22|100",
    None,
    5,
    b"g|r-1|2026-11-22|100",
]


@pytest.mark.parametrize("text", BAD)
def test_a_malformed_record_is_skipped(text: Any) -> None:
    assert triage.decode(text) is None


@given(st.text(max_size=60))
def test_decoding_never_raises(text: str) -> None:
    triage.decode(text)


def test_bad_records_are_skipped_and_the_rest_triaged() -> None:
    assert triage.triage_records([*BAD, "g|r-1|2026-11-20|53.9"], TODAY) is Bucket.VERY_LOW
    assert triage.triage_records(BAD, TODAY) is Bucket.NO_DATA


def test_two_equal_readings_on_a_day_stay_two_and_a_repeated_id_counts_once() -> None:
    texts = ["g|r-1|2026-11-20|69", "g|r-2|2026-11-20|69", "g|r-2|2026-11-20|69", "b|r-3|2026-11-20|120|70"]
    glucose, pressures = triage.decode_all(texts)
    assert [r.reading_id for r in glucose] == ["r-1", "r-2"]
    assert pressures == [triage.BpRecord("r-3", "2026-11-20", 120, 70)]
    # 1 low of 25 readings is 4 %: low; a redelivered normal reading must not make it 1 of 26
    normals = [f"g|n-{n}|2026-11-20|120" for n in range(24)]
    assert triage.triage_records(["g|r-1|2026-11-20|69", *normals], TODAY) is Bucket.LOW
    assert triage.triage_records(["g|r-1|2026-11-20|69", *normals, "g|n-0|2026-11-20|120.0"], TODAY) is Bucket.LOW


def test_prune_keeps_the_14_days_and_later_and_drops_the_rest() -> None:
    keep = ["g|r-1|2026-11-09|100", "b|r-2|2026-11-22|120|70", "g|r-3|2026-11-23|50"]
    drop = ["g|r-4|2026-11-08|100", "garbage"]
    assert triage.prune([*keep, *drop, None], TODAY) == (keep, drop)
