"""Reasoning efficiency (`--llm-think-eval`): per-sample figures from the same run that scores the
model, aggregated per benchmark, subset and difficulty level (see docs/thinking.md).

Figures about the reasoning, not the reasoning text itself: separating a model's thinking from its answer is
`scoring.thinking`; the pure per-sample figures are `scoring.efficiency`, bound to a benchmark here."""

from .aggregate import EfficiencyCollector, EfficiencyGroup, EfficiencyResult
from .analyser import EfficiencyAnalyser

__all__ = ["EfficiencyAnalyser", "EfficiencyCollector", "EfficiencyGroup", "EfficiencyResult"]
