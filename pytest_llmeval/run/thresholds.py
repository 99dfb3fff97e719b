"""`--llm-threshold` rules on benchmark scores (registered when at least one is given).

`ThresholdGate` puts one outcome per rule at the front of `result.thresholds` (collection rules
follow, `run/collection_tables.py`); early stop may then revise them (`run/early_stop.py`).
"""

from __future__ import annotations

import pytest

from ..gating.thresholds import ThresholdMode, ThresholdRule, evaluate_rule
from ..results import RunResult


class ThresholdGate:
    def __init__(self, rules: list[ThresholdRule], mode: ThresholdMode) -> None:
        self.rules = rules
        self.mode = mode

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        result.thresholds[0:0] = [evaluate_rule(rule, result.benchmarks, self.mode) for rule in self.rules]
