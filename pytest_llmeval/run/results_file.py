"""`--llm-results PATH` (registered when it is given): the run's result as JSON, secrets redacted.

`ResultsFile` writes after every other `pytest_llmeval_results` implementation added its part; a
failed write goes to a fallback file, named in the summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..redact import redact
from ..report.outputs import write_text_or_fallback
from ..results import RunResult
from .outcome import RunOutcome


class ResultsFile:
    def __init__(self, path: Path, outcome: RunOutcome) -> None:
        self.path = path
        self.outcome = outcome

    @pytest.hookimpl(trylast=True)  # after the other plugins added to result.extra
    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        written, problem = write_text_or_fallback(self.path, redact(result.model_dump_json(indent=2)), "results")
        self.outcome.results_written = written
        if problem is not None:
            where = f"written to {written} instead" if written else "not written anywhere"
            self.outcome.output_problems.append(f"--llm-results: {problem}; the results are {where}")
