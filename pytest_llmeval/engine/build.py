"""Creates the sample items of the selected benchmark subsets."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pytest

from ..benchmarks.base import Benchmark, Sample
from ..benchmarks.loading import DatasetLoader
from ..settings import RunSettings
from .nodes import SampleItem, SampleRuntime, node_name
from .selection import sample_marks
from .store import SampleStore


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
    keep: Callable[[str], bool] | None = None,
) -> list[SampleItem]:
    """Items of `selection`; `selected` is the run's whole `-m` selection (a one-config file is used
    whole when it is the only subset selected). A subset that yields no sample is a DatasetError.

    `keep(nodeid)`, asked once per sample in collection order, says whether this process builds
    the sample's item (an xdist worker builds only its share, `engine.distribution.ShareFilter`);
    every sample is still read, so node ids (duplicates renamed) are the same everywhere."""
    loader = DatasetLoader(
        settings.datasets,
        base_dir=session.config.invocation_params.dir,
        hub=settings.hub,
        selected=selected if selected is not None else selection,
    )
    items: list[SampleItem] = []
    root = Path(session.config.rootpath)
    for name, subsets in selection.items():
        benchmark = benchmarks[name]
        for subset in subsets:
            marks = [getattr(pytest.mark, mark) for mark in sample_marks(type(benchmark), subset)]
            seen: dict[str, int] = {}
            store = SampleStore()  # the subset's samples, one compact row each (engine/store.py)
            folders: dict[str, Path] = {}  # one path object per subset folder, shared by its items
            read = 0
            for sample in subset_samples(benchmark, subset, loader, settings):
                read += 1
                # node ids must be unique for --lf and xdist (names are sanitised ids, see node_name)
                count = seen[node_name(sample.id)] = seen.get(node_name(sample.id), 0) + 1
                if count > 1:
                    sample = sample.model_copy(update={"id": f"{sample.id}-{count}"})
                if keep is not None and not keep(f"{name}/{sample.subset}::{node_name(sample.id)}"):
                    continue
                folder = folders.get(sample.subset) or folders.setdefault(sample.subset, root / name / sample.subset)
                item = SampleItem.create(session, benchmark, sample, runtime, store, folder)
                for mark in marks:
                    item.add_marker(mark)
                items.append(item)
            if not read:
                raise loader.empty_subset_error(benchmark, subset)
    return items
