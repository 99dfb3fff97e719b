"""Collection results: the guide's table plus per-group, per-task-type and per-tag rows.

Definitions (one number per sample: its benchmark's *primary* metric, the first of the benchmark's
`metrics`, e.g. `acc`, IFEval's `prompt_level_strict`, a retrieval query's `ndcg_at_10`; a metric
that is a figure of the whole set, STS's `cosine_spearman`, is not carried by any record, so each
record of that dataset scores the dataset's figure, and rows holding such records get no interval;
see collection/vectors.py and docs/collections.md, "Embedding and reranker tasks"):

* `average_score` of a dataset row: the benchmark's own aggregate of that metric over the
  collection's records of the dataset (the mean, for every built-in benchmark);
* `micro` of a group: mean of the per-sample scores over every scored sample in the group
  (= total correct / total for 0/1 metrics);
* `macro` of a group: unweighted mean, over the datasets in the group, of each dataset's mean score
  on the group's samples (every dataset counts the same, however many samples it has);
* `macro_subsets` of a group: unweighted mean, over the (dataset, subset) pairs in the group, of
  each pair's mean score (every subset counts the same);
* `weighted` of a group: the reference system's (EvalScope's) weighted average, Σ score·weight /
  Σ weight over the group's scored records, with each record's `weight` from the collection file
  (None when the records carry no weight).

`DEFINITIONS` holds these texts; the results JSON repeats them under `collection.definitions`.

Samples the endpoint failed on are counted in `errors` and left out of every average (an error is
never a wrong answer), as in the benchmark results.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from ..benchmarks.base import Benchmark
from ..results import MetricUncertainty, SampleRecord
from ..stats.estimate import metric_uncertainty
from ..stats.intervals import z_value

RowKind = Literal["all", "group", "task_type", "tag", "dataset"]

DEFINITIONS: dict[str, str] = {
    "micro": "mean of the per-sample scores (total correct / total for 0/1 metrics)",
    "macro": "unweighted mean over datasets of each dataset's mean score",
    "macro_subsets": "unweighted mean over (dataset, subset) pairs of each pair's mean score",
    "weighted": "sum of score*weight / sum of weight over records (the reference system's weighted average; "
    "weight from the collection file)",
}


class DatasetRow(BaseModel):
    """A row of the guide's table: task_type | metric | dataset_name | average_score | count."""

    task_type: str
    metric: str
    dataset_name: str
    average_score: float | None
    count: int
    errors: int = 0


class GroupRow(BaseModel):
    """Micro and macro averages over the samples of one group, task type, tag or dataset."""

    kind: RowKind
    name: str  # group path joined with "/", the task type, the tag or the dataset
    count: int
    errors: int = 0
    datasets: int
    micro: float | None
    macro: float | None
    subsets: int = 0  # (dataset, subset) pairs
    macro_subsets: float | None = None
    weighted: float | None = None
    # 95% intervals (docs/statistics.md): micro by the metric's own rule over the group's samples
    # (Wilson for 0/1 scores, else CLT); macro as a mean of independent dataset means, whose
    # standard error is sqrt(sum of the datasets' squared standard errors) / number of datasets
    micro_uncertainty: MetricUncertainty | None = None
    macro_uncertainty: MetricUncertainty | None = None


class CollectionResult(BaseModel):
    """The `collection` section of the results JSON (see docs/results.md)."""

    source: str
    records: int  # records in the file that were run (after --llm-limit and -m)
    skipped_unknown: dict[str, int] = Field(default_factory=dict)  # with --llm-collection-skip-unknown
    table: list[DatasetRow] = Field(default_factory=list)
    groups: list[GroupRow] = Field(default_factory=list)
    definitions: dict[str, str] = Field(default_factory=lambda: dict(DEFINITIONS))

    def row(self, kind: RowKind, name: str) -> GroupRow | None:
        return next((r for r in self.groups if r.kind == kind and r.name == name), None)


class RecordMeta(BaseModel):
    """What aggregation needs of one collection record."""

    dataset: str
    task_type: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    subset: str = "default"
    weight: float = 0.0


def primary_metric(cls: type[Benchmark] | None) -> str:
    return cls.metrics[0] if cls is not None and cls.metrics else "acc"


def _mean(values: list[float]) -> float | None:
    # fsum: exactly rounded, so the mean does not depend on the order the records arrived in
    return math.fsum(values) / len(values) if values else None


