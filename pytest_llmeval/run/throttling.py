"""Adaptive concurrency's report: what the in-flight gate did (`endpoint/adaptive.py`).

Each process that sends requests has its own dispatcher and so its own gate. A single process
reads its own summary; an xdist worker hands it to the controller in `workeroutput`, and the
controller adds them up (`adaptive.merge_summaries`). When the server answered 429/503 at all, the
results JSON gets `extra.throttling` (a `ThrottleSummary`) and the terminal one line.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..endpoint.adaptive import ThrottleSummary, merge_summaries
from ..results import RunResult
from .scope import Evaluation

THROTTLING_KEY = "llmeval_throttling"  # workeroutput: a worker's ThrottleSummary as JSON


class WorkerThrottling:
    """An xdist worker's side: its summary goes to the controller with the worker's end."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        summary = self.evaluation.runtime.throttling()
        if summary is not None:
            session.config.workeroutput[THROTTLING_KEY] = summary.model_dump_json()  # type: ignore[attr-defined]


class Throttling:
    """Where records are aggregated: the run's summary into the result and the terminal."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.from_workers: list[ThrottleSummary] = []
        self.summary: ThrottleSummary | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        raw = getattr(node, "workeroutput", {}).get(THROTTLING_KEY)
        if raw:
            self.from_workers.append(ThrottleSummary.model_validate_json(raw))

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        own = self.evaluation.runtime.throttling()
        summary = merge_summaries([*self.from_workers, *([own] if own is not None else [])])
        if summary is not None and summary.throttled:
            self.summary = summary
            result.extra["throttling"] = summary.model_dump()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is not None:
            terminalreporter.write_line(f"llmeval throttling: {self.summary.describe()}", yellow=True)
