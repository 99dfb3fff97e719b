"""pytest-xdist workers on "another host": an execnet socket server started as a process of its own
(execnet's `script/socketserver.py`, what a remote machine runs), reached with `--tx socket=HOST:PORT`
beside a local worker. The workers read the data themselves, the records reach the controller, and
the response cache is the one at the run's rootdir path (docs/scaling.md)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import write_jsonl
from tests.scale.test_shards_merge import gsm8k_rows

execnet = pytest.importorskip("execnet")
pytest.importorskip("xdist")
COUNT = 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def socket_host(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Starts an execnet socket server in a folder of its own ("the other host") and returns its
    `socket=127.0.0.1:PORT`. One per pytest run: execnet's server process serves one gateway well
    (its `loop_socketserver.py` restarts it for each), so each call replaces the previous one."""
    script = Path(execnet.__file__).parent / "script" / "socketserver.py"
    home = tmp_path / "other-host"
    home.mkdir()
    running: list[subprocess.Popen[bytes]] = []

    def start() -> str:
        for server in running:
            server.kill()
            server.wait()
        port = free_port()
        running.append(
            subprocess.Popen(
                [sys.executable, str(script), f"127.0.0.1:{port}"],
                cwd=home,
                stdout=(home / "server.log").open("ab"),
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
        )
        deadline = time.monotonic() + 60
        while not (home / "server.log").read_text(errors="replace").count(f"', {port})"):  # "Entering Accept loop"
            assert running[-1].poll() is None and time.monotonic() < deadline, (home / "server.log").read_text()
            time.sleep(0.05)
        return f"socket=127.0.0.1:{port}"

    yield start
    for server in running:
        server.kill()
        server.wait()


def test_a_socket_gateway_worker_runs_its_share_and_the_cache_is_the_rootdirs(
    pytester: pytest.Pytester,
    start_server: Callable[..., FakeOpenAIServer],
    socket_host: Callable[[], str],
    tmp_path: Path,
) -> None:
    home = tmp_path / "other-host"
    data = write_jsonl(pytester.path / "data" / "gsm8k.jsonl", gsm8k_rows(COUNT))
    server = start_server(
        rules=[{"contains": f"What is {i} + 1?", "reply": f"\\boxed{{{i + 1}}}"} for i in range(COUNT)]
    )
    args = [
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "-m", "gsm8k",
        "--llm-dataset", f"gsm8k={data}", "-d", "--tx", "popen", "-v", "-p", "no:randomly",
        # `--opt=PATH` in one word: for a remote gateway xdist refuses any argument that names an
        # existing file outside its rsync roots (the second run finds r.json)
        "--llm-results=r.json", "--llm-samples=s.jsonl",
    ]  # fmt: skip
    outcome = pytester.runpytest_subprocess(*args, "--tx", socket_host(), timeout=300)
    assert outcome.ret == 0, outcome.stdout.str()[-3000:]
    for worker in ("[gw0]", "[gw1]"):  # the local worker and the socket one each ran samples
        assert any(worker in line and "PASSED gsm8k/main::" in line for line in outcome.stdout.lines), worker
    assert (home / "pyexecnetcache").is_dir()  # the socket worker (gw1) ran in the other host's folder
    records = [json.loads(line) for line in (pytester.path / "s.jsonl").open()]
    assert sorted(r["nodeid"] for r in records) == [f"gsm8k/main::{i:04d}" for i in range(COUNT)]
    result = json.loads((pytester.path / "r.json").read_text())
    assert result["samples_scored"] == COUNT and result["requests"]["sent"] == COUNT
    # both workers wrote to <rootdir>/.pytest_cache/llmeval: a second run is answered from it,
    # the socket worker included
    assert (pytester.path / ".pytest_cache" / "llmeval").is_dir()
    again = pytester.runpytest_subprocess(*args, "--tx", socket_host(), timeout=300)
    assert again.ret == 0, again.stdout.str()[-3000:]
    result = json.loads((pytester.path / "r.json").read_text())
    assert result["requests"] == {**result["requests"], "sent": 0, "cached": COUNT}
    assert server.stats()["chat_requests"] == COUNT
