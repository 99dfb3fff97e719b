"""The real llama.cpp server, started by the plugin, is SIGKILLed mid-run: one message, no timeouts."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psutil
import pytest

from pytest_llmeval.endpoint.local_models import LocalModelError, check_llama_server_installed, resolve_local_model
from tests.conftest import write_jsonl
from tests.e2e.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

ROWS = [{"question": f"Count from 1 to {n} in words, one per line.", "answer": f"#### {n}"} for n in range(20, 60)]


def llama_servers_below(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if "llama_cpp.server" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_real_llama_server_killed_mid_run_stops_the_run_with_one_message(pytester, tmp_path):
    try:
        check_llama_server_installed()
        resolve_local_model("smollm2-135m")
    except LocalModelError as exc:
        skip_or_fail(str(exc))
    data = write_jsonl(tmp_path / "gsm8k.jsonl", ROWS)
    (tmp_path / "cache").mkdir()
    log = tmp_path / "cache" / "server.log"
    killed: list[int] = []

    def kill_when_answering(runner: psutil.Process) -> None:
        deadline = time.monotonic() + 240
        ready_at = None
        while time.monotonic() < deadline:
            servers = llama_servers_below(runner.pid)
            text = log.read_text(errors="replace") if log.exists() else ""
            if ready_at is None and "Uvicorn running" in text:
                ready_at = time.monotonic()
            # killed while answering: after its first logged chat request, or 3 s after it was ready
            # (40 requests of up to 200 tokens keep it busy for minutes)
            busy = "/v1/chat/completions" in text or (ready_at is not None and time.monotonic() - ready_at > 3)
            if servers and busy:
                servers[0].kill()
                killed.append(servers[0].pid)
                return
            time.sleep(0.1)

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:randomly",
            "--llm-model",
            "smollm2-135m",
            "-m",
            "gsm8k",
            "--llm-dataset",
            f"gsm8k={data}",
            "--llm-gen",
            "max_tokens=200",
            "--llm-gen",
            "temperature=0",
            "--llm-cache-dir",
            str(tmp_path / "cache"),
            "--llm-concurrency",
            "4",
            "--llm-timeout",
            "600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=pytester.path,
    )
    killer = threading.Thread(target=kill_when_answering, args=(psutil.Process(proc.pid),), daemon=True)
    killer.start()
    began = time.monotonic()
    out, err = proc.communicate(timeout=600)
    output = out.decode() + err.decode()
    assert killed, "the llama.cpp server was never seen answering\n" + output
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "was killed by SIGKILL" in output and "llama_cpp.server" in output
    assert output.count("while requests were outstanding") == 1
    assert "timed out" not in output and "no complete answer" not in output
    assert time.monotonic() - began < 400
