"""The rows of a parquet file: read with pyarrow once, then from a JSON copy keyed by the file's bytes.

Importing pyarrow (and the numpy it imports) costs about 120 ms of start-up on every run that reads
a parquet file, which is every run of a benchmark downloaded from a hub: measured here,
`python -c "import pyarrow.parquet"` takes 136 ms against 15 ms for a bare interpreter, while
reading GSM8K's 1,319 test rows back from JSON lines takes about 5 ms. So the first read of a text
dataset also writes its rows, as `json` writes them, to `<cache>/<sha256 of the file>.jsonl`; a
later read of the same bytes (any path, any run) reads that copy and never imports pyarrow. This
is the idea of the Arrow cache of Hugging Face `datasets` (a copy keyed by a fingerprint of the
data), kept to what the json module gives back exactly.

What is copied: files of at most `MAX_COPIED_BYTES` (32 MB) whose every column is a string, an
integer, a float32/float64, a bool or null, or lists and structs of those; for these
`Table.to_pylist()` and `json.loads(json.dumps(...))` give equal rows of equal types. Anything else
(images as bytes, timestamps, decimals, maps) is read with pyarrow on every run, and remembered by
path, size, change time and inode so that it is not read whole again.

When: a file of at most `MAX_WHOLE_COPY_BYTES` (4 MB) is copied whole before its first row is handed
out, so a run that reads only its first rows (few-shot examples from a train split) leaves a whole
copy too; a larger one is copied as its rows pass, and a reader that stops early leaves no copy
(it would wait for rows it did not ask for).

What keeps a copy true to its file: the bytes hashed are the bytes parsed (the file is read once),
so a file replaced while it is read cannot leave its rows under another content's name; the copy
ends with a line that counts its rows, so a copy cut short (a full disk, a killed run) is never
read (the parquet file is read again and the copy rewritten); one that would exceed
`MAX_COPY_BYTES` (256 MB: repetitive text compresses far in parquet) is dropped and its file
remembered like one of other column types; partial copies a killed run left are removed a day
later. A copy is as trusted as the file it was made from: whoever can write the cache folder can
change rows, as with the hubs' own caches. A cache folder that cannot be written is no error: the
rows are read with pyarrow.

The folder: `$LLMEVAL_ROWS_CACHE` if set (empty: no copies), else
`user_cache_dir("rows")`: `$XDG_CACHE_HOME/pytest-llmbench/rows` (an absolute `XDG_CACHE_HOME` only,
as the XDG spec says), default `~/.cache/pytest-llmbench/rows`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import DatasetError
from ..user_cache import user_cache_dir

FORMAT = "llmeval-rows/1"  # the first line of every copy; a new layout gets a new name
MAX_COPIED_BYTES = 32 * 1024 * 1024  # larger parquet files are read with pyarrow (hashing costs ~20 ms here)
MAX_WHOLE_COPY_BYTES = 4 * 1024 * 1024  # copied whole at the first read, even one that stops early (GSM8K train: 2 MB)
MAX_COPY_BYTES = 256 * 1024 * 1024  # a copy larger than this is dropped: the file is read with pyarrow
CACHE_ENV = "LLMEVAL_ROWS_CACHE"


def cache_dir() -> Path | None:
    """Where copies live (see the module docstring); None when copies are turned off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen).expanduser() if chosen.strip() else None
    try:
        return user_cache_dir("rows")
    except RuntimeError:  # no home folder to be found: no copies
        return None


def parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of the parquet file `path` as dicts, in file order. Raises DatasetError for a file
    pyarrow cannot read."""
    folder = cache_dir()
    marker = _not_copied_marker(folder, path) if folder is not None else None
    # read once: the bytes hashed are the bytes parsed, so a file replaced meanwhile cannot have
    # its rows copied under the old content's name
    content = _small_content(path) if marker is not None and not marker.exists() else None
    if folder is None or marker is None or content is None:
        yield from _batches(_open(path), path)
        return
    copy = folder / f"{hashlib.sha256(content).hexdigest()}.jsonl"
    cached = _read_copy(copy)
    if cached is not None:
        del content  # not held (up to 32 MB) while the rows are used
        yield from cached
        return
    yield from _rows_copied(content, path, copy, marker)


def _not_copied_marker(folder: Path, path: Path) -> Path | None:
    """Where a file whose columns cannot be copied is remembered, by path, size, change time and
    inode (so it is not read whole again on every run); None for a file that cannot be looked at."""
    try:
        stat = path.stat()
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
    except OSError:
        return None
    return folder / "not-copied" / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _small_content(path: Path) -> bytes | None:
    """The file's bytes; None for a file too large to copy (or unreadable: pyarrow names the error)."""
    try:
        if path.stat().st_size > MAX_COPIED_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _read_copy(copy: Path) -> Iterator[dict[str, Any]] | None:
    """The rows of a whole copy, read as they are used; None when there is no copy or it was cut
    short (its last line does not count its rows)."""
    try:
        handle = copy.open("rb")
    except OSError:
        return None
    try:
        first = handle.readline()
        handle.seek(max(0, copy.stat().st_size - 64))
        end = json.loads(handle.read().splitlines()[-1])
        handle.seek(len(first))
    except (OSError, ValueError, IndexError):
        handle.close()
        return None
    if first.rstrip(b"\n") != json.dumps(FORMAT).encode() or not (
        isinstance(end, list) and len(end) == 2 and end[0] == "end" and isinstance(end[1], int)
    ):
        handle.close()
        return None
    return _copied_rows(handle, copy, end[1])


def _copied_rows(handle: IO[bytes], copy: Path, count: int) -> Iterator[dict[str, Any]]:
    with handle:
        for _ in range(count):
            try:
                row = json.loads(handle.readline())
            except ValueError:
                row = None
            if not isinstance(row, dict):
                raise DatasetError(f"the cached copy of a parquet file is damaged; delete {copy}", source=str(copy))
            yield row


