"""Trends, RPM billing codes and the trend chart: pure logic, no AWS."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import billing, charts, trends
from chalicelib.domain.targets import BloodPressureTargetsIn, GlucoseTargetsIn, TargetsIn, effective_targets

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "trend-chart-example.png"


def _bucket(day: date, *values: Any) -> dict[str, Any]:
    return {"date": day.isoformat(), **{f"r_{day}_{n}": v for n, v in enumerate(values)}}


# -- windows and local days ------------------------------------------------------------


def test_window_ends_on_the_patients_local_today() -> None:
    late = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 21:00 on the 21st in Chicago
    window = trends.Window.ending(late, "America/Chicago", 7)
    assert (window.first, window.last, window.days) == (date(2026, 11, 15), date(2026, 11, 21), 7)
    assert trends.Window.ending(late, "Asia/Tokyo", 7).last == date(2026, 11, 22)


def test_local_day_follows_the_zone() -> None:
    moment = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    assert trends.local_day(moment, "America/Sao_Paulo") == "2026-02-28"
    assert trends.local_day(moment, "UTC") == "2026-03-01"


def test_bucket_values() -> None:
    assert trends.bucket_value({"type": "blood_glucose", "value_mg_dl": 99.0}) == 99.0
    assert trends.bucket_value({"type": "blood_glucose", "meter_flag": "LO"}) == "LO"
    assert trends.bucket_value({"type": "blood_pressure", "systolic": 120, "diastolic": 70}) == [120, 70]


# -- glucose ----------------------------------------------------------------------------


def test_glucose_buckets_follow_the_consensus_ranges() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
    buckets = [
        _bucket(date(2026, 11, 16), 53, 54, 69, 70),
        _bucket(date(2026, 11, 18), 180, 181, 250, 251, "HI", "LO"),
    ]
    t = trends.glucose_trend(buckets, window)
    assert t.count == 10
    # <54: 53 + LO; <70: 53, 54, 69 + LO; 70-180: 70, 180; >180: 181, 250, 251 + HI; >250: 251 + HI
    assert (t.below_54_pct, t.below_70_pct, t.time_in_range_pct, t.above_180_pct, t.above_250_pct) == (
        20.0,
        40.0,
        20.0,
        40.0,
        20.0,
    )
    assert (t.min_mg_dl, t.max_mg_dl) == (53, 251)
    assert t.mean_mg_dl == round(sum([53, 54, 69, 70, 180, 181, 250, 251]) / 8, 1)  # flags have no number
    assert t.days_with_readings == 2
    assert [d.count for d in t.daily] == [4, 6]
    assert [(d.meter_lo, d.meter_hi) for d in t.daily] == [(0, 0), (1, 1)]


def test_an_empty_window_has_no_percentages() -> None:
    t = trends.glucose_trend([], trends.Window(date(2026, 11, 16), date(2026, 11, 22)))
    assert (t.count, t.mean_mg_dl, t.time_in_range_pct, t.days_with_readings, t.daily) == (0, None, None, 0, [])


# -- blood pressure ------------------------------------------------------------------------


def test_bp_mean_category_and_goal() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
    t = trends.bp_trend(
        [_bucket(date(2026, 11, 20), [118, 76], [142, 92]), _bucket(date(2026, 11, 21), [129, 80])], window
    )
    assert (t.count, t.mean_systolic, t.mean_diastolic) == (3, 129.7, 82.7)
    assert t.category_of_mean == "stage_1"  # diastolic 82.7 is stage 1
    assert t.at_goal_pct == 33.3  # only 118/76: 129/80 misses the diastolic goal
    assert [d.count for d in t.daily] == [2, 1]
    assert [(d.min_diastolic, d.max_diastolic) for d in t.daily] == [(76, 92), (80, 80)]


# -- billing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "code"), [(0, None), (1, None), (2, "99445"), (15, "99445"), (16, "99454"), (31, "99454")]
)
def test_device_codes(days: int, code: str | None) -> None:
    assert billing.device_code(days) == code


@pytest.mark.parametrize(
    ("minutes", "interactive", "codes"),
    [
        (9, True, []),
        (10, True, ["99470"]),
        (19, True, ["99470"]),
        (20, True, ["99457"]),
        (39, True, ["99457"]),
        (40, True, ["99457", "99458"]),
        (65, True, ["99457", "99458", "99458"]),
        (65, False, []),
    ],
)
def test_management_codes(minutes: int, interactive: bool, codes: list[str]) -> None:
    assert billing.management_codes(minutes, interactive) == codes


_SENT_AT_ONCE = {"measured_at": "2026-11-22T07:41:00Z", "received_at": "2026-11-22T07:42:00Z"}


@pytest.mark.parametrize(
    ("image", "counts"),
    [
        ({"source": "device", "device_id": "cuff-1"}, True),
        ({"source": "app", "device_id": "meter-9"}, True),
        ({"source": "app"}, False),
        ({"source": "manual", "device_id": "meter-9"}, False),
        ({"source": "sms"}, False),
        ({"source": "clinic", "device_id": "office-cuff"}, False),
    ],
)
def test_device_day_sources(image: dict[str, Any], counts: bool) -> None:
    assert billing.counts_as_device_day({**image, **_SENT_AT_ONCE}) is counts


@pytest.mark.parametrize(
    ("received_at", "counts"),
    [
        ("2026-11-22T07:41:00Z", True),
        ("2026-11-23T07:41:00Z", True),
        ("2026-11-23T07:41:00.001Z", False),
        ("2026-12-10T09:00:00Z", False),
    ],
)
def test_f6_a_device_reading_received_more_than_24_hours_after_measurement_is_no_device_day(
    received_at: str, counts: bool
) -> None:
    image = {"source": "device", "device_id": "x", "measured_at": "2026-11-22T07:41:00Z", "received_at": received_at}

    assert billing.counts_as_device_day(image) is counts


# -- the chart -----------------------------------------------------------------------------


def _month_of_glucose() -> trends.GlucoseTrend:
    rng = random.Random(7)
    window = trends.Window.ending(NOW, "America/Chicago", 30)
    values: dict[int, list[Any]] = {
        n: [round(rng.gauss(150, 40)) for _ in range(4)]
        for n in range(30)
        if n not in (6, 7, 19)  # days without readings are gaps
    }
    values |= {2: [52, 61], 10: [40, 212], 14: ["LO"], 24: [66, 151]}  # 40 and 212: a mean of 126 hides a 40
    return trends.glucose_trend([_bucket(window.first + timedelta(days=n), *v) for n, v in values.items()], window)


SVG = "{http://www.w3.org/2000/svg}"


def _points(svg: str) -> dict[str | None, list[str]]:
    """Legend title -> the x labels (local dates) of the dots its series draws."""
    root = ET.fromstring(svg)
    titles: dict[int, str | None] = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("id", "").startswith("activate-serie-"):
            text = g.find(f"{SVG}text")
            titles[int(g.get("id", "").rsplit("-", 1)[1])] = text.text if text is not None else None
    points: dict[str | None, list[str]] = {title: [] for title in titles.values()}
    overlay = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "plot overlay")
    for serie in overlay:
        index = int(next(c for c in (serie.get("class") or "").split() if c.startswith("serie-")).split("-")[1])
        for dots in serie.iter(f"{SVG}g"):
            if dots.get("class") == "dots":
                labels = [d.text for d in dots.findall(f"{SVG}desc") if (d.get("class") or "").strip() == "x_label"]
                points.setdefault(titles.get(index), []).extend(label or "" for label in labels)
    return points


def test_a_low_behind_a_normal_mean_and_a_lo_only_day_both_carry_a_low_marker() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
    trend = trends.glucose_trend(
        [_bucket(date(2026, 11, 17), 40, 200), _bucket(date(2026, 11, 19), "LO"), _bucket(date(2026, 11, 21), 65, 99)],
        window,
    )

    points = _points(charts.render(trend))

    assert trend.daily[0].mean == 120  # what the old chart drew, with no marker
    assert points["Below 54"] == ["Nov 17"]
    assert points["Meter LO"] == ["Nov 19"]  # no number that day, still a marker
    assert points["Below 70"] == ["Nov 21"]  # a distinct marker for a level-1 low
    assert points["Daily lowest"] == ["Nov 17", "Nov 21"] and points["Daily highest"] == ["Nov 17", "Nov 21"]
    assert points["Above 180"] == ["Nov 17"]


def test_a_meter_hi_is_marked_at_the_top_of_the_meters_range() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))

    points = _points(charts.render(trends.glucose_trend([_bucket(date(2026, 11, 18), "HI")], window)))

    assert points["Meter HI"] == ["Nov 18"] and "Meter LO" not in points


def test_the_glucose_band_follows_the_patients_own_targets() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
    trend = trends.glucose_trend([_bucket(date(2026, 11, 17), 75, 190)], window)
    personal = effective_targets("older_very_complex", TargetsIn(glucose=GlucoseTargetsIn(low=80)))

    standard, theirs = charts.render(trend), charts.render(trend, personal)

    assert "Target 70-180" in standard and _points(standard)["Above 180"] == ["Nov 17"]
    assert "Target 80-200" in theirs and "Target 70-180" not in theirs  # low 80, the random-context high 200
    assert _points(theirs)["Above 200"] == []  # 190 is inside this patient's band
    assert _points(theirs)["Below 70"] == []  # 75 is below their band but not a level-1 low


def test_the_bp_chart_draws_daily_extremes_against_the_patients_bp_targets() -> None:
    window = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
    trend = trends.bp_trend(
        [_bucket(date(2026, 11, 18), [150, 95], [128, 78]), _bucket(date(2026, 11, 20), [86, 58], [112, 70])], window
    )
    personal = effective_targets(
        "standard", TargetsIn(blood_pressure=BloodPressureTargetsIn(systolic_high=130, diastolic_high=80))
    )

    svg = charts.render(trend, personal)
    points = _points(svg)

    assert "Systolic 90-130" in svg and "Diastolic 60-80" in svg
    for line in (
        "Systolic, daily highest",
        "Systolic, daily lowest",
        "Diastolic, daily highest",
        "Diastolic, daily lowest",
    ):
        assert points[line] == ["Nov 18", "Nov 20"]
    assert points["Above 130/80"] == ["Nov 18"]
    assert points["Below 90/60"] == ["Nov 20"]


def test_the_chart_renders_to_a_png_picture() -> None:
    import cairosvg

    svg = charts.render(_month_of_glucose())
    assert "<script" not in svg and "Target 70-180" in svg and ">Oct 24<" in svg
    png = cairosvg.svg2png(bytestring=svg.encode())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (640, 460)
    # The picture is not blank: the band, the line and the markers put many colours on it.
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 20
    assert any(rgb == (0xD9, 0xF2, 0xE3) for _, rgb in colours)  # the shaded target band
    assert EXAMPLE.exists(), "docs/trend-chart-example.png is committed (regenerate with: make chart-example)"


def test_bp_chart_and_an_empty_chart_render() -> None:
    import cairosvg

    window = trends.Window.ending(NOW, "UTC", 7)
    bp = trends.bp_trend([_bucket(window.last, [150, 95], [128, 78])], window)
    for trend in (bp, trends.glucose_trend([], window)):
        assert cairosvg.svg2png(bytestring=charts.render(trend).encode())[:4] == b"\x89PNG"


def write_example(path: Path = EXAMPLE) -> None:
    import cairosvg

    path.parent.mkdir(exist_ok=True)
    cairosvg.svg2png(bytestring=charts.render(_month_of_glucose()).encode(), write_to=str(path))


if __name__ == "__main__":
    write_example()


def test_every_legend_entry_fits_in_the_picture() -> None:
    window = trends.Window.ending(NOW, "UTC", 7)
    crisis = trends.bp_trend([_bucket(window.last, [190, 125], [76, 50])], window)

    for svg in (charts.render(_month_of_glucose()), charts.render(crisis)):
        root = ET.fromstring(svg)
        legends = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legends")
        top = float((legends.get("transform") or "").split(",")[1].rstrip(")"))
        bottoms = [top + float(t.get("y") or 0) for t in legends.iter(f"{SVG}text")]
        assert len(bottoms) >= 7 and max(bottoms) <= 460 - 4
