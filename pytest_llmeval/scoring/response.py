"""Turns a chat response into a verdict: strip the thinking, score every generation, combine.

Pure: it reads responses and calls the benchmark's scorer through two small protocols
(`HasChoices`, `Scorer`), so `scoring/` imports nothing from `benchmarks/`, `endpoint/`, `engine/`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from .passk import majority_passed, pass_at_k
from .thinking import split_thinking
from .verdict import Score

__all__ = ["TRUNCATED", "answers_of", "pass_k_values", "score_generations", "truncated_verdict"]

TRUNCATED = "length"  # the OpenAI finish_reason of a generation stopped by max_tokens


class _Generation(Protocol):
    text: str
    reasoning: str | None


class HasChoices(Protocol):
    """A chat response (`endpoint.models.ChatResponse`): one entry per generation."""

    @property
    def choices(self) -> Sequence[_Generation]: ...


class Scorer(Protocol):
    """A benchmark: `score(sample, output) -> Score`."""

    def score(self, sample: Any, output: str) -> Score: ...


def answers_of(response: HasChoices, keep_thinking: bool) -> list[tuple[str, str | None]]:
    """(answer text, reasoning) per generation. By default everything up to the last closing
    thinking delimiter (`</think>`, `[/THINK]`, `◁/think▷`, ...: `thinking.THINKING_DELIMITERS`)
    moves to the reasoning, as does the server's separate `reasoning_content`."""
    if keep_thinking:
        return [(choice.text, choice.reasoning) for choice in response.choices]
    return [split_thinking(choice.text, choice.reasoning) for choice in response.choices]


def truncated_verdict(score: Score) -> Score:
    """The verdict on a generation cut off at max_tokens: kept when its answer came from an
    explicit cue (`Score.explicit`), else "no answer" - failed, every metric 0, nothing extracted -
    so that the last number of a cut-off sentence never passes by luck."""
    if score.explicit:
        return score
    return Score(
        passed=False,
        metrics=dict.fromkeys(score.metrics, 0.0),
        extracted=None,
        explanation=(
            f"output truncated at max_tokens (finish_reason {TRUNCATED!r}) before an explicit answer"
            + (f"; the fallback read {score.extracted!r}, not counted" if score.extracted is not None else "")
        ),  # the fix (--llm-gen max_tokens=N) is said once per run, in the summary's `truncated:` line
        explicit=False,
    )


def score_generations(
    benchmark: Scorer, sample: Any, answers: list[str], finish_reasons: Sequence[str | None] | None = None
) -> Score:
    """One generation: the benchmark's verdict. Several (`n` > 1, or `--llm-repeats`): each metric
    is the mean over generations (AveragePass@1), `pass_at_K` is the unbiased pass@k estimate
    (Chen et al. 2021) for K = 1, 2, 4, ... up to n (and n itself) from the c passing generations,
    and the sample passes when a strict majority passed (a tie fails).

    `finish_reasons` (one per answer, when known): a generation that stopped at `length` is
    scored by `truncated_verdict`.
    """
    reasons = list(finish_reasons or [])
    scores = []
    for index, answer in enumerate(answers):
        score = benchmark.score(sample, answer)
        if index < len(reasons) and reasons[index] == TRUNCATED:
            score = truncated_verdict(score)
        scores.append(score)
    if len(scores) == 1:
        return scores[0]
    metrics = {
        metric: sum(score.metrics.get(metric, 0.0) for score in scores) / len(scores) for metric in scores[0].metrics
    }
    passing = sum(score.passed for score in scores)
    for k in pass_k_values(len(scores)):
        metrics[f"pass_at_{k}"] = pass_at_k(len(scores), passing, k)
    extracted = Counter(score.extracted for score in scores if score.extracted is not None).most_common(1)
    failures = [score.explanation for score in scores if not score.passed and score.explanation]
    return Score(
        passed=majority_passed([score.passed for score in scores]),
        metrics=metrics,
        extracted=extracted[0][0] if extracted else None,
        explanation=f"{passing} of {len(scores)} generations passed"
        + (f"; first failure: {failures[0]}" if failures else ""),
        explicit=all(score.explicit for score in scores),
    )


def pass_k_values(n: int) -> list[int]:
    """1, 2, 4, ... below n, and n."""
    values = [k for k in (2**i for i in range(n.bit_length())) if k < n]
    return [*values, n]
