"""Few-shot rows: the first rows of a benchmark's few-shot split (`DatasetSource.few_shot_split`).

The evaluated split and the few-shot split are different files, so local data needs both. Where the
few-shot rows of subset S (dataset name L) are looked up, first match wins:

1. `--llm-dataset NAME.S:SPLIT=PATH`: every row of PATH;
2. `--llm-dataset NAME:SPLIT=PATH`: a file whose rows name their subset (as the real dataset's field
   does), or a folder with `S.jsonl` / `L.jsonl` (`.json/.csv/.parquet`, or a `S/` folder);
3. the evaluated data's own `--llm-dataset` path, when it is a `save_to_disk` DatasetDict holding
   SPLIT, or a folder with `S/SPLIT*.jsonl` beside `S/test*.jsonl` (the layout of a hub snapshot);
4. the hub the evaluated rows come from (`--llm-hub`: Hugging Face or ModelScope), only when they
   come from a hub too.

Local evaluated data without any of 1-3 is an error that names the option to add, rather than a
silent zero-shot run, when `few_shot_num` was given. When the count is the protocol's default (the
`evalscope` protocol's 4-shot GSM8K, 5-shot MMLU...), the run goes on zero-shot with a
`ProtocolWarning` that says its prompts are not the protocol's and how to fix it. The rows come in
dataset order; fewer than asked are used when the split is short (MMLU and C-Eval have exactly 5 per subject).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatasetError
from .base import Benchmark, Override, RecordLoader
from .loading import FILE_SUFFIXES, find_subset_file, in_subset, is_saved_dataset, read_path
from .protocols import ProtocolWarning

Record = Mapping[str, Any]


def few_shot_num(benchmark: Benchmark, maximum: int | None = None) -> int:
    """The `few_shot_num` argument as an int, checked (`--llm-bench-arg NAME.few_shot_num=5`)."""
    raw = benchmark.args.get("few_shot_num", "0")
    try:
        count = int(raw)
    except ValueError:
        raise ConfigError(f"{benchmark.name}.few_shot_num must be a whole number, got {raw!r}") from None
    if count < 0 or (maximum is not None and count > maximum):
        limit = f"0-{maximum}" if maximum is not None else ">= 0"
        raise ConfigError(f"{benchmark.name}.few_shot_num must be {limit}, got {count}")
    return count


def few_shot_records(
    benchmark: Benchmark, subset: str, loader: RecordLoader, count: int, *, label: str | None = None
) -> list[Record]:
    """Up to `count` rows of the few-shot split for `subset` (named `label` in the dataset)."""
    if count <= 0:
        return []
    source = benchmark.source
    split = source.few_shot_split if source else None
    if source is None or not split:
        raise ConfigError(
            f"benchmark {benchmark.name!r} has no few-shot split; use --llm-bench-arg {benchmark.name}.few_shot_num=0"
        )
    label = label or subset
    local = _local_rows(benchmark, subset, label, split, loader)
    if local is not None:
        return list(islice(local, count))
    name = benchmark.name
    evaluated_local = loader.override(name, subset) is not None
    if evaluated_local and getattr(benchmark, "few_shot_from_protocol", False):
        protocol = getattr(benchmark, "protocol", None)
        warnings.warn(
            f"{name} subset {subset!r}: the {protocol.name if protocol else ''} protocol sends {count} solved examples "
            f"from the {split!r} split, and the local data has none, so these prompts are zero-shot (not the "
            f"protocol's). Pass --llm-dataset {name}:{split}=PATH for the examples, or --llm-protocol {name}=native "
            f"or --llm-bench-arg {name}.few_shot_num=0 to ask for zero-shot.",
            ProtocolWarning,
            stacklevel=2,
        )
        return []
    if evaluated_local:
        raise DatasetError(
            f"{name}.few_shot_num={count} needs rows of the {split!r} split for subset {subset!r}, and the "
            f"evaluated rows are local: pass --llm-dataset {name}:{split}=PATH (a file or folder of that split), "
            f"or --llm-bench-arg {name}.few_shot_num=0"
        )
    return list(islice(_hub_rows(benchmark, label, split, loader.hub), count))


def _matching(benchmark: Benchmark, rows: Iterator[tuple[Record, str]], label: str, subset: str) -> Iterator[Record]:
    """Rows of one subset from a file of several: matched on the subset field (a file without that
    field is taken to hold only this subset)."""
    field = benchmark.source.subset_field if benchmark.source else "subset"
    for record, _where in rows:
        value = record.get(field)
        if value is None or len(benchmark.subsets) == 1 or in_subset(value, subset, label):
            yield record


def _local_rows(
    benchmark: Benchmark, subset: str, label: str, split: str, loader: RecordLoader
) -> Iterator[Record] | None:
    """Few-shot rows from `--llm-dataset` (None when none is given): `NAME.SUBSET:SPLIT` (or
    `NAME.LABEL:SPLIT`), then `NAME:SPLIT`, then the split inside the evaluated rows' own
    `NAME.SUBSET` / `NAME` (a `save_to_disk` DatasetDict, or `DIR/SUBSET/<split>*`)."""
    name = benchmark.name
    for own in (loader.override(name, subset, split=split), loader.override(name, label, split=split)):
        if own is not None and own.per_subset:
            return (record for record, _ in read_path(_existing(own), split=split))
    shared = loader.override(name, split=split)
    if shared is not None:
        path = _existing(shared)
        if path.is_dir() and not is_saved_dataset(path):
            found = find_subset_file(path, subset, split) or find_subset_file(path, label, split)
            if found is None:
                raise DatasetError(
                    f"few-shot folder has no file for subset {subset!r}: expected {subset}.jsonl "
                    f"(or .json/.csv/.parquet) or a {subset}/ folder",
                    source=str(path),
                )
            return (record for record, _ in read_path(found, split=split))
        return _matching(benchmark, read_path(path, split=split), label, subset)
    own, whole = loader.override(name, subset), loader.override(name)
    for local in (own, whole) if own != whole else (whole,):
        if local is None:
            continue
        path = local.path
        if is_saved_dataset(path) and _saved_has_split(path, split):
            return _matching(benchmark, read_path(path, split=split), label, subset)
        if path.is_dir() and not local.per_subset:
            for folder in (path / subset, path / label):
                found = _split_file(folder, split)
                if found is not None:
                    return (record for record, _ in read_path(found, split=split))
    return None


def _existing(local: Override) -> Path:
    if not local.path.exists():
        raise ConfigError(f"--llm-dataset {local.key} path {local.raw!r} does not exist (looked at {local.path})")
    return local.path


def _saved_has_split(path: Path, split: str) -> bool:
    return (path / "dataset_dict.json").exists() and (path / split).is_dir()


def _split_file(folder: Path, split: str) -> Path | None:
    if not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(f"{split}*")):
        if candidate.suffix in FILE_SUFFIXES and candidate.is_file():
            return candidate
    return None


def _hub_rows(benchmark: Benchmark, label: str, split: str, hub: str) -> Iterator[Record]:
    """The few-shot split of subset `label` from the hub the evaluated rows come from (`--llm-hub`)."""
    from .hubs import hub_rows

    source = benchmark.source
    assert source is not None
    fix = (
        f"pass --llm-dataset {benchmark.name}:{split}=PATH for the few-shot rows, "
        f"or use --llm-bench-arg {benchmark.name}.few_shot_num=0"
    )
    # strict: a snapshot without the few-shot split must not lend its test file as examples
    rows, only_this_subset = hub_rows(benchmark, label, split, hub, fix, strict=True)
    if only_this_subset:
        yield from (record for record, _where in rows)
    else:
        yield from _matching(benchmark, rows, label, label)
