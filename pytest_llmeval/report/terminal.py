"""The score table printed at the end of the run, and `--llm-list`."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from ..benchmarks.base import Benchmark
from .models import RunResult


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def score_lines(result: RunResult) -> list[str]:
    rows: list[list[str]] = []
    for name, bench in result.benchmarks.items():
        for metric, value in bench.metrics.items():
            rows.append([result.model, name, "(all)", metric, f"{value:.4f}", str(bench.count), str(bench.errors)])
        if not bench.metrics:
            rows.append([result.model, name, "(all)", "-", "-", str(bench.count), str(bench.errors)])
        if len(bench.subsets) > 1:
            for subset, group in bench.subsets.items():
                for metric, value in group.metrics.items():
                    rows.append([result.model, name, subset, metric, f"{value:.4f}", str(group.count), str(group.errors)])
    lines = format_table(["model", "benchmark", "subset", "metric", "score", "count", "errors"], rows)
    lines.extend(truncation_lines(result))
    if result.thresholds:
        lines.append("")
        for outcome in result.thresholds:
            value = "missing" if outcome.value is None else f"{outcome.value:.4f}"
            lines.append(f"{'PASS' if outcome.passed else 'FAIL'}  {outcome.expression}  (actual {value})")
    return lines


def truncation_lines(result: RunResult) -> list[str]:
    """One line per benchmark with outputs cut off at max_tokens (finish_reason `length`), with
    the fix; none when nothing was truncated."""
    return [
        f"truncated: {name}: {bench.truncated} of {bench.count} outputs stopped at max_tokens "
        "(finish_reason 'length'); raise it with --llm-gen max_tokens=N"
        for name, bench in result.benchmarks.items()
        if bench.truncated
    ]


def benchmark_list_lines(benchmarks: Mapping[str, type[Benchmark]], width: int = 100) -> list[str]:
    """`--llm-list`: one block per benchmark; long subset lists wrap instead of widening a table."""
    lines: list[str] = []
    for name, cls in benchmarks.items():
        tags = f"  [{', '.join(cls.tags)}]" if cls.tags else ""
        lines.append(f"{name}{tags}  {cls.description}".rstrip())
        for label, values in (("subsets", list(cls.subsets)), ("metrics", list(cls.metrics))):
            text = f"{label} ({len(values)}): " + ", ".join(values)
            lines.extend(textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="        "))
    lines.append("")
    lines.append("select with -m: a benchmark name, a subset or a tag, e.g. -m gsm8k, -m 'iquiz and EQ'")
    return lines


def no_selection_lines(benchmarks: Mapping[str, type[Benchmark]]) -> list[str]:
    names = ", ".join(benchmarks)
    return [
        "no benchmark selected: -m selects benchmarks by name, subset or tag, e.g. -m gsm8k or -m 'iquiz and EQ'",
        f"available: {names} (pytest --llm-list shows subsets and metrics)",
    ]
