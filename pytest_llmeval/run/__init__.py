"""An evaluation run's plugins, registered by role (`register`), in the way of pytest-xdist.

- `scope.Evaluation` (registered as `llmeval-evaluation`): the settings, runtime and selection
  every process shares.
- Roles: `runner.ItemRunner` runs the samples of a single-process run, `worker.WorkerRunner` an
  xdist worker's share; `controller.LocalController` / `controller.DistController` aggregate (the
  only process, or the xdist controller) and own the exit status. `collect.SampleCollection`
  builds the items wherever items are collected.
- Features, one plugin each, fed by the record stream (`pytest_llmeval_*` hooks, `hooks.py`) and
  registered only when their option is on: `aggregation` (always), `thresholds`, `early_stop`,
  `collection_tables`, `efficiency`, `samples_file`, `results_file`, `shard` (`--llm-shard`'s
  part of the results JSON; `merge` recomputes a sharded run from its shards); `progress` (scope and live
  line), `notices`, and `terminal` (the summary and the verdict line); `spending` (tokens and cost,
  always; the budget guard where items run when a budget is set).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..engine.distribution import TAKEOVER_KEY, ShareFilter, is_xdist_controller
from ..engine.selection import plain_tests_can_match
from ..engine.xdist_hooks import (
    BENCHMARKS_KEY,
    MEDIA_DIR_KEY,
    SAMPLES_ONLY_KEY,
    XdistHooks,
)
from ..errors import ConfigError
from ..report.outputs import check_output_paths
from ..settings import RunSettings
from .aggregation import Aggregation
from .collect import SampleCollection
from .collection_tables import CollectionTables
from .controller import Controller, DistController, LocalController
from .early_stop import EarlyStop
from .efficiency import EfficiencyFigures
from .notices import Notices
from .outcome import RunOutcome
from .progress import Progress
from .replicas import ReplicaReport, ReplicaWorkerOutput
from .results_file import ResultsFile
from .runner import ItemRunner
from .samples_file import SamplesFile
from .scope import Evaluation
from .shard import ShardRecord, ShardWorkerOutput, check_shard_settings
from .spending import BudgetGuard, SpendingSummary, UnsentSamples, price_table, spending_limit
from .terminal import TerminalSummary
from .thresholds import ThresholdGate
from .throttling import Throttling, WorkerThrottling
from .worker import WorkerRunner, print_notice

PLUGIN_NAME = "llmeval-evaluation"

if TYPE_CHECKING:
    from ..arena.plugin import ArenaPart


def register(
    config: pytest.Config,
    settings: RunSettings,
    serving_input: Callable[[], dict[str, Any]],
) -> Evaluation:
    """Register the plugins of this process's role; returns the shared `Evaluation`.
    `serving_input` is what workers need of the served model (`ServingPlugin.workerinput`)."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        return register_worker(config, settings, workerinput)
    return register_controller(config, settings, serving_input)


def arena_part(config: pytest.Config, settings: RunSettings) -> ArenaPart | None:
    """The run's `arena.plugin.ArenaPart`, None without `--llm-arena` (the arena is imported only
    then: ~30 ms of every run's start-up)."""
    if settings.arena is None:
        return None
    from ..arena.plugin import ArenaPart

    return ArenaPart.create(config, settings)


def register_worker(config: pytest.Config, settings: RunSettings, workerinput: dict[str, Any]) -> Evaluation:
    media = workerinput.get(MEDIA_DIR_KEY)
    arena = arena_part(config, settings)  # before the Evaluation: it registers the `arena` benchmark
    evaluation = Evaluation(config, settings, notify=print_notice, media_root=Path(media) if media else None)
    if arena is not None:
        arena.attach(evaluation.benchmark_instances, evaluation.runtime)
    evaluation.samples_only = bool(workerinput.get(SAMPLES_ONLY_KEY))
    plugins = config.pluginmanager
    plugins.register(evaluation, PLUGIN_NAME)
    share = ShareFilter(workerinput["workerid"], workerinput["workercount"], workerinput.get(TAKEOVER_KEY))
    plugins.register(SampleCollection(evaluation, keep=share), PLUGIN_NAME + "-collect")
    plugins.register(WorkerRunner(evaluation, workerinput, share), PLUGIN_NAME + "-worker")
    plugins.register(WorkerThrottling(evaluation), PLUGIN_NAME + "-throttling")
    limit = spending_limit(settings, price_table(settings), int(workerinput.get("workercount", 1)))
    if limit is not None:
        plugins.register(BudgetGuard(evaluation, limit), PLUGIN_NAME + "-budget")
    if evaluation.shard_plan is not None:
        plugins.register(ShardWorkerOutput(evaluation), PLUGIN_NAME + "-shard")
    if settings.endpoint.replicas:
        plugins.register(ReplicaWorkerOutput(evaluation), PLUGIN_NAME + "-replicas")
    return evaluation


