"""The run's verdict from every gate: completeness, thresholds, the endpoint-error budget (`--llm-max-errors`),
failures outside the benchmarks, and the votes of other plugins (`pytest_llmeval_gate`, e.g. the
`--llm-max-drop` regression gate)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..results import RunResult, ThresholdOutcome


def within_error_budget(result: RunResult, max_errors: int) -> bool:
    """True when the endpoint failed on at most `max_errors` samples over all benchmarks."""
    return sum(bench.errors for bench in result.benchmarks.values()) <= max_errors


def run_passed(
    result: RunResult,
    outcomes: Sequence[ThresholdOutcome],
    *,
    max_errors: int,
    other_failures: int,
    votes: Iterable[bool | None],
) -> bool:
    """The run is complete (`result.complete`: an incomplete run is never passed), every threshold
    passed, errors within budget, nothing else failed, and no plugin voted no (None abstains)."""
    return (
        result.complete
        and all(o.passed for o in outcomes)
        and within_error_budget(result, max_errors)
        and other_failures == 0
        and all(vote is not False for vote in votes)
    )
