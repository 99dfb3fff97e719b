"""`--llm-shard I/N` (registered when it is given): what a shard's results JSON must carry for `merge`.

The split itself happens where items are built (`engine/sharding.py`). This feature writes
`extra["shard"]` (`ShardInfo`): which shard this is, a digest of the whole run's samples (every
shard must have read the same data), the configuration every shard must share (`config`: model,
generation parameters, dataset and selection options, plugin version) and what the merge needs to
recompute the one-machine result from the records (`replay`: gates, collection, efficiency markers).

Under xdist the workers build the items: each sends its plan to the controller in
`workeroutput` (`ShardWorkerOutput`), read back in `pytest_testnodedown`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from .. import __version__
from ..engine.sharding import ShardPlan
from ..errors import ConfigError
from ..results import RunResult
from ..settings import RunSettings
from .outcome import RunOutcome
from .scope import Evaluation

SHARD_KEY = "shard"  # result.extra[SHARD_KEY]
WORKER_PLAN_KEY = "llmeval_shard_groups"  # config.workeroutput[...] of an xdist worker


class ReplaySettings(BaseModel):
    """What `merge` needs to recompute the run's sections and gates from the sample records."""

    thresholds: list[str] = Field(default_factory=list)  # every --llm-threshold, plain and collection rules
    threshold_mode: str = "point"
    max_errors: int = 0
    think_eval_markers: list[str] | None = None  # --llm-think-eval: its thought markers; None: off
    collection_path: str | None = None  # --llm-collection: the file, absolute (read again by the merge)
    collection_source: str | None = None  # as the user named it (the report shows it)
    collection_skip_unknown: bool = False
    other_failures: int = 0  # failed tests that are not samples (each fails the merged run, as it would one run)
    max_drop_voted: bool = False  # a plugin gate (such as --llm-max-drop) voted: the merge cannot replay it
    prices_path: str | None = None  # --llm-prices, absolute: the merged `usage` is priced with it


class ShardInfo(BaseModel):
    """`extra["shard"]` of a shard's results JSON (docs/scaling.md)."""

    index: int  # 1-based
    count: int
    population: int  # samples of the whole run, every shard's together
    population_digest: str  # sha256 over every group's sample ids and contents: equal on every shard
    samples_file: str | None = None  # this shard's --llm-samples (as written)
    config: dict[str, Any] = Field(default_factory=dict)  # must be equal on every shard (merge names a difference)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)


def check_shard_settings(settings: RunSettings) -> None:
    """A shard is only useful with its files, and early stop decides on every sample of a benchmark."""
    if settings.shard is None:
        return
    shown = f"{settings.shard[0]}/{settings.shard[1]}"
    missing = [
        flag
        for flag, path in (("--llm-results", settings.results_path), ("--llm-samples", settings.samples_path))
        if path is None
    ]
    if missing:
        raise ConfigError(
            f"--llm-shard {shown} needs {' and '.join(missing)} PATH: merge reads each shard's results JSON "
            "and samples JSONL (e.g. --llm-results shard-1/results.json --llm-samples shard-1/samples.jsonl)"
        )
    if settings.early_stop:
        raise ConfigError(
            f"--llm-shard {shown} and --llm-early-stop do not go together: early stop decides on every sample "
            "of a benchmark in one process; drop one of them"
        )


def shard_config(settings: RunSettings, config: pytest.Config) -> dict[str, Any]:
    """What every shard of one run must share, by the name a refusal uses."""
    return {
        "model": settings.endpoint.model,
        "generation config": dict(settings.endpoint.gen),
        "plugin version": __version__,
        "dataset": {
            "datasets": dict(sorted(settings.datasets.items())),
            "hub": settings.hub,
            "collection": settings.collection,
            "limit": settings.limit,
            "shuffle": settings.shuffle,
            "seed": settings.seed,
        },
        "benchmark options": {
            "bench_args": settings.bench_args,
            "protocol": settings.protocol,
            "answer_parser": settings.answer_parser,
            "output_type": settings.output_type,
            "repeats": settings.repeats,
            "keep_thinking": settings.keep_thinking,
        },
        "selection": {"-m": config.option.markexpr or "", "-k": config.option.keyword or ""},
        "gates": {
            "thresholds": list(settings.thresholds),
            "threshold_mode": settings.threshold_mode,
            "max_errors": settings.max_errors,
        },
        "shard count": settings.shard[1] if settings.shard else None,
    }


