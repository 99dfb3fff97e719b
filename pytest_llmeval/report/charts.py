"""Inline SVG charts for the HTML report: no script, no font or file loaded from anywhere.

Every label passes through `html.escape` (labels are benchmark, subset and metric names, which come
from user conftests and data files). Values that are not finite (NaN, inf) are drawn as empty bars
labelled "n/a" instead of breaking the scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    reference: float | None = None  # drawn as a thin mark, e.g. the old run's score
    tone: str = "neutral"  # neutral | good | bad: the bar colour


TONES = {"neutral": PALETTE[0], "good": "#3b8f4f", "bad": "#c8453a"}


def _finite(value: float | None) -> float | None:
    """The value when it is a finite number, else None (drawn as a gap or "n/a")."""
    return value if value is not None and math.isfinite(value) else None


def _fmt(value: float | None, digits: int = 3) -> str:
    value = _finite(value)
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    head = (
        f'<svg class="lle-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<text x="4" y="14" {FONT} font-weight="bold" fill="#222">{escape(title)}</text>'
    )
    return head + "".join(body) + "</svg>"


def bar_chart(title: str, bars: Sequence[Bar], *, scale_max: float | None = None, digits: int = 3) -> str:
    """Horizontal bars, one per row. The scale runs from 0 to `scale_max` (default: 1, or the
    largest value or reference when any exceeds 1). Negative values are drawn as empty bars."""
    label_w, bar_w, value_w, row_h, top = 190, 300, 70, 20, 24
    values = [f for b in bars for v in (b.value, b.reference) if (f := _finite(v)) is not None]
    top_value = scale_max if scale_max is not None else max([1.0, *values])
    width, height = label_w + bar_w + value_w, top + row_h * max(len(bars), 1) + 6
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = top + index * row_h
        length, value, reference = 0.0, _finite(bar.value), _finite(bar.reference)
        if value is not None and top_value > 0:
            length = max(0.0, min(1.0, value / top_value)) * bar_w
        body.append(
            f'<g class="lle-bar"><title>{escape(bar.label)}: {_fmt(bar.value, 4)}</title>'
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" {FONT} fill="#333">{escape(_shorten(bar.label, 30))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 6}" fill="#eef0f3"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" fill="{TONES.get(bar.tone, PALETTE[0])}"/>'
        )
        if reference is not None and top_value > 0:
            ref_x = label_w + max(0.0, min(1.0, reference / top_value)) * bar_w
            body.append(f'<line x1="{ref_x:.1f}" x2="{ref_x:.1f}" y1="{y + 1}" y2="{y + row_h - 1}" stroke="#222" stroke-width="2"/>')
        body.append(f'<text x="{label_w + bar_w + 6}" y="{y + 13}" {FONT} fill="#222">{_fmt(bar.value, digits)}</text></g>')
    return _svg(width, height, title, body)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _axes(left: int, top: int, plot_w: int, plot_h: int, y_max: float, y_label: str) -> list[str]:
    parts = [f'<text x="{left}" y="{top - 6}" {FONT} fill="#555">{escape(y_label)}</text>']
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#555">{_fmt(value, 2)}</text>')
    return parts


def _legend(names: Sequence[str], y: int) -> list[str]:
    """One row of colour keys under the title; none for a single series (the title names it)."""
    if len(names) < 2:
        return []
    parts: list[str] = []
    x = 4.0
    for index, name in enumerate(names):
        label = _shorten(name, 16)
        parts.append(f'<rect x="{x:.0f}" y="{y - 9}" width="10" height="10" fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14:.0f}" y="{y}" {FONT} fill="#333">{escape(label)}</text>')
        x += 14 + 6.5 * len(label) + 14
    return parts


def grouped_bar_chart(
    title: str, groups: Sequence[str], series: Sequence[str], values: Sequence[Sequence[float | None]], *, y_label: str = ""
) -> str:
    """Vertical bars: for each group (e.g. a concurrency level) one bar per series (e.g. p50, p90,
    p99). `values[g][s]` is the value of series `s` in group `g`; None leaves a gap."""
    left, top, plot_h, group_w = 52, 56, 180, max(24 * len(series) + 16, 60)
    plot_w = max(group_w * max(len(groups), 1), 240)
    width, height = left + plot_w + 16, top + plot_h + 36
    finite = [f for row in values for v in row if (f := _finite(v)) is not None]
    y_max = _nice_max(max(finite, default=1.0))
    body = _axes(left, top, plot_w, plot_h, y_max, y_label) + _legend(series, 32)
    group_w = plot_w // max(len(groups), 1)
    bar_w = (group_w - 16) / max(len(series), 1)
    for g, group in enumerate(groups):
        x0 = left + g * group_w + 8
        for s, name in enumerate(series):
            value = _finite(values[g][s]) if s < len(values[g]) else None
            if value is None:
                continue
            h = max(0.0, value) / y_max * plot_h
            body.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(group)} {escape(name)}: {_fmt(value, 4)}</title></rect>'
            )
        body.append(
            f'<text x="{x0 + (group_w - 16) / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" {FONT} fill="#333">{escape(_shorten(group, 14))}</text>'
        )
    return _svg(width, height, title, body)


def line_chart(
    title: str, x_values: Sequence[float | str], series: Mapping[str, Sequence[float | None]], *, x_label: str = "", y_label: str = ""
) -> str:
    """Lines over categorical x positions (equal spacing, so 1, 8, 64, 256 concurrency stay
    readable). `series[name][i]` is the value at `x_values[i]`; None breaks the line."""
    left, top, plot_h = 52, 56, 180
    plot_w = max(80 * max(len(x_values) - 1, 1), 240)
    width, height = left + plot_w + 24, top + plot_h + 40
    finite = [f for vals in series.values() for v in vals if (f := _finite(v)) is not None]
    y_max = _nice_max(max(finite, default=1.0))
    body = _axes(left, top, plot_w, plot_h, y_max, y_label) + _legend(list(series), 32)
    step = plot_w / max(len(x_values) - 1, 1)
    xs = [left + i * step if len(x_values) > 1 else left + plot_w / 2 for i in range(len(x_values))]
    for i, x in enumerate(x_values):
        body.append(f'<text x="{xs[i]:.1f}" y="{top + plot_h + 14}" text-anchor="middle" {FONT} fill="#333">{escape(str(x))}</text>')
    if x_label:
        body.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" {FONT} fill="#555">{escape(x_label)}</text>')
    for s, (name, vals) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = [(xs[i], top + plot_h - max(0.0, f) / y_max * plot_h, f)
                  for i, v in enumerate(vals[: len(xs)]) if (f := _finite(v)) is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, v in points:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)}: {_fmt(v, 4)}</title></circle>')
    return _svg(width, height, title, body)
