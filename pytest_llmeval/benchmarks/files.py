"""Rows of local dataset files, and which files of a folder hold a split (no benchmark knowledge).

Shared by the loader (`loading.py`, `--llm-dataset`) and the ModelScope hub (`hubs.py`, whose
snapshots are folders of such files), so that neither imports the other.

Files: `.jsonl`, `.json`, `.csv`, `.tsv`, `.parquet`, each also compressed as shipped (`.gz`,
`.bz2`, `.xz`), or a `save_to_disk` folder. Each row comes with where it came from (`file:line`,
`file[row N]`); a malformed row, a byte that is not UTF-8 or a file without rows is a DatasetError
naming the file (and line).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import DatasetError

Located = tuple[Mapping[str, Any], str]

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# `path.suffix` of every file read_path accepts (the compressed ones end in .gz/.bz2/.xz)
FILE_SUFFIXES = (*DATA_SUFFIXES, *COMPRESSIONS)
# What one row (a line of .jsonl / .csv) or a whole .json file may hold once decompressed: a 3 MB .gz from a
# hub can inflate to gigabytes in one line, which would be read whole into memory before any check.
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = 256 * 1024 * 1024  # as a results JSON read back (docs/security.md)


def data_kind(path: Path) -> tuple[str, str | None] | None:
    """(`.jsonl`|`.json`|`.csv`|`.tsv`|`.parquet`, compression suffix or None) of a file name; None
    when it is no data file (`README.md`, `.gitattributes`)."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSIONS else None
    inner = (
        suffixes[-2] if compression and len(suffixes) >= 2 else (suffixes[-1] if suffixes and not compression else None)
    )
    if inner in DATA_SUFFIXES and not (compression and inner == ".parquet"):
        return inner, compression
    return None


def is_data_file(path: Path) -> bool:
    return path.is_file() and data_kind(path) is not None


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
    folder: Path,
    split: str,
    names: Sequence[str],
    *,
    only_file: bool = False,
    strict: bool = False,
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
            *(() if strict else (f"{name}.*",)),
            f"{name}/{split}.*",
            f"{name}/{split}-*",
            f"{name}/{split}_*",
            f"{name}/data/{split}-*",
            f"{name}/{split}/*",
            f"data/{name}/{split}*",
            f"data/{name}-{split}*",
            f"{split}/{name}.*",
            f"{split}/{name}_{split}.*",
            f"{name}_{split}.*",
            f"{name}-{split}.*",
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
        f"{split}.*",
        f"{split}-*",
        f"data/{split}-*",
        f"data/{split}.*",
        f"{split}/*",
        f"default/{split}-*",
        f"default/{split}.*",  # a ModelScope dataset's one `default` subset
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
        suffix, _compression = kind
        readers = {
            ".jsonl": _read_jsonl,
            ".json": _read_json,
            ".csv": _read_csv,
            ".tsv": _read_csv,
            ".parquet": _read_parquet,
        }
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
            while raw := handle.readline(MAX_LINE_BYTES + 1):
                number += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise DatasetError(
                        f"the line is longer than {MAX_LINE_BYTES // 2**20} MiB (decompressed): not a dataset row",
                        source=str(path),
                        line=number,
                    )
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
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:  # zlib: a damaged .gz
            raise DatasetError(
                f"the compressed file is damaged after line {number} ({exc}); download it again",
                source=str(path),
            ) from None


def _read_jsonl(path: Path) -> Iterator[Located]:
    for number, line in _text_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:  # a huge integer or deep nesting too, not only bad syntax
            raise DatasetError(f"malformed JSON ({_json_problem(exc)})", source=str(path), line=number) from None
        if not isinstance(record, dict):
            raise DatasetError(
                f"expected a JSON object, got {type(record).__name__}",
                source=str(path),
                line=number,
            )
        yield record, f"{path}:{number}"


def _json_problem(exc: BaseException) -> str:
    """What made `json.loads` fail: its syntax message, Python's integer-size limit, or nesting."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(getattr(exc, "msg", exc))


def _read_json(path: Path) -> Iterator[Located]:
    with _open_binary(path) as handle:
        try:
            raw = handle.read(MAX_JSON_BYTES + 1)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:  # zlib: a damaged .gz
            raise DatasetError(
                f"the compressed file is damaged ({exc}); download it again",
                source=str(path),
            ) from None
    if len(raw) > MAX_JSON_BYTES:
        raise DatasetError(
            f"the file is larger than {MAX_JSON_BYTES // 2**20} MiB (decompressed); save it as JSON lines",
            source=str(path),
        )
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
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise DatasetError(f"malformed JSON ({_json_problem(exc)})", source=str(path), line=line) from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise DatasetError(
            "expected a JSON list of objects (or an object holding one)",
            source=str(path),
        )
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise DatasetError(f"item {index} is not an object", source=str(path))
        yield record, f"{path}[{index}]"


def _read_csv(path: Path) -> Iterator[Located]:
    kind = data_kind(path)
    delimiter = "\t" if kind and kind[0] == ".tsv" else ","
    # csv refuses a cell over 128 KiB by default (raising csv.Error, which ended the run): a long text is a row
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    lines = _text_lines(path)
    reader = csv.DictReader((text for _number, text in lines), delimiter=delimiter)
    try:
        header = reader.fieldnames or []
        if any(name != name.strip() for name in header):  # `question, answer` written by hand: " answer"
            header = reader.fieldnames = [name.strip() for name in header]
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
                    f"row has {len(header) + len(record[None])} cells but the header has {len(header)}",
                    source=str(path),
                    line=reader.line_num,
                )
            yield record, f"{path}:{reader.line_num}"
    except csv.Error as exc:
        raise DatasetError(f"not readable as CSV ({exc})", source=str(path), line=reader.line_num) from None


def _read_parquet(path: Path) -> Iterator[Located]:
    from .parquet_rows import parquet_rows  # a JSON copy after the first read: no pyarrow import (~120 ms)

    for index, record in enumerate(parquet_rows(path)):
        yield record, f"{path}[row {index}]"


def _read_saved(path: Path, split: str) -> Iterator[Located]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DatasetError(f"not a readable save_to_disk folder ({exc})", source=str(path)) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise DatasetError(
                f"saved DatasetDict has no split {split!r} (has {', '.join(loaded)})",
                source=str(path),
            )
        loaded = loaded[split]
    for index, record in enumerate(loaded):
        yield record, f"{path}[row {index}]"
