"""The numbers the console's patient page shows for a window of 7, 14, 30 or 90 local days.

Pure: the page builder queries the daily buckets (docs: chalicelib/adapters/summaries.py) and passes
them in with the window; nothing here reads a clock or a table.  The chart and the day-by-day
figures come from :mod:`chalicelib.domain.trends` (``glucose_trend`` / ``bp_trend``), so the console
and ``GET .../trends`` draw the same days.

Why the range statistics are counted here again rather than read off ``GlucoseTrend``: the trend
rounds its percentages and mean to 0.1 for the API, and a rounded 3.96 % reads as 4.0 %.  The
console shows a change against the previous window (a difference of two rounded numbers is off
by up to 0.1) and the triage of :mod:`chalicelib.domain.triage` compares shares with exact
boundaries, so both take the exact counts of :func:`count_ranges`; the page rounds for display.

Glucose ranges are docs/clinical.md's (International Consensus on Time in Range, 2019): < 54 and
< 70 below, 70-180 (both ends included) in range, > 180 and > 250 above.  A meter's LO has no
number and counts below 54 (and so below 70); HI counts above 250 (and above 180); neither enters
the mean.  No GMI: it is defined for CGM data, not for a handful of fingersticks a day.

Blood pressure "at or above target" is a reading whose systolic is at or above the patient's
systolic high target OR whose diastolic is at or above the diastolic high target (the comparison
of those targets, docs/clinical.md).  Targets stored before the hard limits existed may exceed
them; as in the classifier, systolic >= 160 and diastolic >= 100 count whatever the targets say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean
from typing import Any

from chalicelib.domain import trends
from chalicelib.domain.targets import DIASTOLIC_ALWAYS_HIGH_FROM, SYSTOLIC_ALWAYS_HIGH_FROM, Targets

# Time-in-range consensus (TIR 2019), as in trends.py and docs/clinical.md.
VERY_LOW_BELOW = 54.0
LOW_BELOW = 70.0
RANGE_LOW, RANGE_HIGH = 70.0, 180.0  # both included
HIGH_ABOVE = 180.0
VERY_HIGH_ABOVE = 250.0
METER_LO, METER_HI = "LO", "HI"
BP_MEAN_DAYS = 7

DayBucket = Mapping[str, Any]
# A glucose value as the buckets and the recent-readings records hold it: mg/dL (a number, Decimal from
# DynamoDB included), or the meter's "LO" / "HI".
GlucoseValue = float | str


# -- glucose ranges ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GlucoseRanges:
    """How many readings fall in each consensus range; ``count`` includes the meter's LO and HI."""

    count: int = 0
    below_54: int = 0
    below_70: int = 0
    in_range: int = 0
    above_180: int = 0
    above_250: int = 0
    meter_lo: int = 0
    meter_hi: int = 0
    numeric: int = 0  # readings with a number (the mean's denominator)
    total_mg_dl: float = 0.0

    @property
    def mean_mg_dl(self) -> float | None:
        return self.total_mg_dl / self.numeric if self.numeric else None

    def pct(self, part: int) -> float | None:
        """``part`` as an exact percentage of all readings (None without readings)."""
        return 100 * part / self.count if self.count else None


def count_ranges(values: Iterable[Any]) -> GlucoseRanges:
    """Count glucose values (mg/dL numbers or "LO"/"HI") into the consensus ranges.

    A string other than LO/HI is no reading and is not counted (buckets hold no such value).
    """
    count = below_54 = below_70 = in_range = above_180 = above_250 = lo = hi = numeric = 0
    total = 0.0
    for value in values:
        if isinstance(value, str):
            if value == METER_LO:
                count, lo, below_54, below_70 = count + 1, lo + 1, below_54 + 1, below_70 + 1
            elif value == METER_HI:
                count, hi, above_180, above_250 = count + 1, hi + 1, above_180 + 1, above_250 + 1
            continue
        v = float(value)
        count += 1
        numeric += 1
        total += v
        below_54 += v < VERY_LOW_BELOW
        below_70 += v < LOW_BELOW
        in_range += RANGE_LOW <= v <= RANGE_HIGH
        above_180 += v > HIGH_ABOVE
        above_250 += v > VERY_HIGH_ABOVE
    return GlucoseRanges(count, below_54, below_70, in_range, above_180, above_250, lo, hi, numeric, total)


# -- windows ----------------------------------------------------------------------------------


def previous_window(window: trends.Window) -> trends.Window:
    """The window of the same length that ends the day before ``window`` starts."""
    return trends.Window(window.first - timedelta(days=window.days), window.first - timedelta(days=1))


def comparison_span(window: trends.Window) -> trends.Window:
    """The days to query buckets for (the previous window and this one): one Query per reading type."""
    return trends.Window(previous_window(window).first, window.last)


def _within(buckets: Iterable[DayBucket], window: trends.Window) -> list[dict[str, Any]]:
    first, last = window.first.isoformat(), window.last.isoformat()
    return [dict(b) for b in buckets if first <= str(b.get("date", "")) <= last]


def _bucket_values(bucket: DayBucket) -> list[Any]:
    return [value for name, value in sorted(bucket.items()) if name.startswith("r_")]


# -- glucose ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlucoseSummary:
    """One window's glucose statistics, unrounded (the page rounds for display).

    ``readings_per_day`` is over the window's days (7 readings in a 7-day window is 1.0 a day), as
    glucose reports count it; ``days_with_readings`` are the days with at least one reading.
    """

    first: date
    last: date
    days: int
    count: int
    readings_per_day: float
    days_with_readings: int
    mean_mg_dl: float | None
    below_54_pct: float | None
    below_70_pct: float | None
    in_range_pct: float | None  # 70-180 inclusive
    above_180_pct: float | None
    above_250_pct: float | None
    meter_lo: int
    meter_hi: int


