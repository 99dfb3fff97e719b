"""Averages the per-sample reasoning figures per benchmark, per subset and per difficulty level.

Means over samples (micro averages). `first_correct_tokens`, `reflection_tokens` and
`token_efficiency` average only the samples whose final answer was correct (`excluded_wrong`
counts the others); `token_efficiency_all` is EvalScope's M_token, where a wrong sample counts 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field


class EfficiencyGroup(BaseModel):
    """Figures of one group of generations. Token figures are mean tokens per generation."""

    count: int
    accuracy: float
    reasoning_tokens: float
    thought_count: float
    first_correct_tokens: float | None = None
    reflection_tokens: float | None = None
    token_efficiency: float | None = None
    token_efficiency_all: float | None = None
    excluded_wrong: int = 0
    no_reasoning: int = 0


class ThinkingBenchmark(BaseModel):
    overall: EfficiencyGroup
    subsets: dict[str, EfficiencyGroup] = Field(default_factory=dict)
    levels: dict[str, EfficiencyGroup] = Field(default_factory=dict)


class EfficiencyResult(BaseModel):
    """The results JSON's `"thinking"` key (docs/results.md)."""

    token_sources: list[str] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)
    benchmarks: dict[str, ThinkingBenchmark] = Field(default_factory=dict)


def _mean(values: list[float]) -> float | None:
    # fsum: exactly rounded, so the mean does not depend on the order the records arrived in
    return math.fsum(values) / len(values) if values else None


def summarise(figures: Iterable[Mapping[str, Any]]) -> EfficiencyGroup:
    rows = list(figures)
    correct = [row for row in rows if row["status"] == "correct"]
    efficiencies = [row["efficiency"] for row in correct if row.get("efficiency") is not None]
    with_trace = [row for row in rows if row["status"] != "no_reasoning"]
    return EfficiencyGroup(
        count=len(rows),
        accuracy=sum(bool(row["correct"]) for row in rows) / len(rows) if rows else 0.0,
        reasoning_tokens=_mean([row["reasoning_tokens"] for row in rows]) or 0.0,
        thought_count=_mean([row["thought_count"] for row in rows]) or 0.0,
        first_correct_tokens=_mean(
            [row["first_correct_tokens"] for row in correct if row.get("first_correct_tokens") is not None]
        ),
        reflection_tokens=_mean(
            [row["reflection_tokens"] for row in correct if row.get("reflection_tokens") is not None]
        ),
        token_efficiency=_mean(efficiencies),
        token_efficiency_all=_mean(
            [(row.get("efficiency") or 0.0) if row["status"] == "correct" else 0.0 for row in with_trace]
        ),
        excluded_wrong=sum(row["status"] == "wrong" for row in rows),
        no_reasoning=len(rows) - len(with_trace),
    )


class EfficiencyCollector:
    """Gathers the `thinking` figures of sample records where every report arrives."""

    def __init__(self, markers: Iterable[str] = ()) -> None:
        self.markers = list(markers)
        self._rows: dict[str, dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))

    def add(self, benchmark: str, subset: str, figures: Iterable[Mapping[str, Any]] | None) -> None:
        for row in figures or ():
            self._rows[benchmark][subset].append(row)

    def __bool__(self) -> bool:
        return bool(self._rows)

    def build(self) -> EfficiencyResult:
        result = EfficiencyResult(markers=self.markers)
        sources: set[str] = set()
        for name in sorted(self._rows):
            per_subset = self._rows[name]
            everything = [row for subset in sorted(per_subset) for row in per_subset[subset]]
            levels: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
            for row in everything:
                sources.add(row["token_source"])
                if row.get("level") is not None:
                    levels[str(row["level"])].append(row)
            result.benchmarks[name] = ThinkingBenchmark(
                overall=summarise(everything),
                subsets={subset: summarise(rows) for subset, rows in sorted(per_subset.items())},
                levels={
                    level: summarise(rows) for level, rows in sorted(levels.items(), key=lambda kv: _level_key(kv[0]))
                },
            )
        result.token_sources = sorted(sources)
        return result


def _level_key(level: str) -> tuple[int, float | str]:
    try:
        return 0, float(level.split()[-1])
    except ValueError:
        return 1, level


def table_lines(result: EfficiencyResult) -> list[str]:
    """The terminal table: one row per difficulty level (or subset, when samples carry no level)."""
    header = (
        f"{'benchmark':<16} {'group':<12} {'n':>5} {'acc':>6} {'T':>8} {'T^':>8} {'reflect':>8} {'eff':>6}"
        f" {'thoughts':>8}"
    )
    lines = [header, "-" * len(header)]

    def cell(value: float | None, width: int, digits: int = 0) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"

    for name, bench in result.benchmarks.items():
        groups = bench.levels or bench.subsets
        for label, group in [*groups.items(), ("all", bench.overall)]:
            lines.append(
                f"{name:<16.16} {label:<12.12} {group.count:>5} {group.accuracy:>6.3f}"
                f" {cell(group.reasoning_tokens, 8)}"
                f" {cell(group.first_correct_tokens, 8)} {cell(group.reflection_tokens, 8)}"
                f" {cell(group.token_efficiency, 6, 3)} {cell(group.thought_count, 8, 2)}"
            )
    lines.append(
        "T: reasoning tokens, T^: tokens to the first correct answer, reflect: T - T^, "
        "eff: T^/T (correct samples only); "
        f"tokens from {', '.join(result.token_sources) or 'n/a'}"
    )
    return lines
