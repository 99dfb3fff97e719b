"""The xdist worker's side of a run (pytest-xdist's `WorkerInteractor` counterpart).

A worker collects like a single process, runs its share of the samples (dealt out by the
controller's list of benchmark names; a replacement worker takes over what was pending), checks no
endpoint itself (the controller did), writes notices to stderr, and hands what -k/-m deselected
back to the controller in `workeroutput`.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from ..engine.distribution import TAKEOVER_KEY, ShareFilter, worker_share
from ..engine.xdist_hooks import BENCHMARKS_KEY, DESELECTED_KEY, READ_KEY
from .kept_report import filed_last
from .runner import ItemRunner
from .scope import Evaluation


def print_notice(message: str) -> None:
    """A worker's notice: its stderr, which xdist shows on the controller."""
    print(message, file=sys.stderr, flush=True)


class WorkerRunner(ItemRunner):
    preflight = False  # the controller checked the endpoint once for every worker

    def __init__(self, evaluation: Evaluation, workerinput: dict[str, Any], share: ShareFilter | None = None) -> None:
        super().__init__(evaluation)
        self.workerinput = workerinput
        self.share_filter = share  # what this worker built of the samples it read

    def share(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """This worker's sample items, in run order: it built only its share (`ShareFilter`), so
        all it collected; a replacement's in the order of the items it takes over."""
        takeover = self.workerinput.get(TAKEOVER_KEY)
        if takeover is None:
            return items
        names = self.workerinput.get(BENCHMARKS_KEY, self.evaluation.sample_names())
        return worker_share(items, names, self.workerinput["workerid"], self.workerinput["workercount"], takeover)

    @pytest.hookimpl(trylast=True)  # after xdist sent the report to the controller
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A worker's terminal is never shown, yet its reporter keeps every report until the end, a
        sample's with its record: ~2.5 KB a sample. The controller has the report; the worker lets a
        sample's go (its run counts, `session.testsfailed`, are kept by pytest apart)."""
        terminal = self.evaluation.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None or not self.evaluation.is_sample(report.nodeid):
            return
        kept = filed_last(terminal.stats, report)
        if kept is not None:
            kept.pop()

    def finish(self, session: pytest.Session) -> None:
        output = session.config.workeroutput  # type: ignore[attr-defined]
        output[DESELECTED_KEY] = dict(self.evaluation.deselected)
        if self.share_filter is not None and self.share_filter.takeover is None:
            # every sample read: the run's plan when the controller has not heard every collection
            output[READ_KEY] = self.share_filter.position
