"""The aggregating side of a run (pytest-xdist's `DSession` counterpart): the only process, or the
xdist controller.

`Controller` turns each test report's record into one `pytest_llmeval_sample_record` call (the
record stream every feature plugin listens to), counts failures outside the benchmarks, and at the
end assembles the `RunResult` (`pytest_llmeval_assemble`), asks the gates
(`pytest_llmeval_gate`), takes the one `Verdict` (`gating.budget.decide`) and sets the exit status
from it. `LocalController` learns the plan from its own collection; `DistController` (under
xdist, which collects nothing itself) checks the endpoint once for all workers and learns the plan
and the deselections from them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Generator
from typing import Any

import pytest

from ..engine.build import build_items
from ..engine.nodes import SampleItem
from ..errors import LLMEvalError
from ..gating.budget import decide
from ..results import RunResult, SampleRecord
from .collect import runs_items
from .kept_report import keep_compact
from .outcome import RunOutcome, perf_ran
from .runner import RECORD_ATTR, usage_error_from_exit
from .scope import Evaluation


class Controller:
    def __init__(self, evaluation: Evaluation, outcome: RunOutcome) -> None:
        self.evaluation = evaluation
        self.config = evaluation.config
        self.settings = evaluation.settings
        self.outcome = outcome
        self.samples_seen = 0  # records and samples early stop skipped
        self.location_paths: dict[str, str] = {}  # one string per subset for the kept reports' locations
        self.started_wall = dt.datetime.now(dt.timezone.utc)
        self.started = time.perf_counter()

    # -- the record stream -------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, RECORD_ATTR, None)
        if payload is None:
            sample = self.evaluation.is_sample(report.nodeid)
            if report.failed and not sample:
                self.outcome.other_failures += 1
            elif sample and report.passed and report.when != "call":
                self.forget_phase_report(report)
            return
        self.samples_seen += 1
        # the runner's object in a single process; JSON from an xdist worker
        record = payload if isinstance(payload, SampleRecord) else SampleRecord.model_validate(payload)
        self.config.hook.pytest_llmeval_sample_record(record=record)
        if not getattr(self.config.option, "htmlpath", None):  # pytest-html reads the record later, per row
            self.keep_compact(report)

    def pytest_llmeval_sample_skipped(self, benchmark: str, subset: str) -> None:
        self.samples_seen += 1

    def keep_compact(self, report: pytest.TestReport) -> None:
        """The terminal keeps every sample's report until the end: a `KeptReport` in its place.
        The record leaves the report in any case (the stream has it; any other holder of the
        report keeps it without)."""
        setattr(report, RECORD_ATTR, None)
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            keep_compact(report, terminal.stats, self.location_paths)

    def forget_phase_report(self, report: pytest.TestReport) -> None:
        """The terminal reporter keeps every passed setup/teardown report and scans them all for
        each failure it prints (quadratic in the sample count). Sample items have nothing to show
        there, so theirs are dropped: this keeps 100k-sample runs flat in time and memory."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        kept = getattr(terminal, "stats", {}).get("")
        if kept and kept[-1] is report:
            kept.pop()

    # -- the end -----------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.evaluation.runtime.close()  # done already where items ran; the xdist controller's ran its preflight
        if not runs_items(self.config) or exitstatus == pytest.ExitCode.USAGE_ERROR:
            # nothing ran (--collect-only, --fixtures; a usage error such as a wrong base URL stops
            # before the first request): no result, no empty table, no verdict
            return
        collection = self.evaluation.collection
        if (
            not self.samples_seen
            and not self.evaluation.rules
            and not perf_ran(self.config)
            and not self.outcome.samples_planned
            and not (collection and collection.rules)
            and self.evaluation.shard_plan is None  # a shard dealt no sample still writes what the merge reads
        ):
            return
        result = self.build_result(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop))
        self.outcome.result = result
        self.config.hook.pytest_llmeval_results(result=result, config=self.config)
        verdict = self.outcome.verdict
        if verdict is not None and exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
        ):
            session.exitstatus = pytest.ExitCode.OK if verdict.passed else pytest.ExitCode.TESTS_FAILED
            self.outcome.exit_status = int(session.exitstatus)

    def build_result(self, interrupted: bool = False) -> RunResult:
        endpoint = self.settings.endpoint
        result = RunResult(
            model=endpoint.model,
            base_url=endpoint.base_url,
            started=self.started_wall.isoformat(timespec="seconds"),
            duration_s=round(time.perf_counter() - self.started, 3),
            generation=dict(endpoint.gen),
        )
        self.config.hook.pytest_llmeval_assemble(result=result, config=self.config)
        planned = self.outcome.samples_planned
        result.samples_scored = sum(bench.count for bench in result.benchmarks.values())
        result.samples_errored = sum(bench.errors for bench in result.benchmarks.values())
        result.samples_planned = planned
        result.samples_deselected = dict(sorted(self.evaluation.deselected.items()))
        result.interrupted = interrupted
        # An incomplete run is never passed: cut short, or samples planned that left no record
        # (samples --llm-early-stop left unrequested were decided without: they count as done).
        done = result.samples_scored + result.samples_errored + result.requests.skipped_early_stop
        result.complete = not interrupted and (planned is None or done >= planned)
        votes = self.config.hook.pytest_llmeval_gate(result=result, config=self.config)
        verdict = decide(
            result,
            max_errors=self.settings.max_errors,
            other_failures=self.outcome.other_failures,
            votes=votes,
        )
        result.passed = verdict.passed
        # Gates (thresholds, or a plugin's vote such as --llm-max-drop) decide the exit status;
        # without any, pytest's usual rule applies and every wrong answer fails the run.
        # A run a budget stopped (result.stopped_by) is incomplete: its verdict decides too (never passed).
        if result.thresholds or result.stopped_by or any(vote is not None for vote in votes):
            self.outcome.verdict = verdict
        return result


