"""Reads benchmark rows from a dataset hub or from local files (`--llm-dataset`).

Local overrides, most specific first:

* `NAME.SUBSET=PATH`: every row of PATH belongs to that subset.
* `NAME=FILE`: rows of all subsets; with several subsets a row names its own in the benchmark's
  subset field (`subset` unless the benchmark says otherwise). A file whose rows have no such field
  is used whole when `-m` selects only one subset of the benchmark (a one-config file such as
  ARC-Challenge's `test.jsonl`).
* `NAME=DIR`: a `save_to_disk` folder (a Dataset or a DatasetDict, whose split is used), a folder
  holding one file per subset (`DIR/SUBSET.jsonl`, `DIR/SUBSET/test.csv`), or a hub snapshot of either
  hub (`snapshot_download`): `DIR/<config>/<split>-*.parquet`, `DIR/data/<split>-*.parquet`,
  `DIR/<split>.jsonl`, `DIR/<split>/<config>.csv`, `DIR/<name>.csv` (see `snapshot_files`).

Files (read by `files.py`): `.jsonl`, `.json`, `.csv`, `.tsv`, `.parquet`, each also compressed as shipped (`.gz`,
`.bz2`, `.xz`: HumanEval ships as `HumanEval.jsonl.gz`). JSONL and CSV are parsed here, not by
`datasets`, so a malformed row (or a byte that is not UTF-8) is reported as `file:line` and rows
stream one at a time (a 100k-row file is never held whole in memory). A file without any row is an
error, never an empty run; so is a selected subset that yields no row (`DatasetLoader.empty_subset_error`).

Hubs: see `hubs.py` (Hugging Face through `datasets`, ModelScope through the `modelscope` client).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError, DatasetError, SubsetAbsentError
from .base import Benchmark, Override, RecordLoader, Sample
from .files import (
    COMPRESSIONS,
    DATA_SUFFIXES,
    FILE_SUFFIXES,
    Located,
    _listing,
    data_kind,
    find_subset_file,
    is_data_file,
    is_saved_dataset,
    read_path,
    read_paths,
    snapshot_files,
)

# the file readers live in `files.py` (shared with `hubs.py` without an import circle); named here too
# because benchmarks and tests import them from the loader
__all__ = [
    "COMPRESSIONS",
    "DATA_SUFFIXES",
    "FILE_SUFFIXES",
    "HUB_SOURCE",
    "DatasetLoader",
    "Located",
    "SubsetScan",
    "data_kind",
    "find_subset_file",
    "is_data_file",
    "is_saved_dataset",
    "normalized",
    "read_path",
    "read_paths",
    "snapshot_files",
    "subset_name",
]

HUB_SOURCE = "the hub"  # SubsetScan.source of rows from a hub (else a local path)


def normalized(value: Any) -> str:
    """A subset-field value as a mark-style name: `Counting & Probability` -> `counting_and_probability`."""
    text = str(value).replace("&", " and ").strip().lower()
    return re.sub(r"\W+", "_", text).strip("_")


def in_subset(value: Any, subset: str, label: str | None = None) -> bool:
    """Whether a row whose subset field holds `value` belongs to `subset` (which the dataset may call
    `label`): the value as written, or as a mark-style name (`Counting & Probability` ==
    `counting_and_probability`). The one membership rule of evaluated rows (`filter_subset`),
    few-shot rows (`fewshot.py`) and file benchmarks (`custom.py`); a missing field is each caller's
    own case."""
    wanted = {subset, label or subset}
    return str(value) in wanted or normalized(value) in {normalized(w) for w in wanted}


@dataclass
class SubsetScan:
    """What the rows of one subset looked like, for the error when none matched."""

    field: str | None = None
    rows: int = 0
    matched: int = 0
    values: dict[str, int] = dc_field(default_factory=dict)
    fields: list[str] = dc_field(default_factory=list)
    source: str = ""

    def see(self, record: Mapping[str, Any], value: Any | None) -> None:
        self.rows += 1
        if not self.fields:
            self.fields = [str(k) for k in record]
        if value is not None and (len(self.values) < 8 or str(value) in self.values):
            self.values[str(value)] = self.values.get(str(value), 0) + 1


class DatasetLoader(RecordLoader):
    """Rows of a benchmark subset, from `--llm-dataset` overrides or from a hub.

    `hub`: `auto` (each benchmark's canonical home), `huggingface` or `modelscope`.
    `selected`: benchmark -> the subsets `-m` selected (decides whether a one-config file is used whole).
    """

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        base_dir: Path | None = None,
        *,
        hub: str = "auto",
        selected: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.overrides = dict(overrides or {})
        self.base_dir = base_dir or Path.cwd()
        self.hub = hub
        self.selected = {name: list(subsets) for name, subsets in (selected or {}).items()}
        self.last_scan: dict[str, SubsetScan] = {}  # benchmark -> the scan of its latest subset

    # -- RecordLoader ------------------------------------------------------------------------

    def override(self, name: str, subset: str | None = None, *, split: str | None = None) -> Override | None:
        tail = f":{split}" if split else ""
        keys = ((f"{name}.{subset}{tail}", True),) if subset is not None else ()
        for key, per_subset in (*keys, (f"{name}{tail}", False)):
            raw = self.overrides.get(key)
            if raw is not None:
                return Override(key=key, raw=raw, path=self.resolve_path(raw), per_subset=per_subset)
        return None

    def resolve_path(self, raw: str) -> Path:
        """An `--llm-dataset` path as given (`~` expanded; relative to the base folder, the invocation's)."""
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def records(self, benchmark: Benchmark, subset: str) -> Iterator[Located]:
        scan = self.last_scan[benchmark.name] = SubsetScan()
        local = self.override(benchmark.name, subset)
        if local is None:
            yield from self._from_hub(benchmark, subset, scan)
            return
        path = self._existing(local)
        scan.source = str(path)
        if local.per_subset:
            yield from self._counted(read_path(path, split=self._split(benchmark)), scan)
        else:
            yield from self._from_override(benchmark, subset, path, scan)

    def to_sample(self, benchmark: Benchmark, record: Mapping[str, Any], index: int, subset: str, where: str) -> Sample:
        try:
            return benchmark.record_to_sample(record, index, subset)
        except KeyError as exc:
            aliases = f" (nor its aliases {', '.join(map(repr, exc.args[1:]))})" if len(exc.args) > 1 else ""
            raise DatasetError(
                f"row has no field {exc.args[0]!r}{aliases} needed by benchmark {benchmark.name!r} "
                f"(fields present: {', '.join(map(str, record)) or 'none'})",
                source=where,
            ) from None
        except (ValueError, TypeError, ValidationError, IndexError, AttributeError) as exc:
            raise DatasetError(f"row cannot become a {benchmark.name!r} sample: {exc}", source=where) from None

    def empty_subset_error(self, benchmark: Benchmark, subset: str) -> DatasetError:
        """The error for a selected subset that gave no sample: which field was looked at, and what
        the rows hold instead (never an empty run)."""
        scan = self.last_scan.get(benchmark.name) or SubsetScan()
        where = f" in {scan.source}" if scan.source else ""
        if scan.rows == 0:
            detail = "the data has no rows"
        elif scan.field is not None and scan.matched == 0:
            seen = ", ".join(f"{value!r} ({count})" for value, count in scan.values.items()) or "none"
            detail = (
                f"{scan.rows} rows were read and none has {scan.field!r} = {subset!r}; "
                f"values of {scan.field!r} seen: {seen}; the rows' fields: {', '.join(scan.fields) or 'none'}"
            )
        else:
            detail = (
                f"{scan.rows} rows were read and the benchmark kept none of them (fields: {', '.join(scan.fields)})"
            )
        message = (
            f"subset {subset!r} of {benchmark.name!r} yielded no samples{where}: {detail}. Pass rows of this "
            f"subset (--llm-dataset {benchmark.name}.{subset}=PATH takes every row of PATH), or deselect it with -m"
        )
        if scan.field is not None and scan.rows and not scan.matched and scan.source and scan.source != HUB_SOURCE:
            # a local file whose rows name their subsets, none this one: the file covers other subsets
            return SubsetAbsentError(message, subset=subset, source=scan.source)
        return DatasetError(message)

    # -- local files -------------------------------------------------------------------------

    @staticmethod
    def _existing(local: Override) -> Path:
        if not local.path.exists():
            raise ConfigError(f"--llm-dataset path {local.raw!r} does not exist (looked at {local.path}); fix the path")
        return local.path

    @staticmethod
    def _split(benchmark: Benchmark) -> str:
        return benchmark.source.split if benchmark.source else "test"

    @staticmethod
    def _counted(rows: Iterable[Located], scan: SubsetScan) -> Iterator[Located]:
        for record, where in rows:
            scan.see(record, None)
            scan.matched += 1
            yield record, where

    def _names(self, benchmark: Benchmark, subset: str) -> list[str]:
        """Folder/file names that may hold `subset`: itself, then the dataset's one configuration."""
        names = [subset]
        source = benchmark.source
        if source is not None and source.config and len(benchmark.subsets) == 1 and source.config not in names:
            names.append(source.config)
        return names

    def _from_override(self, benchmark: Benchmark, subset: str, path: Path, scan: SubsetScan) -> Iterator[Located]:
        split = self._split(benchmark)
        if path.is_dir() and not is_saved_dataset(path):
            files = snapshot_files(path, split, self._names(benchmark, subset))
            if files:
                yield from self._counted(read_paths(files, split), scan)
                return
            whole = snapshot_files(path, split, (), only_file=len(benchmark.subsets) == 1)
            if not whole:
                raise DatasetError(
                    f"folder has no file for subset {subset!r} of {benchmark.name!r} (split {split!r}): expected "
                    f"{subset}.jsonl (or .json/.csv/.parquet, optionally .gz/.bz2/.xz), {subset}/{split}*.*, "
                    f"{split}/{subset}.*, {split}.jsonl or data/{split}-*.parquet; the folder holds: "
                    f"{_listing(path)}",
                    source=str(path),
                )
            yield from self.filter_subset(benchmark, subset, read_paths(whole, split), scan)
            return
        yield from self.filter_subset(benchmark, subset, read_path(path, split=split), scan)

    def filter_subset(
        self,
        benchmark: Benchmark,
        subset: str,
        rows: Iterable[Located],
        scan: SubsetScan | None = None,
        *,
        field_names: Sequence[str] | None = None,
        label: str | None = None,
    ) -> Iterator[Located]:
        """The rows of a file of several subsets that belong to `subset` (the dataset calls it
        `label`), matched on the subset field (`field_names`: the field and its aliases). A benchmark
        with one subset takes every row; so does a file without the field when `-m` selected only
        this subset of the benchmark."""
        if scan is None:
            scan = self.last_scan[benchmark.name] = SubsetScan()
        primary = benchmark.source.subset_field if benchmark.source else "subset"
        names = list(field_names or (primary,))
        scan.field = names[0]
        several = len(benchmark.subsets) > 1
        only_this = len(self.selected.get(benchmark.name, ())) == 1  # the subset being loaded is that one
        for record, where in rows:
            key = next((n for n in names if n in record), None)
            value = record.get(key) if key is not None else None
            scan.see(record, value)
            if not several:
                scan.matched += 1
                yield record, where
            elif key is None:
                if only_this:
                    scan.matched += 1
                    yield record, where
                    continue
                raise DatasetError(
                    f"benchmark {benchmark.name!r} has several subsets and this row has no {names[0]!r} field "
                    f"(fields: {', '.join(map(str, record)) or 'none'}); add it, pass one file per subset with "
                    f"--llm-dataset {benchmark.name}.SUBSET=PATH, or select only one subset with -m "
                    "to use the file whole",
                    source=where,
                )
            elif in_subset(value, subset, label):
                scan.matched += 1
                yield record, where

    # -- the hub -----------------------------------------------------------------------------

    def _from_hub(self, benchmark: Benchmark, subset: str, scan: SubsetScan) -> Iterator[Located]:
        from .hubs import hub_rows

        source = benchmark.source
        if source is None:
            raise DatasetError(
                f"benchmark {benchmark.name!r} has no hub source; pass --llm-dataset {benchmark.name}=PATH"
            )
        fix = f"pass --llm-dataset {benchmark.name}=PATH" + (
            f" (or --llm-dataset {benchmark.name}.{subset_name(benchmark, subset)}=PATH for this subset)"
            if len(benchmark.subsets) > 1
            else ""
        )
        rows, by_config = hub_rows(benchmark, subset, source.split, self.hub, fix)
        scan.source = HUB_SOURCE
        if by_config:
            yield from self._counted(rows, scan)
        else:
            yield from self.filter_subset(benchmark, subset, rows, scan)


def subset_name(benchmark: Benchmark, label: str) -> str:
    """The subset as `--llm-list` and `-m` name it (`aime2025_i`, `level2`) for the dataset's own
    label (`AIME2025-I`, `2`), so that a suggested `--llm-dataset NAME.SUBSET=PATH` uses that name."""
    if label in benchmark.subsets:
        return label
    for subset in benchmark.subsets:
        if normalized(subset) == normalized(label) or (subset.endswith(label) and subset[: -len(label)].isalpha()):
            return subset
    return label
