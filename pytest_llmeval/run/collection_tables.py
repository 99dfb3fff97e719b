"""`--llm-collection`'s results section (registered when a collection runs).

`CollectionTables` collects the scored records of the collection's items and, when the result is
assembled, adds the `collection` section and the outcomes of the collection threshold rules
(after the plain rules').
"""

from __future__ import annotations

import pytest

from ..benchmarks.registry import all_benchmarks
from ..collection.wiring import CollectionPart
from ..results import RunResult, SampleRecord


class CollectionTables:
    def __init__(self, part: CollectionPart) -> None:
        self.part = part

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.part.add(record)

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        result.collection, outcomes = self.part.build(all_benchmarks())
        result.thresholds.extend(outcomes)
