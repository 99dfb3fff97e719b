"""The perf part of the HTML report: a table and charts from `result.extra["perf"]`.

The perf results are written by the perf module; this view reads them tolerantly so that a change
of shape there degrades the view instead of breaking the report. Accepted shapes:

- a list of run dicts, a dict with a `runs` list, or a single run dict;
- per run: `parallel` (or `concurrency`) and `number`, throughputs as plain numbers
  (`request_throughput`, `output_throughput`, ...), latency statistics either nested
  (`"latency": {"p50": 0.8, "p99": 1.9, "mean": 0.9}`) or flat (`latency_p50`, `ttft_p99_s`,
  `p90_tpot`). Percentile keys may be written `p50`, `P50`, `50` or `50.0`.

Values are shown as given (the perf module documents their units; seconds unless a key ends in
`_ms`). Non-numeric values are ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from pydantic import BaseModel, Field

from .charts import grouped_bar_chart, line_chart

LEVEL_KEYS = ("parallel", "concurrency")
THROUGHPUT_CHARTS = (("output_throughput", "output tokens/s"), ("request_throughput", "requests/s"))
LATENCY_ORDER = ("latency", "ttft", "tpot", "itl")
_PERCENTILE = re.compile(r"^[pP]?(\d+(?:\.\d+)?)$")
_FLAT = re.compile(r"^(?:(?P<pre>p\d+(?:\.\d+)?)_(?P<name1>[a-z][a-z0-9_]*?)|(?P<name2>[a-z][a-z0-9_]*?)_(?P<post>p\d+(?:\.\d+)?|mean|median|min|max|std))(?P<unit>_s|_ms)?$")


class PerfRun(BaseModel):
    label: str
    level: float | None = None  # concurrency of the run
    scalars: dict[str, float] = Field(default_factory=dict)  # throughputs, counts, ...
    stats: dict[str, dict[str, float]] = Field(default_factory=dict)  # "latency" -> {"p50": .., "mean": ..}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _stat_key(key: str) -> str:
    match = _PERCENTILE.match(key)
    if match:
        number = float(match.group(1))
        return f"p{number:g}"
    return key.lower()


def _parse_run(raw: Mapping[str, Any], index: int) -> PerfRun:
    run = PerfRun(label=str(raw.get("name") or raw.get("label") or f"run {index + 1}"))
    for key in LEVEL_KEYS:
        level = _number(raw.get(key))
        if level is not None:
            run.level = level
            run.label = f"{key}={level:g}"
            break
    for key, value in raw.items():
        if key in LEVEL_KEYS:
            continue
        if isinstance(value, Mapping):
            numbers = {_stat_key(str(k)): v for k, v in ((k, _number(v)) for k, v in value.items()) if v is not None}
            if numbers:
                run.stats.setdefault(str(key), {}).update(numbers)
            continue
        number = _number(value)
        if number is None:
            continue
        flat = _FLAT.match(key)
        if flat:
            name = flat.group("name1") or flat.group("name2")
            stat = flat.group("pre") or flat.group("post")
            if name in LATENCY_ORDER or stat.startswith("p"):
                unit = "_ms" if flat.group("unit") == "_ms" else ""
                run.stats.setdefault(name + unit, {})[_stat_key(stat)] = number
                continue
        run.scalars[key] = number
    return run


def perf_runs(raw: Any) -> list[PerfRun]:
    """Normalise whatever `extra["perf"]` holds into runs sorted by concurrency (unknown last)."""
    items: list[Any]
    if isinstance(raw, Mapping):
        runs = raw.get("runs")
        items = runs if isinstance(runs, list) else [raw]
    elif isinstance(raw, list):
        items = raw
    else:
        return []
    runs = [_parse_run(item, i) for i, item in enumerate(items) if isinstance(item, Mapping)]
    return sorted(runs, key=lambda r: (r.level is None, r.level or 0.0))


def _percentiles(stats: Mapping[str, float]) -> list[str]:
    return sorted((k for k in stats if _PERCENTILE.match(k)), key=lambda k: float(k[1:]))


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def render_perf(runs: list[PerfRun]) -> str:
    """Table of every run, then latency-percentile charts and throughput-versus-concurrency lines."""
    if not runs:
        return ""
    scalar_cols = list(dict.fromkeys(k for run in runs for k in run.scalars))
    stat_names = sorted({n for run in runs for n in run.stats}, key=lambda n: (n.removesuffix("_ms") not in LATENCY_ORDER,
                        LATENCY_ORDER.index(n.removesuffix("_ms")) if n.removesuffix("_ms") in LATENCY_ORDER else 0, n))
    stat_cols = [(name, stat) for name in stat_names
                 for stat in dict.fromkeys(s for run in runs for s in _ordered_stats(run.stats.get(name, {})))]
    head = "".join(f"<th>{escape(c)}</th>" for c in ["run", *scalar_cols, *(f"{n} {s}" for n, s in stat_cols)])
    body = []
    for run in runs:
        cells = [escape(run.label), *(_fmt(run.scalars.get(c)) for c in scalar_cols),
                 *(_fmt(run.stats.get(n, {}).get(s)) for n, s in stat_cols)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts = [
        '<h3>Performance</h3><div class="lle-scroll"><table class="lle-table lle-perf">',
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>",
        '<div class="lle-charts">',
    ]
    labels = [run.label for run in runs]
    for name in stat_names:
        percentiles = list(dict.fromkeys(p for run in runs for p in _percentiles(run.stats.get(name, {}))))
        if percentiles:
            values = [[run.stats.get(name, {}).get(p) for p in percentiles] for run in runs]
            parts.append(grouped_bar_chart(f"{name} percentiles", labels, percentiles, values, y_label=name))
    levels = [_fmt(run.level) if run.level is not None else run.label for run in runs]
    for key, unit in THROUGHPUT_CHARTS:
        if any(key in run.scalars for run in runs):
            series = {key: [run.scalars.get(key) for run in runs]}
            parts.append(line_chart(f"{unit} vs concurrency", levels, series, x_label="concurrency", y_label=unit))
    parts.append("</div>")
    return "".join(parts)


def _ordered_stats(stats: Mapping[str, float]) -> list[str]:
    rest = [k for k in ("mean", "median", "min", "max", "std") if k in stats]
    others = [k for k in stats if k not in rest and not _PERCENTILE.match(k)]
    return [*_percentiles(stats), *rest, *others]
