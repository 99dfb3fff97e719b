"""Send a run to MLflow with its own client (`mlflow.MlflowClient`, no global active run).

One MLflow run per pytest run, in the experiment `--llm-mlflow-experiment` (default
`pytest-llmbench`, created when missing): params, metrics (perf figures as series whose step is the
level's concurrency or rate), tags `llmeval.passed` / `llmeval.complete`, and as artifacts the samples
table (`samples.json`, MLflow's table format, shown in the UI's evaluation view), the perf levels
(`perf.json`) and the results JSON (`results.json`). The run ends FINISHED when it passed, FAILED
otherwise (an incomplete run is never FINISHED).
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from .payload import PERF_COLUMNS, SAMPLE_COLUMNS, TrackerPayload

DEFAULT_EXPERIMENT = "pytest-llmbench"
BATCH = 900  # MLflow's log_batch takes at most 1,000 metrics and 100 params per call


def check_local_store(uri: str) -> str | None:
    """Why MLflow refuses a local filesystem tracking URI (a path or `file:`), or None.

    Asked before any request, so a store MLflow 3 will not open (its filesystem backend is in
    maintenance mode and raises unless `MLFLOW_ALLOW_FILE_STORE=true`) is a usage error, not a
    note after a finished run. Other URIs (http, sqlite, databricks) are left to the end of the run:
    opening them can mean a network round trip or a database migration."""
    from urllib.parse import urlparse

    scheme = urlparse(uri).scheme
    if scheme not in ("", "file") and not (len(scheme) == 1 and os.name == "nt"):  # C:\ is a path
        return None
    from mlflow import MlflowClient

    try:
        MlflowClient(tracking_uri=uri)
    except Exception as exc:  # MlflowException, or an OSError from the folder
        return str(exc).strip() or type(exc).__name__
    return None


def log_to_mlflow(uri: str, experiment: str, payload: TrackerPayload, passed: bool) -> str:
    """Create the run and log everything; returns the run id. Raises what MLflow raises."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name=payload.run_name, tags=dict(payload.tags))
    run_id: str = run.info.run_id
    try:
        now = int(time.time() * 1000)
        params = [Param(key, value) for key, value in payload.params.items()]
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start : start + 100])
        metrics = [Metric(key, value, now, 0) for key, value in payload.metrics.items()]
        metrics += [Metric(key, value, now, step) for key, value, step in payload.perf_metrics]
        for start in range(0, len(metrics), BATCH):
            client.log_batch(run_id, metrics=metrics[start : start + BATCH])
        with warnings.catch_warnings():  # pandas' deprecation notes about MLflow's own dtype checks
            warnings.simplefilter("ignore")
            if payload.samples:
                client.log_table(run_id, data=_columns(SAMPLE_COLUMNS, payload.samples), artifact_file="samples.json")
            if payload.perf:
                client.log_table(run_id, data=_columns(PERF_COLUMNS, payload.perf), artifact_file="perf.json")
        client.log_dict(run_id, payload.results, "results.json")
        _terminate(client, run_id, "FINISHED" if passed else "FAILED")
    except BaseException:
        _terminate(client, run_id, "FAILED")
        raise
    return run_id


def _terminate(client: Any, run_id: str, status: str) -> None:
    """End the run without MLflow writing its "View run" link into pytest's progress line (the
    terminal summary names the run instead)."""
    key = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    before = os.environ.get(key)
    os.environ[key] = "true"
    try:
        client.set_terminated(run_id, status=status)
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _columns(names: list[str], rows: list[list[Any]]) -> dict[str, list[Any]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}
