"""`--llm-early-stop` (registered when it is given; single process only).

`EarlyStop` puts the collected samples in a seeded random order per benchmark, tells the runtime
to leave a benchmark's remaining samples unrequested once every rule on it is decided (a
sequential test over the records so far, `gating/early_stop.py`), and marks the threshold
outcomes it decided early.
"""

from __future__ import annotations

import pytest

from ..engine.nodes import SampleItem
from ..gating.early_stop import (
    EarlyStopMonitor,
    shuffle_for_early_stop,
    undecidable_metrics,
)
from ..results import RunResult, SampleRecord
from .scope import Evaluation


class EarlyStop:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.monitor: EarlyStopMonitor | None = None

    def pytest_llmeval_collected(self, items: list[pytest.Item], config: pytest.Config) -> None:
        """Seeded random order per benchmark, and the monitor the dispatcher asks before each request."""
        evaluation = self.evaluation
        shuffle_for_early_stop(
            items,
            lambda i: i.benchmark.name if isinstance(i, SampleItem) else None,
            evaluation.settings.seed,
        )
        populations: dict[tuple[str, str], int] = {}
        for item in items:
            if isinstance(item, SampleItem):
                key = (item.benchmark.name, item.sample.subset)
                populations[key] = populations.get(key, 0) + 1
        undecidable = undecidable_metrics(evaluation.rules, evaluation.benchmark_instances)
        monitor = self.monitor = EarlyStopMonitor(
            evaluation.rules,
            populations,
            evaluation.settings.early_stop_alpha,
            undecidable,
        )
        evaluation.runtime.skip_sample = lambda item: monitor.should_skip(item.benchmark.name)

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        if self.monitor is not None:
            self.monitor.observe(record)

    def pytest_llmeval_sample_skipped(self, benchmark: str, subset: str) -> None:
        if self.monitor is not None:
            self.monitor.note_skipped(benchmark)

    @pytest.hookimpl(trylast=True)  # after the threshold gate put the rules' outcomes first
    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        if self.monitor is None:
            return
        for index, rule in enumerate(self.evaluation.rules):
            result.thresholds[index] = self.monitor.outcome(rule, result.thresholds[index])
