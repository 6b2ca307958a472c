"""The patient page's charts: every reading as a point, drawn as plain SVG the console's CSP allows.

The API's trend chart (:mod:`chalicelib.domain.charts`) shows each day's lowest
and highest; the clinician reading a patient wants every reading, by day and by
time of day (a low that comes back every night at 03:00 is a pattern only the
second view shows).  pygal's output carries an inline ``<style>``, which the
console's Content-Security-Policy (``style-src 'self'``) refuses, so these are
drawn by hand with presentation attributes only: no ``style`` attribute, no
``<style>``, no script, nothing fetched.

Safety (docs/clinical.md "Safety net" rule 13, a low is never hidden): readings
below 70 mg/dL are drawn after everything else as red triangles (shape *and*
colour, so they read in greyscale and to a colour-blind eye), below 54 larger
and darker; a meter ``LO`` or ``HI`` has no number, so it sits on the bottom or
top edge of the scale labelled "LO"/"HI"; the scale always reaches every value.
Ordinary readings are one compact path of dots (zero-length subpaths with round
caps) so 10 000 readings stay small and fast; each kind of low is one path of
triangles the same way, its tooltip the count.  A mark identical to one already
drawn (same position to 0.1 unit, the printed precision) is drawn once; the
counts in the ``<desc>`` count every reading.  Per-reading times and values are
the Readings table's job, next to the chart on the page.

Sized in a 440-unit-wide viewBox with ``width="100%"``: at 360 px the 13-unit
text is about 11 px.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal, TypeVar
from xml.sax.saxutils import escape, quoteattr

from chalicelib.domain.classification import glucose_high_threshold
from chalicelib.domain.readings import Reading
from chalicelib.domain.targets import Targets

# Consensus hypoglycaemia levels 1 and 2: marked whatever the patient's targets say.
LEVEL_1_LOW, LEVEL_2_LOW = 70.0, 54.0
NO_READINGS = "No readings in this window"

WIDTH = 440
LEFT, RIGHT = 36, 24  # room for the value labels left, the 70/54 labels right
PLOT_W = WIDTH - LEFT - RIGHT
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK, GRID, SUBTLE = "#263238", "#e3e8eb", "#546e7a"
BAND = "#d9f2e3"
DOT, BELOW_70, BELOW_54, HIGH_FLAG = "#1565c0", "#e53935", "#7f0000", "#ef6c00"
SYSTOLIC, DIASTOLIC = "#1565c0", "#6a1b9a"
# Day labels every k days, k the first of these leaving room for "Mar 14" between labels.
DAY_LABEL_STEPS = (1, 2, 3, 4, 7, 14, 28, 56)
MIN_LABEL_GAP = 50.0


@dataclass(frozen=True, slots=True)
class GlucosePoint:
    """One glucose reading as the chart needs it: local wall-clock time, and mg/dL or the meter's LO/HI."""

    at: datetime  # in the patient's zone: the chart places it by its local day and time of day
    value_mg_dl: float | None = None
    meter_flag: Literal["LO", "HI"] | None = None

    def __post_init__(self) -> None:
        if (self.value_mg_dl is None) == (self.meter_flag is None):
            raise ValueError("a glucose point has either a value or a meter flag, not both or neither")


@dataclass(frozen=True, slots=True)
class BpPoint:
    """One blood pressure reading: local wall-clock time, systolic and diastolic in mmHg."""

    at: datetime
    systolic: float
    diastolic: float


def glucose_points(readings: Iterable[Reading], zone: tzinfo) -> list[GlucosePoint]:
    """The glucose readings among ``readings`` as chart points in the patient's zone (other types skipped)."""
    points = []
    for r in readings:
        if r.type != "blood_glucose":
            continue
        at = r.measured_at.astimezone(zone)
        if r.meter_flag is not None:
            points.append(GlucosePoint(at, meter_flag=r.meter_flag))
        elif r.value_mg_dl is not None:
            points.append(GlucosePoint(at, float(r.value_mg_dl)))
    return points


def bp_points(readings: Iterable[Reading], zone: tzinfo) -> list[BpPoint]:
    """The blood pressure readings among ``readings`` as chart points in the patient's zone."""
    return [
        BpPoint(r.measured_at.astimezone(zone), float(r.systolic), float(r.diastolic))
        for r in readings
        if r.type == "blood_pressure" and r.systolic is not None and r.diastolic is not None
    ]


