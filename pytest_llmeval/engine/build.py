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
from .sharding import ShardPlan, content_key, shard_positions
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


def unique_samples(samples: Iterator[Sample]) -> Iterator[Sample]:
    """`samples` with repeated ids made unique (`id`, `id-2`, ...): node ids must be unique for
    --lf and xdist (names are sanitised ids, see node_name)."""
    seen: dict[str, int] = {}
    for sample in samples:
        count = seen[node_name(sample.id)] = seen.get(node_name(sample.id), 0) + 1
        yield sample if count == 1 else sample.model_copy(update={"id": f"{sample.id}-{count}"})


def shard_samples(
    benchmark: Benchmark, subset: str, loader: DatasetLoader, settings: RunSettings, plan: ShardPlan | None
) -> Iterator[Sample]:
    """The samples of one subset this process builds: all of them, or with `--llm-shard` its share
    (engine/sharding.py). Sharded, the subset is read twice: once for the ids (a few bytes each,
    never the samples), once keeping only this shard's samples, so a shard holds 1/N of the items."""
    if plan is None:
        yield from unique_samples(subset_samples(benchmark, subset, loader, settings))
        return
    group = f"{benchmark.name}/{subset}"
    ids: list[str] = []

    def keys() -> Iterator[str]:
        for sample in unique_samples(subset_samples(benchmark, subset, loader, settings)):
            ids.append(sample.id)
            yield content_key(sample.id, sample.input, sample.target, sample.choices)

    plan.add_group(group, keys())
    mine = shard_positions(group, ids, plan.spec)
    ids.clear()  # a few bytes per sample, but 100k of them
    for position, sample in enumerate(unique_samples(subset_samples(benchmark, subset, loader, settings))):
        if position in mine:
            yield sample


def build_items(
    session: pytest.Session,
    benchmarks: dict[str, Benchmark],
    selection: dict[str, list[str]],
    settings: RunSettings,
    runtime: SampleRuntime,
    selected: dict[str, list[str]] | None = None,
    plan: ShardPlan | None = None,
    keep: Callable[[str], bool] | None = None,
) -> list[SampleItem]:
    """Items of `selection`; `selected` is the run's whole `-m` selection (a one-config file is used
    whole when it is the only subset selected); `plan`: `--llm-shard`'s split, which it records
    (a shard with no sample of a subset is fine). A subset that yields no sample is a DatasetError.

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
        own_runtime = getattr(benchmark, "item_runtime", None)  # the arena's items run on their own runtime
        for subset in subsets:
            marks = [getattr(pytest.mark, mark) for mark in sample_marks(type(benchmark), subset)]
            store = SampleStore()  # the subset's samples, one compact row each (engine/store.py)
            folders: dict[str, Path] = {}  # one path object per subset folder, shared by its items
            read = 0
            for sample in shard_samples(benchmark, subset, loader, settings, plan):
                read += 1
                if keep is not None and not keep(f"{name}/{sample.subset}::{node_name(sample.id)}"):
                    continue
                folder = folders.get(sample.subset) or folders.setdefault(sample.subset, root / name / sample.subset)
                item = SampleItem.create(session, benchmark, sample, own_runtime or runtime, store, folder)
                for mark in marks:
                    item.add_marker(mark)
                items.append(item)
            if not read and (plan is None or not plan.groups[f"{name}/{subset}"][0]):
                raise loader.empty_subset_error(benchmark, subset)
    return items
