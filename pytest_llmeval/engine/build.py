"""Creates the sample items of the selected benchmark subsets."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import islice

import pytest

from ..benchmarks.base import Benchmark, Sample
from ..benchmarks.loading import DatasetLoader
from ..settings import RunSettings
from .nodes import SampleItem, SampleRuntime, node_name
from .selection import sample_marks


def subset_samples(benchmark: Benchmark, subset: str, loader: DatasetLoader, settings: RunSettings) -> Iterator[Sample]:
    """The samples of one subset after --llm-shuffle and --llm-limit. Without shuffling only the
    first `limit` rows are read."""
    samples = benchmark.load(subset, loader)
    if settings.shuffle:
        pool = list(samples)
        random.Random(f"{settings.seed}:{benchmark.name}:{subset}").shuffle(pool)
        samples = iter(pool)
    return islice(samples, settings.limit) if settings.limit else samples


def build_items(
    session: pytest.Session,
    benchmarks: dict[str, Benchmark],
    selection: dict[str, list[str]],
    settings: RunSettings,
    runtime: SampleRuntime,
    selected: dict[str, list[str]] | None = None,
) -> list[SampleItem]:
    """Items of `selection`; `selected` is the run's whole `-m` selection (a one-config file is used
    whole when it is the only subset selected). A subset that yields no sample is a DatasetError."""
    loader = DatasetLoader(
        settings.datasets,
        base_dir=session.config.invocation_params.dir,
        hub=settings.hub,
        selected=selected if selected is not None else selection,
    )
    items: list[SampleItem] = []
    for name, subsets in selection.items():
        benchmark = benchmarks[name]
        own_runtime = getattr(benchmark, "item_runtime", None)  # the arena's items run on their own runtime
        for subset in subsets:
            marks = [getattr(pytest.mark, mark) for mark in sample_marks(type(benchmark), subset)]
            seen: dict[str, int] = {}
            before = len(items)
            for sample in subset_samples(benchmark, subset, loader, settings):
                # node ids must be unique for --lf and xdist (names are sanitised ids, see node_name)
                count = seen[node_name(sample.id)] = seen.get(node_name(sample.id), 0) + 1
                if count > 1:
                    sample = sample.model_copy(update={"id": f"{sample.id}-{count}"})
                item = SampleItem.create(session, benchmark, sample, own_runtime or runtime)
                for mark in marks:
                    item.add_marker(mark)
                items.append(item)
            if len(items) == before:
                raise loader.empty_subset_error(benchmark, subset)
    return items
