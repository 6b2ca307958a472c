"""The glucose range statistics against an independent implementation: iglu-python (iglu's Python port).

iglu's conventions, read from its source (iglu_python 0.4.3) and pinned by the first test here:
``below_percent`` counts ``gl < target`` (strict), ``above_percent`` counts ``gl > target``
(strict), ``in_range_percent`` counts ``min <= gl <= max`` (both ends included), each over the
non-missing readings, and ``mean_glu`` is the plain mean.  These are docs/clinical.md's
definitions (< 54, < 70, 70-180 inclusive, > 180, > 250), so no boundary needs avoiding: the
generated sets include the exact boundaries 54, 70, 180 and 250.

iglu knows no meter LO/HI.  For the percentages a LO is given to iglu as 39 mg/dL and a HI as
601 (each in the range the flag counts in); the mean is compared over the numbered readings
only, as Carewire leaves LO/HI out of it.

Agreement: :mod:`console_stats` keeps the exact values (within 0.01, in practice equal); the API
trend rounds to 0.1, so it agrees within half of that.  iglu imports pandas and matplotlib (about
3 s), so it is imported by a fixture, only when these tests run.
"""

from __future__ import annotations

import importlib
import random
from datetime import date, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from chalicelib.domain import console_stats, trends

WINDOW = trends.Window(date(2026, 11, 9), date(2026, 11, 22))
BOUNDARIES = [53.9, 54.0, 69.9, 70.0, 180.0, 180.1, 250.0, 250.1]
STAND_IN = {"LO": 39.0, "HI": 601.0}
SETS = 40


@pytest.fixture(scope="module")
def iglu() -> ModuleType:
    return importlib.import_module("iglu_python")


@pytest.fixture(scope="module")
def pd() -> ModuleType:
    return importlib.import_module("pandas")


def _value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.04:
        return rng.choice(["LO", "HI"])
    if roll < 0.2:
        return rng.choice(BOUNDARIES)
    if roll < 0.5:
        return float(rng.randint(10, 600))
    return round(rng.uniform(10, 600), 1)


def reading_sets() -> list[list[tuple[datetime, Any]]]:
    """SETS seeded sets of fingerstick readings in WINDOW: 1 to 120 readings, skewed to some lows and highs."""
    rng = random.Random(18)
    sets = []
    for _ in range(SETS):
        start = datetime.combine(WINDOW.first, datetime.min.time())
        sets.append(
            [
                (start + timedelta(minutes=rng.randrange(WINDOW.days * 24 * 60)), _value(rng))
                for _ in range(rng.randint(1, 120))
            ]
        )
    return sets


def buckets_of(readings: list[tuple[datetime, Any]]) -> list[dict[str, Any]]:
    buckets: dict[str, dict[str, Any]] = {}
    for n, (at, value) in enumerate(readings):
        day = at.date().isoformat()
        buckets.setdefault(day, {"date": day})[f"r_{n:04d}"] = value
    return list(buckets.values())


def _frame(pd: ModuleType, rows: list[tuple[str, datetime, float]]) -> Any:
    return pd.DataFrame(rows, columns=["id", "time", "gl"])


@pytest.fixture(scope="module")
def oracle(iglu: ModuleType, pd: ModuleType) -> dict[str, dict[str, float]]:
    """iglu's numbers per set (subject ``s<n>``): one call per metric over all sets."""
    sets = reading_sets()
    every = _frame(pd, [(f"s{n}", at, STAND_IN.get(v, v)) for n, s in enumerate(sets) for at, v in s])
    numbered = _frame(pd, [(f"s{n}", at, v) for n, s in enumerate(sets) for at, v in s if not isinstance(v, str)])
    result: dict[str, dict[str, float]] = {f"s{n}": {} for n in range(len(sets))}
    for frame in (
        iglu.below_percent(every, targets_below=[54, 70]),
        iglu.above_percent(every, targets_above=[180, 250]),
        iglu.in_range_percent(every, target_ranges=[[70, 180]]),
        iglu.mean_glu(numbered),
    ):
        for row in frame.to_dict("records"):
            result[row["id"]].update({k: float(v) for k, v in row.items() if k != "id"})
    return result


def test_iglus_boundary_conventions_are_clinical_mds(iglu: ModuleType, pd: ModuleType) -> None:
    at = datetime(2026, 11, 20, 8)
    frame = _frame(pd, [("b", at + timedelta(minutes=n), v) for n, v in enumerate([54.0, 70.0, 180.0, 250.0])])
    assert iglu.below_percent(frame, targets_below=[54, 70]).iloc[0][["below_54", "below_70"]].tolist() == [0, 25]
    assert iglu.above_percent(frame, targets_above=[180, 250]).iloc[0][["above_180", "above_250"]].tolist() == [
        25,
        0,
    ]
    assert iglu.in_range_percent(frame, target_ranges=[[70, 180]]).iloc[0]["in_range_70_180"] == 50


def test_the_generated_sets_cover_every_boundary_and_both_meter_flags() -> None:
    values = {v for s in reading_sets() for _, v in s}
    assert {*BOUNDARIES, "LO", "HI"} <= values


@pytest.mark.parametrize("n", range(SETS))
def test_console_statistics_agree_with_iglu(n: int, oracle: dict[str, dict[str, float]]) -> None:
    readings = reading_sets()[n]
    expected = oracle[f"s{n}"]
    summary = console_stats.glucose_summary(buckets_of(readings), WINDOW)
    assert summary.count == len(readings)
    assert summary.below_54_pct == pytest.approx(expected["below_54"], abs=0.01)
    assert summary.below_70_pct == pytest.approx(expected["below_70"], abs=0.01)
    assert summary.in_range_pct == pytest.approx(expected["in_range_70_180"], abs=0.01)
    assert summary.above_180_pct == pytest.approx(expected["above_180"], abs=0.01)
    assert summary.above_250_pct == pytest.approx(expected["above_250"], abs=0.01)
    if "mean" in expected:
        assert summary.mean_mg_dl == pytest.approx(expected["mean"], abs=0.01)
    else:  # only LO/HI in the set: no number, no mean
        assert summary.mean_mg_dl is None


@pytest.mark.parametrize("n", range(SETS))
def test_the_api_trend_agrees_with_iglu_within_its_rounding(n: int, oracle: dict[str, dict[str, float]]) -> None:
    readings = reading_sets()[n]
    expected = oracle[f"s{n}"]
    trend = trends.glucose_trend(buckets_of(readings), WINDOW)
    half = 0.05 + 1e-9  # the trend rounds to 0.1
    assert trend.below_54_pct == pytest.approx(expected["below_54"], abs=half)
    assert trend.below_70_pct == pytest.approx(expected["below_70"], abs=half)
    assert trend.time_in_range_pct == pytest.approx(expected["in_range_70_180"], abs=half)
    assert trend.above_180_pct == pytest.approx(expected["above_180"], abs=half)
    assert trend.above_250_pct == pytest.approx(expected["above_250"], abs=half)
    if "mean" in expected:
        assert trend.mean_mg_dl == pytest.approx(expected["mean"], abs=half)
