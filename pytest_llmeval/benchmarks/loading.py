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

Files: `.jsonl`, `.json`, `.csv`, `.tsv`, `.parquet`, each also compressed as shipped (`.gz`,
`.bz2`, `.xz`: HumanEval ships as `HumanEval.jsonl.gz`). JSONL and CSV are parsed here, not by
`datasets`, so a malformed row (or a byte that is not UTF-8) is reported as `file:line` and rows
stream one at a time (a 100k-row file is never held whole in memory). A file without any row is an
error, never an empty run; so is a selected subset that yields no row (`DatasetLoader.empty_subset_error`).

Hubs: see `hubs.py` (Hugging Face through `datasets`, ModelScope through the `modelscope` client).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ..errors import ConfigError, DatasetError, SubsetAbsentError
from .base import Benchmark, Override, RecordLoader, Sample

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# `path.suffix` of every file read_path accepts (the compressed ones end in .gz/.bz2/.xz)
FILE_SUFFIXES = (*DATA_SUFFIXES, *COMPRESSIONS)
Located = tuple[Mapping[str, Any], str]
HUB_SOURCE = "the hub"  # SubsetScan.source of rows from a hub (else a local path)


def data_kind(path: Path) -> tuple[str, str | None] | None:
    """(`.jsonl`|`.json`|`.csv`|`.tsv`|`.parquet`, compression suffix or None) of a file name; None
    when it is no data file (`README.md`, `.gitattributes`)."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSIONS else None
    inner = suffixes[-2] if compression and len(suffixes) >= 2 else (suffixes[-1] if suffixes and not compression else None)
    if inner in DATA_SUFFIXES and not (compression and inner == ".parquet"):
        return inner, compression
    return None


def is_data_file(path: Path) -> bool:
    return path.is_file() and data_kind(path) is not None


def normalized(value: Any) -> str:
    """A subset-field value as a mark-style name: `Counting & Probability` -> `counting_and_probability`."""
    text = str(value).replace("&", " and ").strip().lower()
    return re.sub(r"\W+", "_", text).strip("_")


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

    def to_sample(
        self, benchmark: Benchmark, record: Mapping[str, Any], index: int, subset: str, where: str
    ) -> Sample:
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
            detail = f"{scan.rows} rows were read and the benchmark kept none of them (fields: {', '.join(scan.fields)})"
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
        wanted = {subset, label or subset}
        wanted_norm = {normalized(w) for w in wanted}
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
                    f"--llm-dataset {benchmark.name}.SUBSET=PATH, or select only one subset with -m to use the file whole",
                    source=where,
                )
            elif str(value) in wanted or normalized(value) in wanted_norm:
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
            if len(benchmark.subsets) > 1 else ""
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
        if normalized(subset) == normalized(label) or subset.endswith(label) and subset[: -len(label)].isalpha():
            return subset
    return label


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_dict.json").exists() or (path / "state.json").exists() or (path / "dataset_info.json").exists()
    )


def _listing(folder: Path, limit: int = 12) -> str:
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts)
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} files)" if len(names) > limit else "")
    return shown or "no files"


def _data_files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if is_data_file(p))


def snapshot_files(
    folder: Path, split: str, names: Sequence[str], *, only_file: bool = False, strict: bool = False
) -> list[Path]:
    """The data files of `split` in a folder laid out as a hub snapshot, for the first of `names`
    (a subset, a configuration) that has any; with no names, the split's files of a one-config
    snapshot. Empty when nothing matches. Patterns, in order, for a name N:

    `N.jsonl` (any data suffix, optionally compressed), `N/<split>.*`, `N/<split>-*.parquet` (shards),
    `N/<split>_*`, `N/data/<split>-*`, `N/<split>/*`, `data/N/<split>*`, `data/N-<split>*`,
    `<split>/N.*` and `<split>/N_<split>.*` (the C-Eval and CMMLU releases), `N_<split>.*`, `N-<split>.*`,
    or `N/` holding exactly one data file or a `save_to_disk` folder. Without a name: `<split>.*`,
    `<split>-*`, `data/<split>-*`, `data/<split>.*`, `<split>/*`, `default/<split>-*`,
    `default/<split>.*`, then (`only_file`, for a benchmark of one subset) the folder's only data
    file (`HumanEval.jsonl.gz`). `strict`: only paths that name the split (never `N.*`, a lone file
    of `N/` or `only_file`), for a split that must not be confused with the evaluated one (few-shot
    rows)."""
    for name in names:
        inner = folder / name
        if inner.is_dir() and is_saved_dataset(inner):
            return [inner]
        for pattern in (
            *(() if strict else (f"{name}.*",)), f"{name}/{split}.*", f"{name}/{split}-*", f"{name}/{split}_*", f"{name}/data/{split}-*",
            f"{name}/{split}/*", f"data/{name}/{split}*", f"data/{name}-{split}*", f"{split}/{name}.*",
            f"{split}/{name}_{split}.*", f"{name}_{split}.*", f"{name}-{split}.*",
        ):
            found = _data_files(folder, pattern)
            if found:
                return found
        if inner.is_dir() and not strict:
            found = _data_files(inner, "*")
            if len(found) == 1:
                return found
    if names:
        return []
    for pattern in (
        f"{split}.*", f"{split}-*", f"data/{split}-*", f"data/{split}.*", f"{split}/*",
        f"default/{split}-*", f"default/{split}.*",  # a ModelScope dataset's one `default` subset
    ):
        found = _data_files(folder, pattern)
        if found:
            return found
    if not only_file or strict:
        return []
    found = [p for p in folder.rglob("*") if is_data_file(p) and ".git" not in p.parts]
    return found if len(found) == 1 else []


def find_subset_file(folder: Path, subset: str, split: str) -> Path | None:
    """The first file of `subset` in a folder of per-subset files or a hub snapshot (see `snapshot_files`)."""
    found = snapshot_files(folder, split, (subset,))
    return found[0] if found else None


def read_paths(paths: Sequence[Path], split: str = "test") -> Iterator[Located]:
    for path in paths:
        yield from read_path(path, split=split)


def read_path(path: Path, split: str = "test") -> Iterator[Located]:
    """Rows of one file or save_to_disk folder, each with where it came from (`file:line`). A file
    without any row is a DatasetError."""
    rows = 0
    if path.is_dir():
        reader: Iterator[Located] = _read_saved(path, split)
    else:
        kind = data_kind(path)
        if kind is None:
            raise DatasetError(
                "unsupported dataset file type; use .jsonl, .json, .csv, .tsv or .parquet (optionally compressed "
                ".gz, .bz2 or .xz) or a save_to_disk folder",
                source=str(path),
            )
        suffix, compression = kind
        readers = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv, ".tsv": _read_csv, ".parquet": _read_parquet}
        reader = readers[suffix](path)
    for located in reader:
        rows += 1
        yield located
    if rows == 0:
        raise DatasetError(
            "the file holds no rows (empty, blank lines only, or a header without data); pass a file with data",
            source=str(path),
        )


def _open_binary(path: Path) -> IO[bytes]:
    kind = data_kind(path)
    opener = COMPRESSIONS.get(kind[1]) if kind and kind[1] else None
    try:
        return opener(path, "rb") if opener else path.open("rb")  # type: ignore[operator]
    except OSError as exc:
        raise DatasetError(f"cannot open the file ({exc.strerror or exc})", source=str(path)) from None


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded here so that a byte that is not UTF-8 (or a damaged
    compressed stream) names its line."""
    number = 0
    with _open_binary(path) as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise DatasetError(
                        f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); re-save the file "
                        "as UTF-8, e.g. `iconv -f GB18030 -t UTF-8 FILE > FILE.utf8`",
                        source=str(path),
                        line=number,
                    ) from None
                yield number, text
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise DatasetError(
                f"the compressed file is damaged after line {number} ({exc}); download it again", source=str(path)
            ) from None