class CollectionTally:
    """Tallies the scored records of collection items (node ids `collection/...::INDEX`)."""

    PREFIX = "collection/"

    def __init__(self, meta: Mapping[int, RecordMeta], source: str, skipped: Mapping[str, int] | None = None) -> None:
        self.meta = dict(meta)
        self.source = source
        self.skipped = dict(skipped or {})
        self._scores: dict[int, Mapping[str, float] | None] = {}  # index -> metrics, None on error
        self._passed: dict[int, bool] = {}
        self._set_level: set[int] = set()  # records scored with their dataset's figure (build)

    @classmethod
    def index_of(cls, nodeid: str) -> int | None:
        if not nodeid.startswith(cls.PREFIX):
            return None
        tail = nodeid.rpartition("::")[2]
        return int(tail) if tail.isdigit() else None

    def add(self, record: SampleRecord) -> None:
        index = self.index_of(record.nodeid)
        if index is None or index not in self.meta:
            return
        self._scores[index] = None if record.error is not None else dict(record.metrics)
        self._passed[index] = bool(record.passed)

    def __bool__(self) -> bool:
        return bool(self._scores)

    def build(self, benchmarks: Mapping[str, type[Benchmark]]) -> CollectionResult:
        # by record index, not by arrival: the same records give the same table in any order
        self._scores = dict(sorted(self._scores.items()))
        per_dataset: dict[str, list[Mapping[str, float]]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        score_of: dict[int, float] = {}
        for index, metrics in self._scores.items():
            meta = self.meta[index]
            if metrics is None:
                errors[meta.dataset] += 1
                continue
            per_dataset[meta.dataset].append(metrics)
        figures = {  # each dataset's own figure of its primary metric (a correlation for STS)
            dataset: (benchmarks.get(dataset) or Benchmark)
            .aggregate(values)
            .get(primary_metric(benchmarks.get(dataset)))
            for dataset, values in per_dataset.items()
        }
        self._set_level = set()
        for index, metrics in self._scores.items():
            if metrics is None:
                continue
            dataset = self.meta[index].dataset
            primary = primary_metric(benchmarks.get(dataset))
            if primary in metrics:  # a per-sample figure: acc, a query's nDCG@10, a list's AP
                score_of[index] = float(metrics[primary])
            elif figures.get(dataset) is not None:
                # a figure of the whole set (STS's Spearman): every record scores its dataset's value
                # (undefined - one pair, or constant scores: the records count as errors, never as a number)
                figure = float(figures[dataset])  # type: ignore[arg-type]
                if not math.isfinite(figure):
                    errors[dataset] += 1
                    continue
                score_of[index] = figure
                self._set_level.add(index)
            else:  # a benchmark whose records carry no such metric: its verdict
                score_of[index] = float(self._passed[index])
        table: list[DatasetRow] = []
        task_of: dict[str, str] = {}
        for index in self._scores:
            task_of.setdefault(self.meta[index].dataset, self.meta[index].task_type)
        for dataset in sorted(set(per_dataset) | set(errors), key=lambda d: (task_of[d], d)):
            cls = benchmarks.get(dataset) or Benchmark
            metric = primary_metric(benchmarks.get(dataset))
            values = per_dataset.get(dataset, [])
            aggregated = cls.aggregate(values).get(metric) if values else None
            if aggregated is not None and not math.isfinite(aggregated):
                aggregated = None
            table.append(
                DatasetRow(
                    task_type=task_of[dataset],
                    metric=metric,
                    dataset_name=dataset,
                    average_score=aggregated,
                    count=sum(1 for i in score_of if self.meta[i].dataset == dataset),
                    errors=errors.get(dataset, 0),
                )
            )
        groups: list[GroupRow] = [self._row("all", "(all)", list(self._scores), score_of)]
        keys: dict[tuple[RowKind, str], list[int]] = defaultdict(list)
        for index in self._scores:
            meta = self.meta[index]
            for depth in range(1, len(meta.categories) + 1):
                keys[("group", "/".join(meta.categories[:depth]))].append(index)
            keys[("task_type", meta.task_type)].append(index)
            for tag in dict.fromkeys(meta.tags):
                keys[("tag", tag)].append(index)
            keys[("dataset", meta.dataset)].append(index)
        order = {"group": 0, "task_type": 1, "tag": 2, "dataset": 3}
        for (kind, name), indices in sorted(keys.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
            groups.append(self._row(kind, name, indices, score_of))
        return CollectionResult(
            source=self.source, records=len(self._scores), skipped_unknown=self.skipped, table=table, groups=groups
        )

    def _row(self, kind: RowKind, name: str, indices: Iterable[int], score_of: Mapping[int, float]) -> GroupRow:
        indices = list(indices)
        scored = [i for i in indices if i in score_of]
        by_dataset: dict[str, list[float]] = defaultdict(list)
        for i in scored:
            by_dataset[self.meta[i].dataset].append(score_of[i])
        means = [m for m in (_mean(v) for v in by_dataset.values()) if m is not None]
        by_subset: dict[tuple[str, str], list[float]] = defaultdict(list)
        for i in scored:
            by_subset[(self.meta[i].dataset, self.meta[i].subset)].append(score_of[i])
        subset_means = [m for m in (_mean(v) for v in by_subset.values()) if m is not None]
        total_weight = sum(max(self.meta[i].weight, 0.0) for i in scored)
        weighted_sum = sum(score_of[i] * max(self.meta[i].weight, 0.0) for i in scored)
        weighted = weighted_sum / total_weight if total_weight > 0 else None
        micro = _mean([score_of[i] for i in scored])
        micro_u = metric_uncertainty("s", micro, [{"s": score_of[i]} for i in scored]) if micro is not None else None
        # a set-level figure repeated per record is not n independent scores: no interval from it
        set_level = any(i in self._set_level for i in scored)
        return GroupRow(
            kind=kind,
            name=name,
            count=len(scored),
            errors=len(indices) - len(scored),
            datasets=len({self.meta[i].dataset for i in indices}),
            micro=micro,
            macro=_mean(means),
            micro_uncertainty=None if set_level else micro_u,
            subsets=len({(self.meta[i].dataset, self.meta[i].subset) for i in indices}),
            macro_subsets=_mean(subset_means),
            weighted=weighted,
            macro_uncertainty=None if set_level else _macro_uncertainty(by_dataset),
        )


def _macro_uncertainty(by_dataset: Mapping[str, list[float]]) -> MetricUncertainty | None:
    """SE of the unweighted mean of the datasets' means: the datasets are independent samples, so
    Var(mean of k means) = sum(Var(mean_d)) / k**2 (each dataset's by its own rule, see `micro`)."""
    parts = [metric_uncertainty("s", sum(v) / len(v), [{"s": x} for x in v]) for v in by_dataset.values() if v]
    if not parts or any(p.se is None for p in parts):
        return None
    k = len(parts)
    macro = sum(sum(v) / len(v) for v in by_dataset.values() if v) / k
    se = math.sqrt(sum(p.se**2 for p in parts if p.se is not None)) / k  # all are set (checked above)
    low, high = macro - z_value() * se, macro + z_value() * se
    if all(0 <= x <= 1 for v in by_dataset.values() for x in v):
        low, high = max(0.0, low), min(1.0, high)
    return MetricUncertainty(
        se=se, ci_low=low, ci_high=high, n=sum(len(v) for v in by_dataset.values()), method="macro"
    )


def collection_lines(result: CollectionResult) -> list[str]:
    """The terminal section: the guide's table, then the group/task type/tag rows."""
    from ..texttable import format_table

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    lines = ["", f"collection {result.source}: {result.records} records"]
    if result.skipped_unknown:
        skipped = ", ".join(f"{name} ({count})" for name, count in sorted(result.skipped_unknown.items()))
        lines.append(f"skipped records of unknown benchmarks: {skipped}")
    lines.extend(
        format_table(
            ["task_type", "metric", "dataset_name", "average_score", "count", "errors"],
            [
                [r.task_type, r.metric, r.dataset_name, fmt(r.average_score), str(r.count), str(r.errors)]
                for r in result.table
            ],
        )
    )
    lines.append("")
    lines.extend(
        format_table(
            [
                "level",
                "name",
                "micro_avg (samples)",
                "macro_avg (datasets)",
                "macro_avg (dataset, subset)",
                "weighted_avg (sum s*w / sum w)",
                "count",
                "datasets",
                "subsets",
                "errors",
            ],
            [
                [
                    r.kind,
                    r.name,
                    fmt(r.micro),
                    fmt(r.macro),
                    fmt(r.macro_subsets),
                    fmt(r.weighted),
                    str(r.count),
                    str(r.datasets),
                    str(r.subsets),
                    str(r.errors),
                ]
                for r in result.groups
                if r.kind != "dataset"
            ],
        )
    )
    lines.extend(f"  {name}: {text}" for name, text in result.definitions.items())
    return lines
