"""`--llm-samples` JSONL: one line per sample, appended and flushed as each result arrives; and
the bounded readers of a run's files (`iter_lines` for a samples JSONL, `read_run_result` for a
results JSON), which the rebuild CLI and `--llm-compare` share.

A write that fails (a full disk, the file's folder removed during the run) never ends the run: the
whole records written so far are copied to a fallback file (`report.outputs.fallback_paths`: the
temporary folder, else the working directory), the run goes on writing there, and `problem` says
what happened for the terminal summary; `path` is where the complete file is. When no fallback can be
written either, later records are dropped (`lost` counts them) and the run still finishes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from ..errors import RebuildError
from ..files import FileProblem, decode_utf8, read_bounded
from ..redact import redact
from ..results import RunResult, SampleRecord
from .outputs import fallback_paths


class SamplesWriter:
    def __init__(self, path: Path) -> None:
        self.requested = path
        self.path: Path | None = path
        self.problem: str | None = None
        self.written = 0  # records in the file at `path`
        self.lost = 0  # records no file could take
        self._good = 0  # bytes of whole records at `path` (a failed write may leave part of a line)
        self._handle: BinaryIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("wb")
        except OSError as exc:
            self._switch(exc, b"")

    def write(self, record: SampleRecord) -> None:
        line = (redact(record.model_dump_json()) + "\n").encode("utf-8")
        if self._handle is None:
            self.lost += 1
            return
        try:
            self._handle.write(line)
            self._handle.flush()
        except OSError as exc:
            self._switch(exc, line)
            return
        self._good += len(line)
        self.written += 1

    def _switch(self, exc: OSError, pending: bytes) -> None:
        """Move to a fallback file: the whole records so far, then `pending`."""
        failed = self.path
        self._close_quietly()
        self.problem = f"writing {failed} failed after {self.written:,} records ({exc.strerror or exc})"
        kept = b""
        if failed is not None and self._good:
            try:
                with failed.open("rb") as handle:
                    kept = handle.read(self._good)
            except OSError:
                self.problem += "; they could not be copied and stay there"
                self.written = 0
            try:
                os.truncate(failed, self._good)  # no half line is left behind
            except OSError:
                pass
        for candidate in fallback_paths("samples", ".jsonl"):
            try:
                fallback = candidate.open("wb")
                fallback.write(kept + pending)
                fallback.flush()
            except OSError:
                continue
            self._handle, self.path, self._good = fallback, candidate, len(kept) + len(pending)
            self.written += 1 if pending else 0
            return
        self._handle, self.path = None, None
        self.lost += 1 if pending else 0

    def _close_quietly(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:  # the buffer could not be flushed (the disk is full): the file is closed all the same
                pass
            self._handle = None

    def close(self) -> None:
        self._close_quietly()

    def summary(self) -> str | None:
        """A line for the terminal when the samples are not (all) at the requested path."""
        if self.problem is None:
            return None
        if self.path is None:
            return f"--llm-samples: {self.problem}; no fallback file could be written: {self.lost:,} records are lost"
        return f"--llm-samples: {self.problem}; all {self.written:,} records are in {self.path}"


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


def read_run_result(path: Path) -> RunResult:
    """A results JSON (`--llm-results`) read back, at most MAX_RESULTS_BYTES. Everything that makes
    it no results JSON is a FileProblem whose words follow the file's name (`files.FileProblem`):
    a folder, missing, unreadable, too large, not UTF-8, not JSON, or the first field that is wrong."""
    try:
        raw = read_bounded(path, MAX_RESULTS_BYTES)
        decode_utf8(raw)
    except FileProblem as problem:
        if problem.kind in ("too_large", "not_utf8"):
            raise FileProblem(problem.kind, f"{problem.text}, so it is no results JSON") from None
        raise
    try:
        return RunResult.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise FileProblem("invalid", f"is not valid JSON ({first['msg']})") from None
        where = ".".join(str(p) for p in first["loc"])
        raise FileProblem(
            "invalid", f"is not a pytest-llmbench results JSON ({where + ': ' if where else ''}{first['msg']})"
        ) from None


def read_samples(path: Path) -> list[SampleRecord]:
    return [SampleRecord.model_validate_json(line) for _, line in iter_lines(path)]


def read_records(path: Path, fix: str = "") -> Iterator[SampleRecord]:
    """The records of a samples JSONL, read streaming with a bound on each line (`iter_lines`). A
    line too long, not UTF-8 or no sample record, or a file that cannot be read, is a RebuildError
    naming the file (and the line), with `fix` after it: the rebuild CLI's and `merge`'s reader."""
    suffix = f"; {fix}" if fix else ""
    number = 0
    try:
        for number, line in iter_lines(path):  # noqa: B007 - `number` is read by the except clause
            yield SampleRecord.model_validate_json(line)
    except SamplesLineError as exc:
        raise RebuildError(f"{path}:{exc.number}: the line {exc.problem}{suffix}") from None
    except OSError as exc:
        raise RebuildError(f"{path}: cannot be read ({exc.strerror or exc}){suffix}") from None
    except ValidationError as exc:
        raise RebuildError(f"{path}:{number}: not a sample record ({exc.errors()[0]['msg']}){suffix}") from None
