"""Turns a chat response into a verdict: strip the thinking, score every generation, combine."""

from __future__ import annotations

from collections import Counter

from ..benchmarks.base import Benchmark, Sample, Score
from ..endpoint.models import ChatResponse
from .passk import majority_passed, pass_at_k
from .thinking import split_thinking


def answers_of(response: ChatResponse, keep_thinking: bool) -> list[tuple[str, str | None]]:
    """(answer text, reasoning) per generation. By default everything up to the last `</think>`
    moves to the reasoning, as does the server's separate `reasoning_content`."""
    if keep_thinking:
        return [(choice.text, choice.reasoning) for choice in response.choices]
    return [split_thinking(choice.text, choice.reasoning) for choice in response.choices]


def score_generations(benchmark: Benchmark, sample: Sample, answers: list[str]) -> Score:
    """One generation: the benchmark's verdict. Several (`n` > 1): each metric is the mean over
    generations (AveragePass@1), `pass_at_K` is the unbiased pass@k estimate for K = 1, 2, 4, ...
    up to n (and n itself) from the c passing generations, and the sample passes when a strict
    majority passed (a tie fails).
    """
    scores = [benchmark.score(sample, answer) for answer in answers]
    if len(scores) == 1:
        return scores[0]
    metrics = {
        metric: sum(score.metrics.get(metric, 0.0) for score in scores) / len(scores)
        for metric in scores[0].metrics
    }
    passing = sum(score.passed for score in scores)
    for k in pass_k_values(len(scores)):
        metrics[f"pass_at_{k}"] = pass_at_k(len(scores), passing, k)
    extracted = Counter(score.extracted for score in scores if score.extracted is not None).most_common(1)
    return Score(
        passed=majority_passed([score.passed for score in scores]),
        metrics=metrics,
        extracted=extracted[0][0] if extracted else None,
        explanation=f"{passing} of {len(scores)} generations passed",
    )


def pass_k_values(n: int) -> list[int]:
    """1, 2, 4, ... below n, and n."""
    values = [k for k in (2**i for i in range(n.bit_length())) if k < n]
    return [*values, n]
