"""The one chart module of the project: geometry of inline SVG charts, drawn by `templates/charts.svg.j2`.

Python here computes positions, ticks and labels as plain data (`BarChart`, `LineChart`); the
template turns them into SVG with Jinja2's autoescaping, so a label (benchmark, subset, metric and
test names come from user conftests and data files) can never become markup. No script, font or
file is loaded from anywhere.

Two kinds:

- `bar_chart(title, bars)`: horizontal bars on a 0..1 scale (scores), with an optional reference
  mark per bar (the old run's score) and a tone (neutral, good, bad).
- `line_chart(title, xs, series)`: lines over a *numeric* x axis (a load level: concurrency or
  requests/s). The axis is linear, or log2 when the values span 16x or more (1, 8, 64, 256 stay
  readable); either way a point's position is proportional to its value (or its log), never its
  index. `None` values break a line.

`perf_charts(levels)` draws a perf run: latency percentiles (p50/p90/p99; end-to-end latency in s,
TTFT/TPOT/ITL in ms, as in the terminal table) and throughputs against the level.

Values that are not finite (NaN, inf) are drawn as empty bars labelled "n/a" or left out of lines
instead of breaking the scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .text import shorten

if TYPE_CHECKING:  # pragma: no cover
    from ..perf.metrics import PerfResult

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
TONES = {"neutral": PALETTE[0], "good": "#3b8f4f", "bad": "#c8453a"}
# name, attribute, scale to the unit shown, unit: the terminal table's units (perf/table.py)
LATENCY_METRICS = (
    ("Latency", "latency", 1.0, "s"),
    ("TTFT", "ttft", 1000.0, "ms"),
    ("TPOT", "tpot", 1000.0, "ms"),
    ("ITL", "itl", 1000.0, "ms"),
)
THROUGHPUTS = (("output_throughput", "output tokens/s"), ("request_throughput", "requests/s"))
PERCENTILES = ("p50", "p90", "p99")
LOG_SPAN = 16.0  # x values spanning this ratio or more get a log2 axis


def finite(value: float | None) -> float | None:
    """The value when it is a finite number, else None (drawn as a gap or "n/a")."""
    return float(value) if value is not None and math.isfinite(value) else None


def fmt(value: float | None, digits: int = 3) -> str:
    value = finite(value)
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def fmt_tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover


# -- bars ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    reference: float | None = None  # drawn as a thin mark, e.g. the old run's score
    tone: str = "neutral"  # neutral | good | bad: the bar colour


@dataclass(frozen=True)
class BarRow:
    label: str
    short_label: str
    y: int
    length: float
    colour: str
    ref_x: float | None
    value_text: str
    tooltip: str


@dataclass(frozen=True)
class BarChart:
    kind = "bar"
    title: str
    width: int
    height: int
    label_w: int
    bar_w: int
    row_h: int
    rows: list[BarRow]
    label: str = ""  # the accessible name (aria-label) when it says more than the title


def bar_chart(title: str, bars: Sequence[Bar], *, scale_max: float | None = None, digits: int = 3) -> BarChart:
    """Horizontal bars, one per row. The scale runs from 0 to `scale_max` (default: 1, or the
    largest value or reference when any exceeds 1). Negative values are drawn as empty bars."""
    label_w, bar_w, value_w, row_h, top = 190, 300, 70, 20, 24
    values = [f for b in bars for v in (b.value, b.reference) if (f := finite(v)) is not None]
    top_value = scale_max if scale_max is not None else max([1.0, *values])
    rows = []
    for index, bar in enumerate(bars):
        value, reference = finite(bar.value), finite(bar.reference)
        length = max(0.0, min(1.0, value / top_value)) * bar_w if value is not None and top_value > 0 else 0.0
        ref_x = (
            label_w + max(0.0, min(1.0, reference / top_value)) * bar_w
            if reference is not None and top_value > 0
            else None
        )
        rows.append(
            BarRow(
                bar.label,
                shorten(bar.label, 30),
                top + index * row_h,
                round(length, 1),
                TONES.get(bar.tone, PALETTE[0]),
                None if ref_x is None else round(ref_x, 1),
                fmt(bar.value, digits),
                f"{bar.label}: {fmt(bar.value, 4)}",
            )
        )
    return BarChart(title, label_w + bar_w + value_w, top + row_h * max(len(bars), 1) + 6, label_w, bar_w, row_h, rows)


# -- lines over a numeric axis -----------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    pos: float
    text: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tooltip: str


@dataclass
class Series:
    name: str
    colour: str
    points: list[Point] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)  # polyline "x,y x,y" runs, broken at None
    legend_x: float = 0.0  # where its legend entry (swatch, then name) starts
    legend_y: float = 0.0


@dataclass(frozen=True)
class LineChart:
    kind = "line"
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    x_label: str
    y_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    log_x: bool
    label: str = ""  # the accessible name (aria-label) when it says more than the title


def _x_scale(xs: Sequence[float], left: int, plot_w: int) -> tuple[list[float], list[Tick], bool]:
    """Pixel positions of `xs` and the axis ticks: log2 when the values span LOG_SPAN or more."""
    low, high = min(xs), max(xs)
    log = low > 0 and high / low >= LOG_SPAN
    if log:
        lo, hi = math.floor(math.log2(low)), math.ceil(math.log2(high))
        hi = max(hi, lo + 1)

        def at(v: float) -> float:
            return left + (math.log2(v) - lo) / (hi - lo) * plot_w

        step = max(1, math.ceil((hi - lo) / 8))
        ticks = [Tick(round(at(2.0**e), 1), fmt_tick(2.0**e)) for e in range(lo, hi + 1, step)]
    else:
        top = nice_max(high)

        def at(v: float) -> float:
            return left + max(v, 0.0) / top * plot_w

        ticks = [Tick(round(at(top * i / 5), 1), fmt_tick(top * i / 5)) for i in range(6)]
    return [round(at(x), 1) for x in xs], ticks, log


def line_chart(
    title: str,
    xs: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    *,
    x_label: str = "",
    y_label: str = "",
    digits: int = 4,
) -> LineChart:
    """Lines over numeric x values (load levels; need not be sorted or distinct). `series[name][i]`
    is the value at `xs[i]`; None (or NaN) breaks the line. Points are joined in ascending x."""
    left, top, plot_w, plot_h = 56, 58, 300, 170
    width, height = left + plot_w + 24, top + plot_h + 44
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    finite_xs = [float(x) for x in xs] or [1.0]
    positions, x_ticks, log = _x_scale(finite_xs, left, plot_w)
    values = [f for vals in series.values() for v in vals if (f := finite(v)) is not None]
    y_max = nice_max(max(values, default=1.0))
    lead = y_max / 10 ** math.floor(math.log10(y_max))
    steps = 5 if round(lead, 6) in (2.5, 5.0) else 4  # round tick values: 0.025 -> 0.005 steps, 0.02 -> 0.005
    y_ticks = [Tick(round(top + plot_h - plot_h * i / steps, 1), fmt_tick(y_max * i / steps)) for i in range(steps + 1)]
    drawn: list[Series] = []
    for s, (name, vals) in enumerate(series.items()):
        line = Series(name, PALETTE[s % len(PALETTE)])
        run: list[str] = []
        for i in order:
            value = finite(vals[i]) if i < len(vals) else None
            if value is None:
                if len(run) > 1:
                    line.segments.append(" ".join(run))
                run = []
                continue
            y = round(top + plot_h - max(0.0, value) / y_max * plot_h, 1)
            line.points.append(
                Point(positions[i], y, f"{name} at {x_label or 'x'} {fmt_tick(xs[i])}: {fmt(value, digits)}")
            )
            run.append(f"{positions[i]:.1f},{y:.1f}")
        if len(run) > 1:
            line.segments.append(" ".join(run))
        drawn.append(line)
    top_shift = _place_legend(drawn, left, plot_w, top)
    if top_shift:  # a legend of long names (run labels) wraps onto more rows: move the plot down
        top += top_shift
        height += top_shift
        for line in drawn:
            line.points = [Point(pt.x, round(pt.y + top_shift, 1), pt.tooltip) for pt in line.points]
            line.segments = [
                " ".join(f"{x},{float(y) + top_shift:.1f}" for x, y in (xy.split(",") for xy in seg.split()))
                for seg in line.segments
            ]
        y_ticks = [Tick(round(t.pos + top_shift, 1), t.text) for t in y_ticks]
    axis = x_label + (" (log scale)" if log else "")
    return LineChart(title, width, height, left, top, plot_w, plot_h, axis, y_label, x_ticks, y_ticks, drawn, log)


LEGEND_CHAR_W = 6.5  # px per character at font-size 11 (Helvetica's average, a little generous)
LEGEND_ROW_H = 14


def _place_legend(series: Sequence[Series], left: int, plot_w: int, top: int) -> int:
    """Lay the legend entries out left to right, wrapping at the plot's width; returns how many
    pixels the plot must move down to make room for rows beyond the first."""
    x, row = float(left + 4), 0
    for line in series:
        width = 14 + LEGEND_CHAR_W * len(line.name) + 12
        if x > left + 4 and x + width > left + plot_w:
            x, row = float(left + 4), row + 1
        line.legend_x, line.legend_y = round(x, 1), float(row * LEGEND_ROW_H)
        x += width
    for line in series:
        line.legend_y = top - 36 + line.legend_y
    return row * LEGEND_ROW_H


# -- perf ------------------------------------------------------------------------------------


def level_axis(levels: Sequence[PerfResult]) -> tuple[str, list[float]] | None:
    """("rate (requests/s)", rates) for open-loop levels, ("concurrency", parallels) for closed-loop
    ones; None when some level has neither (nothing numeric to plot against)."""
    if levels and all(r.rate is not None for r in levels):
        return "rate (requests/s)", [float(r.rate) for r in levels if r.rate is not None]
    if levels and all(r.rate is None and r.parallel is not None for r in levels):
        return "concurrency", [float(r.parallel) for r in levels if r.parallel is not None]
    return None


def perf_charts(levels: Sequence[PerfResult], test: str = "") -> list[LineChart]:
    """Charts of the levels of one perf test of one kind (all closed loop or all open loop):
    p50/p90/p99 of latency (s) and, when streamed, TTFT/TPOT/ITL (ms); then output tokens/s and
    requests/s. Titles name the figure; the accessible name also names `test`. Empty when the
    levels have no numeric axis."""
    axis = level_axis(levels)
    if axis is None:
        return []
    x_label, xs = axis
    prefix = f"{test}: " if test else ""
    charts = []
    streamed = any(r.stream for r in levels)
    for name, attr, scale, unit in LATENCY_METRICS:
        if attr != "latency" and not streamed:
            continue
        series = {
            p: [(v * scale if (v := getattr(getattr(r, attr), p)) is not None else None) for r in levels]
            for p in PERCENTILES
        }
        if not any(v is not None for vals in series.values() for v in vals):
            continue
        chart = line_chart(f"{name} percentiles ({unit})", xs, series, x_label=x_label, y_label=f"{name} ({unit})")
        charts.append(replace(chart, label=prefix + chart.title))
    for key, unit in THROUGHPUTS:
        series = {unit: [float(getattr(r, key)) for r in levels]}
        chart = line_chart(unit, xs, series, x_label=x_label, y_label=unit)
        charts.append(replace(chart, label=prefix + chart.title))
    return charts
