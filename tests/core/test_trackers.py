"""Experiment trackers: a real MLflow tracking server started by the test (read back with
MlflowClient), and W&B in offline mode (read back from the run files it writes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.test_evaluation import run

API_KEY = "sk-tracker-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on a loopback port with a tmp SQLite backend store and artifact folder."""
    pytest.importorskip("mlflow", reason="needs the mlflow extra: pip install 'pytest-llmbench[mlflow]'")
    executable = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    assert executable is not None, "the mlflow package is installed but its `mlflow` command is not"
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            executable,
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600  # a cold start on a loaded machine can take minutes
        while True:
            assert process.poll() is None, (folder / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not answer /health"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_mlflow_run_params_metrics_and_samples_table_read_back(
    pytester, model_server, gsm8k_file, mlflow_server, tmp_path
):
    result = run(
        pytester,
        model_server,
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-api-key",
        API_KEY,
        "--llm-gen",
        "temperature=0",
        "--llm-mlflow",
        mlflow_server,
        "--llm-mlflow-experiment",
        "tracked",
        "--llm-tracker-run-name",
        "first run",
        "--llm-results",
        str(tmp_path / "r.json"),
    )
    result.assert_outcomes(passed=3, failed=1)
    assert "not logged" not in result.stdout.str()
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("tracked")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    tracked = runs[0]
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["extra"]["trackers"]["mlflow"] == tracked.info.run_id
    assert tracked.info.run_name == "first run"
    assert tracked.info.status == "FAILED"  # a wrong answer and no gate: pytest's rule failed the run
    params = tracked.data.params
    assert params["model"] == "fake-model"
    assert params["gen.temperature"] == "0"
    assert params["benchmarks"] == "gsm8k"
    assert params["gsm8k.protocol"] == "evalscope"
    metrics = tracked.data.metrics
    assert metrics["gsm8k/acc"] == pytest.approx(0.75)
    assert metrics["gsm8k/main/acc"] == pytest.approx(0.75)
    interval = results["benchmarks"]["gsm8k"]["uncertainty"]["acc"]
    assert metrics["gsm8k/acc_ci_low"] == pytest.approx(interval["ci_low"])
    assert metrics["gsm8k/acc_ci_high"] == pytest.approx(interval["ci_high"])
    assert metrics["tokens/prompt"] == results["usage"]["run"]["prompt_tokens"] > 0
    assert metrics["passed"] == 0.0
    artifacts = {item.path for item in client.list_artifacts(tracked.info.run_id)}
    assert {"samples.json", "results.json"} <= artifacts
    table = json.loads(Path(client.download_artifacts(tracked.info.run_id, "samples.json", str(tmp_path))).read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    assert sorted(row["id"] for row in rows) == ["0", "1", "2", "3"]
    assert sum(bool(row["passed"]) for row in rows) == 3
    everything = json.dumps([tracked.data.params, tracked.data.tags, table])
    assert API_KEY not in everything


def test_mlflow_perf_levels_are_series_over_concurrency(pytester, start_server, mlflow_server):
    server = start_server(output_tokens=4)
    result = run(
        pytester,
        server,
        "--llm-perf",
        "parallel=1,2",
        "number=2,4",
        "--llm-mlflow",
        mlflow_server,
        "--llm-mlflow-experiment",
        "perf",
    )
    assert result.ret == 0, result.stdout.str()
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("perf")
    assert experiment is not None
    (tracked,) = client.search_runs([experiment.experiment_id])
    names = [name for name in tracked.data.metrics if name.endswith("/request_throughput")]
    assert len(names) == 1
    history = client.get_metric_history(tracked.info.run_id, names[0])
    assert sorted(point.step for point in history) == [1, 2]
    assert "perf.json" in {item.path for item in client.list_artifacts(tracked.info.run_id)}


def test_unreachable_mlflow_is_named_and_leaves_the_verdict_alone(pytester, model_server, gsm8k_file):
    pytest.importorskip("mlflow", reason="needs the mlflow extra: pip install 'pytest-llmbench[mlflow]'")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.MonkeyPatch.context() as patch:  # MLflow's own retry settings: fail fast here
        patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        patch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        result = run(
            pytester,
            model_server,
            "-m",
            "gsm8k",
            "--llm-dataset",
            f"gsm8k={gsm8k_file}",
            "--llm-threshold",
            "gsm8k.acc>=0.5",
            "--llm-mlflow",
            url,
        )
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"*llmeval: the run was not logged to MLflow ({url})*"])


