"""The trend chart: an SVG drawn by pygal, readable on a phone.

One line per daily mean over the patient's local days, the target band
shaded, the days outside it marked with larger red (low) or orange (high)
dots, and the dates on the axis.  Sized 640 x 400 with large type so it stays
legible when scaled down to a phone's width; no external scripts (pygal's
tooltip script would load from a CDN, which a clinical record must not do,
and its inline config script is filtered out).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.domain.trends import GOAL_DIASTOLIC, GOAL_SYSTOLIC, BpTrend, GlucoseTrend

BAND = "#d9f2e3"  # the shaded target band
BACKGROUND = "#ffffff"
MEAN, SECOND, LOW, HIGH = "#1565c0", "#6a1b9a", "#c62828", "#ef6c00"
GLUCOSE_LOW, GLUCOSE_HIGH = 70, 180


def _style(series: tuple[str, ...]) -> Any:
    from pygal.style import Style

    return Style(
        background=BACKGROUND,
        plot_background=BACKGROUND,
        foreground="#263238",
        foreground_strong="#263238",
        foreground_subtle="#b0bec5",
        # band top, band floor (painted in the background colour), then the data series
        colors=(BAND, BACKGROUND, *series),
        font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
        title_font_size=22,
        label_font_size=15,
        major_label_font_size=15,
        legend_font_size=15,
        value_font_size=14,
        opacity="1",
        opacity_hover="1",
    )


def _dates(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _label(day: date) -> str:
    return f"{day.strftime('%b')} {day.day}"


def _chart(title: str, days: list[date], floor: float, ceiling: float, series: tuple[str, ...]) -> Any:
    import pygal

    every = max(1, len(days) // 6)
    chart = pygal.Line(
        style=_style(series),
        width=640,
        height=460,
        title=title,
        js=(),
        show_dots=True,
        dots_size=4,
        allow_interruptions=True,  # a day without readings is a gap, not a line to zero
        range=(floor, ceiling),
        show_minor_x_labels=False,
        x_labels_major_every=every,
        x_label_rotation=0,
        truncate_label=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        show_y_guides=True,
        margin=12,
        no_data_text="No readings in this period",
    )
    chart.x_labels = [_label(d) for d in days]
    chart.add_xml_filter(_without_scripts)
    return chart


def _without_scripts(root: Any) -> Any:
    """Drop pygal's inline tooltip config: the chart is a static picture, no script runs in it."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).endswith("script"):
                parent.remove(child)
    return root


def _band(chart: Any, days: list[date], low: float, high: float, label: str) -> None:
    # pygal has no band primitive: fill to the band top, then paint the floor in the background colour.
    chart.add(label, [high] * len(days), fill=True, show_dots=False, stroke_style={"width": 0})
    chart.add(None, [low] * len(days), fill=True, show_dots=False, stroke_style={"width": 0})  # no legend entry


def render(trend: GlucoseTrend | BpTrend) -> str:
    days = _dates(trend.first_date, trend.last_date)
    if isinstance(trend, GlucoseTrend):
        by_day_g = {d.date: d for d in trend.daily}
        means = [by_day_g[d.isoformat()].mean if d.isoformat() in by_day_g else None for d in days]
        top = max([v for v in means if v is not None] + [GLUCOSE_HIGH]) + 40
        chart = _chart(f"Glucose, last {trend.days} days (mg/dL)", days, 0, top, (MEAN, LOW, HIGH))
        _band(chart, days, GLUCOSE_LOW, GLUCOSE_HIGH, "Target 70-180")
        chart.add("Daily mean", means, stroke_style={"width": 3})
        chart.add(
            "Below 70", [v if v is not None and v < GLUCOSE_LOW else None for v in means], dots_size=8, stroke=False
        )
        chart.add(
            "Above 180", [v if v is not None and v > GLUCOSE_HIGH else None for v in means], dots_size=8, stroke=False
        )
        return str(chart.render(is_unicode=True))
    by_day_b = {d.date: d for d in trend.daily}
    systolic = [by_day_b[d.isoformat()].mean_systolic if d.isoformat() in by_day_b else None for d in days]
    diastolic = [by_day_b[d.isoformat()].mean_diastolic if d.isoformat() in by_day_b else None for d in days]
    top = max([v for v in systolic if v is not None] + [GOAL_SYSTOLIC]) + 30
    chart = _chart(f"Blood pressure, last {trend.days} days (mmHg)", days, 40, top, (MEAN, SECOND, LOW, HIGH))
    _band(chart, days, 90, GOAL_SYSTOLIC, f"Systolic goal < {GOAL_SYSTOLIC}")
    chart.add("Systolic", systolic, stroke_style={"width": 3})
    chart.add("Diastolic", diastolic, stroke_style={"width": 3})
    chart.add("Low (< 90)", [v if v is not None and v < 90 else None for v in systolic], dots_size=8, stroke=False)
    chart.add(
        f"Above goal (≥ {GOAL_SYSTOLIC}/{GOAL_DIASTOLIC})",
        [
            s if s is not None and d is not None and (s >= GOAL_SYSTOLIC or d >= GOAL_DIASTOLIC) else None
            for s, d in zip(systolic, diastolic, strict=True)
        ],
        dots_size=8,
        stroke=False,
    )
    return str(chart.render(is_unicode=True))
