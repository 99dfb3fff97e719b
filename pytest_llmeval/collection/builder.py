"""Builds a collection file from a schema: load each dataset, sample, write one JSON line per sample.

Data comes from the same loader as a benchmark run (`benchmarks.loading.DatasetLoader`), so
`--llm-dataset NAME=PATH` overrides work the same way and a collection can be built offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..benchmarks.base import Benchmark, Sample
from ..benchmarks.loading import DatasetLoader
from ..benchmarks.registry import all_benchmarks
from ..engine.selection import check_subset_list
from ..errors import CollectionError, DatasetError
from .records import CollectionRecord
from .sampler import allot, choose, sampler_weights
from .schema import Collection, FlatDataset


@dataclass(frozen=True)
class DatasetCount:
    """What the builder took from one dataset of the schema."""

    name: str
    categories: tuple[str, ...]
    share: float
    available: int
    taken: int


def leaf_benchmark(
    leaf: FlatDataset,
    benchmarks: Mapping[str, type[Benchmark]],
    bench_args: Mapping[str, Mapping[str, str]] | None = None,
) -> Benchmark:
    cls = benchmarks.get(leaf.name)
    if cls is None:
        raise CollectionError(
            f"the schema names benchmark {leaf.name!r} (in {'/'.join(leaf.categories)}), which is not registered; "
            f"known: {', '.join(benchmarks)}"
        )
    benchmark = cls({**(bench_args or {}).get(leaf.name, {}), **leaf.bench_args(cls.default_args)})
    check_subset_list(benchmark, benchmark.selected_subsets())  # the plugin's own check: `mian` is no subset
    return benchmark


def load_leaf(benchmark: Benchmark, loader: DatasetLoader) -> list[Sample]:
    samples: list[Sample] = []
    for subset in benchmark.selected_subsets():
        samples.extend(benchmark.load(subset, loader))
    return samples


def load_leaves(leaves: list[FlatDataset], instances: list[Benchmark], loader: DatasetLoader) -> list[list[Sample]]:
    """Every leaf's samples. A leaf that cannot be loaded does not stop the others: one error names
    all of them, so that one build run shows everything to fix (one hub error per benchmark)."""
    pools: list[list[Sample]] = []
    failures: dict[str, tuple[str, DatasetError]] = {}
    for leaf, bench in zip(leaves, instances, strict=True):
        if leaf.name in failures:  # the same benchmark again (another group): the same error
            pools.append([])
            continue
        try:
            pools.append(load_leaf(bench, loader))
        except DatasetError as exc:
            failures[leaf.name] = (f"{leaf.name} ({'/'.join(leaf.categories)}): {exc}", exc)
            pools.append([])
    if len(failures) == 1:
        raise next(iter(failures.values()))[1]
    if failures:
        lines = "\n  ".join(text for text, _ in failures.values())
        raise DatasetError(
            f"{len(failures)} of the schema's datasets cannot be loaded (fix them all, then build again):\n  {lines}"
        )
    return pools


def build_collection(
    schema: Collection,
    n: int,
    *,
    seed: int = 42,
    sampler: str = "weighted",
    datasets: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    bench_args: Mapping[str, Mapping[str, str]] | None = None,
    hub: str = "auto",
) -> tuple[list[CollectionRecord], list[DatasetCount]]:
    """The sampled records (indexed 0..N-1 in schema order) and the per-dataset counts.

    Raises CollectionError for an unknown benchmark, ConfigError for a bad benchmark argument and
    DatasetError when a dataset cannot be read."""
    benchmarks = all_benchmarks()
    leaves = schema.flatten()
    shares = [leaf.share for leaf in leaves]
    if not all(math.isfinite(share) and share >= 0 for share in shares) or not math.isclose(
        sum(shares), 1.0, rel_tol=1e-6
    ):
        raise CollectionError(
            f"the schema's weights give shares that do not add up to 1 ({sum(shares)!r}); "
            "give every group and dataset a finite weight > 0"
        )
    loader = DatasetLoader(datasets, base_dir=base_dir, hub=hub)
    instances = [leaf_benchmark(leaf, benchmarks, bench_args) for leaf in leaves]  # every name checked before any load
    pools = load_leaves(leaves, instances, loader)
    sizes = [len(pool) for pool in pools]
    counts = allot(n, sampler_weights(sampler, [leaf.share for leaf in leaves], sizes), sizes)
    records: list[CollectionRecord] = []
    report: list[DatasetCount] = []
    for position, (leaf, bench, pool, count) in enumerate(zip(leaves, instances, pools, counts, strict=True)):
        task_type = leaf.task_type or type(bench).task_type
        for offset in choose(len(pool), count, seed, position, leaf.name):
            sample = pool[offset]
            records.append(
                CollectionRecord(
                    index=len(records),
                    prompt=portable_prompt(bench, sample),
                    tags=leaf.tags,
                    categories=leaf.categories,
                    task_type=task_type,
                    weight=leaf.share / count,
                    dataset_name=leaf.name,
                    subset_name=sample.subset,
                )
            )
        report.append(DatasetCount(leaf.name, tuple(leaf.categories), leaf.share, len(pool), count))
    return records, report


def portable_prompt(benchmark: Benchmark, sample: Sample) -> dict[str, Any]:
    """The sample as a collection record's `prompt`. A multimodal sample's media are inlined as the
    reference system's files carry them: its `input` becomes the chat messages with their content
    parts (images as base64 data: URLs, audio as base64 `input_audio`), so the file stands alone."""
    prompt = sample.model_dump(mode="json")
    if "segments" in sample.metadata:
        prompt["input"] = benchmark.messages(sample)
        prompt["metadata"] = {k: v for k, v in sample.metadata.items() if k not in ("segments", "media_error")}
    return prompt


def write_collection(records: list[CollectionRecord], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(record.line())


def count_lines(counts: list[DatasetCount], sampler: str) -> list[str]:
    """The per-dataset table the CLI prints."""
    from ..texttable import format_table

    rows = [
        [
            "/".join(c.categories),
            c.name,
            f"{c.share:.4f}",
            str(c.available),
            str(c.taken),
            "all" if c.taken == c.available else "",
        ]
        for c in counts
    ]
    total = sum(c.taken for c in counts)
    rows.append(["(total)", "", "1.0000", str(sum(c.available for c in counts)), str(total), ""])
    return [f"sampler: {sampler}", *format_table(["group", "dataset", "share", "available", "taken", ""], rows)]
