"""Experiment trackers: a real MLflow tracking server started by the test (read back with
MlflowClient), and W&B in offline mode (read back from the run files it writes)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        start_new_session=True,  # its own process group: uvicorn's worker goes with it
        # no background job runner (its huey consumers): tracking needs none, and they cost seconds of start-up
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
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
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (the server and the workers it forked), SIGKILL after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


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
    result.stdout.fnmatch_lines(
        [f"llmeval: logged to MLflow ({mlflow_server}, experiment tracked): run {tracked.info.run_id}"]
    )
    assert "View run" not in result.stdout.str()  # MLflow's own link would land in pytest's progress line
    assert tracked.info.run_name == "first run"
    assert tracked.info.status == "FINISHED"  # no gate failed (`passed` in the results JSON)
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
    assert metrics["passed"] == 1.0 and metrics["complete"] == 1.0
    artifacts = {item.path for item in client.list_artifacts(tracked.info.run_id)}
    assert {"samples.json", "results.json"} <= artifacts
    table = json.loads(Path(client.download_artifacts(tracked.info.run_id, "samples.json", str(tmp_path))).read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    assert sorted(row["id"] for row in rows) == ["0000", "0001", "0002", "0003"]
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
    records = read_wandb_run(next(run_dir.glob("*.wandb")))
    assert records["run"]["config"]["model"] == "fake-model"
    assert records["run"]["config"]["benchmarks"] == "gsm8k"
    summary = records["summary"]
    assert summary["gsm8k/acc"] == pytest.approx(0.75)
    assert summary["gsm8k/acc_ci_low"] < 0.75 < summary["gsm8k/acc_ci_high"]
    assert summary["samples.nrows"] == 4 and summary["samples._type"] == "table-file"
    (table_file,) = (run_dir / "files" / "media" / "table").glob("samples_*.table.json")
    table = json.loads(table_file.read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    assert sorted(row["id"] for row in rows) == ["0000", "0001", "0002", "0003"]
    assert sum(bool(row["passed"]) for row in rows) == 3
    assert records["exit"] == [0]  # the run passed its (no) gates: `passed` in the results JSON
    assert API_KEY.encode() not in b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())


def test_wandb_perf_levels_are_a_series_over_concurrency(pytester, start_server, tmp_path):
    pytest.importorskip("wandb", reason="needs the wandb extra: pip install 'pytest-llmbench[wandb]'")
    server = start_server(output_tokens=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        patch.setenv("WANDB_DIR", str(tmp_path))
        patch.setenv("WANDB_SILENT", "true")
        result = run(pytester, server, "--llm-perf", "parallel=1,2", "number=2,4", "--llm-wandb", "perf-project")
    assert result.ret == 0, result.stdout.str()
    (path,) = (tmp_path / "wandb").glob("offline-run-*/*.wandb")
    records = read_wandb_run(path)
    levels = [row for row in records["history"] if "perf/level" in row]
    assert [row["perf/level"] for row in levels] == [1, 2]
    assert all(any(key.endswith("/request_throughput") for key in row) for row in levels)
    assert records["summary"]["perf.nrows"] == 2  # the perf table: one row per level


def wandb_log_records(path: Path) -> list[bytes]:
    """The records of a W&B run file (`run-<id>.wandb`). wandb 0.31 no longer ships a Python reader
    (its `wandb.sdk.internal.datastore` went with the Go core), so this reads the format it documents:
    a 7-byte header (`:W&B`, magic 0xBEE1, version 0), then LevelDB log blocks of 32 KiB whose chunks
    have a 7-byte header (CRC-32C, length, type: 1 full, 2 first, 3 middle, 4 last)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:8]
    block, header = 32 * 1024, 7
    records: list[bytes] = []
    pending, pos = b"", 7
    while pos + header <= len(data):
        left = block - pos % block
        if left < header:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + header : pos + header + length]
        pos += header + length
        if kind == 1:
            records.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            records.append(pending + chunk)
            pending = b""
    return records


def read_wandb_run(path: Path) -> dict[str, Any]:
    """`run` (its config), `summary` (merged updates; nested keys joined by `.`) and `exit` codes,
    parsed with W&B's own protobuf messages."""
    from wandb.proto import wandb_internal_pb2

    def items(updates: Any) -> dict[str, Any]:
        return {(item.key or ".".join(item.nested_key)): json.loads(item.value_json) for item in updates}

    found: dict[str, Any] = {"run": {}, "summary": {}, "history": [], "exit": []}
    for raw in wandb_log_records(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            found["run"] = {"config": items(record.run.config.update), "name": record.run.display_name}
        elif kind == "summary":
            found["summary"].update(items(record.summary.update))
        elif kind == "history":
            found["history"].append(items(record.history.item))
        elif kind == "exit":
            found["exit"].append(record.exit.exit_code)
    return found


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
            stderr = result.stderr.str()
            assert f"{option} needs the {extra} package: pip install 'pytest-llmbench[{extra}]'" in stderr
            assert "Traceback" not in stderr


def test_a_filesystem_store_mlflow_refuses_is_a_usage_error_before_any_request(pytester, model_server, gsm8k_file):
    """MLflow 3 raises on a `file:` / plain-path tracking store: said at start, with the fix."""
    pytest.importorskip("mlflow", reason="needs the mlflow extra: pip install 'pytest-llmbench[mlflow]'")
    before = model_server.stats()["chat_requests"]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
        for uri in ("file:./mlruns", "./mlruns"):
            result = run(
                pytester, model_server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm8k_file}", "--llm-mlflow", uri
            )
            assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
            stderr = result.stderr.str()
            assert f"--llm-mlflow {uri}: MLflow refuses this tracking URI" in stderr, stderr
            assert "sqlite:///mlflow.db" in stderr and "Traceback" not in stderr
    assert model_server.stats()["chat_requests"] == before
