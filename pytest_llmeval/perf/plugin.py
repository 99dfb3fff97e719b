"""The perf part of a run: `PerfPlugin` ("llmeval-perf", every process) and `PerfReporter`
("llmeval-perf-report", only where reports arrive), registered when --llm-model is given.

* `--llm-perf KEY=VALUE ...` adds one item, `llmeval-perf::sweep`, that runs the sweep; it is added
  after `-m`/`-k` filtering, so it runs whatever else is selected (`-k llmeval-perf` runs it alone).
* `@pytest.mark.perf(...)` arguments are validated at collection: a bad value is a usage error
  before any request is sent.
* `--llm-perf-slo SLO` makes that item, `llmeval-perf::capacity`, a capacity search instead
  (`perf/capacity.py`); the `llm_capacity` fixture runs one from a test.
* Every perf result (sweep, `perf` and `llm_perf` fixtures) rides on its test report as
  `report.llmeval_perf` (plain JSON), so under xdist it reaches the controller, which prints one
  table per test at the end and puts all of them under `"perf"` in the `--llm-results` JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError, LLMEvalError

if TYPE_CHECKING:  # the perf modules are imported where perf work is asked for: an evaluation needs none
    from ..settings import RunSettings
    from . import capacity, runner
    from .load import PerfSpec
    from .metrics import PerfResult
    from .replicas import ReplicaTarget

PLUGIN_NAME = "llmeval-perf"
REPORTER_NAME = "llmeval-perf-report"  # PerfReporter, where reports arrive
REPORT_ATTR = "llmeval_perf"
CAPACITY_ATTR = "llmeval_capacity"  # a CapacityResult as JSON, on the report of the test that searched
SWEEP_NODEID = "llmeval-perf::sweep"
CAPACITY_NODEID = "llmeval-perf::capacity"
RESULTS_KEY = pytest.StashKey["list[PerfResult]"]()
CAPACITY_KEY = pytest.StashKey["list[capacity.CapacityResult]"]()
PERF_REPORTS = "llmeval-perf-reports"


class PerfSweepItem(pytest.Item):
    """The `--llm-perf` sweep as a test: fails when a level had no successful request."""

    def __init__(self, *, plugin: PerfPlugin, spec: PerfSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin
        self.spec = spec
        self.add_marker(pytest.mark.perf)

    def runtest(self) -> None:
        from . import runner

        results = self.plugin.execute(self.spec, self)
        runner.check_results(results)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, LLMEvalError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, "llmeval perf sweep " + " ".join(level.label for level in self.spec.levels)


class CapacitySearchItem(pytest.Item):
    """The `--llm-perf-slo` capacity search as a test: it reports the answer (a capacity of 0 is an
    answer too); it fails only when the search could not run."""

    def __init__(self, *, plugin: PerfPlugin, search: capacity.CapacitySearch, load: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.plugin = plugin
        self.search = search
        self.load = load
        self.add_marker(pytest.mark.perf)

    def runtest(self) -> None:
        self.plugin.search_capacity(self.search, self.load, self)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, LLMEvalError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"llmeval capacity search {self.search.slo_text}"


class PerfPlugin:
    def __init__(self, config: pytest.Config, settings: RunSettings) -> None:
        self.config = config
        self.settings = settings
        self.base_dir = Path(config.invocation_params.dir)
        self.tokenizer: str | None = str(settings.tokenizer) if settings.tokenizer else None
        words = settings.perf_words
        self.sweep: PerfSpec | None = None
        self.capacity: tuple[capacity.CapacitySearch, dict[str, Any]] | None = None
        if settings.perf_slo:
            from . import capacity
            from .load import parse_words

            own, rest = capacity.search_words(words)
            search_args, load = capacity.split_words({**parse_words(rest), **own})
            search = capacity.make_search(settings.perf_slo, **search_args)
            self.check_search(search, load)
            self.capacity = (search, load)
        elif words:
            from .load import make_spec, parse_words

            self.sweep = self.validate(make_spec(parse_words(words)))

    # -- jobs --------------------------------------------------------------------------------

    def resolve_path(self, raw: str) -> str:
        path = Path(raw).expanduser()
        return str(path if path.is_absolute() else self.base_dir / path)

    def validate(self, spec: PerfSpec) -> PerfSpec:
        """Checks that need the session: the dataset name, paths relative to the invocation folder
        and the tokenizer. Returns the spec with absolute paths. Raises ConfigError."""
        from .load import DATASETS

        workload = spec.workload
        updates: dict[str, Any] = {}
        if workload.dataset not in DATASETS:
            from ..benchmarks.registry import all_benchmarks

            if workload.dataset not in all_benchmarks():
                raise ConfigError(
                    f"perf: unknown dataset {workload.dataset!r}; use {', '.join(DATASETS)} or a benchmark name "
                    f"({', '.join(sorted(all_benchmarks()))})"
                )
        if workload.dataset_path:
            updates["dataset_path"] = self.resolve_path(workload.dataset_path)
            if not Path(updates["dataset_path"]).is_file():
                raise ConfigError(f"perf: dataset_path {workload.dataset_path!r} is not a file; pass an existing file")
        if workload.tokenizer:
            updates["tokenizer"] = self.resolve_path(workload.tokenizer)
            if not Path(updates["tokenizer"]).exists():
                raise ConfigError(
                    f"perf: tokenizer {workload.tokenizer!r} does not exist; "
                    "pass a local tokenizer folder or tokenizer.json"
                )
        if workload.exact_lengths and workload.random and not (workload.tokenizer or self.tokenizer):
            raise ConfigError("perf: exact_lengths=True needs a tokenizer: pass --llm-tokenizer PATH or tokenizer=PATH")
        if updates:
            spec = spec.model_copy(update={"workload": workload.model_copy(update=updates)})
        return spec

    def job(self, spec: PerfSpec) -> runner.PerfJob:
        from . import runner
        from .datasets import benchmark_messages
        from .load import DATASETS

        endpoint = self.settings.endpoint
        workload = spec.workload
        messages = None
        if workload.dataset not in DATASETS:
            count = spec.total_requests + workload.warmup if spec.total_requests else runner.DURATION_POOL
            messages = benchmark_messages(
                workload.dataset,
                workload.subset,
                count,
                self.settings.datasets,
                self.settings.bench_args,
                self.base_dir,
            )
        return runner.PerfJob(
            spec=spec,
            model=endpoint.model,
            chat_url=endpoint.chat_url,
            models_url=endpoint.models_url,
            headers=endpoint.headers(),
            gen=dict(endpoint.gen),
            timeout=endpoint.timeout_s,
            max_response_bytes=endpoint.max_response_bytes,
            tokenizer=workload.tokenizer or self.tokenizer,
            messages=messages,
            api_url=api_url(endpoint.chat_url, workload.api),
            replicas=replica_targets(endpoint, workload.api),
        )

    def check_search(self, search: capacity.CapacitySearch, load: dict[str, Any]) -> None:
        """Usage errors of a capacity search, before any request: the workload (validated as the
        first level would be) and an SLO on a streaming figure of an unstreamed workload."""
        from . import capacity
        from .load import make_spec

        spec = self.validate(make_spec({**load, **capacity.level_load(search, search.start, search.requests(1), 1)}))
        streamed = [c.label for c in search.slo if c.metric in ("ttft", "tpot", "itl")]
        if any(c.metric == "tpot" for c in search.slo) and spec.workload.output_tokens == 1:
            raise ConfigError(
                "capacity search: TPOT needs at least two output tokens per request; set output_tokens=2 or more"
            )
        if streamed and not spec.workload.stream:
            raise ConfigError(
                f"capacity search: {', '.join(streamed)} needs a streamed workload (TTFT, TPOT and ITL are "
                "measured on streams); drop stream=false or constrain latency instead"
            )

    def search_capacity(
        self,
        search: capacity.CapacitySearch,
        load: dict[str, Any],
        item: pytest.Item | None,
        isolation: str = "process",
    ) -> capacity.CapacityResult:
        """Run a capacity search (each value: one perf job of `repeats` levels); the measured levels
        and the answer are kept on `item` for its report."""
        from . import capacity
        from .load import make_spec

        self.check_search(search, load)

        def measure(value: float, number: int, repeats: int) -> list[PerfResult]:
            spec = make_spec({**load, **capacity.level_load(search, value, number, repeats)})
            return self.execute(spec, item, isolation)

        result = capacity.search(search, measure)
        if item is not None:
            result.test = item.nodeid
            _report_from(item)
            item.stash.setdefault(CAPACITY_KEY, []).append(result)
        return result

    def execute(self, spec: PerfSpec, item: pytest.Item | None, isolation: str = "process") -> list[PerfResult]:
        """Run every level of `spec` and keep the results on `item` for its report."""
        from . import runner

        results = runner.run(self.job(self.validate(spec)), isolation)
        if item is not None:
            _report_from(item)
            item.stash.setdefault(RESULTS_KEY, []).extend(results)
        return results

    # -- hooks ---------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        for item in items:
            mark = item.get_closest_marker("perf")
            if mark is None or isinstance(item, PerfSweepItem):
                continue
            from .load import make_spec

            try:
                if mark.args:
                    raise ConfigError(
                        "perf: @pytest.mark.perf takes keyword arguments only, e.g. perf(parallel=[1, 8])"
                    )
                self.validate(make_spec(mark.kwargs))
            except ConfigError as exc:
                raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        if self.sweep is not None:
            sweep = PerfSweepItem.from_parent(
                session,
                name="sweep",
                nodeid=SWEEP_NODEID,
                path=Path(config.rootpath) / "llmeval-perf",
                plugin=self,
                spec=self.sweep,
            )
            items.append(sweep)
            # counted in the header ("collected N items"), which counts collect reports
            config.hook.pytest_collectreport(report=pytest.CollectReport(SWEEP_NODEID, "passed", None, [sweep]))
        if self.capacity is not None:
            search_item = CapacitySearchItem.from_parent(
                session,
                name="capacity",
                nodeid=CAPACITY_NODEID,
                path=Path(config.rootpath) / "llmeval-perf",
                plugin=self,
                search=self.capacity[0],
                load=self.capacity[1],
            )
            items.append(search_item)
            config.hook.pytest_collectreport(
                report=pytest.CollectReport(CAPACITY_NODEID, "passed", None, [search_item])
            )


class PerfReports:
    """Moves the perf results a test kept on its item onto the report of the phase that made them.
    Registered (as `llmeval-perf-reports`) by the first job that keeps results on an item, so that
    runs without perf work have no report wrapper on every item (~2 us a phase)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        pending = item.stash.get(RESULTS_KEY, None)
        if pending:
            setattr(
                report, REPORT_ATTR, {"nodeid": item.nodeid, "results": [r.model_dump(mode="json") for r in pending]}
            )
            item.stash[RESULTS_KEY] = []
        searches = item.stash.get(CAPACITY_KEY, None)
        if searches:
            setattr(report, CAPACITY_ATTR, [s.model_dump(mode="json") for s in searches])
            item.stash[CAPACITY_KEY] = []
        return report


