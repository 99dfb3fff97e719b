"""Reasoning efficiency (`--llm-think-eval`): per-sample figures from the same run that scores the
model, aggregated per benchmark, subset and difficulty level (see docs/thinking.md)."""

from .aggregate import ThinkingCollector, ThinkingGroup, ThinkingResult
from .analyser import ThinkingAnalyser

__all__ = ["ThinkingAnalyser", "ThinkingCollector", "ThinkingGroup", "ThinkingResult"]