def _rows_copied(content: bytes, path: Path, copy: Path, marker: Path) -> Iterator[dict[str, Any]]:
    """The rows parsed from `content` (the bytes of `path`), written to `copy` when every column can
    be (else the file is remembered at `marker`, as is one whose copy would exceed `MAX_COPY_BYTES`:
    repetitive text compresses far in parquet)."""
    import pyarrow as pa

    file = _open(path, pa.BufferReader(content))
    if not _copyable_schema(file.schema_arrow):
        _remember_not_copied(marker)
        yield from _batches(file, path)
        return
    if len(content) <= MAX_WHOLE_COPY_BYTES:
        # Copied whole before the first row is handed out: a reader that wants only the first rows
        # (few-shot examples) still leaves a whole copy for the next run, and the work is done in
        # the reader's own call (an interrupt reaches it), never when a dropped reader is collected.
        if _copy_whole(_batches(file, path), copy, marker) and (cached := _read_copy(copy)) is not None:
            yield from cached
        else:
            yield from _batches(_open(path, pa.BufferReader(content)), path)
        return
    yield from _rows_written(_batches(file, path), copy, marker)


def _copy_whole(rows: Iterator[dict[str, Any]], copy: Path, marker: Path) -> bool:
    """Write every row of `rows` to `copy`; False when no copy was made (too large, not writable, or
    a part of the file that does not decode: its reader gets that error where it reads that far)."""
    started = _start_copy(copy)
    if started is None:
        return False
    handle, temporary = started
    count = written = 0
    try:
        for row in rows:
            line = _line(row)
            written += len(line)
            if written > MAX_COPY_BYTES:
                _abandon(handle, temporary)
                _remember_not_copied(marker)
                return False
            handle.write(line)
            count += 1
    except Exception:
        _abandon(handle, temporary)
        return False
    except BaseException:  # KeyboardInterrupt, SystemExit: no partial copy is left behind
        _abandon(handle, temporary)
        raise
    _finish_copy(handle, temporary, copy, count)
    return True


def _rows_written(rows: Iterator[dict[str, Any]], copy: Path, marker: Path) -> Iterator[dict[str, Any]]:
    """`rows`, written to `copy` as they pass; a reader that stops early leaves no copy."""
    started = _start_copy(copy)
    if started is None:
        yield from rows
        return
    handle, temporary = started
    count, written, writing, complete = 0, 0, True, False
    try:
        for row in rows:
            if writing:
                try:
                    line = _line(row)
                    written += len(line)
                    writing = written <= MAX_COPY_BYTES
                    if writing:
                        handle.write(line)
                    else:
                        _remember_not_copied(marker)
                except (OSError, TypeError, ValueError):  # a full disk, or a value json cannot hold
                    writing = False
            count += 1
            yield row
        complete = True
    finally:
        if complete and writing:
            _finish_copy(handle, temporary, copy, count)
        else:  # the reader stopped early (a limit), failed, or the copy could not be written
            _abandon(handle, temporary)


def _line(row: dict[str, Any]) -> bytes:
    """A row as one line of a copy (`_copied_rows` reads it back)."""
    return json.dumps(row, ensure_ascii=False).encode() + b"\n"


def _remember_not_copied(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _open(path: Path, source: Any = None) -> Any:
    """pyarrow's reader of `source` (default: the file `path`; the error names `path`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path if source is None else source)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"not a readable parquet file ({exc}); download it again", source=str(path)) from None


def _batches(file: Any, path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow as pa

    batches = file.iter_batches(batch_size=1024)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:  # a damaged page further on in the file
            raise DatasetError(
                f"a part of this parquet file cannot be read ({exc}); download it again", source=str(path)
            ) from None
        if batch is None:
            return
        yield from batch.to_pylist()


def _copyable_schema(schema: Any) -> bool:
    return all(_copyable_type(field.type) for field in schema)


def _copyable_type(kind: Any) -> bool:
    """Whether `to_pylist()` values of this Arrow type survive a JSON round trip unchanged."""
    import pyarrow.types as t

    if t.is_string(kind) or t.is_large_string(kind) or t.is_integer(kind) or t.is_boolean(kind) or t.is_null(kind):
        return True
    if t.is_float32(kind) or t.is_float64(kind):
        return True
    if t.is_list(kind) or t.is_large_list(kind):
        return _copyable_type(kind.value_type)
    if t.is_struct(kind):
        return all(_copyable_type(kind.field(i).type) for i in range(kind.num_fields))
    if t.is_dictionary(kind):
        return _copyable_type(kind.value_type)
    return False


def _start_copy(copy: Path) -> tuple[IO[bytes], Path] | None:
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(copy.parent)
        descriptor, name = tempfile.mkstemp(dir=copy.parent, prefix=copy.stem, suffix=".part")
    except OSError:
        return None
    handle = os.fdopen(descriptor, "wb")
    handle.write(json.dumps(FORMAT).encode() + b"\n")
    return handle, Path(name)


def _remove_stale_parts(folder: Path) -> None:
    """Partial copies a killed run left behind (a day old: none is being written any more)."""
    stale = time.time() - 86_400
    for part in folder.glob("*.part"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < stale:
                part.unlink()


def _finish_copy(handle: IO[bytes], temporary: Path, copy: Path, count: int) -> None:
    try:
        handle.write(json.dumps(["end", count]).encode() + b"\n")
        handle.close()
        os.replace(temporary, copy)
    except OSError:
        _abandon(handle, temporary)


def _abandon(handle: IO[bytes], temporary: Path) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    with contextlib.suppress(OSError):
        temporary.unlink()
