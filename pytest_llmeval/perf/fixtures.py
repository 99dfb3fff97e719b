"""Fixtures for load tests: `perf` (the test's `@pytest.mark.perf(...)` sweep, run once) and
`llm_perf` (`.run(**load)` from inside a test). Both skip the test when no --llm-model is given.

    @pytest.mark.perf(parallel=[1, 8, 32], number=[8, 64, 256], prompt_tokens=1024, output_tokens=256)
    def test_serving_slo(perf):
        assert perf.result(parallel=32).ttft.p99 < 0.5

    def test_one_level(llm_perf):
        r = llm_perf.run(parallel=8, number=64, output_tokens=128)
        assert r.output_throughput > 500

`llm_capacity` searches the highest load an SLO allows (perf/capacity.py, docs/perf.md):

    def test_capacity(llm_capacity):
        capacity = llm_capacity("p99_ttft<=2s,tpot<=50ms", parallel=(1, 256), output_tokens=128)
        assert capacity.max_concurrency >= 32

A perf run where every request of a level failed raises PerfRunError with the first error's text
(the `perf` fixture reports it as a setup error); partial failures are counted in `failed` and
`errors` and are for the test to judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError, LLMEvalError

if TYPE_CHECKING:  # the load generator is imported by the fixtures that run it: an evaluation never needs it
    from .capacity import CapacityResult
    from .metrics import PerfResult


class PerfSweep:
    """The levels of one perf run, in the order they ran."""

    def __init__(self, results: list[PerfResult]) -> None:
        self.results = results

    def __iter__(self) -> Iterator[PerfResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def result(
        self,
        parallel: int | None = None,
        rate: float | None = None,
        batch_size: int | None = None,
        input_tokens: int | None = None,
    ) -> PerfResult:
        """The level with this `parallel` (closed loop) or `rate` (open loop), and for embeddings /
        rerank this `batch_size` and `input_tokens`; with none, the only level. Raises KeyError
        naming the levels that exist."""
        wanted_shape = {"batch_size": batch_size, "input_length": input_tokens}
        if parallel is None and rate is None and batch_size is None and input_tokens is None:
            if len(self.results) == 1:
                return self.results[0]
            raise KeyError(f"this run has {len(self.results)} levels ({self.levels()}): pass parallel= or rate=")
        for r in self.results:
            if (
                (parallel is None or r.parallel == parallel)
                and (rate is None or r.rate == rate)
                and all(v is None or getattr(r, k) == v for k, v in wanted_shape.items())
            ):
                return r
        asked = (("parallel", parallel), ("rate", rate), ("batch_size", batch_size), ("input_tokens", input_tokens))
        wanted = ", ".join(f"{k}={v}" for k, v in asked if v is not None)
        raise KeyError(f"no perf level with {wanted}; levels run: {self.levels()}")

    def levels(self) -> str:
        return ", ".join(r.label for r in self.results) or "none"

    def table(self) -> str:
        """The terminal table of these levels."""
        from .table import perf_lines

        return "\n".join(perf_lines(self.results))


class PerfRunner:
    """`llm_perf`: runs load levels against the configured endpoint from inside a test."""

    def __init__(self, plugin: Any, item: pytest.Item) -> None:
        self._plugin = plugin
        self._item = item

    def sweep(self, *, isolation: str = "process", check: bool = True, **load: Any) -> PerfSweep:
        """Every level of `load` (lists allowed, as in the marker). `isolation="thread"` runs in
        this process; `check=False` returns all-failed levels instead of raising PerfRunError."""
        from .load import make_spec
        from .runner import check_results

        try:
            spec = make_spec(load)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        results = self._plugin.execute(spec, self._item, isolation)
        if check:
            check_results(results)
        return PerfSweep(results)

    def run(self, *, isolation: str = "process", check: bool = True, **load: Any) -> PerfResult:
        """One level (`parallel=8, number=64, ...` or `rate=5, duration=30, ...`) -> PerfResult."""
        for key in ("parallel", "number", "rate"):
            if isinstance(load.get(key), (list, tuple)) and len(load[key]) > 1:
                raise pytest.UsageError(
                    f"llm_perf.run runs one level; {key} has several values: use llm_perf.sweep(...)"
                )
        return self.sweep(isolation=isolation, check=check, **load).results[0]


class CapacityRunner:
    """`llm_capacity`: runs a capacity search against the configured endpoint from inside a test."""

    def __init__(self, plugin: Any, item: pytest.Item) -> None:
        self._plugin = plugin
        self._item = item

    def __call__(
        self,
        slo: str,
        *,
        parallel: Any = None,
        rate: Any = None,
        repeats: int = 3,
        rule: str = "majority",
        resolution: float | None = None,
        number: int | None = None,
        isolation: str = "process",
        **load: Any,
    ) -> CapacityResult:
        """The highest concurrency (`parallel=(START, LIMIT)`, default (1, 256)) or request rate
        (`rate=(START, LIMIT)` req/s) meeting `slo` (`"p99_ttft<=2s,tpot<=50ms"`); `load` is the
        workload (the keys of `llm_perf.run` but parallel/rate/number/duration)."""
        from .capacity import make_search

        try:
            search = make_search(
                slo, parallel=parallel, rate=rate, repeats=repeats, rule=rule, resolution=resolution, number=number
            )
            return self._plugin.search_capacity(search, load, self._item, isolation)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None


def _plugin(config: pytest.Config) -> Any:
    plugin = config.pluginmanager.get_plugin("llmeval-perf")
    if plugin is None:
        pytest.skip("no --llm-model given: pass --llm-model and --llm-base-url to run perf tests")
    return plugin


@pytest.fixture
def perf(request: pytest.FixtureRequest) -> PerfSweep:
    """Runs the test's `@pytest.mark.perf(...)` sweep once, before the test body."""
    from .load import make_spec
    from .runner import check_results

    plugin = _plugin(request.config)
    mark = request.node.get_closest_marker("perf")
    if mark is None:
        pytest.fail(
            "the perf fixture needs @pytest.mark.perf(...) on the test, e.g. "
            "@pytest.mark.perf(parallel=[1, 8], number=[8, 64])",
            pytrace=False,
        )
    try:
        results = plugin.execute(make_spec(mark.kwargs), request.node)
        check_results(results)
    except LLMEvalError as exc:  # usage, dataset or all-failed: the message says it all
        pytest.fail(str(exc), pytrace=False)
    return PerfSweep(results)


@pytest.fixture
def llm_perf(request: pytest.FixtureRequest) -> PerfRunner:
    """`llm_perf.run(parallel=8, number=64, ...)` -> PerfResult; `llm_perf.sweep(...)` -> PerfSweep."""
    return PerfRunner(_plugin(request.config), request.node)


@pytest.fixture
def llm_capacity(request: pytest.FixtureRequest) -> CapacityRunner:
    """`llm_capacity("p99_ttft<=2s", parallel=(1, 256), ...)` -> CapacityResult (`.max_concurrency`)."""
    return CapacityRunner(_plugin(request.config), request.node)
