"""Reads benchmark rows from the hub (through `datasets`) or from local files (`--llm-dataset`).

Local overrides, most specific first:

* `NAME.SUBSET=PATH`: every row of PATH belongs to that subset.
* `NAME=FILE`: rows of all subsets; with several subsets a row names its own in the benchmark's
  subset field (`subset` unless the benchmark says otherwise).
* `NAME=DIR`: a `save_to_disk` folder (a Dataset or a DatasetDict, whose split is used), or a folder
  holding one file per subset (`DIR/SUBSET.jsonl`, `.json`, `.csv`, `.parquet`, or `DIR/SUBSET/` with
  such a file inside).

JSONL and CSV are parsed here, not by `datasets`, so a malformed row is reported as `file:line` and
rows stream one at a time (a 100k-row file is never held whole in memory).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError, DatasetError
from .base import Benchmark, DatasetSource, RecordLoader, Sample

FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
Located = tuple[Mapping[str, Any], str]


class DatasetLoader(RecordLoader):
    def __init__(self, overrides: Mapping[str, str] | None = None, base_dir: Path | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.base_dir = base_dir or Path.cwd()

    # -- RecordLoader ------------------------------------------------------------------------

    def records(self, benchmark: Benchmark, subset: str) -> Iterator[Located]:
        name = benchmark.name
        if f"{name}.{subset}" in self.overrides:
            yield from read_path(self._path(self.overrides[f"{name}.{subset}"]), split=self._split(benchmark))
            return
        if name in self.overrides:
            yield from self._from_override(benchmark, subset, self._path(self.overrides[name]))
            return
        yield from self._from_hub(benchmark, subset)

    def to_sample(
        self, benchmark: Benchmark, record: Mapping[str, Any], index: int, subset: str, where: str
    ) -> Sample:
        try:
            return benchmark.record_to_sample(record, index, subset)
        except KeyError as exc:
            raise DatasetError(
                f"row has no field {exc.args[0]!r} needed by benchmark {benchmark.name!r} "
                f"(fields present: {', '.join(map(str, record)) or 'none'})",
                source=where,
            ) from None
        except (ValueError, TypeError, ValidationError, IndexError) as exc:
            raise DatasetError(f"row cannot become a {benchmark.name!r} sample: {exc}", source=where) from None

    # -- local files -------------------------------------------------------------------------

    def _path(self, raw: str) -> Path:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        if not path.exists():
            raise ConfigError(f"--llm-dataset path {raw!r} does not exist (looked at {path})")
        return path

    @staticmethod
    def _split(benchmark: Benchmark) -> str:
        return benchmark.source.split if benchmark.source else "test"

    def _from_override(self, benchmark: Benchmark, subset: str, path: Path) -> Iterator[Located]:
        split = self._split(benchmark)
        if path.is_dir() and not is_saved_dataset(path):
            per_subset = find_subset_file(path, subset, split)
            if per_subset is None:
                raise DatasetError(
                    f"folder has no file for subset {subset!r} of {benchmark.name!r}: expected "
                    f"{subset}.jsonl (or .json/.csv/.parquet) or a {subset}/ folder",
                    source=str(path),
                )
            yield from read_path(per_subset, split=split)
            return
        field = benchmark.source.subset_field if benchmark.source else "subset"
        several = len(benchmark.subsets) > 1
        for record, where in read_path(path, split=split):
            if not several:
                yield record, where
            elif field not in record:
                raise DatasetError(
                    f"benchmark {benchmark.name!r} has several subsets and this row has no {field!r} field; "
                    f"add it or pass one file per subset with --llm-dataset {benchmark.name}.SUBSET=PATH",
                    source=where,
                )
            elif str(record[field]) == subset:
                yield record, where

    # -- the hub -----------------------------------------------------------------------------

    def _from_hub(self, benchmark: Benchmark, subset: str) -> Iterator[Located]:
        source = benchmark.source
        if source is None:
            raise DatasetError(
                f"benchmark {benchmark.name!r} has no hub source; pass --llm-dataset {benchmark.name}=PATH"
            )
        config = subset if source.subset_mode == "config" else source.config
        fix = f"pass --llm-dataset {benchmark.name}=PATH" + (
            f" (or --llm-dataset {benchmark.name}.{subset}=PATH for this subset)" if len(benchmark.subsets) > 1 else ""
        )
        dataset = load_hub_split(source, config, source.split, fix)
        label = f"{source.path}[{config or 'default'}/{source.split}]"
        for index, record in enumerate(dataset):
            if source.subset_mode == "field" and str(record.get(source.subset_field)) != subset:
                continue
            yield record, f"{label} row {index}"


_hub_failure: str | None = None  # once the hub is out of reach, later loads fail at once


def load_hub_split(source: DatasetSource, config: str | None, split: str, fix: str) -> Any:
    """One split from the Hugging Face hub through `datasets` (its cache and offline mode apply).
    Any failure becomes one DatasetError that names the dataset and ends with `fix`. After a
    connection failure the hub is not tried again in this process (each try costs ~20 s of retries)."""
    global _hub_failure
    name = source.path + (f" (config {config!r})" if config else "") + f" split {split!r}"
    modelscope = f"; its ModelScope id is {source.modelscope}" if source.modelscope else ""
    if _hub_failure is not None:
        raise DatasetError(
            f"cannot load {name}: the Hugging Face hub was not reachable ({_hub_failure}); {fix}{modelscope}",
            hub_unreachable=True,
        )
    try:
        import datasets

        return datasets.load_dataset(source.path, name=config, split=split)
    except Exception as exc:  # network, auth, missing config: all end the same way for the user
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        unreachable = isinstance(exc, (ConnectionError, OSError)) and "reach" in str(exc).lower() or (
            "offline" in str(exc).lower()
        )
        if unreachable:
            _hub_failure = detail
        raise DatasetError(
            f"cannot load {name} from the Hugging Face hub ({detail}). Download it where the hub is reachable "
            f"(datasets save_to_disk, or the raw jsonl/parquet files) and {fix}{modelscope}",
            hub_unreachable=unreachable,
        ) from None


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_dict.json").exists() or (path / "state.json").exists() or (path / "dataset_info.json").exists()
    )


def find_subset_file(folder: Path, subset: str, split: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{subset}{suffix}"
        if candidate.is_file():
            return candidate
    inner = folder / subset
    if inner.is_dir():
        if is_saved_dataset(inner):
            return inner
        for pattern in (f"{split}*", "*"):
            for candidate in sorted(inner.glob(pattern)):
                if candidate.suffix in FILE_SUFFIXES and candidate.is_file():
                    return candidate
    return None


def read_path(path: Path, split: str = "test") -> Iterator[Located]:
    """Rows of one file or save_to_disk folder, each with where it came from (`file:line`)."""
    if path.is_dir():
        yield from _read_saved(path, split)
    elif path.suffix == ".jsonl":
        yield from _read_jsonl(path)
    elif path.suffix == ".json":
        yield from _read_json(path)
    elif path.suffix == ".csv":
        yield from _read_csv(path)
    elif path.suffix == ".parquet":
        yield from _read_parquet(path)
    else:
        raise DatasetError("unsupported dataset file type; use .jsonl, .json, .csv, .parquet or a save_to_disk folder", source=str(path))


def _read_jsonl(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"malformed JSON ({exc.msg})", source=str(path), line=number) from None
            if not isinstance(record, dict):
                raise DatasetError(f"expected a JSON object, got {type(record).__name__}", source=str(path), line=number)
            yield record, f"{path}:{number}"


def _read_json(path: Path) -> Iterator[Located]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DatasetError(f"malformed JSON ({exc})", source=str(path)) from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise DatasetError("expected a JSON list of objects (or an object holding one)", source=str(path))
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise DatasetError(f"item {index} is not an object", source=str(path))
        yield record, f"{path}[{index}]"


def _read_csv(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            if None in record:  # more cells than header columns
                raise DatasetError(
                    f"row has {len(reader.fieldnames or []) + len(record[None])} cells but the header has "  # type: ignore[index]
                    f"{len(reader.fieldnames or [])}",
                    source=str(path),
                    line=reader.line_num,
                )
            yield record, f"{path}:{reader.line_num}"


def _read_parquet(path: Path) -> Iterator[Located]:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path)
    index = 0
    for batch in table.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            yield record, f"{path}[row {index}]"
            index += 1


def _read_saved(path: Path, split: str) -> Iterator[Located]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DatasetError(f"not a readable save_to_disk folder ({exc})", source=str(path)) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise DatasetError(f"saved DatasetDict has no split {split!r} (has {', '.join(loaded)})", source=str(path))
        loaded = loaded[split]
    for index, record in enumerate(loaded):
        yield record, f"{path}[row {index}]"
