"""The score table: one row per benchmark, subset and metric, the same rows in the terminal, the
HTML overview and the side-by-side page of several runs.

Rows, in this order, per benchmark of the results:

- one row per metric over the whole benchmark (subset None, shown as `(all)`), or one row with no
  metric (`-`) when none of its samples was scored (its errors still show);
- when the benchmark has more than one subset: the same for each subset (a benchmark with one
  subset would repeat its own rows). A subset none of whose samples was scored gets its `-` row too,
  so its errors are visible.

With a comparison (`--llm-compare`), each row carries the matching `ComparisonRow`, and a metric
only the old run has is appended with no group (no value, count or errors). With threshold rules,
each row carries the rules that name it and whether they passed.

`count` is the number of samples the row's metric covers (`covered`), `errors` those the endpoint
failed on in the row's group; `interval` is the standard error and 95% interval
(docs/statistics.md), empty when there is none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..results import Comparison, ComparisonRow, GroupResult, RunResult

ALL = "(all)"  # how the whole benchmark is named in the subset column
Gate = tuple[bool, str, float]  # (passed, operator, threshold value) of a rule on the row's metric


def format_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_delta(row: ComparisonRow) -> str:
    if row.status == "new":
        return "new"
    if row.status == "missing":
        return "missing"
    assert row.delta is not None
    return f"{row.delta:+.4f}"


def covered(group: GroupResult, metric: str | None) -> int:
    """The samples `metric` covers in `group`: a breakdown metric (`acc_precalculus`) or any metric
    only some samples have counts those (its `uncertainty.n`), not every sample of the group."""
    u = group.uncertainty.get(metric) if metric is not None else None
    return u.n if u is not None and 0 < u.n <= group.count else group.count


def interval_text(group: GroupResult, metric: str) -> str:
    """`±0.0123 [0.8012, 0.8503]` (standard error, 95% interval), or `-` when there is none."""
    u = group.uncertainty.get(metric)
    if u is None or u.se is None or u.ci_low is None or u.ci_high is None:
        return "-"
    return f"\u00b1{u.se:.4f} [{u.ci_low:.4f}, {u.ci_high:.4f}]"


@dataclass(frozen=True)
class ScoreRow:
    """One row of the score table (see the module docstring)."""

    model: str
    benchmark: str
    subset: str | None  # None: the whole benchmark
    metric: str | None  # None: the group has no metric (none of its samples was scored)
    group: GroupResult | None  # None: a metric only the old run of a comparison has
    compare: ComparisonRow | None = None
    gates: tuple[Gate, ...] = ()

    @property
    def subset_label(self) -> str:
        return ALL if self.subset is None else self.subset

    @property
    def metric_label(self) -> str:
        return self.metric or "-"

    @property
    def value(self) -> float | None:
        if self.group is None or self.metric is None:
            return None
        return self.group.metrics.get(self.metric)

    @property
    def count(self) -> int | None:
        return None if self.group is None else covered(self.group, self.metric)

    @property
    def errors(self) -> int | None:
        return None if self.group is None else self.group.errors

    @property
    def interval(self) -> str:
        """Standard error and 95% interval, or "" when there is none."""
        if self.group is None or self.metric is None:
            return ""
        text = interval_text(self.group, self.metric)
        return "" if text == "-" else text

    @property
    def delta_detail(self) -> str:
        """The difference's 95% interval and p-value (the delta cell's tooltip), or empty."""
        row, detail = self.compare, []
        if row is not None and row.ci_low is not None and row.ci_high is not None:
            detail.append(f"95% CI [{row.ci_low:+.4f}, {row.ci_high:+.4f}]")
        if row is not None and row.p_value is not None:
            detail.append(f"p={row.p_value:.3g} ({row.test})")
        return "; ".join(detail)

    @property
    def delta_text(self) -> str:
        row = self.compare
        if row is None:
            return ""
        text = {"new": "new (not in old run)", "missing": "missing in this run"}.get(row.status, format_delta(row))
        return text + (" DROP" if row.dropped else "")

    @property
    def delta_tone(self) -> str:
        row = self.compare
        return "" if row is None else f"lle-{row.status}" + (" lle-dropped" if row.dropped else "")


def score_groups(result: RunResult, every_subset: bool = False) -> list[tuple[str, str | None, GroupResult]]:
    """(benchmark, subset or None, group) in table order: each benchmark, then its subsets when it
    has more than one (`every_subset`: also a benchmark's only subset, as the comparison and the
    JUnit suite properties list them)."""
    groups: list[tuple[str, str | None, GroupResult]] = []
    for name, bench in result.benchmarks.items():
        groups.append((name, None, bench))
        if every_subset or len(bench.subsets) > 1:
            groups.extend((name, subset, group) for subset, group in bench.subsets.items())
    return groups


def score_rows(
    result: RunResult,
    comparison: Comparison | None = None,
    rules: Iterable[tuple[str, str | None, str, Gate]] = (),
) -> list[ScoreRow]:
    """The rows of the score table (see the module docstring). `rules`: (benchmark, subset,
    metric, gate) per threshold rule, attached to the row they name."""
    keys: list[tuple[str, str | None, str | None, GroupResult | None]] = []
    for name, subset, group in score_groups(result):
        keys.extend((name, subset, metric, group) for metric in group.metrics)
        if not group.metrics:
            keys.append((name, subset, None, group))
    if comparison is not None:
        for row in comparison.rows:
            bench = result.benchmarks.get(row.benchmark)
            shown = row.subset is None or bench is None or len(bench.subsets) > 1
            if row.status == "missing" and shown:
                keys.append((row.benchmark, row.subset, row.metric, None))
    gates: dict[tuple[str, str | None, str], list[Gate]] = {}
    for rule_bench, rule_subset, rule_metric, gate in rules:
        gates.setdefault((rule_bench, rule_subset, rule_metric), []).append(gate)
    rows = []
    for key_bench, key_subset, key_metric, key_group in keys:
        found = None
        if comparison is not None and key_metric is not None:
            found = comparison.find(key_bench, key_subset, key_metric)
        named = tuple(gates.get((key_bench, key_subset, key_metric or "-"), ()))
        rows.append(ScoreRow(result.model, key_bench, key_subset, key_metric, key_group, found, named))
    return rows
