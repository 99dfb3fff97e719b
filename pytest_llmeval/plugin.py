"""pytest entry point (`pytest11`): options, fixtures and the switch that turns evaluation on.

Without --llm-model nothing else is registered and an ordinary test suite runs untouched.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from . import hooks
from .errors import ConfigError
from .fixtures import llm, llm_endpoint, llm_server  # noqa: F401  (fixtures are found on the plugin module)
from .options import OptionReader, add_options, resolve_settings
from .perf.fixtures import llm_capacity, llm_perf, perf  # noqa: F401
from .rootdir_guard import check_rootdir, join_option_values


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not OptionReader(config).get("list"):
        return None
    from .benchmarks.registry import all_benchmarks
    from .report.terminal import benchmark_list_lines

    for line in benchmark_list_lines(all_benchmarks()):
        print(line)
    return 0


ASYNCIO_SCOPE_KEY = "asyncio_default_fixture_loop_scope"


def default_asyncio_loop_scope(config: pytest.Config) -> None:
    """pytest-asyncio warns on every run whose ini file leaves `asyncio_default_fixture_loop_scope`
    unset; an evaluation run sets it to "function" (pytest-asyncio's announced default) so users
    never see that warning. A value the user set is kept. pytest offers no public setter for an
    ini value, so the value goes into the config's ini cache, which `getini` reads first."""
    try:
        if config.getini(ASYNCIO_SCOPE_KEY):
            return
    except ValueError:  # pytest-asyncio is not installed
        return
    cache = getattr(config, "_inicache", None)
    if isinstance(cache, dict):
        cache[ASYNCIO_SCOPE_KEY] = "function"


def start_up_without_collections(set_up: Callable[[], bool]) -> bool:
    """`set_up()` (an evaluation's start-up; True when it set one up) with the cyclic collector off.

    Start-up imports ~200 modules and builds their pydantic models: objects that live until exit,
    yet the collector ran ~100 collections over them (2 of them full: 20-30 ms). It is off meanwhile
    (then as it was found), and when an evaluation was set up everything is frozen: never scanned
    again. Frozen uncollected: the throwaway objects start-up left (pydantic's and the enums'
    helpers, 0.4 MiB of peak RSS), since collecting them first cost 10 ms of a 1.4 s run (1,319
    GSM8K samples; paired runs 2% faster without). A run without --llm-model is left as it was.
    """
    enabled = gc.isenabled()
    started = False
    gc.disable()
    try:
        started = set_up()
        return started
    finally:
        if started:
            gc.freeze()
        if enabled:
            gc.enable()


@pytest.hookimpl(tryfirst=True)  # before pytest-asyncio's pytest_configure reads the scope
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perf(**load): load-test the endpoint (see docs/perf.md)")
    try:
        check_rootdir(config)  # before the settings: a moved rootdir lost the ini file that holds them
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not hasattr(config, "workerinput"):  # what xdist's workers will parse: no value taken for a test path
        join_option_values(config)
    start_up_without_collections(lambda: configure_evaluation(config))


def configure_evaluation(config: pytest.Config) -> bool:
    """With --llm-model: the run's settings, and the plugins of the evaluation it asks for. Returns
    whether an evaluation was set up."""
    try:
        settings = resolve_settings(config)
        if settings is None:
            return False
        default_asyncio_loop_scope(config)
        from .run import register
        from .serving import ServingPlugin, check_text_only, serve_if_asked

        served = serve_if_asked(config, settings)
        settings = served.settings
        serving = ServingPlugin(settings, served.server, deferred=served.deferred, note=served.note)
        config.pluginmanager.register(serving, "llmeval-serving")
        evaluation = register(config, settings, serving.workerinput)
        if served.text_only:
            check_text_only(
                settings.endpoint.model,
                [
                    *evaluation.selection,
                    *(evaluation.collection.dataset_names if evaluation.collection is not None else ()),
                ],
            )
        from .perf.plugin import PLUGIN_NAME as PERF_PLUGIN_NAME
        from .perf.plugin import REPORTER_NAME as PERF_REPORTER_NAME
        from .perf.plugin import PerfPlugin, PerfReporter
        from .report.plugin import JUnitProperties, ReportPlugin

        config.pluginmanager.register(PerfPlugin(config, settings), PERF_PLUGIN_NAME)
        if getattr(config.option, "xmlpath", None):  # --junitxml (workers get the option too): 12 properties an item
            config.pluginmanager.register(JUnitProperties(), "llmeval-junit")
        if not hasattr(config, "workerinput"):  # where reports arrive: the only process or the controller
            config.pluginmanager.register(PerfReporter(settings), PERF_REPORTER_NAME)
            config.pluginmanager.register(ReportPlugin(config, settings), "llmeval-report")
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    return True