def _read_jsonl(path: Path) -> Iterator[Located]:
    for number, line in _text_lines(path):
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
    with _open_binary(path) as handle:
        try:
            raw = handle.read()
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise DatasetError(f"the compressed file is damaged ({exc}); download it again", source=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8",
            source=str(path),
            line=raw[: exc.start].count(b"\n") + 1,
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise DatasetError(f"malformed JSON ({getattr(exc, 'msg', exc)})", source=str(path), line=line) from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise DatasetError("expected a JSON list of objects (or an object holding one)", source=str(path))
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise DatasetError(f"item {index} is not an object", source=str(path))
        yield record, f"{path}[{index}]"


def _read_csv(path: Path) -> Iterator[Located]:
    kind = data_kind(path)
    delimiter = "\t" if kind and kind[0] == ".tsv" else ","
    lines = _text_lines(path)
    reader = csv.DictReader((text for _number, text in lines), delimiter=delimiter)
    header = reader.fieldnames or []
    if len(header) == 1:
        cell = header[0]
        guess = next((d for d in (";", "\t", "|") if d in cell), None)
        if guess is not None:
            name = {";": "';'", "\t": "a tab", "|": "'|'"}[guess]
            raise DatasetError(
                f"the header has one column {cell[:80]!r}: the file looks separated by {name}, not commas; "
                f"save it comma-separated" + (" or name it .tsv" if guess == "\t" else ""),
                source=str(path),
                line=1,
            )
    for record in reader:
        if None in record:  # more cells than header columns
            raise DatasetError(
                f"row has {len(header) + len(record[None])} cells but the header has {len(header)}",  # type: ignore[index]
                source=str(path),
                line=reader.line_num,
            )
        yield record, f"{path}:{reader.line_num}"


def _read_parquet(path: Path) -> Iterator[Located]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"not a readable parquet file ({exc}); download it again", source=str(path)) from None
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