# ---------------------------------------------------------------- number formatting


@functools.lru_cache(maxsize=65536)  # the hot path: deltas repeat, and a hit is 4x cheaper than formatting
def _tenths(t: int) -> str:
    """An integer count of tenths as the shortest SVG number: 30 -> "3", 5 -> ".5", -12 -> "-1.2"."""
    if t % 10 == 0:
        return str(t // 10)
    q, r = divmod(abs(t), 10)
    body = f"{q}.{r}" if q else f".{r}"
    return "-" + body if t < 0 else body


def _n(value: float) -> str:
    return _tenths(round(value * 10))


def _number(value: float) -> str:
    return f"{value:g}"


def _marks(points: Iterable[tuple[int, int]], shape: str = "h0") -> str:
    """Path data drawing ``shape`` (relative path data that ends where it began) at each point, in tenths.

    ``"h0"`` is a dot (a zero-length subpath, drawn by its round or square cap); a closed triangle
    ends at its first point too.  Sorted and deduplicated (an identical mark adds nothing; the order
    of the input does not change a byte), then relative moves: about 9 bytes a dot.
    """
    out: list[str] = []
    px = py = 0
    for x, y in sorted(set(points)):
        if not out:
            out.append(f"M{_tenths(x)} {_tenths(y)}{shape}")
        else:
            sx, sy = _tenths(x - px), _tenths(y - py)
            # "m3 .5" cannot lose its space ("m3.5" is one number); "m.3.5" and "m3-5" can.
            joined = sy[0] == "-" or (sy[0] == "." and "." in sx)
            out.append(f"m{sx}{'' if joined else ' '}{sy}{shape}")
        px, py = x, y
    return "".join(out)


def _day(day: date) -> str:
    return f"{day.strftime('%b')} {day.day}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Scale:
    """Value -> y for one plot area, and the window's days -> x."""

    top: float  # y of the plot's upper edge
    height: float
    floor: float  # the value at the lower edge
    ceiling: float  # the value at the upper edge

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def y(self, value: float) -> float:
        return self.bottom - (value - self.floor) / (self.ceiling - self.floor) * self.height


def _fraction_of_day(at: datetime) -> float:
    return (at.hour * 3600 + at.minute * 60 + at.second) / 86400


def _day_label_step(days: int) -> int:
    per_day = PLOT_W / days
    return next((k for k in DAY_LABEL_STEPS if per_day * k >= MIN_LABEL_GAP), DAY_LABEL_STEPS[-1])


def _document(kind: str, title: str, desc: str, height: float, body: list[str]) -> str:
    """The ``<svg>`` element: named by its title, described by its desc (ids ``{kind}-title``/``-desc``)."""
    h = _n(height)
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {h}" width="100%" role="img"'
            f' aria-labelledby="{kind}-title" aria-describedby="{kind}-desc" class="reading-chart"'
            f' font-family="{FONT}" font-size="13" fill="{INK}">',
            f'<title id="{kind}-title">{escape(title)}</title>',
            f'<desc id="{kind}-desc">{escape(desc)}</desc>',
            f'<rect width="{WIDTH}" height="{h}" fill="#fff"/>',
            *body,
            "</svg>",
        ]
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    # font_size -> font-size; class_ -> class
    extra = "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{_n(x)}" y="{_n(y)}"{anchor_attr}{extra}>{escape(text)}</text>'


def _empty(kind: str, title: str, desc: str) -> str:
    return _document(
        kind, title, desc, 60, [_text(WIDTH / 2, 35, NO_READINGS, "middle", font_size="15", class_="no-readings")]
    )


def _value_axis(scale: _Scale, ticks: Iterable[float]) -> list[str]:
    """Horizontal grid lines with their values on the left."""
    right = LEFT + PLOT_W
    grid = "".join(f"M{LEFT} {_n(scale.y(v))}H{right}" for v in ticks)
    parts = [f'<path d="{grid}" stroke="{GRID}" stroke-width="1" fill="none"/>']
    parts += [
        _text(LEFT - 4, scale.y(v) + 4, _number(v), "end", font_size="12", fill=SUBTLE, class_="value-tick")
        for v in ticks
    ]
    return parts