def register_controller(
    config: pytest.Config,
    settings: RunSettings,
    serving_input: Callable[[], dict[str, Any]],
) -> Evaluation:
    # before any request: two outputs on one file, or one that cannot be written
    check_output_paths({"--llm-results": settings.results_path, "--llm-samples": settings.samples_path})
    check_shard_settings(settings)
    distributed = is_xdist_controller(config)
    if settings.early_stop and distributed:
        raise ConfigError("--llm-early-stop decides on every sample in one process: drop -n/--dist (xdist) for it")
    prices = price_table(settings)  # --llm-prices: a bad file is a usage error before any request
    workers = int(getattr(config.option, "numprocesses", None) or 1) if distributed else 1
    limit = spending_limit(settings, prices, workers)  # checked here also when the workers keep it
    notices = Notices(config)
    arena = arena_part(config, settings)  # before the Evaluation: it registers the `arena` benchmark
    evaluation = Evaluation(config, settings, notify=notices.notify)
    if arena is not None:
        arena.attach(evaluation.benchmark_instances, evaluation.runtime)
    evaluation.samples_only = decide_samples_only(config, evaluation)
    outcome = RunOutcome()
    plugins = config.pluginmanager
    plugins.register(evaluation, PLUGIN_NAME)
    controller: Controller
    if distributed:
        controller = DistController(evaluation, outcome)
        register_xdist_hooks(config, evaluation, controller, serving_input)
    else:
        plugins.register(SampleCollection(evaluation), PLUGIN_NAME + "-collect")
        plugins.register(ItemRunner(evaluation), PLUGIN_NAME + "-runner")
        controller = LocalController(evaluation, outcome)
    plugins.register(controller, PLUGIN_NAME + "-controller")
    features: dict[str, object] = {
        "aggregation": Aggregation(evaluation),
        "notices": notices,  # at the end after the live line's last update (later registered: called first)
        "progress": Progress(evaluation),
        "terminal": TerminalSummary(evaluation, outcome),
        "throttling": Throttling(evaluation),
    }
    if evaluation.rules:
        features["thresholds"] = ThresholdGate(evaluation.rules, settings.threshold_mode)
    if settings.early_stop:
        features["early-stop"] = EarlyStop(evaluation)
    if evaluation.collection is not None:
        features["collection"] = CollectionTables(evaluation.collection)
    if settings.think_eval:
        from ..scoring.efficiency import DEFAULT_THOUGHT_MARKERS

        features["efficiency"] = EfficiencyFigures(settings.thought_markers or DEFAULT_THOUGHT_MARKERS)
        if settings.tokenizer is not None:  # a file that is no tokenizer: a usage error now, not one per sample
            evaluation.runtime.thinking_analyser()
    if settings.samples_path is not None:
        features["samples"] = SamplesFile(settings.samples_path, outcome)
    own_limit = None if distributed else limit  # under xdist each worker keeps its share
    if own_limit is not None:
        features["budget"] = BudgetGuard(evaluation, own_limit)
    spending = SpendingSummary(evaluation, prices, own_limit, settings.max_tokens_budget, settings.max_cost)
    features["spending"] = spending
    if settings.max_tokens_budget is not None or settings.max_cost is not None:
        features["unsent"] = UnsentSamples(spending)
    if settings.mlflow_uri is not None or settings.wandb_project is not None:
        from ..trackers import TrackerPlugin

        features["trackers"] = TrackerPlugin(
            mlflow_uri=settings.mlflow_uri,
            mlflow_experiment=settings.mlflow_experiment,
            wandb_project=settings.wandb_project,
            run_name=settings.tracker_run_name,
            problems=outcome.output_problems,
        )
    if settings.results_path is not None:
        features["results"] = ResultsFile(
            settings.results_path, outcome, settings.endpoint.model, baseline=settings.compare.path
        )
    if settings.shard is not None:
        features["shard"] = ShardRecord(evaluation, outcome)
    if settings.endpoint.replicas:
        features["replicas"] = ReplicaReport(evaluation)
    for name, feature in features.items():
        plugins.register(feature, f"{PLUGIN_NAME}-{name}")
    if arena is not None:  # after the threshold gate: its assemble hook runs before the gate's
        html = bool(config.getoption("htmlpath", None))
        from ..arena.plugin import ArenaResults

        plugins.register(ArenaResults(arena, html=html), f"{PLUGIN_NAME}-arena")
    return evaluation


def register_xdist_hooks(
    config: pytest.Config,
    evaluation: Evaluation,
    controller: DistController,
    serving_input: Callable[[], dict[str, Any]],
) -> None:
    """The xdist controller's scheduling hooks (`items/xdist_hooks.py`) and what workers get."""

    def workerinput() -> dict[str, object]:  # called per worker: the selection is final by then
        media = evaluation.shared_media_root()
        return {
            BENCHMARKS_KEY: evaluation.sample_names(),
            **serving_input(),
            **({MEDIA_DIR_KEY: str(media)} if media is not None else {}),
            SAMPLES_ONLY_KEY: evaluation.samples_only,
        }

    hooks = XdistHooks(workerinput, controller.planned_by_worker, controller.deselected_by_worker)
    config.pluginmanager.register(hooks, PLUGIN_NAME + "-xdist")


def decide_samples_only(config: pytest.Config, evaluation: Evaluation) -> bool:
    """True when the run collects no test files, only the plugin's items: no path was given and
    the job is named by the plugin's options (`--llm-collection`, `--llm-perf`, or an `-m` that no
    test without a benchmark mark can match, see `plain_tests_can_match`). The Quickstart typed
    inside a project then shows the benchmark alone; a path (`pytest tests/ ...`) or an `-m` that
    a plain test can match collects test files as usual."""
    from ..benchmarks.registry import all_benchmarks

    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return False
    if evaluation.collection is not None or evaluation.settings.perf_words or evaluation.settings.perf_slo:
        return True
    return bool(evaluation.selection) and not plain_tests_can_match(config.option.markexpr, all_benchmarks())
