"""`--llm-threshold` rules: `bench[.subset].metric OP number`, OP one of >= > <= <.

Rules are parsed and checked against the registry when pytest starts, so a typo is a usage error
before any request is sent. A rule whose metric has no value at the end (every sample errored, or
the subset was limited away) fails: a gate never passes on missing data.

`--llm-threshold-mode point` (default) compares the estimate; `ci` compares its 95% interval: a
rule holds when the whole interval is on the right side, fails when the whole interval is on the
wrong side, and is `undecided` (which fails the run, with the reason) when it straddles the
threshold or the metric has no interval.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import BaseModel

from ..benchmarks.base import Benchmark
from ..errors import ThresholdError
from ..results import BenchmarkResult, GroupResult, ThresholdOutcome

ThresholdMode = Literal["point", "ci"]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_RULE = re.compile(
    r"^\s*(?P<path>[\w.\-]+?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class ThresholdRule(BaseModel):
    expression: str
    benchmark: str
    subset: str | None
    metric: str
    op: str
    value: float

    def holds(self, actual: float) -> bool:
        return OPERATORS[self.op](actual, self.value)


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
        expression=expression.strip(),
        benchmark=benchmark,
        subset=subset,
        metric=metric,
        op=match["op"],
        value=float(match["value"]),
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


def check_rule(
    rule: ThresholdRule,
    benchmarks: Mapping[str, type[Benchmark]],
    selected: set[str] | None,
    generations: int | None = None,
) -> None:
    """Raise ThresholdError unless the rule names a known benchmark, subset and metric that the
    run will evaluate (`selected` is the set of benchmark names -m selects; None skips that check;
    `generations`: answers per sample, n x repeats, which decide the pass_at_K reported; None skips)."""
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
    if not cls.has_metric(rule.metric) and not re.fullmatch(r"pass_at_\d+", rule.metric):
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r}: {rule.benchmark} has no metric {rule.metric!r}; "
            f"metrics: {', '.join(cls.metric_names())}"
        )
    if generations is not None and not cls.has_metric(rule.metric):
        check_pass_at_k(rule, generations)
    check_scale(rule, cls)
    if selected is not None and rule.benchmark not in selected:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r} gates {rule.benchmark!r}, which this run does not select; "
            f"add it to -m (e.g. -m {rule.benchmark})"
        )


def check_pass_at_k(rule: ThresholdRule, generations: int) -> None:
    """`pass_at_K` is reported for K = 1, 2, 4, ... and n when a sample has n > 1 answers: a gate on
    another K never has a value, and would fail only after the whole run."""
    from ..scoring.response import pass_k_values

    found = re.fullmatch(r"pass_at_(\d+)", rule.metric)
    if found is None:
        return
    k = int(found[1])
    if generations < 2:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r}: pass_at_{k} needs several answers per sample, and this run "
            f"asks for one: add --llm-gen n={max(k, 2)} (or --llm-repeats {max(k, 2)} for servers that ignore n)"
        )
    reported = pass_k_values(generations)
    if k not in reported:
        raise ThresholdError(
            f"--llm-threshold {rule.expression!r}: with {generations} answers per sample (n x --llm-repeats) "
            f"the run reports {', '.join(f'pass_at_{v}' for v in reported)}"
            + (f"; for pass_at_{k} ask for n={k}" if k > generations else "")
        )


def rule_group(rule: ThresholdRule, results: Mapping[str, BenchmarkResult]) -> GroupResult | None:
    """The benchmark (or subset) result a rule gates, if the run produced it."""
    bench = results.get(rule.benchmark)
    return bench if rule.subset is None or bench is None else bench.subsets.get(rule.subset)


def evaluate_rule(
    rule: ThresholdRule, results: Mapping[str, BenchmarkResult], mode: ThresholdMode = "point"
) -> ThresholdOutcome:
    """The rule's verdict on `results`: by the point estimate, or (`mode="ci"`) by its interval."""
    group = rule_group(rule, results)
    value = group.metrics.get(rule.metric) if group is not None else None
    uncertainty = group.uncertainty.get(rule.metric) if group is not None else None
    low = uncertainty.ci_low if uncertainty is not None else None
    high = uncertainty.ci_high if uncertainty is not None else None
    if mode == "point":  # the estimate alone: the outcome reads as it always did
        outcome = ThresholdOutcome(
            expression=rule.expression, value=value, passed=value is not None and rule.holds(value)
        )
        if value is None:
            outcome.reason = _missing(rule, group)
        return outcome
    outcome = ThresholdOutcome(
        expression=rule.expression, value=value, passed=False, status="fail", mode=mode, ci_low=low, ci_high=high
    )
    if value is None:
        outcome.reason = _missing(rule, group)
        return outcome
    if low is None or high is None:
        outcome.status = "undecided"
        method = uncertainty.method if uncertainty is not None else "none"
        outcome.reason = (
            f"no confidence interval for {rule.metric} (method {method}, n={uncertainty.n if uncertainty else 0}); "
            "use --llm-threshold-mode point for it"
        )
        return outcome
    upper_side = rule.op in (">=", ">")
    # the interval lies wholly on the passing side / wholly on the failing side
    passes = rule.holds(low) if upper_side else rule.holds(high)
    fails = not rule.holds(high) if upper_side else not rule.holds(low)
    level = f"{uncertainty.level:.0%}" if uncertainty is not None else "95%"
    interval = f"[{low:.4f}, {high:.4f}]"
    if passes:
        outcome.passed, outcome.status = True, "pass"
    elif fails:
        outcome.reason = f"the whole {level} interval {interval} is on the failing side of {rule.value:g}"
    else:
        outcome.status = "undecided"
        outcome.reason = (
            f"the {level} interval {interval} contains {rule.value:g}: more samples are needed "
            "to tell (an undecided gate fails)"
        )
    return outcome


def _missing(rule: ThresholdRule, group: GroupResult | None) -> str:
    """Why a rule has no value: nothing of it was scored, or (a breakdown label the data lacks, such
    as a misspelt task) the metric was never reported, with the ones that were."""
    if group is None or not group.metrics:
        return "no value: no sample of it was scored"
    errors = f" ({group.errors} samples ended in errors, and may have been those)" if group.errors else ""
    return f"no value: no sample reported {rule.metric}{errors}; reported: {', '.join(sorted(group.metrics))}"