def _day_axis(scale: _Scale, first_day: date, days: int) -> list[str]:
    """A light line at each midnight, the date under every k-th day's middle."""
    per_day = PLOT_W / days
    lines = "".join(f"M{_n(LEFT + i * per_day)} {_n(scale.top)}V{_n(scale.bottom)}" for i in range(days + 1))
    parts = [f'<path d="{lines}" stroke="{GRID}" stroke-width="1" fill="none"/>']
    step = _day_label_step(days)
    for i in range(0, days, step):
        x = LEFT + (i + 0.5) * per_day
        parts.append(_text(x, scale.bottom + 15, _day(first_day + timedelta(days=i)), "middle", class_="day-tick"))
    return parts


def _hour_axis(scale: _Scale) -> list[str]:
    """A light line every 3 hours, labelled every 6 (00:00 to 24:00)."""
    lines = "".join(f"M{_n(LEFT + h / 24 * PLOT_W)} {_n(scale.top)}V{_n(scale.bottom)}" for h in range(0, 25, 3))
    parts = [f'<path d="{lines}" stroke="{GRID}" stroke-width="1" fill="none"/>']
    parts += [
        _text(LEFT + h / 24 * PLOT_W, scale.bottom + 15, f"{h:02d}:00", "middle", class_="hour-tick")
        for h in range(0, 25, 6)
    ]
    return parts


def _frame(scale: _Scale) -> str:
    return (
        f'<rect x="{LEFT}" y="{_n(scale.top)}" width="{PLOT_W}" height="{_n(scale.height)}"'
        f' fill="none" stroke="{SUBTLE}" stroke-width="1"/>'
    )


def _hline(scale: _Scale, value: float, colour: str, cls: str, dash: str, width: str = "1.5") -> str:
    y = _n(scale.y(value))
    return (
        f'<path d="M{LEFT} {y}H{LEFT + PLOT_W}" stroke="{colour}" stroke-width="{width}"'
        f' stroke-dasharray="{dash}" fill="none" class="{cls}" data-value="{_number(value)}"/>'
    )


# ---------------------------------------------------------------- glucose


def _glucose_ceiling(points: list[GlucosePoint], band_high: float) -> float:
    """300 mg/dL, or the next hundred above the highest value (at most 600, the meter's range)."""
    highest = max([p.value_mg_dl for p in points if p.value_mg_dl is not None] + [band_high])
    if highest <= 290:
        return 300.0
    return float(min(600, math.ceil((highest + 10) / 100) * 100))


def _triangle(half: int, height: int, down: bool) -> str:
    """Relative path data of a triangle whose apex is the current point: it points at the value."""
    return f"l-{half}{'-' if down else ' '}{height}h{2 * half}z"


LOW_MARK = _triangle(5, 9, down=True)
VERY_LOW_MARK = _triangle(7, 12, down=True)
HI_MARK = _triangle(7, 12, down=False)


def _mark_group(cls: str, tip: str, d: str, fill: str) -> str:
    return (
        f'<g class="{cls}"><title>{escape(tip)}</title>'
        f'<path d="{d}" fill="{fill}" stroke="#fff" stroke-width=".7"/></g>'
    )


