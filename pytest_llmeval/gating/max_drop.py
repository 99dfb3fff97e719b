"""`--llm-max-drop X` (with `--llm-significance ALPHA`): the regression gate's vote per compared metric.

A metric *drops* when `old - new > X` (strictly more; a drop equal to X passes). With a
significance level, the drop must also be significant: the comparison's p-value (McNemar's exact
test or the paired t-test when the samples of both runs were paired, a z-test otherwise; see
`stats.paired`) must be below ALPHA. When the p-value is unknown (the baseline has no standard
errors, e.g. an older results file) a drop larger than X still fails: a gate never passes on
missing evidence.
"""

from __future__ import annotations

from ..results import Comparison, ComparisonRow

# Differences below this are float noise from aggregation, not score changes.
EPSILON = 1e-9


def drop_vote(row: ComparisonRow, max_drop: float, significance: float | None = None) -> bool:
    """True when `row` counts as a drop that fails the gate."""
    if row.delta is None or -row.delta <= max_drop + EPSILON:
        return False
    if significance is None or row.p_value is None:
        return True
    return row.p_value < significance


def mark_drops(comparison: Comparison, max_drop: float | None, significance: float | None = None) -> Comparison:
    """Set `dropped` on every row (in place) and record the gate's parameters; returns `comparison`."""
    comparison.max_drop = max_drop
    comparison.significance = significance
    for row in comparison.rows:
        row.dropped = max_drop is not None and drop_vote(row, max_drop, significance)
    return comparison


def large_but_not_significant(comparison: Comparison) -> list[ComparisonRow]:
    """Rows that fell more than --llm-max-drop but were not significant (shown, not failed)."""
    if comparison.max_drop is None or comparison.significance is None:
        return []
    return [
        row
        for row in comparison.rows
        if not row.dropped and row.delta is not None and -row.delta > comparison.max_drop + EPSILON
    ]
