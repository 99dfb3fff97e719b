"""Folds sample records into benchmark/subset metrics and their uncertainty, on the process that
sees every report (the xdist controller, or the only process): the same records give the same
numbers either way. The standard errors and intervals come from `stats.metric_uncertainty`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..benchmarks.base import Benchmark
from ..errors import BEFORE_REQUEST_KINDS
from ..results import BenchmarkResult, GroupResult, MetricUncertainty, RequestStats, SampleRecord
from ..stats import metric_uncertainty


class ResultsCollector:
    """Keeps only what aggregation needs per sample (its id, metrics and generation count), never the texts."""

    def __init__(self) -> None:
        self._metrics: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
        self._generations: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._ids: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._skipped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._truncated: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.requests = RequestStats()

    def skip(self, benchmark: str, subset: str) -> None:
        """A sample left unrequested by `--llm-early-stop`."""
        self._skipped[benchmark][subset] += 1
        self._metrics[benchmark][subset]
        self.requests.skipped_early_stop += 1

    def per_sample(self, benchmark: str, subset: str | None = None) -> dict[str, dict[str, float]]:
        """{sample id: metrics} of the scored samples of a benchmark (or one subset), for pairing."""
        subsets = [subset] if subset is not None else sorted(self._metrics.get(benchmark, {}))
        return {
            sample_id: metrics
            for name in subsets
            for sample_id, metrics in zip(self._ids[benchmark][name], self._metrics[benchmark][name], strict=False)
        }

    def add(self, record: SampleRecord) -> None:
        if record.error is not None:
            self._errors[record.benchmark][record.subset] += 1
            if record.error_kind in BEFORE_REQUEST_KINDS:
                self.requests.not_sent += 1
            else:
                self.requests.failed += 1
            # make sure the subset exists in the results even if every sample errored
            self._metrics[record.benchmark][record.subset]
        else:
            self._metrics[record.benchmark][record.subset].append(record.metrics)
            self._generations[record.benchmark][record.subset].append(len(record.outputs) if record.outputs else 1)
            self._ids[record.benchmark][record.subset].append(f"{record.subset}/{record.id}")
            if record.truncated:
                self._truncated[record.benchmark][record.subset] += 1
        if record.error is None:
            # --llm-repeats: a sample stands for several requests, some perhaps answered from the cache
            cached = record.requests_cached if record.requests > 1 else int(record.cached)
            self.requests.cached += cached
            self.requests.sent += record.requests - cached
        if record.usage is not None:
            self.requests.prompt_tokens += record.usage.prompt_tokens
            self.requests.completion_tokens += record.usage.completion_tokens

    def __bool__(self) -> bool:
        return bool(self._metrics)

    def build(self, benchmarks: Mapping[str, type[Benchmark]]) -> dict[str, BenchmarkResult]:
        results: dict[str, BenchmarkResult] = {}
        for name in sorted(self._metrics):
            cls = benchmarks.get(name) or Benchmark
            per_subset = self._metrics[name]
            subsets: dict[str, GroupResult] = {}
            everything: list[dict[str, float]] = []
            generations: list[int] = []
            for subset in sorted(per_subset):
                values, counts = self._in_id_order(name, subset)
                everything.extend(values)
                generations.extend(counts)
                subsets[subset] = GroupResult(
                    count=len(values),
                    errors=self._errors[name][subset],
                    truncated=self._truncated[name][subset],
                    skipped=self._skipped[name][subset],
                    **_scored(cls, values, counts),
                )
            results[name] = BenchmarkResult(
                count=len(everything),
                errors=sum(self._errors[name].values()),
                skipped=sum(self._skipped[name].values()),
                truncated=sum(self._truncated[name].values()),
                subsets=subsets,
                **_scored(cls, everything, generations),
            )
        return results

    def _in_id_order(self, benchmark: str, subset: str) -> tuple[list[dict[str, float]], list[int]]:
        """A subset's metrics and generation counts ordered by sample id, not by arrival: the
        aggregates (float sums) are then bit-identical whatever order the records came in (-n 0,
        -n 4, or the shards of a merged run)."""
        values = self._metrics[benchmark][subset]
        counts = self._generations[benchmark][subset]
        ids = self._ids[benchmark][subset]
        order = sorted(range(len(values)), key=ids.__getitem__)
        return [values[i] for i in order], [counts[i] for i in order]


def _scored(cls: type[Benchmark], values: list[dict[str, float]], generations: list[int]) -> dict[str, Any]:
    """`metrics` (the benchmark's own aggregate) and each metric's `uncertainty`."""
    metrics = cls.aggregate(values)
    pooled = getattr(cls, "pooled_metrics", {})
    uncertainty = {
        metric: metric_uncertainty(metric, value, values, generations, weight=pooled.get(metric))
        for metric, value in metrics.items()
    }
    # a benchmark whose aggregate is not a mean (STS's correlations) may put its own interval on it
    own = getattr(cls, "metric_uncertainties", None)
    if own is not None:
        uncertainty.update({m: MetricUncertainty.model_validate(u) for m, u in own(metrics, values).items()})
    return {"metrics": metrics, "uncertainty": uncertainty}
