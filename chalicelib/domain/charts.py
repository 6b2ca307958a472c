"""The trend chart: an SVG drawn by pygal, readable on a phone, that never hides a low.

Each local day shows its lowest and highest value, never only the mean: a day
with 40 and 200 mg/dL has a mean of 120 (docs/clinical.md "Safety net" rule 13).
The patient's own target band is shaded (their effective targets, so a
profile or a clinician's override moves it), and markers flag every day with a
reading below 70 and, larger and labelled with the value, below 54 (the
consensus hypoglycaemia levels, fixed whatever the targets), every meter LO
(labelled "LO" at the bottom of the scale: it has no number) and HI, and days
above the band.  Blood pressure shows systolic and diastolic daily highest and
lowest against the patient's systolic and diastolic bands.

Sized 640 x 460 with large type so it stays legible when scaled down to a
phone's width; no external scripts (pygal's tooltip script would load from a
CDN, which a clinical record must not do, and its inline config script is
filtered out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil
from typing import Any

from chalicelib.domain.classification import glucose_high_threshold
from chalicelib.domain.targets import Targets, default_targets
from chalicelib.domain.trends import BpDay, BpTrend, GlucoseDay, GlucoseTrend

BAND, BAND_DIASTOLIC = "#d9f2e3", "#dcebf7"  # the shaded target bands
BACKGROUND = "#ffffff"
HIGHEST, LOWEST = "#1565c0", "#00838f"
SYSTOLIC, DIASTOLIC = "#1565c0", "#6a1b9a"
BELOW_70, BELOW_54, ABOVE = "#e53935", "#7f0000", "#ef6c00"
# Consensus hypoglycaemia levels 1 and 2: marked whatever the patient's targets say.
LEVEL_1_LOW, LEVEL_2_LOW = 70, 54
# Where a meter's LO and HI sit on the scale: the edges of the plausible range (docs/clinical.md).
METER_LO_AT, METER_HI_AT = 10, 600
LEGEND_COLUMNS = 3

Value = float | None


@dataclass(frozen=True)
class _Series:
    title: str | None  # None: no legend entry
    values: list[Value]
    colour: str
    options: dict[str, Any] = field(default_factory=dict)
    label: Callable[[float], str] = lambda _: ""  # printed beside each point; empty for most series


def _marker(
    title: str, values: list[Value], colour: str, size: int = 7, label: Callable[[float], str] | None = None
) -> _Series:
    return _Series(title, values, colour, {"dots_size": size, "stroke": False}, label or (lambda _: ""))


def _line(title: str, values: list[Value], colour: str, width: int = 3, dashed: bool = False) -> _Series:
    style: dict[str, Any] = {"width": width, **({"dasharray": "7, 5"} if dashed else {})}
    return _Series(title, values, colour, {"stroke_style": style, "dots_size": 3})


def _band(days: list[date], low: float, high: float, label: str, colour: str) -> list[_Series]:
    # pygal has no band primitive: fill to the band top, then paint the floor in the background colour.
    flat = {"fill": True, "show_dots": False, "stroke_style": {"width": 0}}
    return [
        _Series(label, [high] * len(days), colour, flat),
        _Series(None, [low] * len(days), BACKGROUND, flat),
    ]


def _style(colours: tuple[str, ...]) -> Any:
    from pygal.style import Style

    return Style(
        background=BACKGROUND,
        plot_background=BACKGROUND,
        foreground="#263238",
        foreground_strong="#263238",
        foreground_subtle="#b0bec5",
        colors=colours,
        font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
        title_font_size=22,
        label_font_size=15,
        major_label_font_size=15,
        legend_font_size=14,
        value_font_size=14,
        opacity="1",
        opacity_hover="1",
    )


def _dates(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _label(day: date) -> str:
    return f"{day.strftime('%b')} {day.day}"


def _draw(title: str, days: list[date], floor: float, ceiling: float, series: list[_Series]) -> str:
    import pygal

    # pygal reserves len(series) // columns legend rows (rounding down, untitled series included): pad
    # with empty untitled series so the last legend row is never cut off the picture.
    rows = ceil(sum(1 for s in series if s.title) / LEGEND_COLUMNS)
    series = series + [_Series(None, [None] * len(days), BACKGROUND)] * max(0, rows * LEGEND_COLUMNS - len(series))
    chart = pygal.Line(
        style=_style(tuple(s.colour for s in series)),
        width=640,
        height=460,
        title=title,
        js=(),
        show_dots=True,
        allow_interruptions=True,  # a day without readings is a gap, not a line to zero
        range=(floor, ceiling),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(days) // 6),
        x_label_rotation=0,
        truncate_label=-1,
        truncate_legend=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=LEGEND_COLUMNS,
        show_y_guides=True,
        margin=12,
        print_values=True,  # each series' label function decides what (mostly nothing)
        no_data_text="No readings in this period",
    )
    chart.x_labels = [_label(d) for d in days]
    chart.add_xml_filter(_without_scripts)
    for s in series:
        chart.add(s.title, s.values, formatter=s.label, **s.options)
    return str(chart.render(is_unicode=True))


def _without_scripts(root: Any) -> Any:
    """Drop pygal's inline tooltip config: the chart is a static picture, no script runs in it."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).endswith("script"):
                parent.remove(child)
    return root


def _number(value: float) -> str:
    return f"{value:g}"


