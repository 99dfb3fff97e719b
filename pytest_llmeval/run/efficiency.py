"""`--llm-think-eval`'s reasoning-efficiency figures (registered when it is given).

`EfficiencyFigures` gathers each record's `thinking` figures and adds the `thinking` section to
the result (the terminal shows it as the "llmeval reasoning efficiency" table).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ..efficiency.aggregate import EfficiencyCollector
from ..results import RunResult, SampleRecord


class EfficiencyFigures:
    def __init__(self, markers: Iterable[str]) -> None:
        self.collector = EfficiencyCollector(markers)

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.collector.add(record.benchmark, record.subset, record.thinking)

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        result.thinking = self.collector.build().model_dump(mode="json")
