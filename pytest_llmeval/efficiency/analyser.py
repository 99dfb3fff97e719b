"""Binds the pure figures of `scoring.efficiency` to a benchmark: its scorer decides whether a
reasoning prefix already holds a correct answer, and the run's tokenizer (or the server's usage)
counts the tokens."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..benchmarks.base import Benchmark, Sample
from ..endpoint.models import ChatResponse
from ..scoring.efficiency import (
    DEFAULT_THOUGHT_MARKERS,
    Figures,
    OffsetTokenCounter,
    ThoughtSplitter,
    TokenCounter,
    analyse,
    usage_counter,
)


class EfficiencyAnalyser:
    """One per process. `tokenizer` is a local Hugging Face tokenizer (`--llm-tokenizer`); without
    one, counts come from each response's usage (see `scoring.efficiency.usage_counter`)."""

    def __init__(self, markers: Sequence[str] | None = None, tokenizer: Path | None = None) -> None:
        self.splitter = ThoughtSplitter(markers or DEFAULT_THOUGHT_MARKERS)
        self._offsets: Any = None
        if tokenizer is not None:
            from ..perf.tokenizer import load_tokenizer

            self._offsets = load_tokenizer(tokenizer).encode_offsets

    def step_texts(self, trace: str) -> list[str]:
        """The step pieces `analyse` will read (for benchmarks graded by a judge, whose requests are
        issued ahead, as soon as the model's answer arrives)."""
        pieces, previous = [], 0
        for end in self.splitter.step_ends(trace):
            if end > previous and trace[previous:end].strip():
                pieces.append(trace[previous:end])
            previous = max(previous, end)
        return pieces

    def counter(self, trace: str, answer: str, response: ChatResponse, generations: int) -> TokenCounter:
        if self._offsets is not None:
            return OffsetTokenCounter(self._offsets)
        usage = response.usage
        # usage covers every generation of the request; share it evenly between them
        completion = usage.completion_tokens // max(generations, 1)
        reasoning = None if usage.reasoning_tokens is None else usage.reasoning_tokens // max(generations, 1)
        return usage_counter(trace, answer, completion, reasoning)

    def analyse(
        self, benchmark: Benchmark, sample: Sample, response: ChatResponse, answers: Sequence[tuple[str, str | None]]
    ) -> list[dict[str, Any]]:
        """Figures per generation, as JSON-ready dicts with the sample's `level` when it has one."""
        results: list[dict[str, Any]] = []
        level = sample.metadata.get("level")
        for answer, reasoning in answers:
            trace_kind = "reasoning" if reasoning and reasoning.strip() else "output"
            trace = reasoning if trace_kind == "reasoning" else answer
            correct = benchmark.score(sample, answer).passed
            counter = self.counter(trace or "", answer if trace_kind == "reasoning" else "", response, len(answers))
            figures: Figures = analyse(
                trace,
                correct,
                self.splitter,
                counter,
                lambda text: benchmark.reasoning_answer(sample, text),
                lambda answer: benchmark.reasoning_answer_correct(sample, answer),
                trace=trace_kind,  # type: ignore[arg-type]
            )
            results.append({**figures.model_dump(), "level": None if level is None else str(level)})
        return results
