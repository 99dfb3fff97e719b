"""`--llm-threshold` rules: `bench[.subset].metric OP number`, OP one of >= > <= <.

Rules are parsed and checked against the registry when pytest starts, so a typo is a usage error
before any request is sent. A rule whose metric has no value at the end (every sample errored, or
the subset was limited away) fails: a gate never passes on missing data.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping

from pydantic import BaseModel

from ..benchmarks.base import Benchmark
from ..errors import ThresholdError
from ..report.models import BenchmarkResult, ThresholdOutcome

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_RULE = re.compile(r"^\s*(?P<path>[\w.\-]+?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class ThresholdRule(BaseModel):
    expression: str
    benchmark: str
    subset: str | None
    metric: str
    op: str
    value: float

    def holds(self, actual: float) -> bool:
        return _OPERATORS[self.op](actual, self.value)


def parse_threshold(expression: str) -> ThresholdRule:
    match = _RULE.match(expression)
    if not match:
        raise ThresholdError(
            f"bad --llm-threshold {expression!r}: expected BENCH[.SUBSET].METRIC OP NUMBER "
            "with OP one of >= > <= <, e.g. 'gsm8k.acc>=0.8'"
        )
    parts = match["path"].split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise ThresholdError(
            f"bad --llm-threshold {expression!r}: name the metric as BENCH.METRIC or BENCH.SUBSET.METRIC"
        )
    benchmark, subset, metric = (parts[0], None, parts[1]) if len(parts) == 2 else parts
    return ThresholdRule(
        expression=expression.strip(), benchmark=benchmark, subset=subset, metric=metric,
        op=match["op"], value=float(match["value"]),
    )


# Metrics that are fractions in [0, 1] (accuracy, pass@k, TruthfulQA's mc*, IFEval's levels, and
# their per-group breakdowns `acc_<group>`). A benchmark may name its own in `fraction_metrics`.
_FRACTION = re.compile(r"(acc|pass_at_\d+|mc\d\w*|(prompt|inst)_level_\w+)(_\w+)?")


def is_fraction_metric(cls: type[Benchmark], metric: str) -> bool:
    declared = getattr(cls, "fraction_metrics", None)
    return metric in declared if declared is not None else bool(_FRACTION.fullmatch(metric))


def check_scale(rule: ThresholdRule, cls: type[Benchmark]) -> None:
    """A bound outside [0, 1] on a 0-1 metric can never (or always) hold: most likely a percentage."""
    if not is_fraction_metric(cls, rule.metric) or 0.0 <= rule.value <= 1.0:
        return
    path = ".".join(part for part in (rule.benchmark, rule.subset, rule.metric) if part)
    hint = f"; did you mean '{path}{rule.op}{rule.value / 100:g}'?" if 1.0 < rule.value <= 100.0 else ""
    raise ThresholdError(
        f"--llm-threshold {rule.expression!r}: {rule.benchmark}.{rule.metric} is a fraction between 0 and 1, "
        f"not a percentage{hint}"
    )


def check_rule(rule: ThresholdRule, benchmarks: Mapping[str, type[Benchmark]], selected: set[str] | None) -> None:
    """Raise ThresholdError unless the rule names a known benchmark, subset and metric that the
    run will evaluate (`selected` is the set of benchmark names -m selects; None skips that check)."""
    cls = benchmarks.get(rule.benchmark)
    if cls is None:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r} names unknown benchmark {rule.benchmark!r}; "
            f"known: {', '.join(sorted(benchmarks))}"
        )
    if rule.subset is not None and rule.subset not in cls.subsets:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r}: {rule.benchmark} has no subset {rule.subset!r}; "
            f"subsets: {', '.join(cls.subsets)}"
        )
    # pass_at_K exists for every benchmark when the run asks for n > 1 generations
    if rule.metric not in cls.metrics and not re.fullmatch(r"pass_at_\d+", rule.metric):
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r}: {rule.benchmark} has no metric {rule.metric!r}; "
            f"metrics: {', '.join(cls.metrics)}"
        )
    check_scale(rule, cls)
    if selected is not None and rule.benchmark not in selected:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r} gates {rule.benchmark!r}, which this run does not select; "
            f"add it to -m (e.g. -m {rule.benchmark})"
        )


def evaluate_rule(rule: ThresholdRule, results: Mapping[str, BenchmarkResult]) -> ThresholdOutcome:
    bench = results.get(rule.benchmark)
    group = bench if rule.subset is None or bench is None else bench.subsets.get(rule.subset)
    value = group.metrics.get(rule.metric) if group is not None else None
    return ThresholdOutcome(expression=rule.expression, value=value, passed=value is not None and rule.holds(value))
