"""Self-contained inline SVG charts of a sweep for the HTML report (no script, no external CSS).

`latency_chart(results, "ttft")`: p50/p90/p99 of one latency metric (ms; end-to-end latency in s)
against the load level; `throughput_chart(results, "output_throughput")`: a throughput against the
load level; `perf_charts(results)` returns the usual set. All text is escaped. The x axis is the
concurrency (closed loop) or the rate (open loop), in the order the levels ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from .metrics import PerfResult

WIDTH, HEIGHT = 420, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 46
COLORS = ("#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd")
LATENCY_METRICS = {"ttft": ("TTFT", 1000.0, "ms"), "tpot": ("TPOT", 1000.0, "ms"),
                   "itl": ("ITL", 1000.0, "ms"), "latency": ("Latency", 1.0, "s")}
THROUGHPUTS = {"output_throughput": "output tokens/s", "total_throughput": "total tokens/s",
               "input_throughput": "input tokens/s", "request_throughput": "requests/s"}


def _level(result: PerfResult) -> str:
    if result.rate is not None:
        return f"{result.rate:g}/s"
    return str(result.parallel) if result.parallel is not None else result.label


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value  # pragma: no cover


def line_chart(title: str, x_labels: Sequence[str], series: dict[str, list[float | None]], y_label: str, x_label: str) -> str:
    """A small SVG line chart; None values leave gaps."""
    values = [v for points in series.values() for v in points if v is not None]
    top = _nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(x_labels), 1)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / count)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="llmeval-perf-chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#444"/>',
    ]
    for k in range(5):
        value = top * k / 4
        parts.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{escape(f"{value:g}")}</text>')
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 14}" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{TOP + plot_h / 2}" text-anchor="middle" transform="rotate(-90 12 {TOP + plot_h / 2})">'
                 f"{escape(y_label)}</text>")
    for n, (name, points) in enumerate(series.items()):
        color = COLORS[n % len(COLORS)]
        segment: list[str] = []
        for i, v in enumerate(points):
            if v is None:
                if len(segment) > 1:
                    parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"><title>{escape(f"{name} {x_labels[i]}: {v:.4g}")}</title></circle>')
        if len(segment) > 1:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(segment)}"/>')
        parts.append(f'<rect x="{LEFT + 8 + n * 70}" y="{TOP - 12}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{LEFT + 22 + n * 70}" y="{TOP - 3}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _x_label(results: Sequence[PerfResult]) -> str:
    return "rate (requests/s)" if any(r.rate is not None for r in results) else "concurrency"


def latency_chart(results: Sequence[PerfResult], metric: str = "ttft") -> str:
    """p50/p90/p99 of `metric` (ttft, tpot, itl or latency) per level."""
    name, scale, unit = LATENCY_METRICS[metric]
    series: dict[str, list[float | None]] = {}
    for stat in ("p50", "p90", "p99"):
        series[stat] = [
            (v * scale if (v := getattr(getattr(r, metric), stat)) is not None else None) for r in results
        ]
    return line_chart(f"{name} percentiles", [_level(r) for r in results], series, f"{name} ({unit})", _x_label(results))


def throughput_chart(results: Sequence[PerfResult], key: str = "output_throughput") -> str:
    unit = THROUGHPUTS[key]
    series: dict[str, list[float | None]] = {unit: [float(getattr(r, key)) for r in results]}
    return line_chart(f"{unit} vs {_x_label(results)}", [_level(r) for r in results], series, unit, _x_label(results))


def perf_charts(results: Sequence[PerfResult]) -> list[str]:
    """TTFT, TPOT and latency percentiles, then output-token and request throughput."""
    if not results:
        return []
    charts = []
    metrics = ("ttft", "tpot", "itl", "latency") if any(r.stream for r in results) else ("latency",)
    for metric in metrics:
        charts.append(latency_chart(results, metric))
    charts.append(throughput_chart(results, "output_throughput"))
    charts.append(throughput_chart(results, "request_throughput"))
    return charts
