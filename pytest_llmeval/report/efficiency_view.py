"""The reasoning-efficiency section (`--llm-think-eval`): a table per benchmark and line charts of
the six figures against difficulty level, one line per run.

A single run's report draws one line per chart; the side-by-side page of several runs
(`python -m pytest_llmeval.report a.json b.json c.json -o think.html`) draws one line per run, as
the thinking-efficiency comparison of EvalScope's Qwen3 guide does. Levels are the samples'
`level` (MATH-500's 1-5); a benchmark whose samples have none is drawn per subset, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .charts import LineChart, line_chart

# (figure key in a EfficiencyGroup, chart title, y label, digits)
FIGURES: tuple[tuple[str, str, str, int], ...] = (
    ("accuracy", "Accuracy", "accuracy", 3),
    ("reasoning_tokens", "Reasoning tokens", "tokens", 0),
    ("first_correct_tokens", "First-correct tokens", "tokens", 0),
    ("reflection_tokens", "Reflection tokens", "tokens", 0),
    ("token_efficiency", "Token efficiency", "first-correct / reasoning", 3),
    ("thought_count", "Thought count", "sub-thoughts", 2),
)


@dataclass
class ThinkingTable:
    benchmark: str
    group_label: str  # "level" or "subset"
    rows: list[tuple[str, dict[str, Any]]]


@dataclass
class EfficiencyView:
    tables: list[ThinkingTable] = field(default_factory=list)
    charts: list[tuple[str, list[LineChart]]] = field(default_factory=list)  # (benchmark, charts)
    sources: list[str] = field(default_factory=list)


def _groups(bench: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    levels = bench.get("levels") or {}
    return ("level", levels) if levels else ("subset", bench.get("subsets") or {})


def _x(labels: Sequence[str]) -> list[float]:
    """Numeric levels when every label is a number ("1".."5", "Level 3"), else positions 1..k."""
    try:
        return [float(label.split()[-1]) for label in labels]
    except ValueError:
        return [float(i + 1) for i in range(len(labels))]


def efficiency_view(runs: Sequence[tuple[str, dict[str, Any] | None]]) -> EfficiencyView | None:
    """`runs`: (label, the results JSON's `thinking` value) per run, in order. None when no run
    has reasoning-efficiency figures."""
    present = [(label, thinking) for label, thinking in runs if thinking and thinking.get("benchmarks")]
    if not present:
        return None
    view = EfficiencyView(sources=sorted({s for _, t in present for s in t.get("token_sources", [])}))
    names = sorted({name for _, t in present for name in t["benchmarks"]})
    for name in names:
        per_run = [(label, t["benchmarks"][name]) for label, t in present if name in t["benchmarks"]]
        label_kind, _ = _groups(per_run[0][1])
        if len(present) == 1:
            _, groups = _groups(per_run[0][1])
            rows = [*groups.items(), ("all", per_run[0][1]["overall"])]
            view.tables.append(ThinkingTable(name, label_kind, rows))
        all_labels: list[str] = []
        for _, bench in per_run:
            for key in _groups(bench)[1]:
                if key not in all_labels:
                    all_labels.append(key)
        xs = _x(all_labels)
        charts = []
        for key, title, y_label, digits in FIGURES:
            series = {
                label: [(_groups(bench)[1].get(level) or {}).get(key) for level in all_labels]
                for label, bench in per_run
            }
            charts.append(
                line_chart(f"{name}: {title}", xs, series, x_label=label_kind, y_label=y_label, digits=digits)
            )
        view.charts.append((name, charts))
    return view