def render(trend: GlucoseTrend | BpTrend, targets: Targets | None = None) -> str:
    """The chart of a trend against the patient's effective targets (guideline defaults when none are given)."""
    targets = targets or default_targets()
    if isinstance(trend, GlucoseTrend):
        return _glucose(trend, targets)
    return _blood_pressure(trend, targets)


def _glucose(trend: GlucoseTrend, targets: Targets) -> str:
    days = _dates(trend.first_date, trend.last_date)
    by_day = {d.date: d for d in trend.daily}
    daily: list[GlucoseDay | None] = [by_day.get(d.isoformat()) for d in days]
    low = targets.glucose.low
    high = glucose_high_threshold("random", targets)  # the least strict context high: the band spans the day
    lowest = [d.min if d else None for d in daily]
    highest = [d.max if d else None for d in daily]

    def above(value: Value) -> bool:
        return value is not None and (value >= high if targets.glucose.highs_inclusive else value > high)

    series = _band(days, low, high, f"Target {_number(low)}-{_number(high)}", BAND)
    series += [
        _line("Daily highest", highest, HIGHEST),
        _line("Daily lowest", lowest, LOWEST),
        _marker(f"Above {_number(high)}", [v if above(v) else None for v in highest], ABOVE),
        _marker(
            f"Below {LEVEL_1_LOW}",
            [v if v is not None and LEVEL_2_LOW <= v < LEVEL_1_LOW else None for v in lowest],
            BELOW_70,
        ),
        _marker(
            f"Below {LEVEL_2_LOW}",
            [v if v is not None and v < LEVEL_2_LOW else None for v in lowest],
            BELOW_54,
            size=10,
            label=_number,
        ),
    ]
    if any(d and d.meter_lo for d in daily):
        series.append(
            _marker(
                "Meter LO", [METER_LO_AT if d and d.meter_lo else None for d in daily], BELOW_54, 10, lambda _: "LO"
            )
        )
    if any(d and d.meter_hi for d in daily):
        series.append(
            _marker("Meter HI", [METER_HI_AT if d and d.meter_hi else None for d in daily], ABOVE, 10, lambda _: "HI")
        )
    values = [v for v in highest if v is not None] + [high]
    if any(d and d.meter_hi for d in daily):
        values.append(METER_HI_AT)
    return _draw(f"Glucose, last {trend.days} days (mg/dL)", days, 0, max(values) + 40, series)


def _blood_pressure(trend: BpTrend, targets: Targets) -> str:
    days = _dates(trend.first_date, trend.last_date)
    by_day = {d.date: d for d in trend.daily}
    daily: list[BpDay | None] = [by_day.get(d.isoformat()) for d in days]
    bp = targets.blood_pressure

    def above(d: BpDay | None) -> Value:
        if d is None:
            return None
        if d.max_systolic >= bp.systolic_high:
            return d.max_systolic
        return d.max_diastolic if d.max_diastolic >= bp.diastolic_high else None

    def below(d: BpDay | None) -> Value:
        if d is None:
            return None
        if d.min_systolic < bp.systolic_low:
            return d.min_systolic
        return d.min_diastolic if d.min_diastolic < bp.diastolic_low else None

    series = _band(
        days,
        bp.systolic_low,
        bp.systolic_high,
        f"Systolic {_number(bp.systolic_low)}-{_number(bp.systolic_high)}",
        BAND,
    )
    series += _band(
        days,
        bp.diastolic_low,
        bp.diastolic_high,
        f"Diastolic {_number(bp.diastolic_low)}-{_number(bp.diastolic_high)}",
        BAND_DIASTOLIC,
    )
    series += [
        _line("Systolic, daily highest", [d.max_systolic if d else None for d in daily], SYSTOLIC),
        _line("Systolic, daily lowest", [d.min_systolic if d else None for d in daily], SYSTOLIC, 2, dashed=True),
        _line("Diastolic, daily highest", [d.max_diastolic if d else None for d in daily], DIASTOLIC),
        _line("Diastolic, daily lowest", [d.min_diastolic if d else None for d in daily], DIASTOLIC, 2, dashed=True),
        _marker(f"Above {_number(bp.systolic_high)}/{_number(bp.diastolic_high)}", [above(d) for d in daily], ABOVE),
        _marker(f"Below {_number(bp.systolic_low)}/{_number(bp.diastolic_low)}", [below(d) for d in daily], BELOW_70),
    ]
    crisis = [
        d.max_systolic
        if d and (d.max_systolic > bp.systolic_critical_high or d.max_diastolic > bp.diastolic_critical_high)
        else None
        for d in daily
    ]
    if any(v is not None for v in crisis):
        title = f"Crisis > {_number(bp.systolic_critical_high)}/{_number(bp.diastolic_critical_high)}"
        series.append(_marker(title, crisis, BELOW_54, size=10))
    very_low = [d.min_systolic if d and d.min_systolic < bp.systolic_critical_low else None for d in daily]
    if any(v is not None for v in very_low):
        series.append(_marker(f"Systolic < {_number(bp.systolic_critical_low)}", very_low, BELOW_54, size=10))
    lows = [d.min_diastolic for d in daily if d] + [bp.diastolic_low]
    floor = min(40.0, (min(lows) - 10) // 10 * 10)
    top = max([d.max_systolic for d in daily if d] + [bp.systolic_high]) + 30
    return _draw(f"Blood pressure, last {trend.days} days (mmHg)", days, floor, top, series)
