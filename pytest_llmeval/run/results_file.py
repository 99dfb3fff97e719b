"""`--llm-results PATH` (registered when it is given): the run's result as JSON, secrets redacted.

`ResultsFile` writes after every other `pytest_llmeval_results` implementation added its part; a
failed write goes to a fallback file, named in the summary. When the session starts it replaces an
existing file with an unfinished result (`passed: false`, `complete: false`, `interrupted: true`): a run killed
on the way (SIGKILL, a CI job's timeout) leaves that, never the previous run's `passed: true`. Not
when the file is also this run's `--llm-compare` baseline, which must survive a killed run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ..redact import redact
from ..report.outputs import same_file, write_atomically, write_text_or_fallback
from ..results import RunResult
from .outcome import RunOutcome


class ResultsFile:
    def __init__(self, path: Path, outcome: RunOutcome, model: str = "", baseline: Path | None = None) -> None:
        self.path = path
        self.outcome = outcome
        self.model = model
        self.baseline = baseline

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.path.exists():
            # nothing stale to replace; and a file made now, at a path written apart from its option, would
            # be taken for a test path by the xdist workers that start next (rootdir_guard.py)
            return
        if self.baseline is not None and (self.baseline == self.path or same_file(self.baseline, self.path)):
            return
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        unfinished = RunResult(
            model=self.model,
            base_url=None,
            started=started,
            duration_s=0.0,
            passed=False,
            complete=False,
            interrupted=True,
        )
        try:
            write_atomically(self.path, unfinished.model_dump_json(indent=2))
        except OSError:
            pass  # the write at the end says what is wrong with the path

    @pytest.hookimpl(trylast=True)  # after the other plugins added to result.extra
    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        written, problem = write_text_or_fallback(self.path, redact(result.model_dump_json(indent=2)), "results")
        self.outcome.results_written = written
        if problem is not None:
            where = f"written to {written} instead" if written else "not written anywhere"
            self.outcome.output_problems.append(f"--llm-results: {problem}; the results are {where}")
