"""The run's verdict from every gate: completeness, thresholds, the endpoint-error budget (`--llm-max-errors`),
failures outside the benchmarks, and the votes of other plugins (`pytest_llmeval_gate`, e.g. the
`--llm-max-drop` regression gate).

`decide` is the only place that says whether a run passed: the exit status, `passed` in the results
JSON and the printed verdict line (`llmeval: FAIL: <reasons>`) all come from its `Verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..results import RunResult, ThresholdOutcome

PLUGIN_GATE_REASON = "a plugin's gate (such as --llm-max-drop) failed"


@dataclass(frozen=True)
class Verdict:
    """Passed or not, and why not, in words (one reason per failed gate, in the order printed)."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    undecided: bool = False  # failed only because thresholds could not be decided (`--llm-threshold-mode ci`)


def threshold_reason(outcome: ThresholdOutcome) -> str:
    """A failed threshold in words: `gsm8k.acc>=0.8 (actual 0.7500)`, with its 95% interval when
    the interval straddles the threshold (the data cannot say pass or fail)."""
    actual = "missing" if outcome.value is None else f"{outcome.value:.4f}"
    if outcome.status == "undecided" and outcome.ci_low is not None and outcome.ci_high is not None:
        return f"{outcome.expression} (actual {actual}, 95% CI [{outcome.ci_low:.4f}, {outcome.ci_high:.4f}])"
    return f"{outcome.expression} (actual {actual})"


def decide(result: RunResult, *, max_errors: int, other_failures: int, votes: Iterable[bool | None]) -> Verdict:
    """The run passes when it is complete (`result.complete`: an incomplete run is never passed),
    every threshold in `result.thresholds` passed, errors are within budget, nothing else failed,
    and no plugin voted False (None abstains). It is UNDECIDED when the only failures are
    thresholds left undecided."""
    failing = [o for o in result.thresholds if not o.passed]
    errors = sum(bench.errors for bench in result.benchmarks.values())
    vetoes = sum(vote is False for vote in votes)
    reasons = [threshold_reason(o) for o in failing]
    if not result.complete:
        reasons.insert(0, "the run is incomplete" + (f" ({result.stopped_by})" if result.stopped_by else ""))
    if errors > max_errors:
        reasons.append(f"{errors} endpoint errors (--llm-max-errors {max_errors})")
    if other_failures:
        reasons.append(f"{other_failures} other test{'s' if other_failures > 1 else ''} failed")
    if vetoes:
        reasons.append(PLUGIN_GATE_REASON)
    undecided = bool(failing) and len(reasons) == len(failing) and all(o.status == "undecided" for o in failing)
    return Verdict(passed=not reasons, reasons=reasons, undecided=undecided)
