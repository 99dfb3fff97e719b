"""`--llm-samples PATH` (registered when it is given): every record as one JSONL line.

`SamplesFile` writes each record as it arrives (the file is created with the first one, or empty when
the result is built without any: a shard dealt no sample, a run stopped before its first), names the
file in the result (a fallback file when writing to PATH failed) and says in the summary when the
records are not where asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..report.samples import SamplesWriter
from ..results import RunResult, SampleRecord
from .outcome import RunOutcome


class SamplesFile:
    def __init__(self, path: Path, outcome: RunOutcome) -> None:
        self.requested = path
        self.outcome = outcome
        self.writer: SamplesWriter | None = None
        self.closed = False

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        if self.writer is None:
            self.writer = SamplesWriter(self.requested)
        self.writer.write(record)

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        if self.writer is None:  # no record (a shard dealt none, a run stopped before its first):
            self.writer = SamplesWriter(self.requested)  # an empty file, so the result names a file that exists
        self.close()  # the path is final once the file is closed
        result.samples_path = str(self.writer.path) if self.writer.path is not None else None

    @pytest.hookimpl(trylast=True)  # a run that built no result still closes its file
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.close()

    def close(self) -> None:
        if self.closed or self.writer is None:
            return
        self.closed = True
        self.writer.close()
        summary = self.writer.summary()
        if summary is not None:
            self.outcome.output_problems.append(summary)
