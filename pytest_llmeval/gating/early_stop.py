"""`--llm-early-stop`: stop requesting a benchmark's samples once every threshold on it is decided.

Samples of each benchmark are put in a seeded random order (`shuffle_for_early_stop`); after each
scored sample, every rule on the benchmark updates its anytime-valid test (`stats.ThresholdTest`,
betting capital at level `--llm-early-stop-alpha`, for the score over *all* the benchmark's (or
subset's) samples). When all rules of a benchmark are decided, the dispatcher asks `should_skip`
before issuing each further request of it and leaves it unsent; responses already requested
(in flight) are still scored. Skipped samples are reported as skipped, never as passed or failed,
and the rule's outcome is the test's decision (mode `early-stop`).

A rule can only be decided early when its metric is a mean of per-sample values in [0, 1] carried
by every sample (acc, pass@k, prompt-level IFEval, ...); a pooled metric (IFEval instruction level),
a breakdown metric carried by some samples, a value outside [0, 1], or an endpoint error on a
sample of it leaves the rule (and so its benchmark) to run to the end.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..benchmarks.base import Benchmark
from ..results import SampleRecord, ThresholdOutcome
from ..stats.sequential import ThresholdTest
from .thresholds import ThresholdRule


def undecidable_metrics(rules: Sequence[ThresholdRule], benchmarks: Mapping[str, Benchmark]) -> dict[str, set[str]]:
    """Per benchmark, the metrics no rule may be decided early on: pooled metrics, and metrics only
    some samples carry (`Benchmark.is_partial_metric`: breakdowns, per-subset metrics), whose
    population is not the benchmark's."""
    return {
        name: {
            *bench.pooled_metrics,
            *(r.metric for r in rules if r.benchmark == name and bench.is_partial_metric(r.metric)),
        }
        for name, bench in benchmarks.items()
    }


class _RuleTest:
    def __init__(self, rule: ThresholdRule, population: int, alpha: float, usable: bool) -> None:
        self.rule = rule
        self.test = ThresholdTest(rule.value, max(population, 1), alpha)
        self.usable = usable and population > 0

    @property
    def decided(self) -> bool:
        return self.usable and self.test.verdict is not None

    def observe(self, record: SampleRecord) -> None:
        if not self.usable or (self.rule.subset is not None and record.subset != self.rule.subset):
            return
        value = None if record.error is not None else record.metrics.get(self.rule.metric)
        if value is None or not 0 <= value <= 1:
            self.usable = False  # a sample errored or lacked a [0, 1] value of the metric
            return
        if self.test.verdict is None and self.test.t < self.test.population:
            self.test.update(value)

    def passed(self) -> bool:
        above = self.test.verdict == "above"
        return above if self.rule.op in (">=", ">") else not above


class EarlyStopMonitor:
    """Follows the thresholds of each benchmark while samples are scored (one process only).

    `populations[(benchmark, subset)]` counts the samples collected for each subset; `undecidable`
    names, per benchmark, the metrics a rule cannot be decided early on (pooled metrics, breakdowns
    carried by some samples only: their population is not the benchmark's)."""

    def __init__(
        self,
        rules: Sequence[ThresholdRule],
        populations: Mapping[tuple[str, str], int],
        alpha: float,
        undecidable: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.alpha = alpha
        self._tests: dict[str, list[_RuleTest]] = {}
        for rule in rules:
            size = sum(
                n
                for (bench, subset), n in populations.items()
                if bench == rule.benchmark and rule.subset in (None, subset)
            )
            usable = rule.metric not in (undecidable or {}).get(rule.benchmark, ())
            self._tests.setdefault(rule.benchmark, []).append(_RuleTest(rule, size, alpha, usable))
        self.skipped: dict[str, int] = {}

    def observe(self, record: SampleRecord) -> None:
        for test in self._tests.get(record.benchmark, ()):
            test.observe(record)

    def stopped(self, benchmark: str) -> bool:
        """True once every threshold on `benchmark` is decided: its unsent samples are not needed."""
        tests = self._tests.get(benchmark, [])
        return bool(tests) and all(test.decided for test in tests)

    def should_skip(self, benchmark: str) -> bool:
        return self.stopped(benchmark)

    def note_skipped(self, benchmark: str) -> None:
        self.skipped[benchmark] = self.skipped.get(benchmark, 0) + 1

    def outcome(self, rule: ThresholdRule, outcome: ThresholdOutcome) -> ThresholdOutcome:
        """The rule's outcome, replaced by the early-stop decision when the benchmark stopped early."""
        if not self.skipped.get(rule.benchmark):
            return outcome  # every sample ran: the ordinary verdict stands
        test = next((t for t in self._tests.get(rule.benchmark, ()) if t.rule is rule), None)
        if test is None or not test.decided:
            return outcome
        passed = test.passed()
        side = "above" if test.test.verdict == "above" else "below"
        return outcome.model_copy(
            update={
                "passed": passed,
                "status": "pass" if passed else "fail",
                "mode": "early-stop",
                "reason": (
                    f"decided after {test.test.t} of {test.test.population} samples: the score over all samples is "
                    f"{side} {rule.value:g} (anytime-valid test, error level {self.alpha:g})"
                ),
            }
        )


def shuffle_for_early_stop(items: list[Any], benchmark_of: Any, seed: int) -> None:
    """Reorder, in place, the items of each benchmark among the positions that benchmark's items
    hold, in a random order seeded by `seed` (and the benchmark's name: one order per benchmark)."""
    positions: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        name = benchmark_of(item)
        if name is not None:
            positions.setdefault(name, []).append(index)
    for name, where in positions.items():
        chosen = [items[i] for i in where]
        random.Random(f"{seed}:{name}").shuffle(chosen)
        for index, item in zip(where, chosen, strict=False):
            items[index] = item
