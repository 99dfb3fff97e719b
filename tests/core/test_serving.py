"""--llm-serve: the plugin starts any server command for the run and always stops it."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from tests.conftest import GSM8K_RULES
from tests.runs import dataset


def serve_command(tmp_path, **config) -> str:
    path = tmp_path / "server.json"
    path.write_text(json.dumps({"rules": GSM8K_RULES, **config}))
    return f"{sys.executable} -m pytest_llmeval.testing.server --port {{port}} --model {{model}} --config {path}"


def port_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def test_serve_command_runs_the_evaluation_and_is_stopped(pytester, gsm8k_file, tmp_path):
    results = tmp_path / "r.json"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "served-model",
        "--llm-serve",
        serve_command(tmp_path),
        *dataset("gsm8k", gsm8k_file),
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["llmeval: serving served-model at http://127.0.0.1:*/v1 (log: *server.log)"])
    data = json.loads(results.read_text())
    assert data["model"] == "served-model"
    assert not port_open(data["base_url"])  # the server is gone once pytest has finished


def test_serve_under_xdist_starts_one_server_for_all_workers(pytester, gsm8k_file, tmp_path):
    starts = tmp_path / "starts.txt"
    command = f"sh -c 'echo started >> {starts}; exec {serve_command(tmp_path)}'"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "served-model",
        "--llm-serve",
        command,
        *dataset("gsm8k", gsm8k_file),
        "-n",
        "2",
    )
    result.assert_outcomes(passed=3, failed=1)
    assert starts.read_text().splitlines() == ["started"]


def test_server_that_exits_reports_its_exit_code_and_log(pytester, gsm8k_file):
    command = f"{sys.executable} -c \"import sys; print('model file not found'); sys.exit(3)\" {{port}}"
    result = pytester.runpytest_subprocess("--llm-model", "m", "--llm-serve", command, *dataset("gsm8k", gsm8k_file))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert "could not start the model server" in error and "3" in error and "model file not found" in error


def test_server_that_never_gets_ready_is_killed_at_the_timeout(pytester, gsm8k_file):
    command = f'{sys.executable} -c "import time; time.sleep(60)" {{port}}'
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-serve",
        command,
        "--llm-serve-timeout",
        "1",
        *dataset("gsm8k", gsm8k_file),
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llm-serve-timeout" in result.stderr.str()


def test_no_endpoint_at_all_says_what_to_pass(pytester, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = pytester.runpytest_subprocess("--llm-model", "some-cloud-model", "-m", "gsm8k")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pass --llm-base-url" in result.stderr.str()


def test_llm_server_fixture(pytester, tmp_path):
    pytester.makepyfile(
        test_srv="""
        def test_info(llm_server, llm):
            assert llm_server.managed and llm_server.base_url.startswith("http://127.0.0.1:")
            assert llm_server.log_path.name == "server.log"
            assert "boxed{5}" in llm.chat("apples").text
    """
    )
    result = pytester.runpytest_subprocess("--llm-model", "served-model", "--llm-serve", serve_command(tmp_path))
    result.assert_outcomes(passed=1)


def test_a_command_with_a_fixed_port_is_told_apart_by_the_base_url(pytester, gsm8k_file, tmp_path):
    """`ollama serve` listens on its own port: --llm-base-url names it, and the plugin starts the
    command, waits on that port and stops it; without the base URL it is one clear usage error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = serve_command(tmp_path).replace("{port}", str(port))
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "served-model",
        "--llm-serve",
        command,
        "--llm-base-url",
        f"http://127.0.0.1:{port}/v1",
        *dataset("gsm8k", gsm8k_file),
    )
    result.assert_outcomes(passed=3, failed=1)
    assert not port_open(f"http://127.0.0.1:{port}/v1")
    refused = pytester.runpytest_subprocess(
        "--llm-model", "served-model", "--llm-serve", command, *dataset("gsm8k", gsm8k_file)
    )
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*give the port it listens on with --llm-base-url http://127.0.0.1:PORT/v1*"])