class ShardRecord:
    """Adds `extra["shard"]` on the process that writes the results (the controller)."""

    def __init__(self, evaluation: Evaluation, outcome: RunOutcome) -> None:
        self.evaluation = evaluation
        self.outcome = outcome
        assert evaluation.shard_plan is not None
        self.plan: ShardPlan = evaluation.shard_plan

    @pytest.hookimpl(optionalhook=True)  # an xdist hook
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """An xdist worker's groups (every worker builds the same split: the first one is enough)."""
        groups = getattr(node, "workeroutput", {}).get(WORKER_PLAN_KEY)
        if groups and not self.plan.groups:
            self.plan.groups.update({group: (int(count), str(digest)) for group, (count, digest) in groups.items()})

    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        settings = self.evaluation.settings
        collection = settings.collection
        collection_path = None
        if collection is not None:
            path = Path(collection).expanduser()
            path = path if path.is_absolute() else Path(config.invocation_params.dir) / path
            collection_path = str(path) if path.exists() else collection
        info = ShardInfo(
            index=self.plan.spec.index,
            count=self.plan.spec.count,
            population=self.plan.population,
            population_digest=self.plan.population_digest(),
            samples_file=result.samples_path,
            config=shard_config(settings, config),
            replay=ReplaySettings(
                thresholds=list(settings.thresholds),
                threshold_mode=settings.threshold_mode,
                max_errors=settings.max_errors,
                think_eval_markers=self.think_markers(),
                collection_path=collection_path,
                collection_source=collection,
                collection_skip_unknown=settings.collection_skip_unknown,
                other_failures=self.outcome.other_failures,
                max_drop_voted=settings.compare.max_drop is not None,
                prices_path=str(Path(settings.prices).resolve()) if settings.prices is not None else None,
            ),
        )
        result.extra[SHARD_KEY] = info.model_dump(mode="json")

    @pytest.hookimpl(trylast=True)  # after the controller set the exit status from the verdict
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """A shard's gates mean nothing alone (a threshold on 1/N of the samples): a shard that ran
        completely exits 0, wrong answers or not, and the merge decides (`merge --gate`). An
        incomplete or interrupted shard keeps its failing status."""
        result = self.outcome.result
        if result is None or not result.complete or self.outcome.other_failures:
            return
        if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not self.plan.population:
            return  # the whole run has no sample (not only this shard): pytest's "no tests ran" stands
        # NO_TESTS_COLLECTED: a shard dealt no sample (3 samples over 4 shards) ran completely too
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.OK
            self.outcome.verdict = None  # no verdict line: the merge prints the run's
            self.outcome.exit_status = 0

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = self.outcome.result
        if result is None:
            return
        state = "complete" if result.complete else "INCOMPLETE"
        terminalreporter.write_line(
            f"llmeval: shard {self.plan.spec} {state} ({result.samples_scored + result.samples_errored:,} of the "
            f"run's {self.plan.population:,} samples); gates are decided on the merged run: "
            "python -m pytest_llmeval.report merge shard-*/results.json -o results.json --gate",
            bold=True,
        )

    def think_markers(self) -> list[str] | None:
        settings = self.evaluation.settings
        if not settings.think_eval:
            return None
        from ..scoring.efficiency import DEFAULT_THOUGHT_MARKERS

        return list(settings.thought_markers or DEFAULT_THOUGHT_MARKERS)


class ShardWorkerOutput:
    """On an xdist worker: hands this worker's split to the controller at the end."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        plan = self.evaluation.shard_plan
        output = getattr(session.config, "workeroutput", None)
        if plan is not None and output is not None:
            output[WORKER_PLAN_KEY] = {group: list(value) for group, value in plan.groups.items()}
