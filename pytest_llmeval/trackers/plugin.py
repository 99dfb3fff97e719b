"""`TrackerPlugin`: the trackers' feature plugin, registered where records arrive (the only process
or the xdist controller) when `--llm-mlflow` or `--llm-wandb` is given.

It listens to the record stream (`pytest_llmeval_sample_record`: one slim samples-table row each, texts
shortened and redacted) and to the final result (`pytest_llmeval_results`, last, after the other
plugins added their sections such as `extra.perf`), then sends the payload to each tracker. A tracker
that cannot be reached does not change the run's verdict: the terminal summary's last lines name
the tracker and the error (`output_problems`, as for an output file that could not be written).
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from ..errors import ConfigError
from ..redact import redact
from ..results import RunResult, SampleRecord
from ..settings import redact_url
from .payload import build_payload, sample_row

EXTRAS = {"mlflow": ("--llm-mlflow", "mlflow"), "wandb": ("--llm-wandb", "wandb")}  # extra: (option, module)


def require_extra(extra: str) -> None:
    """ConfigError naming the extra to install when the tracker's library cannot be imported (absent,
    or broken): said before any request, not after the run."""
    option, module = EXTRAS[extra]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{option} needs the {module} package: pip install 'pytest-llmbench[{extra}]' ({exc})"
        ) from None


class TrackerPlugin:
    def __init__(
        self,
        *,
        mlflow_uri: str | None,
        mlflow_experiment: str,
        wandb_project: str | None,
        run_name: str | None,
        problems: list[str],
    ) -> None:
        if mlflow_uri is not None:
            require_extra("mlflow")
            from .mlflow_tracker import check_local_store

            refused = check_local_store(mlflow_uri)
            if refused is not None:
                raise ConfigError(
                    f"--llm-mlflow {mlflow_uri}: MLflow refuses this tracking URI: {refused} "
                    "Use a database store such as --llm-mlflow sqlite:///mlflow.db, or a tracking server URL."
                )
        if wandb_project is not None:
            require_extra("wandb")
        self.mlflow_uri = mlflow_uri
        self.mlflow_experiment = mlflow_experiment
        self.wandb_project = wandb_project
        self.run_name = run_name
        self.problems = problems  # RunOutcome.output_problems: printed last in the summary
        self.samples: list[list[Any]] = []
        self.logged: dict[str, str] = {}  # tracker -> run id

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.samples.append(sample_row(record))

    @pytest.hookimpl(trylast=True)
    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        payload = build_payload(result, self.samples, self.run_name)
        if self.mlflow_uri is not None:
            self._send("mlflow", "MLflow", self.mlflow_uri, lambda: self._mlflow(payload, result.passed))
        if self.wandb_project is not None:
            self._send("wandb", "W&B", self.wandb_project, lambda: self._wandb(payload, result.passed))
        result.extra["trackers"] = dict(self.logged)  # the run ids, for finding the run again

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """One line per tracker the run went to, with its run id (where to find it)."""
        where = {"mlflow": f"MLflow ({self.mlflow_uri}, experiment {self.mlflow_experiment})", "wandb": "W&B"}
        for key, run_id in self.logged.items():
            project = f" project {self.wandb_project}" if key == "wandb" else ""
            terminalreporter.write_line(redact_url(f"llmeval: logged to {where[key]}{project}: run {run_id}"))

    def _mlflow(self, payload: Any, passed: bool) -> str:
        from .mlflow_tracker import log_to_mlflow

        assert self.mlflow_uri is not None
        return log_to_mlflow(self.mlflow_uri, self.mlflow_experiment, payload, passed)

    def _wandb(self, payload: Any, passed: bool) -> str:
        from .wandb_tracker import log_to_wandb

        assert self.wandb_project is not None
        return log_to_wandb(self.wandb_project, payload, passed)

    def _send(self, key: str, name: str, where: str, send: Any) -> None:
        try:
            self.logged[key] = send()
        except Exception as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.problems.append(
                redact(redact_url(f"llmeval: the run was not logged to {name} ({where}): {text[:300]}"))
            )
