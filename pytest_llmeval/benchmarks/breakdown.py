"""Scores broken down by a group of samples (C-Eval's STEM/Humanities/..., MATH's subject or level).

The core aggregates per subset and per benchmark. A breakdown across subsets (C-Eval's STEM group
spans 20 subjects) or inside one (MATH-500's subjects within a level) rides on the metrics
themselves: a sample of group `stem` reports `acc` and also `acc_stem`, and the benchmark's
`aggregate` is `mean_over_carriers`, which averages each metric over the samples that report it. So
`results.json` has `acc_stem` = accuracy over the STEM samples, beside `acc` over all, at benchmark
level (and, redundantly, in each subset), and `--llm-threshold "ceval.acc_stem>=0.6"` gates it.

`GroupedSubsets` adds named groups of subsets: `--llm-bench-arg ceval.subset_list=stem,law` expands
the group `stem`, and `subset_tags(subset)` names the group so that the core can make it a mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from ..errors import ConfigError
from .base import Benchmark, Sample

BREAKDOWN_KEY = "breakdown"  # Sample.metadata key: the group labels a sample belongs to


def metric_label(text: object) -> str:
    """A data value as a group label in metric names: lower case, each run of characters other than
    letters, digits and `_` one `_`, none at the ends (`Figure Question Answering` ->
    `figure_question_answering`, `Art & Design` -> `art_design`)."""
    return re.sub(r"\W+", "_", str(text).lower()).strip("_")


def breakdown_names(metric: str, labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{metric}_{label}" for label in labels)


def with_breakdown(metrics: dict[str, float], sample: Sample, primary: str = "acc") -> dict[str, float]:
    """`metrics` plus `<primary>_<label>` for each group label in `sample.metadata["breakdown"]`."""
    for label in sample.metadata.get(BREAKDOWN_KEY) or ():
        metrics[f"{primary}_{label}"] = metrics[primary]
    return metrics


def mean_over_carriers(per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each metric's mean over the samples that report it (the plain mean when all do)."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for values in per_sample:
        for metric, value in values.items():
            totals[metric] = totals.get(metric, 0.0) + value
            counts[metric] = counts.get(metric, 0) + 1
    return {metric: totals[metric] / counts[metric] for metric in totals}


class GroupedSubsets(Benchmark):
    """A benchmark whose subsets fall into named groups (`groups`: group mark name -> subsets).

    Samples carry their group in `metadata["breakdown"]` (set by the subclass), so `acc_<group>` is
    reported; `subset_list` may name groups; `aggregate` averages over carriers.
    """

    groups: ClassVar[Mapping[str, Sequence[str]]] = {}

    @classmethod
    def group_of(cls, subset: str) -> str | None:
        for group, members in cls.groups.items():
            if subset in members:
                return group
        return None

    def breakdown_of(self, subset: str, row: object = None) -> list[str]:
        """The group labels a sample of `subset` reports `acc_<label>` for: its group."""
        group = self.group_of(subset)
        return [group] if group else []

    @classmethod
    def subset_tags(cls, subset: str) -> tuple[str, ...]:
        """Marks a sample of `subset` carries besides the benchmark's own tags: its group."""
        group = cls.group_of(subset)
        return (group,) if group else ()

    def selected_subsets(self) -> list[str]:
        chosen = super().selected_subsets()
        if not self.args.get("subset_list"):
            return chosen
        expanded: list[str] = []
        for name in chosen:
            members = self.groups.get(name)
            if members is None and name not in self.subsets:
                raise ConfigError(
                    f"{self.name}.subset_list names {name!r}, which is neither a subset nor a group of "
                    f"{self.name}; groups: {', '.join(self.groups)} (pytest --llm-list shows the subsets)"
                )
            expanded.extend(members if members is not None else [name])
        return list(dict.fromkeys(expanded))

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        return mean_over_carriers(per_sample)