@dataclass(frozen=True)
class GlucoseChange:
    """This window minus the previous one; None where either window has no reading (or no number)."""

    readings_per_day: float | None
    days_with_readings: float | None
    mean_mg_dl: float | None
    below_54_pct: float | None
    below_70_pct: float | None
    in_range_pct: float | None
    above_180_pct: float | None
    above_250_pct: float | None


@dataclass(frozen=True)
class GlucoseStats:
    current: GlucoseSummary
    previous: GlucoseSummary
    change: GlucoseChange
    trend: trends.GlucoseTrend  # the current window day by day, for the chart (charts.render)


def glucose_summary(buckets: Iterable[DayBucket], window: trends.Window) -> GlucoseSummary:
    """The statistics of the buckets dated inside ``window`` (others are ignored)."""
    inside = _within(buckets, window)
    ranges = count_ranges(v for b in inside for v in _bucket_values(b))
    return GlucoseSummary(
        first=window.first,
        last=window.last,
        days=window.days,
        count=ranges.count,
        readings_per_day=ranges.count / window.days,
        days_with_readings=len({b["date"] for b in inside if _bucket_values(b)}),
        mean_mg_dl=ranges.mean_mg_dl,
        below_54_pct=ranges.pct(ranges.below_54),
        below_70_pct=ranges.pct(ranges.below_70),
        in_range_pct=ranges.pct(ranges.in_range),
        above_180_pct=ranges.pct(ranges.above_180),
        above_250_pct=ranges.pct(ranges.above_250),
        meter_lo=ranges.meter_lo,
        meter_hi=ranges.meter_hi,
    )


def _difference(now: float | None, before: float | None, comparable: bool) -> float | None:
    return now - before if comparable and now is not None and before is not None else None


def glucose_change(current: GlucoseSummary, previous: GlucoseSummary) -> GlucoseChange:
    comparable = current.count > 0 and previous.count > 0

    def change(name: str) -> float | None:
        return _difference(getattr(current, name), getattr(previous, name), comparable)

    return GlucoseChange(
        readings_per_day=change("readings_per_day"),
        days_with_readings=change("days_with_readings"),
        mean_mg_dl=change("mean_mg_dl"),
        below_54_pct=change("below_54_pct"),
        below_70_pct=change("below_70_pct"),
        in_range_pct=change("in_range_pct"),
        above_180_pct=change("above_180_pct"),
        above_250_pct=change("above_250_pct"),
    )


def glucose_stats(buckets: Sequence[DayBucket], window: trends.Window) -> GlucoseStats:
    """The Glucose section: ``buckets`` are the glucose day buckets of ``comparison_span(window)``."""
    current = glucose_summary(buckets, window)
    previous = glucose_summary(buckets, previous_window(window))
    return GlucoseStats(
        current=current,
        previous=previous,
        change=glucose_change(current, previous),
        trend=trends.glucose_trend(_within(buckets, window), window),
    )


# -- blood pressure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BpStats:
    """The Blood pressure section for one window, unrounded.

    ``mean_*_7d`` are over the last 7 days of the window (the home-BP convention of the sustained-BP
    rule); ``target_*`` are the thresholds "at or above target" was judged against.
    """

    first: date
    last: date
    days: int
    count: int
    days_with_readings: int
    mean_systolic: float | None
    mean_diastolic: float | None
    count_7d: int
    mean_systolic_7d: float | None
    mean_diastolic_7d: float | None
    at_or_above_target: int
    at_or_above_target_pct: float | None
    target_systolic: float
    target_diastolic: float
    trend: trends.BpTrend  # the window day by day, for the chart (charts.render)


def bp_thresholds(targets: Targets) -> tuple[float, float]:
    """The systolic and diastolic a reading is "at or above target" from: the targets, inside the hard limits."""
    bp = targets.blood_pressure
    return min(bp.systolic_high, SYSTOLIC_ALWAYS_HIGH_FROM), min(bp.diastolic_high, DIASTOLIC_ALWAYS_HIGH_FROM)


def _pairs(buckets: Iterable[DayBucket]) -> list[tuple[float, float]]:
    return [(float(s), float(d)) for b in buckets for s, d in _bucket_values(b)]


def _mean(values: Iterable[float]) -> float | None:
    listed = list(values)
    return fmean(listed) if listed else None


def bp_stats(buckets: Sequence[DayBucket], window: trends.Window, targets: Targets) -> BpStats:
    """The BP statistics of the buckets dated inside ``window`` (at least the window's days)."""
    inside = _within(buckets, window)
    pairs = _pairs(inside)
    last_7 = trends.Window(max(window.first, window.last - timedelta(days=BP_MEAN_DAYS - 1)), window.last)
    pairs_7 = _pairs(_within(inside, last_7))
    systolic_from, diastolic_from = bp_thresholds(targets)
    above = sum(s >= systolic_from or d >= diastolic_from for s, d in pairs)
    return BpStats(
        first=window.first,
        last=window.last,
        days=window.days,
        count=len(pairs),
        days_with_readings=len({b["date"] for b in inside if _bucket_values(b)}),
        mean_systolic=_mean(s for s, _ in pairs),
        mean_diastolic=_mean(d for _, d in pairs),
        count_7d=len(pairs_7),
        mean_systolic_7d=_mean(s for s, _ in pairs_7),
        mean_diastolic_7d=_mean(d for _, d in pairs_7),
        at_or_above_target=above,
        at_or_above_target_pct=100 * above / len(pairs) if pairs else None,
        target_systolic=systolic_from,
        target_diastolic=diastolic_from,
        trend=trends.bp_trend(inside, window),
    )