def test_wandb_offline_run_files_hold_config_summary_and_tables(pytester, model_server, gsm8k_file, tmp_path):
    pytest.importorskip("wandb", reason="needs the wandb extra: pip install 'pytest-llmbench[wandb]'")
    wandb_dir = tmp_path / "wandb-dir"
    wandb_dir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        patch.setenv("WANDB_DIR", str(wandb_dir))
        patch.setenv("WANDB_SILENT", "true")
        result = run(
            pytester,
            model_server,
            "-m",
            "gsm8k",
            "--llm-dataset",
            f"gsm8k={gsm8k_file}",
            "--llm-api-key",
            API_KEY,
            "--llm-wandb",
            "llm-project",
            "--llm-results",
            str(tmp_path / "r.json"),
        )
    result.assert_outcomes(passed=3, failed=1)
    assert "not logged" not in result.stdout.str()
    run_id = json.loads((tmp_path / "r.json").read_text())["extra"]["trackers"]["wandb"]
    (run_dir,) = (wandb_dir / "wandb").glob(f"offline-run-*-{run_id}")
    records = read_wandb_records(next(run_dir.glob("*.wandb")))
    config = merged(records, "config")
    assert config["model"] == "fake-model"
    summary = merged(records, "summary")
    assert summary["gsm8k/acc"] == pytest.approx(0.75)
    assert "gsm8k/acc_ci_low" in summary and "gsm8k/acc_ci_high" in summary
    table = summary["samples"]
    assert table["_type"] == "table-file" and table["nrows"] == 4
    table_file = run_dir / "files" / table["path"]
    data = json.loads(table_file.read_text())
    assert len(data["data"]) == 4 and "passed" in data["columns"]
    assert records["exit"] == [1]  # a wrong answer failed the run
    assert API_KEY not in "".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())


def read_wandb_records(path: Path) -> dict[str, list]:
    """The records of a W&B run file, with W&B's own reader (`wandb.sdk.internal.datastore`)."""
    from wandb.proto import wandb_internal_pb2
    from wandb.sdk.internal import datastore

    store = datastore.DataStore()
    store.open_for_scan(str(path))
    found: dict[str, list] = {"config": [], "summary": [], "history": [], "exit": []}
    while True:
        data = store.scan_data()
        if data is None:
            break
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "config":
            found["config"].append({item.key: json.loads(item.value_json) for item in record.config.update})
        elif kind == "summary":
            found["summary"].append({item.key: json.loads(item.value_json) for item in record.summary.update})
        elif kind == "history":
            found["history"].append({item.key: json.loads(item.value_json) for item in record.history.item})
        elif kind == "exit":
            found["exit"].append(record.exit.exit_code)
        elif kind == "run":
            found["config"].append({item.key: json.loads(item.value_json) for item in record.run.config.update})
    return found


def merged(records: dict[str, list], kind: str) -> dict:
    out: dict = {}
    for update in records[kind]:
        out.update(update)
    return {
        key: (value.get("value", value) if kind == "config" and isinstance(value, dict) else value)
        for key, value in out.items()
    }


def test_without_the_extra_the_option_names_the_extra_to_install(pytester, model_server, gsm8k_file):
    """A tracker library that cannot be imported (hidden by an empty module on the path) is one usage error."""
    for name in ("mlflow", "wandb"):
        (pytester.path / "hide" / name).mkdir(parents=True)
        (pytester.path / "hide" / name / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", f"{pytester.path / 'hide'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        for option, extra in (("--llm-mlflow", "mlflow"), ("--llm-wandb", "wandb")):
            result = run(pytester, model_server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", option, "x")
            assert result.ret == pytest.ExitCode.USAGE_ERROR
            result.stderr.fnmatch_lines(
                [f"*{option} needs the {extra} package: pip install 'pytest-llmbench[{extra}]'*"]
            )
