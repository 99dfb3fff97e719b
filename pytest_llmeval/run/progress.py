"""The scope line and the live progress line (on the process that aggregates).

`Progress` writes the scope line once the plan is known (`pytest_llmeval_plan`), then keeps one
live line up to date from the record stream; while it is live, sample items get no "." or "F" of
their own.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..report.live import LiveProgress, live_wanted
from ..report.terminal import Progress as ProgressCounts
from ..report.terminal import count_samples, scope_line
from ..results import SampleRecord
from .scope import Evaluation

LIVE_STATUS = "llmeval-evaluation-live-status"


class Progress:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.config = evaluation.config
        self.live: LiveProgress | None = None

    def pytest_llmeval_plan(self, nodeids: list[str], workers: int) -> None:
        """The scope line, and the progress line's total (the selected samples)."""
        counts = count_samples(nodeids, self.evaluation.is_sample)
        total = sum(sum(subsets.values()) for subsets in counts.values())
        if not total:
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        verbosity = self.config.get_verbosity()
        if terminal is not None and verbosity >= 0:
            terminal.write_line(scope_line(counts, self.evaluation.settings.endpoint.concurrency * workers))
        self.live = LiveProgress(terminal, ProgressCounts(total=total), live_wanted(terminal, verbosity))
        manager = self.config.pluginmanager
        if self.live.enabled and not manager.has_plugin(LIVE_STATUS):  # only then: a wrapper costs ~2 us a phase
            manager.register(LiveStatus(self.evaluation), LIVE_STATUS)

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        if self.live is not None:
            self.live.progress.add(
                cached=record.cached,
                passed=record.passed,
                error=record.error is not None,
            )
            self.live.update()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.live is None or not self.live.enabled:  # nothing is written: the line stays quiet
            return
        if self.evaluation.is_sample(nodeid):
            self.live.starting(self.config.rootpath / nodeid.partition("::")[0])
        else:
            self.live.pause()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.live is not None:
            self.live.finish()


class LiveStatus:
    """While the live line shows the samples' progress, sample items get no "." or "F" of their own
    beside it (registered by `Progress` when the line is live)."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        status = yield
        if status and self.evaluation.is_sample(report.nodeid):
            return status[0], "", ""
        return status