def _glucose_panel(
    xs: list[float],
    points: list[GlucosePoint],
    scale: _Scale,
    caption: str,
    band: tuple[float, float],
    axis: list[str],
) -> list[str]:
    """One plot: band, reference lines, dots, then lows and meter flags on top; ``xs[i]`` is ``points[i]``'s x."""
    ceiling = scale.ceiling
    step = 50 if ceiling <= 300 else 100
    low, high = band
    parts = [_text(LEFT, scale.top - 7, caption, font_weight="bold", class_="panel-caption")]
    parts.append(
        f'<rect x="{LEFT}" y="{_n(scale.y(high))}" width="{PLOT_W}" height="{_n(scale.y(low) - scale.y(high))}"'
        f' fill="{BAND}" class="target-band" data-low="{_number(low)}" data-high="{_number(high)}"/>'
    )
    parts += _value_axis(scale, range(0, int(ceiling) + 1, step))
    parts += axis
    parts.append(_hline(scale, LEVEL_1_LOW, BELOW_70, "ref-70", "5 3"))
    parts.append(_hline(scale, LEVEL_2_LOW, BELOW_54, "ref-54", "2 2"))
    right = LEFT + PLOT_W + 3
    parts.append(_text(right, scale.y(LEVEL_1_LOW) - 2, "70", font_size="11", fill=BELOW_70))
    parts.append(_text(right, scale.y(LEVEL_2_LOW) + 10, "54", font_size="11", fill=BELOW_54))
    parts.append(_frame(scale))

    # The hot loop (10 000 readings): positions in tenths of a unit, y inlined.
    bottom10 = round(scale.bottom * 10)
    top10 = round(scale.top * 10)
    per_mg = scale.height * 10 / (ceiling - scale.floor)
    dots: list[tuple[int, int]] = []
    lows: list[tuple[int, int]] = []
    very_lows: list[tuple[int, int]] = []
    meter_lo: list[tuple[int, int]] = []
    meter_hi: list[tuple[int, int]] = []
    for x, p in zip(xs, points, strict=True):
        value = p.value_mg_dl
        x10 = round(x * 10)
        if value is None:
            (meter_lo if p.meter_flag == "LO" else meter_hi).append((x10, bottom10 if p.meter_flag == "LO" else top10))
            continue
        at = (x10, round(bottom10 - (value - scale.floor) * per_mg))
        if value < LEVEL_2_LOW:
            very_lows.append(at)
        elif value < LEVEL_1_LOW:
            lows.append(at)
        else:
            dots.append(at)
    if dots:
        parts.append(
            f'<path d="{_marks(dots)}" stroke="{DOT}" stroke-width="4" stroke-linecap="round" fill="none"'
            ' class="readings"/>'
        )
    # Drawn last, so no ordinary dot covers a low; the worst on top of all.
    if lows:
        tip = f"{_count(len(lows), 'reading')} from 54 to below 70 mg/dL"
        parts.append(_mark_group("low", tip, _marks(lows, LOW_MARK), BELOW_70))
    if very_lows:
        tip = f"{_count(len(very_lows), 'reading')} below 54 mg/dL"
        parts.append(_mark_group("very-low", tip, _marks(very_lows, VERY_LOW_MARK), BELOW_54))
    for cls, label, marks, shape, colour, dy in (
        ("meter-lo", "LO", meter_lo, VERY_LOW_MARK, BELOW_54, -15.0),
        ("meter-hi", "HI", meter_hi, HI_MARK, HIGH_FLAG, 24.0),
    ):
        if not marks:
            continue
        tip = f"{_count(len(marks), 'reading')} meter {label} (out of the meter's range)"
        labels = "".join(
            _text(x / 10, y / 10 + dy, label, "middle", font_size="11", font_weight="bold")
            for x, y in sorted(set(marks))
        )
        parts.append(
            f'<g class="{cls}" fill="{colour}"><title>{escape(tip)}</title>'
            f'<path d="{_marks(marks, shape)}" stroke="#fff" stroke-width=".7"/>{labels}</g>'
        )
    return parts


def _legend_item(x: float, y: float, swatch: str, label: str) -> list[str]:
    return [swatch, _text(x + 16, y + 4, label, font_size="12")]


