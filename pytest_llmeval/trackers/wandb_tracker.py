"""Send a run to Weights & Biases (`wandb`), online or offline.

One W&B run per pytest run in project `--llm-wandb PROJECT`: `config` holds the params, `summary`
the metrics, the samples table and the perf levels are `wandb.Table`s (`samples`, `perf`), and each
perf figure is also logged as a series over the levels (`perf/<test>/<figure>` against the step
`perf/level`, the level's concurrency or rate). The run's mode is W&B's own: `WANDB_MODE=offline`
writes it under `WANDB_DIR` (`wandb/offline-run-*/run-*.wandb`, uploaded later by `wandb sync`).
The exit code W&B records is 0 for a passed run, 1 otherwise. W&B's own system metadata (command
line, git state, installed packages, console output) is switched off: the command line can hold an
API key, and the run is described by the payload alone.
"""

from __future__ import annotations

from typing import Any

from .payload import PERF_COLUMNS, SAMPLE_COLUMNS, TrackerPayload


def log_to_wandb(project: str, payload: TrackerPayload, passed: bool, mode: str | None = None) -> str:
    """Log the run; returns its run id. Raises what wandb raises."""
    import wandb

    run = wandb.init(
        project=project,
        name=payload.run_name,
        config=dict(payload.params),
        tags=[f"{key}={value}" for key, value in payload.tags.items()],
        mode=mode,  # type: ignore[arg-type]
        reinit="create_new",
        # W&B's own metadata records the command line (sys.argv: an --llm-api-key given there), the
        # environment's packages, git state and the console: none of it is sent, only the payload
        settings=wandb.Settings(
            x_disable_meta=True, disable_code=True, disable_git=True, console="off", x_save_requirements=False
        ),
    )
    try:
        run.summary.update(dict(payload.metrics))
        tables: dict[str, Any] = {}
        if payload.samples:
            tables["samples"] = wandb.Table(
                columns=list[str | int](SAMPLE_COLUMNS), data=[_cells(row) for row in payload.samples]
            )
        if payload.perf:
            tables["perf"] = wandb.Table(
                columns=list[str | int](PERF_COLUMNS), data=[_cells(row) for row in payload.perf]
            )
        if tables:
            run.log(tables)
        steps: dict[int, dict[str, float]] = {}
        for name, value, step in payload.perf_metrics:
            steps.setdefault(step, {})[name] = value
        if steps:
            run.define_metric("perf/level")
            run.define_metric("perf/*", step_metric="perf/level")
            for step in sorted(steps):
                run.log({"perf/level": step, **steps[step]})
        run_id: str = run.id
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish(exit_code=0 if passed else 1)
    return run_id


def _cells(row: list[Any]) -> list[Any]:
    """A table row W&B accepts: a cell of mixed type (the target: a str here, a list there) as text."""
    return [cell if cell is None or isinstance(cell, (bool, int, float, str)) else str(cell) for cell in row]
