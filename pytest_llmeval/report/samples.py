"""`--llm-samples` JSONL: one line per sample, appended and flushed as each result arrives."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..redact import redact
from ..results import SampleRecord


class SamplesWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: TextIO = path.open("w", encoding="utf-8")

    def write(self, record: SampleRecord) -> None:
        self._handle.write(redact(record.model_dump_json()) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def read_samples(path: Path) -> list[SampleRecord]:
    with path.open(encoding="utf-8") as handle:
        return [SampleRecord.model_validate_json(line) for line in handle if line.strip()]
