"""The patient page's charts: valid SVG, named, lows where they belong, nothing the console's CSP refuses.

Positions are checked against the chart's own reference lines (the 70 and 54
mg/dL lines, the frame), so the tests hold whatever the layout constants are.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.reading_charts import (
    BpPoint,
    GlucosePoint,
    bp_chart,
    bp_points,
    glucose_chart,
    glucose_points,
)
from chalicelib.domain.readings import Reading
from chalicelib.domain.targets import (
    BloodPressureTargetsIn,
    GlucoseTargetsIn,
    Targets,
    TargetsIn,
    default_targets,
    effective_targets,
)

SVG = "{http://www.w3.org/2000/svg}"
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 14)
NUMBER = re.compile(r"[MmLlHhVvZz]|-?(?:\d+\.?\d*|\.\d+)")


def at(day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def accessible_name(root: ET.Element) -> str:
    ids = (root.get("aria-labelledby") or "").split()
    assert ids, "the chart is named by aria-labelledby"
    named = {e.get("id"): "".join(e.itertext()) for e in root.iter() if e.get("id")}
    return " ".join(named[i] for i in ids)


def description(root: ET.Element) -> str:
    desc = next(e for e in root.iter() if e.get("id") == root.get("aria-describedby"))
    assert desc.tag == f"{SVG}desc"
    return "".join(desc.itertext())


def points_of(d: str) -> list[tuple[float, float]]:
    """The start of every subpath of path data (absolute), following relative moves and closed shapes."""
    tokens = NUMBER.findall(d)
    x = y = 0.0
    starts: list[tuple[float, float]] = []
    i = 0
    command = ""
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                x, y = starts[-1]
                continue
        if command in "Mm":
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            x, y = (x + dx, y + dy) if command == "m" else (dx, dy)
            starts.append((x, y))
            i += 2
            command = "l" if command == "m" else "L"
        elif command == "l":
            x, y = x + float(tokens[i]), y + float(tokens[i + 1])
            i += 2
        elif command == "h":
            x += float(tokens[i])
            i += 1
        else:
            raise AssertionError(f"unexpected path command {command!r} in test data")
    return starts


def line_y(root: ET.Element, cls: str) -> list[float]:
    """The y of each horizontal line with this class (one per panel)."""
    return [float(NUMBER.findall(e.get("d") or "")[2]) for e in by_class(root, cls)]


def frames(root: ET.Element) -> list[tuple[float, float]]:
    """(top, bottom) of each plot area, from its frame (the only unfilled rects)."""
    rects = [e for e in root.iter(f"{SVG}rect") if e.get("fill") == "none"]
    return [(float(r.get("y") or 0), float(r.get("y") or 0) + float(r.get("height") or 0)) for r in rects]


def expected_y(root: ET.Element, panel: int, value: float) -> float:
    """Where a glucose value belongs in a panel: the frame spans 0 mg/dL to the highest value tick."""
    top, bottom = frames(root)[panel]
    ceiling = max(float("".join(e.itertext())) for e in by_class(root, "value-tick"))
    return bottom - value / ceiling * (bottom - top)


# ---------------------------------------------------------------- glucose


def test_glucose_chart_is_svg_named_glucose_with_a_summary() -> None:
    readings = [GlucosePoint(at(d), 120) for d in range(1, 15)] + [
        GlucosePoint(at(3, 3), 62),
        GlucosePoint(at(4, 3), 50),
        GlucosePoint(at(5, 3), meter_flag="LO"),
    ]
    root = parse(glucose_chart(readings, default_targets(), FIRST, LAST, timezone_label="America/Chicago"))
    assert root.get("role") == "img"
    assert "Glucose" in accessible_name(root)
    assert description(root).startswith("17 readings over 14 days; 3 below 70 mg/dL, 2 below 54 mg/dL")
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert any("America/Chicago" in t for t in texts(root))


def test_a_low_is_a_red_triangle_at_its_value_in_both_panels() -> None:
    readings = [GlucosePoint(at(2, 7), 120), GlucosePoint(at(3, 3, 30), 62)]
    root = parse(glucose_chart(readings, default_targets(), FIRST, LAST))
    for panel in (0, 1):
        assert line_y(root, "ref-70")[panel] == pytest.approx(expected_y(root, panel, 70), abs=0.15)
        assert line_y(root, "ref-54")[panel] == pytest.approx(expected_y(root, panel, 54), abs=0.15)
    lows = by_class(root, "low")
    assert len(lows) == 2  # one per panel
    dots = by_class(root, "readings")
    for panel, group in enumerate(lows):
        (marker,) = group.iter(f"{SVG}path")
        ((_, y),) = points_of(marker.get("d") or "")
        assert y == pytest.approx(expected_y(root, panel, 62), abs=0.15)
        # Not colour alone: a filled closed shape, where ordinary readings are dots of a stroke.
        assert (marker.get("d") or "").endswith("z")
        assert "z" not in (dots[panel].get("d") or "")
        assert group.get("fill", marker.get("fill")) != dots[panel].get("stroke")
    assert not by_class(root, "very-low")


def test_below_54_is_its_own_larger_marker_drawn_after_the_lows() -> None:
    readings = [GlucosePoint(at(2), 60), GlucosePoint(at(3), 40), GlucosePoint(at(3), 140)]
    root = parse(glucose_chart(readings, default_targets(), FIRST, LAST))
    (very_low, _) = by_class(root, "very-low")
    (low, _) = by_class(root, "low")
    d_very, d_low = (next(g.iter(f"{SVG}path")).get("d") or "" for g in (very_low, low))
    ((_, y),) = points_of(d_very)
    assert y == pytest.approx(expected_y(root, 0, 40), abs=0.15)

    def size(d: str) -> float:
        return abs(float(NUMBER.findall(d)[-2]))  # the width of the triangle's base ("h14z")

    assert size(d_very) > size(d_low)
    order = list(root.iter())
    assert order.index(very_low) > order.index(low) > order.index(by_class(root, "readings")[0])


def test_a_position_is_kept_exactly_through_the_compact_relative_path() -> None:
    values = [100, 100.5, 180, 181, 250, 70, 299]
    readings = [GlucosePoint(at(1 + i, 2 * i, 7 * i), v) for i, v in enumerate(values)]
    root = parse(glucose_chart(readings, default_targets(), FIRST, LAST))
    path = by_class(root, "readings")[1]  # by time of day: x is the hour
    ys = sorted(y for _, y in points_of(path.get("d") or ""))
    assert ys == pytest.approx(sorted(expected_y(root, 1, v) for v in values), abs=0.15)


def test_meter_lo_and_hi_sit_on_the_scale_edges_labelled() -> None:
    readings = [GlucosePoint(at(2), 120), GlucosePoint(at(3), meter_flag="LO"), GlucosePoint(at(4), meter_flag="HI")]
    root = parse(glucose_chart(readings, default_targets(), FIRST, LAST))
    for cls, label, edge in (("meter-lo", "LO", 1), ("meter-hi", "HI", 0)):
        groups = by_class(root, cls)
        assert len(groups) == 2
        for group, frame in zip(groups, frames(root), strict=True):
            assert label in texts(group)
            expected = frame[edge]
            ((_, y),) = points_of(next(group.iter(f"{SVG}path")).get("d") or "")
            assert y == pytest.approx(expected, abs=0.15)
    assert "meter LO 1 (counted as below 54), meter HI 1" in description(root)


def test_nothing_the_csp_refuses_and_text_is_escaped() -> None:
    readings = [GlucosePoint(at(d, d), 30 + 20 * d) for d in range(1, 15)] + [GlucosePoint(at(9), meter_flag="HI")]
    label = '<script>alert("x")</script> & <style>'
    charts = [
        glucose_chart(readings, default_targets(), FIRST, LAST, timezone_label=label),
        bp_chart([BpPoint(at(2), 150, 95)], default_targets(), FIRST, LAST),
        glucose_chart([], default_targets(), FIRST, LAST),
    ]
    for svg in charts:
        root = parse(svg)
        for element in root.iter():
            assert element.tag.rsplit("}", 1)[-1] not in {"style", "script", "foreignObject", "image", "a", "use"}
            for name in element.attrib:
                local = name.rsplit("}", 1)[-1]
                assert local != "style"
                assert local != "href"
                assert not local.startswith("on")
    root = parse(charts[0])
    assert any(label in t for t in texts(root))


def test_an_empty_window_says_so() -> None:
    outside = [GlucosePoint(at(15), 40), GlucosePoint(datetime(2025, 2, 28, 23, 59), 40)]
    for svg, name in (
        (glucose_chart(outside, default_targets(), FIRST, LAST), "Glucose"),
        (bp_chart([BpPoint(at(15), 150, 90)], default_targets(), FIRST, LAST), "Blood pressure"),
    ):
        root = parse(svg)
        assert name in accessible_name(root)
        assert "No readings in this window" in texts(root)  # the text the page promises, not the constant
        assert "No " in description(root)


@pytest.mark.parametrize(
    ("targets", "low", "high"),
    [
        (default_targets(), 70, 180),
        (default_targets("pregnancy"), 70, 140),
        (
            effective_targets(
                "standard", TargetsIn(glucose=GlucoseTargetsIn(low=80, high_after_meal=160, high_bedtime=150))
            ),
            80,
            160,
        ),
    ],
)
def test_the_target_band_follows_the_targets(targets: Targets, low: float, high: float) -> None:
    root = parse(glucose_chart([GlucosePoint(at(2), 120)], targets, FIRST, LAST))
    bands = by_class(root, "target-band")
    assert len(bands) == 2
    for panel, band in enumerate(bands):
        top, height = float(band.get("y") or 0), float(band.get("height") or 0)
        assert top == pytest.approx(expected_y(root, panel, high), abs=0.15)
        assert top + height == pytest.approx(expected_y(root, panel, low), abs=0.25)
    assert f"Target {low}-{high} mg/dL" in texts(root)


def test_the_same_readings_in_any_order_render_the_same_bytes() -> None:
    rnd = random.Random(7)
    readings = [
        GlucosePoint(at(1) + timedelta(minutes=rnd.randrange(14 * 1440)), rnd.choice([45, 65, 120, 260]))
        for _ in range(300)
    ] + [GlucosePoint(at(5), meter_flag="LO")]
    shuffled = readings[:]
    rnd.shuffle(shuffled)
    assert glucose_chart(readings, default_targets(), FIRST, LAST) == glucose_chart(
        shuffled, default_targets(), FIRST, LAST
    )


def test_day_and_hour_ticks_are_labelled() -> None:
    root = parse(glucose_chart([GlucosePoint(at(2), 120)], default_targets(), FIRST, date(2025, 3, 7)))
    assert [t for t in texts(root) if t.startswith("Mar ")] == [f"Mar {d}" for d in range(1, 8)]
    assert [t for t in texts(root) if ":" in t and len(t) == 5] == ["00:00", "06:00", "12:00", "18:00", "24:00"]


def test_every_value_stays_inside_the_scale() -> None:
    root = parse(glucose_chart([GlucosePoint(at(2), 590), GlucosePoint(at(3), 10)], default_targets(), FIRST, LAST))
    top, bottom = frames(root)[0]
    ys = [y for _, y in points_of(by_class(root, "readings")[0].get("d") or "")]
    ys += [y for _, y in points_of(next(by_class(root, "very-low")[0].iter(f"{SVG}path")).get("d") or "")]
    assert all(top <= y <= bottom for y in ys)


def test_a_glucose_point_has_a_value_or_a_flag() -> None:
    with pytest.raises(ValueError, match="either a value or a meter flag"):
        GlucosePoint(at(1))
    with pytest.raises(ValueError, match="either a value or a meter flag"):
        GlucosePoint(at(1), 40, "LO")


def reading(rid: str, measured_at: str, **fields: object) -> Reading:
    classification = {"severity": "normal", "category": "x", "interpretation": "N", "flags": [], "guidance": ""}
    return Reading.model_validate(
        {
            "reading_id": rid,
            "patient_id": "p-1",
            "unit": "mg/dL",
            "measured_at": measured_at,
            "received_at": measured_at,
            "source": "app",
            "classification": classification,
            **fields,
        }
    )


def test_stored_readings_become_points_on_the_patients_local_day() -> None:
    chicago = ZoneInfo("America/Chicago")
    stored = [
        reading("r1", "2025-03-02T03:30:00Z", type="blood_glucose", value=48, value_mg_dl=48),
        reading("r2", "2025-03-02T15:00:00Z", type="blood_glucose", meter_flag="LO"),
        reading("r3", "2025-03-02T16:00:00Z", type="blood_pressure", unit="mmHg", systolic=150, diastolic=95),
    ]
    glucose = glucose_points(stored, chicago)
    assert [(p.at.date(), p.at.hour, p.value_mg_dl, p.meter_flag) for p in glucose] == [
        (date(2025, 3, 1), 21, 48.0, None),  # 03:30 UTC is the evening before in Chicago
        (date(2025, 3, 2), 9, None, "LO"),
    ]
    assert [(p.at.hour, p.systolic, p.diastolic) for p in bp_points(stored, chicago)] == [(10, 150.0, 95.0)]
    root = parse(glucose_chart(glucose, default_targets(), date(2025, 3, 1), date(2025, 3, 1)))
    assert description(root).startswith("1 reading over 1 day; 1 below 70 mg/dL, 1 below 54 mg/dL")


# ---------------------------------------------------------------- blood pressure


def test_bp_chart_named_with_distinct_markers_target_lines_and_legend() -> None:
    targets = effective_targets(
        "standard", TargetsIn(blood_pressure=BloodPressureTargetsIn(systolic_high=130, diastolic_high=80))
    )
    readings = [BpPoint(at(2), 150, 95), BpPoint(at(3), 120, 75), BpPoint(at(4, 20), 128, 80)]
    root = parse(bp_chart(readings, targets, FIRST, LAST))
    assert root.get("role") == "img"
    assert "Blood pressure" in accessible_name(root)
    assert description(root).startswith("3 readings over 14 days; 2 at or above 130/80 mmHg")
    (systolic,) = by_class(root, "systolic")
    (diastolic,) = by_class(root, "diastolic")
    assert systolic.get("stroke-linecap") != diastolic.get("stroke-linecap")  # round dots, square marks
    assert systolic.get("stroke") != diastolic.get("stroke")
    assert len(points_of(systolic.get("d") or "")) == 3

    # Each target line at its value: the y scale read from two of the systolic dots.
    ys = sorted(y for _, y in points_of(systolic.get("d") or ""))  # 150, 128, 120 from top to bottom
    y150, y120 = ys[0], ys[2]
    per_mmhg = (y120 - y150) / 30

    def y_of(value: float) -> float:
        return y150 + (150 - value) * per_mmhg

    for cls, value in (
        ("target-systolic-high", 130),
        ("target-diastolic-high", 80),
        ("target-systolic-low", 90),
        ("target-diastolic-low", 60),
    ):
        assert line_y(root, cls) == [pytest.approx(y_of(value), abs=0.15)]
    legend = texts(root)
    assert {"Systolic", "Diastolic", "Target high 130/80", "Target low 90/60"} <= set(legend)


def test_bp_scale_reaches_every_reading() -> None:
    root = parse(bp_chart([BpPoint(at(2), 240, 150), BpPoint(at(3), 70, 30)], default_targets(), FIRST, LAST))
    ((top, bottom),) = frames(root)
    for cls in ("systolic", "diastolic"):
        assert all(top <= y <= bottom for _, y in points_of(by_class(root, cls)[0].get("d") or ""))
