"""Scores per benchmark and subset, from the record stream (always on where records arrive).

`Aggregation` keeps each record's metrics (never its texts) and fills `result.benchmarks` and
`result.requests` first when the result is assembled (the threshold gates read them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pytest

from ..benchmarks.base import Benchmark
from ..benchmarks.registry import all_benchmarks
from ..report.aggregate import ResultsCollector
from ..results import RunResult, SampleRecord


class BenchmarkScope(Protocol):
    """Where the benchmark instances of the run are (`scope.Evaluation`; the merge passes none)."""

    @property
    def benchmark_instances(self) -> Mapping[str, Benchmark]: ...


class Aggregation:
    def __init__(self, evaluation: BenchmarkScope) -> None:
        self.evaluation = evaluation
        self.collector = ResultsCollector()

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.collector.add(record)

    def pytest_llmeval_sample_skipped(self, benchmark: str, subset: str) -> None:
        self.collector.skip(benchmark, subset)

    @pytest.hookimpl(tryfirst=True)  # before anything that reads the scores
    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        result.benchmarks = self.collector.build(all_benchmarks())
        result.requests = self.collector.requests
        for (
            name,
            bench,
        ) in result.benchmarks.items():  # the protocol and parser each benchmark ran under
            instance = self.evaluation.benchmark_instances.get(name)
            if instance is not None:
                # a log-likelihood run sends its own cloze prompt: no chat protocol applies
                protocol = instance.protocol
                bench.protocol = protocol.name if protocol is not None and not instance.loglik else None
                bench.answer_parser = instance.answer_parser
                bench.output_type = instance.output_type
