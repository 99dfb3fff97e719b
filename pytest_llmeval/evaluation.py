"""The hooks of an evaluation run (registered only when --llm-model is given).

Each hook is thin and hands off: selection (`items.selection`), item creation (`items.build`),
requests (`items.runtime` -> `endpoint.dispatcher`), aggregation (`report.aggregate`), gating
(`gating.thresholds`) and output (`report.*`). Under xdist the workers run items and the controller
aggregates the records that travel on the test reports.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from .benchmarks.base import Benchmark
from .benchmarks.protocols import protocol_args
from .benchmarks.output_types import check_selected, output_type_args
from .benchmarks.multimodal import MultimodalBenchmark
from .media import MediaStore
from .media.store import temporary_media_folder
from .benchmarks.registry import all_benchmarks
from .collection.wiring import CollectionPart, collection_section
from .errors import ConfigError, DatasetError, LLMEvalError, SubsetAbsentError
from .gating.budget import run_passed
from .gating.early_stop import EarlyStopMonitor, shuffle_for_early_stop, undecidable_metrics
from .gating.thresholds import ThresholdRule, check_rule, evaluate_rule, parse_threshold
from .items.distribution import TAKEOVER_KEY, is_sample_nodeid, worker_share
from .items.build import build_items
from .items.nodes import SampleItem, WrongAnswer
from .items.runtime import EvalRuntime
from .items.xdist_hooks import BENCHMARKS_KEY, DESELECTED_KEY, MEDIA_DIR_KEY, SAMPLES_ONLY_KEY
from .items.selection import (check_dataset_names, check_mark_names, check_subset_list, mark_name, plain_tests_can_match,
                              registered_marks, select)
from .options import OptionReader
from .report.aggregate import ResultsCollector
from .redact import redact
from .results import RunResult, SampleRecord
from .report.outputs import check_output_paths, write_text_or_fallback
from .report.samples import SamplesWriter
from .report.live import LiveProgress, live_wanted
from .report.terminal import (
    Progress,
    SampleProblem,
    condensed_lines,
    count_samples,
    deselection_lines,
    no_selection_lines,
    requests_line,
    scope_line,
    score_lines,
    verdict_line,
)
from .scoring.efficiency import DEFAULT_THOUGHT_MARKERS
from .settings import RunSettings
from .thinking.aggregate import ThinkingCollector, table_lines

RECORD_ATTR = "llmeval"


def incomplete_line(result: RunResult) -> str:
    """The banner of a run that did not finish: it is not passed, whatever its scores say."""
    why = "interrupted" if result.interrupted else "samples without a result"
    done = result.samples_scored + result.samples_errored
    planned = "?" if result.samples_planned is None else f"{result.samples_planned:,}"
    return f"INCOMPLETE RUN ({why}): {done:,} of {planned} samples finished ({result.samples_errored:,} errors); the run is not passed"
# What stays on a report after the record was consumed: enough for summaries, not the texts.
SLIM_FIELDS = {"benchmark", "subset", "id", "passed", "metrics", "extracted", "target", "latency_s", "error", "error_kind"}


def _failure_text(report: pytest.TestReport) -> str:
    """A sample's failure message without the `[gw0] linux -- Python ...` line xdist puts first."""
    lines = report.longreprtext.splitlines()
    if lines and lines[0].startswith("[gw") and " -- Python " in lines[0]:
        lines = lines[1:]
    return "\n".join(lines)


