"""Turns a chat response into a verdict: strip the thinking, score every generation, combine."""

from __future__ import annotations

from collections import Counter

from ..benchmarks.base import Benchmark, Sample, Score
from ..endpoint.models import ChatResponse
from .passk import majority_passed
from .thinking import split_thinking


def answers_of(response: ChatResponse, keep_thinking: bool) -> list[tuple[str, str | None]]:
    """(answer text, reasoning) per generation. By default everything up to the last `</think>`
    moves to the reasoning, as does the server's separate `reasoning_content`."""
    if keep_thinking:
        return [(choice.text, choice.reasoning) for choice in response.choices]
    return [split_thinking(choice.text, choice.reasoning) for choice in response.choices]


def score_generations(benchmark: Benchmark, sample: Sample, answers: list[str]) -> Score:
    """One generation: the benchmark's verdict. Several (`n` > 1): each metric is the mean over
    generations (AveragePass@1), and the sample passes when a strict majority passed (a tie fails).
    """
    scores = [benchmark.score(sample, answer) for answer in answers]
    if len(scores) == 1:
        return scores[0]
    metrics = {
        metric: sum(score.metrics.get(metric, 0.0) for score in scores) / len(scores)
        for metric in scores[0].metrics
    }
    extracted = Counter(score.extracted for score in scores if score.extracted is not None).most_common(1)
    return Score(
        passed=majority_passed([score.passed for score in scores]),
        metrics=metrics,
        extracted=extracted[0][0] if extracted else None,
        explanation=f"{sum(s.passed for s in scores)} of {len(scores)} generations passed",
    )