class LocalController(Controller):
    """The controller of a single-process run: it collected the items itself."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        samples = [item.nodeid for item in session.items if isinstance(item, SampleItem)]
        self.outcome.samples_planned = len(samples)
        if not self.config.option.collectonly:
            self.config.hook.pytest_llmeval_plan(nodeids=samples, workers=1)


class DistController(Controller):
    """The xdist controller: collects nothing, runs nothing; hears the plan from the workers."""

    def __init__(self, evaluation: Evaluation, outcome: RunOutcome) -> None:
        super().__init__(evaluation, outcome)
        evaluation.runtime.sends_requests = False  # the workers do: no HTTP child process here
        self.pending_plan: list[str] | None = None  # announced at the first item, after xdist's status line
        self.plan_ids: dict[str, None] = {}  # the workers' collections, in order, each node id once
        self.collections_heard = 0
        self.samples_read: int | None = None  # what every worker read (from their outputs at the end)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # The controller checks the endpoint once, so that workers don't each fail.
        if self.evaluation.sample_names() and self.evaluation.settings.arena is None:  # the arena checks its own
            self.preflight(session)

    def preflight(self, session: pytest.Session) -> None:
        """When the endpoint does not answer, the samples are built here once to see whether the
        cache holds every answer (then a re-score needs no server); otherwise one usage error."""
        runtime = self.evaluation.runtime
        try:
            runtime.dispatcher.list_models()
        except LLMEvalError as exc:
            samples = self.build_samples(session, exc) if runtime.dispatcher.cache is not None else []
            if not samples or runtime.answers_missing(samples):
                raise pytest.UsageError(f"llmeval: {exc}") from None

    def build_samples(self, session: pytest.Session, endpoint_error: LLMEvalError) -> list[SampleItem]:
        """Every sample item the workers will build (benchmarks and `--llm-collection`, every
        repeat is asked for by `answers_missing`); a dataset that cannot be read here makes the
        endpoint's error a usage error that also names the dataset's."""
        evaluation = self.evaluation
        try:
            samples = build_items(
                session,
                evaluation.benchmark_instances,
                evaluation.selection,
                evaluation.settings,
                evaluation.runtime,
            )
            if evaluation.collection is not None:
                samples += evaluation.collection.build_items(
                    session, evaluation.benchmark_instances, evaluation.runtime
                )
        except LLMEvalError as exc:
            raise pytest.UsageError(
                f"llmeval: {endpoint_error} (and the answers in the cache could not be checked: {exc})"
            ) from None
        return samples

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, Any, Any]:
        return (yield from usage_error_from_exit())

    def planned_by_worker(self, nodeids: list[str]) -> None:
        """A worker's collection: its share of the samples (`engine.distribution`) and the ordinary
        tests (every worker collects those alike); the plan is their union."""
        self.collections_heard += 1
        plan = self.plan_ids
        for nodeid in nodeids:
            if nodeid not in plan:
                plan[nodeid] = None
                if self.evaluation.is_sample(nodeid):
                    self.outcome.samples_planned = (self.outcome.samples_planned or 0) + 1
        self.outcome.samples_planned = self.outcome.samples_planned or 0
        self.pending_plan = list(plan)

    def deselected_by_worker(self, counts: dict[str, int], read: int | None = None) -> None:
        """A worker's deselection counts, of its own share: the run's are their sum; `read`: the
        samples it read (every worker reads all of them)."""
        for name, count in counts.items():
            self.evaluation.deselected[name] += count
        if read is not None:
            self.samples_read = max(self.samples_read or 0, read)

    def build_result(self, interrupted: bool = False) -> RunResult:
        # A run stopped before every worker reported its collection (Ctrl-C while one still
        # collected) still plans every sample: what the workers read, less what they deselected.
        workers = int(getattr(self.config.option, "numprocesses", None) or 1)
        if self.collections_heard < workers and self.samples_read is not None:
            planned = self.samples_read - sum(self.evaluation.deselected.values())
            self.outcome.samples_planned = max(self.outcome.samples_planned or 0, planned)
        return super().build_result(interrupted)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> Generator[None, Any, Any]:
        if self.pending_plan is not None:  # before the progress plugin sees its first item
            nodeids, self.pending_plan = self.pending_plan, None
            workers = int(getattr(self.config.option, "numprocesses", None) or 1)
            self.config.hook.pytest_llmeval_plan(nodeids=nodeids, workers=workers)
        return (yield)