class EvaluationPlugin:
    def __init__(self, config: pytest.Config, settings: RunSettings) -> None:
        self.config = config
        self.settings = settings
        self.runtime = EvalRuntime(settings, notify=self.notify)
        self._notices: list[str] = []
        self.samples_planned: int | None = None  # sample items this run set out to run (after deselection)
        self.deselected: Counter[str] = Counter()  # {benchmark: sample items -k/-m/--lf/--deselect removed}
        self.is_worker = hasattr(config, "workerinput")
        self.rules: list[ThresholdRule] = [parse_threshold(t) for t in CollectionPart.plain_thresholds(settings.thresholds)]
        self.collection = CollectionPart.create(config, settings, all_benchmarks())  # --llm-collection
        self.collector = ResultsCollector()
        self.thinking = ThinkingCollector(settings.thought_markers or DEFAULT_THOUGHT_MARKERS) if settings.think_eval else None
        self.samples_writer: SamplesWriter | None = None
        self.other_failures = 0
        self.started_wall = dt.datetime.now(dt.timezone.utc)
        self.started = time.perf_counter()
        self.result: RunResult | None = None
        self.gated = False
        self._markers: set[str] = set()
        self._media: MediaStore | None = None
        self._media_tmp: tempfile.TemporaryDirectory[str] | None = None  # --llm-no-cache's media folder
        self.benchmark_instances: dict[str, Benchmark] = {}
        self.selection: dict[str, list[str]] = {}
        self.live: LiveProgress | None = None
        self.sample_counts: dict[str, dict[str, int]] = {}
        self.problems: dict[str, list[SampleProblem]] = {"wrong": [], "error": []}
        self.pending_announce: tuple[list[str], int] | None = None
        self.session: pytest.Session | None = None
        self.early_stop: EarlyStopMonitor | None = None
        self.results_written: Path | None = None  # where the results JSON went (a fallback when its path failed)
        self.output_problems: list[str] = []  # outputs not written where asked, said in the summary
        if not self.is_worker:  # before any request: two outputs on one file, or one that cannot be written
            check_output_paths({"--llm-results": settings.results_path, "--llm-samples": settings.samples_path})
        if settings.early_stop and (config.getoption("numprocesses", None) or getattr(config.option, "dist", "no") != "no"):
            raise ConfigError("--llm-early-stop decides on every sample in one process: drop -n/--dist (xdist) for it")
        self.resolve_selection()
        self.samples_only = self.decide_samples_only()

    # -- configuration -----------------------------------------------------------------------

    def decide_samples_only(self) -> bool:
        """True when the run collects no test files, only the plugin's items: no path was given
        and the job is named by the plugin's options (`--llm-collection`, `--llm-perf`, or an `-m`
        that no test without a benchmark mark can match, see `plain_tests_can_match`). The
        Quickstart typed inside a project then shows the benchmark alone; a path (`pytest tests/
        ...`) or an `-m` that a plain test can match collects test files as usual."""
        if self.is_worker:
            return bool(self.config.workerinput.get(SAMPLES_ONLY_KEY))  # type: ignore[attr-defined]
        if self.config.args_source == pytest.Config.ArgsSource.ARGS:
            return False
        if self.collection is not None or OptionReader(self.config).get("perf"):
            return True
        return bool(self.selection) and not plain_tests_can_match(self.config.option.markexpr, all_benchmarks())

    def samples_only_workerinput(self) -> dict[str, bool]:
        return {SAMPLES_ONLY_KEY: self.samples_only}

    def resolve_selection(self, final: bool = False) -> None:
        """Instantiate the benchmarks with their arguments, decide what -m selects, check gates."""
        benchmarks = all_benchmarks()
        # before collection, conftests below the rootdir may not have registered their benchmarks yet:
        # only a name close to a known one is an error then (and it is, even under xdist)
        check_dataset_names(self.settings.datasets, benchmarks, only_close=not final)
        unknown = set(self.settings.bench_args) - set(benchmarks)
        if unknown:
            raise ConfigError(f"--llm-bench-arg names unknown benchmark {sorted(unknown)[0]!r}; known: {', '.join(benchmarks)}")
        for name, cls in benchmarks.items():
            if name not in self.benchmark_instances:
                args = protocol_args(name, cls.protocols, self.settings.bench_args.get(name),
                                     self.settings.protocol, self.settings.answer_parser)
                args = output_type_args(args, self.settings.output_type, cls.loglik_form)
                instance = self.benchmark_instances[name] = cls(args)
                if self.settings.judge is not None:
                    instance.judge_factory = self.runtime.judge
                if isinstance(instance, MultimodalBenchmark):
                    instance.media_store = self.media_store()
        subsets_of = {name: bench.selected_subsets() for name, bench in self.benchmark_instances.items()}
        for name, chosen in subsets_of.items():
            check_subset_list(self.benchmark_instances[name], chosen)
        check_mark_names(self.config.option.markexpr, benchmarks, registered_marks(self.config.getini("markers")))
        # with --llm-collection, -m narrows the collection's items only (its marks name datasets too)
        self.selection = select(self.config.option.markexpr, benchmarks, subsets_of) if self.collection is None else {}
        check_selected(list(self.selection), benchmarks, self.settings.output_type)
        collected = self.collection.dataset_names if self.collection is not None else set()
        for rule in self.rules:
            check_rule(rule, benchmarks, set(self.selection) | collected)
        needing = [name for name in self.selection if benchmarks[name].needs_judge]
        if needing and self.settings.judge is None:
            raise ConfigError(f"benchmark {needing[0]!r} is graded by a judge model: pass --llm-judge-model NAME "
                              "(and --llm-judge-base-url when it is served elsewhere)")
        self.register_markers(benchmarks)

    def media_store(self) -> MediaStore:
        """Images and audio of this run's samples, spooled once (content-addressed) beside the
        response cache, or, with --llm-no-cache, in a private temporary folder: the controller's,
        shared by its xdist workers (so the report's thumbnails find the files), removed when the
        run ends."""
        if self._media is None:
            if self.settings.use_cache and self.settings.cache_dir is not None:
                root = self.settings.cache_dir / "media"
            elif self.is_worker and self.config.workerinput.get(MEDIA_DIR_KEY):  # type: ignore[attr-defined]
                root = Path(self.config.workerinput[MEDIA_DIR_KEY])  # type: ignore[attr-defined]
            else:
                self._media_tmp = temporary_media_folder()  # removed at the end, and on SIGTERM
                root = Path(self._media_tmp.name)
            self._media = MediaStore(root, self.settings.media)
        return self._media

    def media_workerinput(self) -> dict[str, str]:
        """What xdist workers need to share the controller's temporary media folder (--llm-no-cache)."""
        if self.settings.use_cache and self.settings.cache_dir is not None:
            return {}
        return {MEDIA_DIR_KEY: str(self.media_store().root)}

    def register_markers(self, benchmarks: dict[str, type[Benchmark]]) -> None:
        for name, cls in benchmarks.items():
            groups = {tag for subset in cls.subsets for tag in cls.subset_tags(subset)}
            for mark, what in [(mark_name(name), "benchmark"), *((mark_name(s), f"subset of {name}") for s in cls.subsets),
                               *((mark_name(t), "benchmark tag") for t in (*cls.tags, *sorted(groups)))]:
                if mark not in self._markers:
                    self._markers.add(mark)
                    self.config.addinivalue_line("markers", f"{mark}: llmeval {what}")

    # -- collection --------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool | None:
        if not self.samples_only or self.config.pluginmanager.get_plugin("dsession"):
            return None  # (an xdist controller collects nothing itself)
        session.perform_collect([])  # no test files; pytest_collection_modifyitems adds the samples
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
        try:
            self.resolve_selection(final=True)  # conftests below the rootdir may have registered benchmarks
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        for name, subsets in self.selection.items():
            absent: list[SubsetAbsentError] = []  # subsets a local file of some subsets has no rows for
            for subset in subsets:
                try:
                    built = build_items(session, self.benchmark_instances, {name: [subset]}, self.settings,
                                        self.runtime, selected=self.selection)
                    items.extend(built)
                    # pytest counts collected items from collect reports: without this one the
                    # header says "collected 0 items" and -k prints a negative "selected" count
                    config.hook.pytest_collectreport(report=pytest.CollectReport(f"{name}/{subset}", "passed", None, built))
                except ConfigError as exc:  # a missing --llm-dataset path and the like: a usage error
                    raise pytest.UsageError(str(exc)) from None
                except SubsetAbsentError as exc:
                    absent.append(exc)
                except DatasetError as exc:
                    where = name if exc.hub_unreachable else f"{name}/{subset}"
                    report = pytest.CollectReport(where, "failed", f"llmeval: {exc}", [])
                    config.hook.pytest_collectreport(report=report)
                    if exc.hub_unreachable:  # one error per benchmark, not one per subset
                        break
            if absent:
                self.report_absent_subsets(config, name, len(subsets), absent)
        if self.collection is not None:
            try:
                built = self.collection.build_items(session, self.benchmark_instances, self.runtime)
            except LLMEvalError as exc:
                raise pytest.UsageError(str(exc)) from None
            items.extend(built)
            # counted in the header ("collected N items") like the benchmark subsets above
            config.hook.pytest_collectreport(report=pytest.CollectReport(self.collection.nodeid_root, "passed", None, built))
        if self.settings.early_stop:
            self.start_early_stop(items)

    def report_absent_subsets(self, config: pytest.Config, name: str, selected: int, absent: list[SubsetAbsentError]) -> None:
        """A local file that covers some of the selected subsets runs those: one line names the
        subsets it has no rows for. When it covers none, each subset's error stands (never an
        empty run)."""
        if len(absent) == selected:
            for exc in absent:
                config.hook.pytest_collectreport(report=pytest.CollectReport(f"{name}/{exc.subset}", "failed", f"llmeval: {exc}", []))
            return
        names = [exc.subset for exc in absent]
        shown = ", ".join(names[:16]) + (f", +{len(names) - 16} more" if len(names) > 16 else "")
        self.notify(f"llmeval: {name}: {len(names)} of {selected} selected subsets have no rows in {absent[0].source}, "
                    f"so they do not run: {shown}")

    def start_early_stop(self, items: list[pytest.Item]) -> None:
        """Seeded random order per benchmark, and the monitor the dispatcher asks before each request."""
        shuffle_for_early_stop(items, lambda i: i.benchmark.name if isinstance(i, SampleItem) else None, self.settings.seed)
        populations: dict[tuple[str, str], int] = {}
        for item in items:
            if isinstance(item, SampleItem):
                key = (item.benchmark.name, item.sample.subset)
                populations[key] = populations.get(key, 0) + 1
        undecidable = undecidable_metrics(self.rules, self.benchmark_instances)
        monitor = self.early_stop = EarlyStopMonitor(self.rules, populations, self.settings.early_stop_alpha, undecidable)
        self.runtime.skip_sample = lambda item: monitor.should_skip(item.benchmark.name)

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self.deselected.update(item.benchmark.name for item in items if isinstance(item, SampleItem))

    def deselected_by_worker(self, counts: dict[str, int]) -> None:
        """Under xdist: a worker's deselection counts (every worker collects and deselects alike)."""
        for name, count in counts.items():
            self.deselected[name] = max(self.deselected[name], count)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.is_worker and not self.config.pluginmanager.get_plugin("dsession"):
            self.samples_planned = sum(isinstance(item, SampleItem) for item in session.items)
            if not self.config.option.collectonly:
                self.announce([item.nodeid for item in session.items if isinstance(item, SampleItem)], workers=1)

    def planned_by_worker(self, nodeids: list[str]) -> None:
        """Under xdist: the controller learns the plan from the collection a worker reports; the
        scope line waits for the first item, when xdist's own status line is done."""
        if self.samples_planned is None:
            self.samples_planned = sum(is_sample_nodeid(nodeid, self.sample_names()) for nodeid in nodeids)
            self.pending_announce = (nodeids, int(getattr(self.config.option, "numprocesses", None) or 1))

    def notify(self, message: str) -> None:
        """A one-line notice for the terminal (e.g. a damaged cache moved aside). From another thread
        (the dispatcher's) it is kept and written at the next report, on pytest's thread."""
        if self.is_worker:
            print(message, file=sys.stderr, flush=True)
        elif threading.current_thread() is threading.main_thread():
            self._write_notice(message)
        else:
            self._notices.append(message)

    def _write_notice(self, message: str) -> None:
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            print(message, file=sys.stderr, flush=True)
            return
        terminal.ensure_newline()
        terminal.write_line(message, yellow=True)

    def _flush_notices(self) -> None:
        while self._notices:
            self._write_notice(self._notices.pop(0))

    def announce(self, nodeids: list[str], workers: int) -> None:
        """After collection: the scope line, and the progress line's total (the selected samples)."""
        self.sample_counts = count_samples(nodeids, self.is_sample)
        total = sum(sum(subsets.values()) for subsets in self.sample_counts.values())
        if not total:
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        verbosity = self.config.get_verbosity()
        if terminal is not None and verbosity >= 0:
            terminal.write_line(scope_line(self.sample_counts, self.settings.endpoint.concurrency * workers))
        self.live = LiveProgress(terminal, Progress(total=total), live_wanted(terminal, verbosity))

    def is_sample(self, nodeid: str) -> bool:
        return is_sample_nodeid(nodeid, self.sample_names())

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Under xdist the controller checks the endpoint once, so that workers don't each fail.
        if not self.is_worker and (self.selection or self.collection is not None) and self.config.pluginmanager.get_plugin("dsession"):
            self.controller_preflight(session)

    def controller_preflight(self, session: pytest.Session) -> None:
        """The endpoint check of an xdist controller, which collects no items itself: when the
        endpoint does not answer, the samples are built here once to see whether the cache holds
        every response (then a re-score needs no server); otherwise one usage error."""
        try:
            self.runtime.dispatcher.list_models()
        except LLMEvalError as exc:
            if not self._all_cached(session):
                raise pytest.UsageError(f"llmeval: {exc}") from None

    def _all_cached(self, session: pytest.Session) -> bool:
        from .endpoint.cache import request_key

        cache = self.runtime.dispatcher.cache
        if cache is None:
            return False
        try:
            samples = build_items(session, self.benchmark_instances, self.selection, self.settings, self.runtime)
            return bool(samples) and not cache.missing(
                request_key(body) for i in samples for body in self.runtime.request_bodies(i))
        except Exception:  # a dataset that cannot be read here is reported by the workers
            return False

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        self.start_requests(session)
        try:
            return (yield)
        except pytest.exit.Exception as exc:
            # An item that stopped the run for a usage error (a wrong URL seen on the first chat
            # request, no sandbox): pytest's own error line, not `! _pytest.outcomes.Exit: ... !`.
            if exc.returncode == pytest.ExitCode.USAGE_ERROR and str(exc.msg).startswith("llmeval:"):
                raise pytest.UsageError(exc.msg) from None
            raise

    def start_requests(self, session: pytest.Session) -> None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return  # pytest stops for collection errors; send nothing
        if session.config.option.collectonly:
            return
        items: list[pytest.Item] = session.items
        if self.is_worker:
            workerinput: dict[str, Any] = self.config.workerinput  # type: ignore[attr-defined]
            names = workerinput.get(BENCHMARKS_KEY, self.sample_names())
            items = worker_share(items, names, workerinput["workerid"], workerinput["workercount"],
                                 workerinput.get(TAKEOVER_KEY))
        self.runtime.start(items, preflight=not self.is_worker)

    # -- per item ----------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not isinstance(item, SampleItem):
            return report
        record: SampleRecord | None = None
        error = call.excinfo.value if call.excinfo is not None else None
        if call.when == "setup" and getattr(item, "skipped_early", False) and self.early_stop is not None:
            self.collector.skip(item.benchmark.name, item.sample.subset)
            self.early_stop.note_skipped(item.benchmark.name)
        elif call.when == "setup" and error is not None and not call.excinfo.errisinstance(pytest.skip.Exception):  # type: ignore[union-attr]
            record = self.runtime.error_record(item, error)
            if isinstance(error, LLMEvalError):
                report.longrepr = f"llmeval error: {error}"
        elif call.when == "call":
            if error is not None and not isinstance(error, WrongAnswer):
                record = self.runtime.error_record(item, error)  # a scorer crash (or judge failure) is no verdict
                if isinstance(error, LLMEvalError):
                    report.longrepr = f"llmeval error: {error}"
                else:
                    record.error_kind = "scorer_error"
            else:
                record = item.record
            item.record = None
        if record is not None:
            setattr(report, RECORD_ATTR, record.model_dump(mode="json"))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        status = yield
        # the live line shows samples' progress: no "." or "F" of their own beside it
        if self.live is not None and self.live.enabled and status and self.is_sample(report.nodeid):
            return status[0], "", ""
        return status

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.pending_announce is not None:
            pending, self.pending_announce = self.pending_announce, None
            self.announce(*pending)
        if self.live is None:
            return
        if self.is_sample(nodeid):
            self.live.starting(self.config.rootpath / nodeid.partition("::")[0])
        else:
            self.live.pause()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        if self._notices:
            self._flush_notices()
        payload = getattr(report, RECORD_ATTR, None)
        if payload is None:
            sample = self.is_sample(report.nodeid)
            if report.failed and not sample:
                self.other_failures += 1
            elif sample and report.passed and report.when != "call":
                self.forget_phase_report(report)
            return
        record = SampleRecord.model_validate(payload)
        if self.live is not None:
            self.live.progress.add(cached=record.cached, passed=record.passed, error=record.error is not None)
            self.live.update()
        self.collector.add(record)
        if self.early_stop is not None:
            self.early_stop.observe(record)
        if self.collection is not None:
            self.collection.add(record)
        if self.thinking is not None:
            self.thinking.add(record.benchmark, record.subset, record.thinking)
        if self.settings.samples_path is not None:
            if self.samples_writer is None:
                self.samples_writer = SamplesWriter(self.settings.samples_path)
            self.samples_writer.write(record)
        self.config.hook.pytest_llmeval_sample_record(record=record)
        setattr(report, RECORD_ATTR, {k: v for k, v in payload.items() if k in SLIM_FIELDS})

    def sample_names(self) -> list[str]:
        """The first part of every sample item's node id: selected benchmarks, and `collection`."""
        return [*self.selection, *([self.collection.nodeid_root] if self.collection is not None else [])]

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
        self.runtime.close()
        if self.is_worker:
            self.config.workeroutput[DESELECTED_KEY] = dict(self.deselected)  # type: ignore[attr-defined]
            return
        if self.live is not None:
            self.live.finish()
        self.session = session
        if self.samples_writer is not None:
            self.samples_writer.close()
            if self.samples_writer.summary() is not None:
                self.output_problems.append(self.samples_writer.summary())  # type: ignore[arg-type]
        self._flush_notices()
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            # nothing ran (a usage error such as a wrong base URL stops before the first request):
            # no result, no empty table, no verdict; the error itself is pytest's last line
            return
        if not self.collector and not self.rules and not self.perf_ran() and not self.samples_planned \
                and not (self.collection and self.collection.rules):
            return
        self.result = result = self.build_result(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop))
        self.config.hook.pytest_llmeval_results(result=result, config=self.config)
        if self.settings.results_path is not None:  # a failed write goes to a fallback file, named in the summary
            self.results_written, problem = write_text_or_fallback(
                self.settings.results_path, redact(result.model_dump_json(indent=2)), "results")
            if problem is not None:
                where = f"written to {self.results_written} instead" if self.results_written else "not written anywhere"
                self.output_problems.append(f"--llm-results: {problem}; the results are {where}")
        if self.gated and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.OK if result.passed else pytest.ExitCode.TESTS_FAILED

    def samples_file(self) -> str | None:
        """The samples JSONL the results name: where its records really are (a fallback after a failed write)."""
        if self.samples_writer is not None:
            return str(self.samples_writer.path) if self.samples_writer.path is not None else None
        return str(self.settings.samples_path) if self.settings.samples_path is not None else None

    def perf_ran(self) -> bool:
        perf = self.config.pluginmanager.get_plugin("llmeval-perf")
        return bool(perf is not None and perf.runs)

    def build_result(self, interrupted: bool = False) -> RunResult:
        benchmarks = self.collector.build(all_benchmarks())
        for name, bench in benchmarks.items():  # the protocol and parser each benchmark ran under
            instance = self.benchmark_instances.get(name)
            if instance is not None:
                # a log-likelihood run sends its own cloze prompt: no chat protocol applies
                bench.protocol = instance.protocol.name if instance.protocol is not None and not instance.loglik else None
                bench.answer_parser = instance.answer_parser
                bench.output_type = instance.output_type
        outcomes = [evaluate_rule(rule, benchmarks, self.settings.threshold_mode) for rule in self.rules]
        if self.early_stop is not None:
            outcomes = [self.early_stop.outcome(rule, o) for rule, o in zip(self.rules, outcomes)]
        collection: dict[str, Any] | None = None
        if self.collection is not None:
            collection, collection_outcomes = self.collection.build(all_benchmarks())
            outcomes += collection_outcomes
        result = RunResult(
            model=self.settings.endpoint.model,
            base_url=self.settings.endpoint.base_url,
            started=self.started_wall.isoformat(timespec="seconds"),
            duration_s=round(time.perf_counter() - self.started, 3),
            generation=dict(self.settings.endpoint.gen),
            benchmarks=benchmarks,
            thresholds=outcomes,
            requests=self.collector.requests,
            samples_path=self.samples_file(),
            collection=collection,
            thinking=self.thinking.build().model_dump(mode="json") if self.thinking else None,
        )
        errors = sum(bench.errors for bench in benchmarks.values())
        result.samples_scored = sum(bench.count for bench in benchmarks.values())
        result.samples_errored = errors
        result.samples_planned = self.samples_planned
        result.samples_deselected = dict(sorted(self.deselected.items()))
        result.interrupted = interrupted
        # An incomplete run is never passed: cut short, or samples planned that left no record
        # (samples --llm-early-stop left unrequested were decided without: they count as done).
        done = result.samples_scored + result.samples_errored + result.requests.skipped_early_stop
        result.complete = not interrupted and (self.samples_planned is None or done >= self.samples_planned)
        gate_votes = self.config.hook.pytest_llmeval_gate(result=result, config=self.config)
        # Gates (thresholds, or a plugin's vote such as --llm-max-drop) decide the exit status;
        # without any, pytest's usual rule applies and every wrong answer fails the run.
        self.gated = bool(self.rules) or bool(self.collection and self.collection.rules) or any(vote is not None for vote in gate_votes)
        result.passed = run_passed(result, outcomes, max_errors=self.settings.max_errors,
                                   other_failures=self.other_failures, votes=gate_votes)
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        if self.is_worker:
            return (yield)
        # Wrong answers and endpoint errors of samples are condensed below instead of one block
        # each in pytest's FAILURES/ERRORS sections and short summary; pytest's final counts still
        # include them (the reports are put back before pytest writes its stats line).
        taken = self.take_sample_reports(terminalreporter.stats)
        try:
            return (yield)
        finally:
            for key, reports in taken.items():
                terminalreporter.stats.setdefault(key, []).extend(reports)
            self.write_summary(terminalreporter)

    def take_sample_reports(self, stats: dict[str, list[Any]]) -> dict[str, list[Any]]:
        taken: dict[str, list[Any]] = {}
        for key, kind in (("failed", "wrong"), ("error", "error")):
            reports = stats.get(key, [])
            ours = [r for r in reports if isinstance(r, pytest.TestReport) and self.is_sample(r.nodeid)]
            if ours:
                stats[key] = [r for r in reports if not (isinstance(r, pytest.TestReport) and self.is_sample(r.nodeid))]
                taken[key] = ours
                self.problems[kind] = [SampleProblem(r.nodeid.partition("/")[0], r.nodeid, _failure_text(r)) for r in ours]
        return taken

    def show_failures(self) -> int | None:
        """How many wrong answers (and errors) per benchmark the summary shows; None for all."""
        chosen = self.settings.show_failures
        if chosen is not None:
            return None if chosen < 0 else chosen
        return None if self.config.get_verbosity() > 0 else 3

    def write_summary(self, terminalreporter: Any) -> None:
        totals = {bench: sum(subsets.values()) for bench, subsets in self.sample_counts.items()}
        terminalreporter.ensure_newline()
        for kind, title in (("wrong", "wrong answers"), ("error", "endpoint errors")):
            if self.problems[kind]:
                terminalreporter.section(f"llmeval {title}", sep="-", red=True)
                noun = "answered wrong" if kind == "wrong" else "errored"
                for line in condensed_lines(noun, self.problems[kind], totals, self.show_failures()):
                    terminalreporter.write_line(line)
        if self.result is not None and (self.result.benchmarks or self.result.thresholds or not self.result.complete):
            terminalreporter.section("llmeval results")
            if not self.result.complete:
                terminalreporter.write_line(incomplete_line(self.result), red=True, bold=True)
            for line in score_lines(self.result):
                terminalreporter.write_line(line)
            for line in deselection_lines(self.result):
                terminalreporter.write_line(line, yellow=True)
            for line in collection_section(self.result.collection):
                terminalreporter.write_line(line)
            if self.thinking:
                terminalreporter.section("llmeval reasoning efficiency")
                for line in table_lines(self.thinking.build()):
                    terminalreporter.write_line(line)
            errors = sum(bench.errors for bench in self.result.benchmarks.values())
            requests = self.result.requests
            terminalreporter.write_line(requests_line(requests.sent + errors, requests.cached, errors))
            if self.runtime.offline_note and not requests.sent and not errors:
                terminalreporter.write_line(self.runtime.offline_note, yellow=True)
            if self.results_written is not None:
                terminalreporter.write_line(f"results written to {self.results_written}")
        elif not self.selection and not self.perf_ran() and self.collection is None:
            terminalreporter.section("llmeval")
            for line in no_selection_lines(all_benchmarks()):
                terminalreporter.write_line(line)
        for line in self.output_problems:  # outputs not where asked: the summary's last lines say where they are
            terminalreporter.write_line(line, red=True, bold=True)

    def gate_failures(self) -> list[str]:
        """Why the gates failed, in words, for the verdict line."""
        assert self.result is not None
        reasons = [self._gate_reason(o) for o in self.result.thresholds if not o.passed]
        errors = sum(bench.errors for bench in self.result.benchmarks.values())
        if errors > self.settings.max_errors:
            reasons.append(f"{errors} endpoint errors (--llm-max-errors {self.settings.max_errors})")
        if self.other_failures:
            reasons.append(f"{self.other_failures} other test{'s' if self.other_failures > 1 else ''} failed")
        if not self.result.complete:
            reasons.insert(0, "the run is incomplete")
        if not reasons:
            reasons.append("a plugin's gate (such as --llm-max-drop) failed")
        return reasons

    @staticmethod
    def _gate_reason(outcome: Any) -> str:
        actual = "missing" if outcome.value is None else f"{outcome.value:.4f}"
        if outcome.status == "undecided" and outcome.ci_low is not None and outcome.ci_high is not None:
            # the interval straddles the threshold: the data cannot say pass or fail
            return f"{outcome.expression} (actual {actual}, 95% CI [{outcome.ci_low:.4f}, {outcome.ci_high:.4f}])"
        return f"{outcome.expression} (actual {actual})"

    def undecided_only(self) -> bool:
        """True when the run failed only because `--llm-threshold-mode ci` (or early stop) left
        thresholds undecided: the verdict then says UNDECIDED, not FAIL."""
        assert self.result is not None
        failing = [o for o in self.result.thresholds if not o.passed]
        errors = sum(bench.errors for bench in self.result.benchmarks.values())
        return (bool(failing) and all(o.status == "undecided" for o in failing) and self.result.complete
                and errors <= self.settings.max_errors and not self.other_failures)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._media_tmp is not None:  # the report's previews were made as the results arrived
            self._media_tmp.cleanup()
            self._media_tmp = None
        # The verdict comes after pytest's own "N failed, M passed" line: it is the last line.
        if self.is_worker or not self.gated or self.result is None or self.session is None:
            return
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        status = int(self.session.exitstatus)
        if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return  # interrupted or a usage error: no gate decided
        passed = status == pytest.ExitCode.OK
        line = verdict_line(passed, [] if passed else self.gate_failures(), status,
                            undecided=not passed and self.undecided_only())
        terminal.write_sep("=", line, green=passed, red=not passed, bold=True)
