"""The verdict on one output: what every scorer returns (`Score`).

It lives in `scoring/` (not `benchmarks/`) so that scoring stays pure - text in, verdict out -
without importing the benchmarks that use it; `benchmarks.base` re-exports it.
"""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Score"]


class Score(BaseModel):
    """A verdict on one output. `metrics` holds this sample's value of each benchmark metric.

    `extracted` is the answer read from the output (None when there is none); `explanation` says
    why it failed, in the benchmark's own terms. `explicit` tells whether the answer came from an
    explicit cue (`\\boxed{}`, `#### N`, "the answer is", an `Answer: X` line) rather than a
    fallback such as the last number of the text: a generation cut off at `max_tokens`
    (`finish_reason` `length`) whose verdict is not explicit scores as "no answer"
    (`scoring.response.score_generations`). Benchmarks that do not extract an answer (IFEval,
    code, judge) leave it True: their checks see the truncation themselves.
    """

    passed: bool
    metrics: dict[str, float]
    extracted: str | None = None
    explanation: str | None = None
    explicit: bool = True
