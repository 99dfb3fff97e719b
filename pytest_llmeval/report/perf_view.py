"""The perf part of the HTML report, built from the typed perf results of the run.

The perf plugin (`perf/plugin.py`) stores every measured level under `result.extra["perf"]` as
`{"runs": [{"test": <nodeid>, **PerfResult}]}`. This module validates that against the perf models
(`PerfLevel` = `perf.metrics.PerfResult` + the test's node id); a file whose perf part does not
validate gets a one-line note naming the problem instead of a guessed table.

What the section shows:

- a table with one row per level: the test that produced it, concurrency and rate (numbers, "-"
  when not set), requests ok/failed, throughputs, then latency percentiles grouped under two header
  rows: end-to-end latency in s, TTFT/TPOT/ITL in ms (the terminal table's units);
- charts per test and per loop kind (closed loop against concurrency, open loop against the rate),
  so two tests or a `parallel` and a `rate` sweep never share an axis; the axis is numeric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ..perf.capacity import CapacityResult
from ..perf.metrics import LatencyStats, PerfResult
from .charts import LineChart, perf_charts

PERCENTILES = ("p50", "p90", "p99")
# header, attribute, scale, digits
LATENCY_GROUPS = (
    ("Latency (s)", "latency", 1.0, 3),
    ("TTFT (ms)", "ttft", 1000.0, 1),
    ("TPOT (ms)", "tpot", 1000.0, 2),
    ("ITL (ms)", "itl", 1000.0, 2),
)


class PerfLevel(PerfResult):
    """One measured level as stored in the results JSON: the perf figures plus the test's node id."""

    test: str = ""


class PerfSection(BaseModel):
    """`result.extra["perf"]`: every level of every perf test, in the order they ran."""

    runs: list[PerfLevel]
    capacity: list[CapacityResult] = []  # capacity searches (perf/capacity.py), when any ran


@dataclass
class Cell:
    text: str
    sort: float | None = None  # numeric sort key (None: sorts as text)


@dataclass
class PerfTest:
    name: str
    levels: list[PerfLevel]
    charts: list[tuple[str, list[LineChart]]] = field(default_factory=list)  # (heading, charts) per loop kind


@dataclass
class CapacityView:
    """One capacity search: its answer line and a row per measured level (ascending)."""

    test: str
    answer: str
    passed: bool  # a capacity above 0 was found
    headers: list[str]
    rows: list[tuple[bool, list[Cell]]]  # (level passed, cells)


@dataclass
class PerfView:
    """What `templates/sections/perf.html.j2` draws."""

    tests: list[PerfTest] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # latency header groups shown
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)  # (test, cells)
    requests: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    capacity: list[CapacityView] = field(default_factory=list)


def _num(value: float | None, scale: float = 1.0, digits: int = 2) -> Cell:
    if value is None:
        return Cell("-")
    return Cell(f"{value * scale:,.{digits}f}", value * scale)


def short_test(nodeid: str) -> str:
    """`tests/perf/test_x.py::test_y[p]` -> `test_x.py::test_y[p]` (the full id is the title)."""
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest if sep else nodeid


def read_perf(extra: Mapping[str, Any]) -> PerfSection | str | None:
    """The validated perf results, None when the run has none, or the validation problem as text."""
    raw = extra.get("perf")
    if raw is None:
        return None
    try:
        return PerfSection.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where + ': ' if where else ''}{first['msg']}"


def _stats(level: PerfLevel, attr: str) -> LatencyStats:
    stats = getattr(level, attr)
    assert isinstance(stats, LatencyStats)
    return stats


def perf_view(extra: Mapping[str, Any]) -> PerfView | None:
    section = read_perf(extra)
    if section is None:
        return None
    if isinstance(section, str):
        return PerfView(
            error=f'the "perf" results in this file are not the perf module\'s ({section}); '
            "rebuild with a results JSON written by this version"
        )
    if not section.runs:
        return None
    view = PerfView()
    streamed = any(level.stream for level in section.runs)
    view.groups = [g for g, attr, _, _ in LATENCY_GROUPS if attr == "latency" or streamed]
    by_test: dict[str, list[PerfLevel]] = {}
    for level in section.runs:
        by_test.setdefault(level.test, []).append(level)
        view.requests += level.number
        view.failed += level.failed
        cells = [
            Cell(short_test(level.test)),
            Cell(str(level.parallel), level.parallel) if level.parallel is not None else Cell("-"),
            Cell(f"{level.rate:g}", level.rate) if level.rate is not None else Cell("-"),
            Cell(str(level.ok), level.ok),
            Cell(str(level.failed), level.failed),
            _num(level.duration_s),
            _num(level.request_throughput),
            _num(level.output_throughput, digits=1),
            _num(level.total_throughput, digits=1),
        ]
        for header, attr, scale, digits in LATENCY_GROUPS:
            if header in view.groups:
                stats = _stats(level, attr)
                cells += [_num(getattr(stats, p), scale, digits) for p in PERCENTILES]
        view.rows.append((level.test, cells))
        if level.failed:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(level.errors.items()))
            view.notes.append(
                f"{short_test(level.test)} {level.label}: {level.failed} failed ({kinds}); "
                f"first error: {level.first_error}"
            )
        view.notes += [n for n in level.notes if n not in view.notes]
    for name, levels in by_test.items():
        test = PerfTest(name, levels)
        closed = [lv for lv in levels if lv.rate is None]
        opened = [lv for lv in levels if lv.rate is not None]
        title = short_test(name)
        for heading, kind, group in ((title, "", closed), (f"{title} \u2014 open loop", " (open loop)", opened)):
            charts = perf_charts(group, title + kind)
            if charts:
                test.charts.append((heading, charts))
        view.tests.append(test)
    view.capacity = [capacity_view(search) for search in section.capacity]
    return view


def capacity_view(search: CapacityResult) -> CapacityView:
    labels = list(search.levels[0].observed) if search.levels else []
    rows: list[tuple[bool, list[Cell]]] = []
    for level in sorted(search.levels, key=lambda lv: lv.value):
        cells = [
            Cell(f"{level.value:g}", level.value),
            Cell(level.phase),
            Cell("pass" if level.passed else "fail"),
            Cell(f"{level.repeats_passed}/{level.repeats}", level.repeats_passed),
        ]
        for label in labels:
            median = level.median(label)
            if label.startswith("error_rate"):
                cells.append(Cell(f"{median:.1%}", median) if median is not None else Cell("-"))
            else:
                cells.append(_num(median, 1000.0, 1))
        rows.append((level.passed, cells))
    variable = "concurrency" if search.variable == "parallel" else "rate /s"
    headers = [variable, "phase", "verdict", "repeats passed", *(f"{label} (ms, median)" for label in labels)]
    headers = [h.replace("(ms, median)", "(median)") if h.startswith("error_rate") else h for h in headers]
    return CapacityView(short_test(search.test), search.describe(), search.value > 0, headers, rows)