def _report_from(item: pytest.Item) -> None:
    """Have `item`'s kept perf results put on its reports (`PerfReports`, registered once)."""
    manager = item.config.pluginmanager
    if not manager.has_plugin(PERF_REPORTS):
        manager.register(PerfReports(), PERF_REPORTS)


def replica_targets(endpoint: Any, api: str) -> list[ReplicaTarget]:
    """Several --llm-base-url: one target per replica, the load spread over them (perf/replicas.py)."""
    if len(endpoint.replicas) < 2:
        return []
    from .replicas import ReplicaTarget

    return [
        ReplicaTarget(
            url=replica.require_base_url(),
            chat_url=replica.chat_url,
            models_url=replica.models_url,
            api_url=api_url(replica.chat_url, api),
            headers=replica.headers(),
        )
        for replica in endpoint.replica_endpoints()
    ]


def api_url(chat_url: str, api: str) -> str | None:
    """Where embeddings / rerank load goes: beside the chat path (`.../v1/embeddings`, `.../v1/rerank`),
    the query string (a key some gateways want there) kept."""
    if api == "chat":
        return None
    path, sep, query = chat_url.partition("?")
    return path.removesuffix("/chat/completions") + "/" + api + sep + query


class PerfReporter:
    """The perf results of a run, registered only where reports arrive (the only process or the xdist
    controller, as `llmeval-perf-report`): one table per test in the terminal and `extra.perf` in the
    results JSON."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self.runs: list[dict[str, Any]] = []  # {"nodeid", "results": [...]} in the order they arrived
        self.capacity: list[capacity.CapacityResult] = []  # capacity searches, in the order they ended

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for search in getattr(report, CAPACITY_ATTR, None) or []:
            from . import capacity

            self.capacity.append(capacity.CapacityResult.model_validate(search))
        payload = getattr(report, REPORT_ATTR, None)
        if isinstance(payload, dict) and payload.get("results"):
            if self.runs and self.runs[-1]["nodeid"] == payload["nodeid"]:  # setup + call of one test
                self.runs[-1]["results"].extend(payload["results"])
            else:
                self.runs.append({"nodeid": payload["nodeid"], "results": list(payload["results"])})

    @pytest.hookimpl
    def pytest_llmeval_results(self, result: Any, config: pytest.Config) -> None:
        if self.runs:
            result.extra["perf"] = {"runs": self.flat_runs()}
        if self.capacity:
            result.extra.setdefault("perf", {"runs": []})["capacity"] = [
                c.model_dump(mode="json") for c in self.capacity
            ]

    def flat_runs(self) -> list[dict[str, Any]]:
        return [{"test": run["nodeid"], **level} for run in self.runs for level in run["results"]]

    def results(self) -> list[tuple[str, list[PerfResult]]]:
        """(nodeid, levels) of every perf run of the session seen by this process, in order."""
        from .metrics import PerfResult

        return [(run["nodeid"], [PerfResult.model_validate(r) for r in run["results"]]) for run in self.runs]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.runs:
            return
        from . import capacity
        from .table import perf_lines

        terminalreporter.section("llmeval perf")
        for nodeid, results in self.results():
            for line in perf_lines(results, title=f"{nodeid} ({self.settings.endpoint.model})"):
                terminalreporter.write_line(line)
            terminalreporter.write_line("")
        for search in self.capacity:
            terminalreporter.section("llmeval capacity")
            terminalreporter.write_line(f"{search.test} ({self.settings.endpoint.model})")
            for line in capacity.lines(search):
                terminalreporter.write_line(line)
