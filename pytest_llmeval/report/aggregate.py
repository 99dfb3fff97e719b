"""Folds sample records into benchmark/subset metrics, on the process that sees every report
(the xdist controller, or the only process): the same records give the same numbers either way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ..benchmarks.base import Benchmark
from .models import BenchmarkResult, GroupResult, RequestStats, SampleRecord


class ResultsCollector:
    """Keeps only what aggregation needs per sample (its metrics), never the texts."""

    def __init__(self) -> None:
        self._metrics: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
        self._errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._truncated: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.requests = RequestStats()

    def add(self, record: SampleRecord) -> None:
        if record.error is not None:
            self._errors[record.benchmark][record.subset] += 1
            # make sure the subset exists in the results even if every sample errored
            self._metrics[record.benchmark][record.subset]
        else:
            self._metrics[record.benchmark][record.subset].append(record.metrics)
            if record.truncated:
                self._truncated[record.benchmark][record.subset] += 1
        if record.cached:
            self.requests.cached += 1
        elif record.error is None:
            self.requests.sent += 1
        if record.usage is not None:
            self.requests.prompt_tokens += record.usage.prompt_tokens
            self.requests.completion_tokens += record.usage.completion_tokens

    def __bool__(self) -> bool:
        return bool(self._metrics)

    def build(self, benchmarks: Mapping[str, type[Benchmark]]) -> dict[str, BenchmarkResult]:
        results: dict[str, BenchmarkResult] = {}
        for name in sorted(self._metrics):
            aggregator = (benchmarks.get(name) or Benchmark).aggregate
            per_subset = self._metrics[name]
            subsets: dict[str, GroupResult] = {}
            everything: list[dict[str, float]] = []
            for subset in sorted(per_subset):
                values = per_subset[subset]
                everything.extend(values)
                subsets[subset] = GroupResult(
                    count=len(values),
                    errors=self._errors[name][subset],
                    truncated=self._truncated[name][subset],
                    metrics=aggregator(values),
                )
            results[name] = BenchmarkResult(
                count=len(everything),
                errors=sum(self._errors[name].values()),
                truncated=sum(self._truncated[name].values()),
                metrics=aggregator(everything),
                subsets=subsets,
            )
        return results