def _glucose_legend(top: float, band: tuple[float, float], flags: bool) -> tuple[list[str], float]:
    col = [LEFT, LEFT + PLOT_W / 2]
    rows = [top + 10, top + 28, top + 46]
    band_label = f"Target {_number(band[0])}-{_number(band[1])} mg/dL"
    items = [
        (
            f'<path d="M{_n(col[0] + 6)} {_n(rows[0])}h0" stroke="{DOT}" stroke-width="4" stroke-linecap="round"/>',
            "Reading",
        ),
        (
            f'<rect x="{_n(col[1])}" y="{_n(rows[0] - 5)}" width="12" height="10" fill="{BAND}" stroke="{SUBTLE}"'
            ' stroke-width=".5"/>',
            band_label,
        ),
        (f'<path d="M{_n(col[0] + 6)} {_n(rows[1] + 5)}{LOW_MARK}" fill="{BELOW_70}"/>', "Below 70"),
        (f'<path d="M{_n(col[1] + 6)} {_n(rows[1] + 6)}{VERY_LOW_MARK}" fill="{BELOW_54}"/>', "Below 54"),
    ]
    if flags:
        items.append(
            (
                _text(col[0] + 6, rows[2] + 4, "LO", "middle", font_size="10", font_weight="bold", fill=BELOW_54),
                "LO/HI: meter out of range",
            )
        )
    parts: list[str] = []
    for i, (swatch, label) in enumerate(items):
        parts += _legend_item(col[i % 2], rows[i // 2], swatch, label)
    return parts, rows[(len(items) - 1) // 2] + 12


def glucose_chart(
    readings: Iterable[GlucosePoint],
    targets: Targets,
    first_day: date,
    last_day: date,
    *,
    timezone_label: str = "local time",
) -> str:
    """The glucose chart of a window: each reading by day, then by time of day, against the patient's band.

    ``first_day`` and ``last_day`` are local days, both included; readings outside them are left out.
    ``timezone_label`` names the zone of the times (the patient's), shown on the time-of-day panel.
    """
    days = _days(first_day, last_day)
    # No sorting: every mark is placed by position, and positions are sorted where they are drawn.
    points = _in_window(readings, first_day, last_day)
    band = (targets.glucose.low, glucose_high_threshold("random", targets))
    title = f"Glucose, each reading, {_day(first_day)} to {_day(last_day)} (mg/dL)"
    if not points:
        return _empty("glucose-chart", title, f"No glucose readings over {_count(days, 'day')}.")

    meter_lo = sum(p.meter_flag == "LO" for p in points)
    meter_hi = sum(p.meter_flag == "HI" for p in points)
    values = [p.value_mg_dl for p in points if p.value_mg_dl is not None]
    below_70 = sum(v < LEVEL_1_LOW for v in values) + meter_lo
    below_54 = sum(v < LEVEL_2_LOW for v in values) + meter_lo
    desc = (
        f"{_count(len(points), 'reading')} over {_count(days, 'day')}; "
        f"{below_70} below 70 mg/dL, {below_54} below 54 mg/dL"
    )
    if meter_lo or meter_hi:
        desc += f"; meter LO {meter_lo} (counted as below 54), meter HI {meter_hi}"
    desc += f". Target {_number(band[0])}-{_number(band[1])} mg/dL."

    ceiling = _glucose_ceiling(points, band[1])
    by_day = _Scale(top=24, height=170, floor=0, ceiling=ceiling)
    by_time = _Scale(top=by_day.bottom + 46, height=170, floor=0, ceiling=ceiling)
    fractions = [_fraction_of_day(p.at) for p in points]
    per_day = PLOT_W / days
    first = first_day.toordinal()
    parts = _glucose_panel(
        [LEFT + (p.at.toordinal() - first + f) * per_day for p, f in zip(points, fractions, strict=True)],
        points,
        by_day,
        "Each reading by day (mg/dL)",
        band,
        _day_axis(by_day, first_day, days),
    )
    parts += _glucose_panel(
        [LEFT + f * PLOT_W for f in fractions],
        points,
        by_time,
        f"By time of day, {timezone_label} (mg/dL)",
        band,
        _hour_axis(by_time),
    )
    legend, height = _glucose_legend(by_time.bottom + 26, band, bool(meter_lo or meter_hi))
    return _document("glucose-chart", title, desc, height, parts + legend)


Point = TypeVar("Point", GlucosePoint, BpPoint)


def _in_window(readings: Iterable[Point], first_day: date, last_day: date) -> list[Point]:
    """The readings of the window's local days; the caller may pass more (a day's edge, a wider query)."""
    first, last = first_day.toordinal(), last_day.toordinal()
    return [p for p in readings if first <= p.at.toordinal() <= last]


def _days(first_day: date, last_day: date) -> int:
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    return (last_day - first_day).days + 1


# ---------------------------------------------------------------- blood pressure


def bp_chart(readings: Iterable[BpPoint], targets: Targets, first_day: date, last_day: date) -> str:
    """Systolic and diastolic of each reading by day, against the patient's systolic and diastolic targets."""
    days = _days(first_day, last_day)
    points = _in_window(readings, first_day, last_day)
    bp = targets.blood_pressure
    title = f"Blood pressure, each reading, {_day(first_day)} to {_day(last_day)} (mmHg)"
    if not points:
        return _empty("bp-chart", title, f"No blood pressure readings over {_count(days, 'day')}.")

    # Highs are "at or above" (docs/api.md): a reading is above target if either number reaches its high.
    above = sum(p.systolic >= bp.systolic_high or p.diastolic >= bp.diastolic_high for p in points)
    desc = (
        f"{_count(len(points), 'reading')} over {_count(days, 'day')}; "
        f"{above} at or above {_number(bp.systolic_high)}/{_number(bp.diastolic_high)} mmHg. "
        f"Targets: systolic {_number(bp.systolic_low)}-{_number(bp.systolic_high)}, "
        f"diastolic {_number(bp.diastolic_low)}-{_number(bp.diastolic_high)} mmHg."
    )
    lowest = min([p.diastolic for p in points] + [bp.diastolic_low, bp.systolic_low])
    highest = max([p.systolic for p in points] + [bp.systolic_high])
    floor = max(0.0, min(40.0, math.floor((lowest - 10) / 20) * 20))
    ceiling = max(200.0, math.ceil((highest + 10) / 20) * 20)
    scale = _Scale(top=24, height=240, floor=floor, ceiling=ceiling)
    per_day = PLOT_W / days

    parts = [
        _text(LEFT, scale.top - 7, "Systolic and diastolic by day (mmHg)", font_weight="bold", class_="panel-caption")
    ]
    parts += _value_axis(scale, range(int(floor), int(ceiling) + 1, 20))
    parts += _day_axis(scale, first_day, days)
    parts.append(_frame(scale))

    systolic: list[tuple[int, int]] = []
    diastolic: list[tuple[int, int]] = []
    first = first_day.toordinal()
    bottom10 = scale.bottom * 10
    per_mmhg = scale.height * 10 / (ceiling - floor)
    for p in points:
        x10 = round((LEFT + (p.at.toordinal() - first + _fraction_of_day(p.at)) * per_day) * 10)
        systolic.append((x10, round(bottom10 - (p.systolic - floor) * per_mmhg)))
        diastolic.append((x10, round(bottom10 - (p.diastolic - floor) * per_mmhg)))
    parts.append(
        f'<path d="{_marks(diastolic)}" stroke="{DIASTOLIC}" stroke-width="5.5" stroke-linecap="square" fill="none"'
        ' class="diastolic"/>'
    )
    parts.append(
        f'<path d="{_marks(systolic)}" stroke="{SYSTOLIC}" stroke-width="6" stroke-linecap="round" fill="none"'
        ' class="systolic"/>'
    )
    # The targets over the dots: a dense week must not bury the line the readings are judged against.
    parts.append(_hline(scale, bp.systolic_high, SYSTOLIC, "target-systolic-high", "6 3", "2"))
    parts.append(_hline(scale, bp.diastolic_high, DIASTOLIC, "target-diastolic-high", "6 3", "2"))
    parts.append(_hline(scale, bp.systolic_low, SYSTOLIC, "target-systolic-low", "2 3"))
    parts.append(_hline(scale, bp.diastolic_low, DIASTOLIC, "target-diastolic-low", "2 3"))
    right = LEFT + PLOT_W + 3
    parts.append(_text(right, scale.y(bp.systolic_high) + 4, _number(bp.systolic_high), font_size="11", fill=SYSTOLIC))
    parts.append(
        _text(right, scale.y(bp.diastolic_high) + 4, _number(bp.diastolic_high), font_size="11", fill=DIASTOLIC)
    )

    top = scale.bottom + 30
    col = [LEFT, LEFT + PLOT_W / 2]
    legend = [
        f'<path d="M{_n(col[0] + 6)} {_n(top)}h0" stroke="{SYSTOLIC}" stroke-width="6" stroke-linecap="round"/>',
        _text(col[0] + 16, top + 4, "Systolic", font_size="12"),
        f'<path d="M{_n(col[1] + 6)} {_n(top)}h0" stroke="{DIASTOLIC}" stroke-width="5.5" stroke-linecap="square"/>',
        _text(col[1] + 16, top + 4, "Diastolic", font_size="12"),
        f'<path d="M{LEFT} {_n(top + 18)}h12" stroke="{INK}" stroke-width="2" stroke-dasharray="6 3"/>',
        _text(
            col[0] + 16,
            top + 22,
            f"Target high {_number(bp.systolic_high)}/{_number(bp.diastolic_high)}",
            font_size="12",
        ),
        f'<path d="M{_n(col[1])} {_n(top + 18)}h12" stroke="{INK}" stroke-width="1.5" stroke-dasharray="2 3"/>',
        _text(
            col[1] + 16,
            top + 22,
            f"Target low {_number(bp.systolic_low)}/{_number(bp.diastolic_low)}",
            font_size="12",
        ),
    ]
    return _document("bp-chart", title, desc, top + 34, parts + legend)
