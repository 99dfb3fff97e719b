"""xdist hook implementations, registered only when xdist is installed (its hookspecs exist then)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from .distribution import TAKEOVER_KEY, is_sample_nodeid

if TYPE_CHECKING:  # imported when xdist asks for a scheduler: a run without -n never imports xdist's
    from .xdist_scheduler import StaticShareScheduling

BENCHMARKS_KEY = "llmeval_benchmarks"
DESELECTED_KEY = "llmeval_deselected"  # workeroutput: {benchmark: sample items deselected}
READ_KEY = "llmeval_samples_read"  # workeroutput: samples a worker read (every one, not only its share)
MEDIA_DIR_KEY = "llmeval_media_dir"  # workerinput: the controller's media folder under --llm-no-cache
SAMPLES_ONLY_KEY = "llmeval_samples_only"  # workerinput: the controller decided not to collect test files


class XdistHooks:
    def __init__(
        self,
        workerinput: Callable[[], dict[str, Any]],
        on_collection: Callable[[list[str]], None] | None = None,
        on_deselected: Callable[[dict[str, int], int | None], None] | None = None,
    ) -> None:
        # A callable: the selection and the served URL are final only once the session starts.
        self._workerinput = workerinput
        self._on_collection = on_collection
        self._on_deselected = on_deselected
        self._scheduler: StaticShareScheduling | None = None
        self._session: pytest.Session | None = None
        self._rescheduled: set[str] = set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = session
        if self._scheduler is not None:
            self._scheduler.session = session

    @pytest.hookimpl
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # The controller collects nothing itself: the first workers' collections (each its share)
        # are the run's plan; a replacement worker's (what it takes over) adds nothing to it.
        scheduled = self._scheduler is not None and self._scheduler.collection is not None
        if self._on_collection is not None and not scheduled:
            self._on_collection(list(ids))

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        # A worker reports at its end what -k/-m/--lf deselected; the controller collects nothing.
        if self._on_deselected is not None:
            output = getattr(node, "workeroutput", {})
            self._on_deselected(output.get(DESELECTED_KEY) or {}, output.get(READ_KEY))

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        # Workers deal out items by the controller's list of benchmark names (so both sides agree
        # even when a worker's conftests register more benchmarks), and use the controller's server.
        node.workerinput.update(self._workerinput())
        if self._scheduler is not None and self._scheduler.collection is not None:
            # A replacement for a dead worker: it will be sent what is pending now.
            node.workerinput[TAKEOVER_KEY] = self._scheduler.pending_nodeids()

    @pytest.hookimpl
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        # The sample the dead worker was running runs again (once: a sample that kills its
        # worker every time is then reported as the crash it is).
        names = self._workerinput()[BENCHMARKS_KEY]
        if crashitem not in self._rescheduled and is_sample_nodeid(crashitem, names):
            self._rescheduled.add(crashitem)
            sched.mark_test_pending(crashitem)
            report.outcome = "rerun"

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> StaticShareScheduling:
        from .xdist_scheduler import StaticShareScheduling

        self._scheduler = StaticShareScheduling(config, log, self._workerinput()[BENCHMARKS_KEY])
        self._scheduler.session = self._session
        return self._scheduler
