"""`--llm-samples` JSONL: one line per sample, appended and flushed as each result arrives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..results import SampleRecord


class SamplesWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: TextIO = path.open("w", encoding="utf-8")

    def write(self, record: SampleRecord) -> None:
        self._handle.write(record.model_dump_json() + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


MAX_LINE_BYTES = 64 * 1024 * 1024  # four times the default response cap: room for a record, not for a bomb
MAX_RESULTS_BYTES = 256 * 1024 * 1024  # a results JSON read back holds aggregates: megabytes, not gigabytes


class SamplesLineError(ValueError):
    """A line of a samples JSONL that cannot be read: too long, or not UTF-8 (`number` is 1-based);
    each reader turns it into its own error naming the file."""

    def __init__(self, number: int, problem: str) -> None:
        super().__init__(f"line {number} {problem}")
        self.number = number
        self.problem = problem


def iter_lines(path: Path, max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, read streaming: at most `max_bytes` of a line
    are ever held, so a file with one 1 GB line costs `max_bytes` of memory, not gigabytes.
    Raises SamplesLineError for a longer line or one that is not UTF-8; OSError as open() does."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(max_bytes + 1):
            number += 1
            if len(raw) > max_bytes and not raw.endswith(b"\n"):
                raise SamplesLineError(number, f"is longer than {max_bytes:,} bytes (no sample record is that long)")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SamplesLineError(number, f"is not UTF-8 text (byte {exc.start} of the line)") from None
            if text.strip():
                yield number, text


def read_samples(path: Path) -> list[SampleRecord]:
    return [SampleRecord.model_validate_json(line) for _, line in iter_lines(path)]
