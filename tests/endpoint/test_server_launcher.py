"""ManagedServer against real processes on 127.0.0.1: readiness, failures, and no orphans ever."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_llmeval.endpoint.server import (
    ManagedServer,
    PortInUseError,
    ServerCommandError,
    ServerExitedError,
    ServerReadyTimeoutError,
    ServerSpec,
    ServerStartError,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process-group guarantees are POSIX only")

MINI = str(Path(__file__).with_name("mini_model_server.py"))
REPO_ROOT = str(Path(__file__).resolve().parents[2])
PY = sys.executable


def mini_command(*extra: str) -> list[str]:
    return [PY, MINI, "--port", "{port}", "--model", "{model}", *extra]


def pid_gone(pid: int) -> bool:
    """Gone = no such process, or a zombie waiting for a reaper (it runs no code any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pid_gone(pid):
            return True
        time.sleep(0.05)
    return pid_gone(pid)


def read_pid(path: Path, timeout_s: float = 10) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"no pid written to {path}")


@pytest.fixture
def servers() -> Iterator[list[ManagedServer]]:
    """Servers a test starts are stopped even when the test fails."""
    started: list[ManagedServer] = []
    yield started
    for server in started:
        server.stop(grace_s=1)


@pytest.fixture
def listening_socket() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# ---- placeholders and readiness -------------------------------------------------------------


def test_placeholders_are_filled_per_argument_and_other_braces_survive() -> None:
    spec = ServerSpec(command="serve --port {port} --model '{model}' --json '{\"a\": 1}'", model="my model")
    assert spec.argv(4242) == ["serve", "--port", "4242", "--model", "my model", "--json", '{"a": 1}']
    listed = ServerSpec(command=["x", "--bind={host}:{port}"], model="m", host="127.0.0.1")
    assert listed.argv(80) == ["x", "--bind=127.0.0.1:80"]


def test_start_fills_port_and_model_and_serves(servers: list[ManagedServer], tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ManagedServer(ServerSpec(command=mini_command(), model="tiny-model", log_path=log))
    servers.append(server.start())
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.command[server.command.index("--port") + 1] == str(server.port)
    models = httpx.get(server.base_url + "/models", trust_env=False).json()
    assert [m["id"] for m in models["data"]] == ["tiny-model"]
    assert server.log_path == log and "listening" in log.read_text()
    assert server.is_running()


def test_string_command_is_split_with_shlex(servers: list[ManagedServer]) -> None:
    command = f"'{PY}' '{MINI}' --port {{port}} --model {{model}}"
    server = ManagedServer(ServerSpec(command=command, model="from-string"))
    servers.append(server.start())
    assert httpx.get(server.base_url + "/models", trust_env=False).json()["data"][0]["id"] == "from-string"


def test_start_blocks_until_ready(servers: list[ManagedServer]) -> None:
    server = ManagedServer(ServerSpec(command=mini_command("--ready-after", "1.0"), model="slow"))
    began = time.monotonic()
    servers.append(server.start())
    assert time.monotonic() - began >= 1.0
    # Ready means ready: the very first request after start() succeeds.
    assert httpx.get(server.base_url + "/models", trust_env=False).status_code == 200


def test_503_while_loading_keeps_waiting(servers: list[ManagedServer]) -> None:
    server = ManagedServer(ServerSpec(command=mini_command("--loading-for", "1.0"), model="m"))
    began = time.monotonic()
    servers.append(server.start())
    assert time.monotonic() - began >= 1.0
    assert httpx.get(server.base_url + "/models", trust_env=False).status_code == 200


def test_key_protected_server_counts_as_ready(servers: list[ManagedServer]) -> None:
    # /v1/models answering 401 means the server is up; only the caller has the key.
    server = ManagedServer(ServerSpec(command=mini_command("--status", "401"), model="m", ready_timeout_s=10))
    servers.append(server.start())
    assert httpx.get(server.base_url + "/models", trust_env=False).status_code == 401


def test_context_manager_stops_the_server() -> None:
    with ManagedServer(ServerSpec(command=mini_command(), model="m")) as server:
        pid = server.pid
        assert not pid_gone(pid)
    assert wait_gone(pid, 5)
    assert not server.is_running()


@pytest.mark.skipif(
    importlib.util.find_spec("pytest_llmeval.testing.server") is None, reason="fake OpenAI server not present"
)
def test_starts_the_fake_openai_server(servers: list[ManagedServer]) -> None:
    command = [PY, "-m", "pytest_llmeval.testing.server", "--port", "{port}", "--model", "{model}"]
    server = ManagedServer(ServerSpec(command=command, model="fake-launch", env={"PYTHONPATH": REPO_ROOT}))
    servers.append(server.start())
    reply = httpx.post(
        server.base_url + "/chat/completions",
        json={"model": "fake-launch", "messages": [{"role": "user", "content": "hi"}]},
        trust_env=False,
    )
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"]


# ---- failures -------------------------------------------------------------------------------


def test_command_that_exits_reports_code_and_log_tail() -> None:
    script = "import sys\nfor i in range(30): print('line', i)\nprint('fatal: no such model file')\nsys.exit(3)"
    server = ManagedServer(ServerSpec(command=[PY, "-c", script, "{port}"], model="m"))
    with pytest.raises(ServerExitedError) as info:
        server.start()
    message = str(info.value)
    assert "exited with code 3" in message
    assert "fatal: no such model file" in message
    assert "line 29" in message and "line 9\n" not in message  # only the last 20 lines
    assert str(server.log_path) in message
    assert info.value.returncode == 3


def test_command_killed_by_a_signal_names_the_signal() -> None:
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(ServerExitedError, match="killed by SIGKILL"):
        ManagedServer(ServerSpec(command=[PY, "-c", script, "{port}"], model="m")).start()


def test_missing_executable_is_a_command_error() -> None:
    with pytest.raises(ServerCommandError, match="no-such-server-binary-xyz"):
        ManagedServer(ServerSpec(command="no-such-server-binary-xyz --port {port}", model="m")).start()


def test_command_without_port_placeholder_needs_a_port() -> None:
    with pytest.raises(ServerCommandError, match=r"\{port\}"):
        ManagedServer(ServerSpec(command=[PY, MINI, "--port", "8000"], model="m")).start()


def test_empty_command_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        ServerSpec(command="  ", model="m")


def test_taken_port_fails_before_starting_anything(listening_socket: int) -> None:
    server = ManagedServer(ServerSpec(command=mini_command(), model="m", port=listening_socket))
    with pytest.raises(PortInUseError, match=f"port {listening_socket} .* already in use") as info:
        server.start()
    assert isinstance(info.value, ServerStartError)
    with pytest.raises(RuntimeError):
        _ = server.pid  # nothing was launched


def test_address_in_use_in_the_log_is_recognised(tmp_path: Path) -> None:
    # The port is free when checked, but the server reports it could not bind (as after a race).
    marker = tmp_path / "failed-once"
    from pytest_llmeval.endpoint.server import free_port

    port = free_port()
    server = ManagedServer(ServerSpec(command=mini_command("--fail-bind-once", str(marker)), model="m", port=port))
    with pytest.raises(PortInUseError, match=f"port {port}"):
        server.start()


def test_auto_port_retries_after_a_lost_bind_race(servers: list[ManagedServer], tmp_path: Path) -> None:
    marker = tmp_path / "failed-once"
    server = ManagedServer(ServerSpec(command=mini_command("--fail-bind-once", str(marker)), model="m"))
    servers.append(server.start())
    assert marker.exists()  # the first attempt did fail
    assert httpx.get(server.base_url + "/models", trust_env=False).status_code == 200


def test_readiness_timeout_kills_the_process_and_names_the_option(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); print('loading'); time.sleep(3600)"
    server = ManagedServer(ServerSpec(command=[PY, "-c", script, "{port}"], model="m", ready_timeout_s=1.0))
    began = time.monotonic()
    with pytest.raises(ServerReadyTimeoutError) as info:
        server.start()
    assert time.monotonic() - began < 15
    assert "--llm-serve-timeout" in str(info.value) and "within 1 s" in str(info.value)
    assert "loading" in str(info.value)
    assert wait_gone(read_pid(pidfile), 5)


# ---- stopping -------------------------------------------------------------------------------


def test_stop_kills_the_whole_group_including_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    server = ManagedServer(ServerSpec(command=mini_command("--grandchild-pidfile", str(pidfile)), model="m"))
    server.start()
    grandchild = read_pid(pidfile)
    assert not pid_gone(grandchild)
    server.stop(grace_s=5)
    assert wait_gone(server.pid, 2) and wait_gone(grandchild, 2)
    server.stop()  # idempotent


def test_stop_escalates_to_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    server = ManagedServer(
        ServerSpec(command=mini_command("--stubborn", "--grandchild-pidfile", str(pidfile)), model="m")
    )
    server.start()
    grandchild = read_pid(pidfile)
    began = time.monotonic()
    server.stop(grace_s=1.0)
    elapsed = time.monotonic() - began
    assert 1.0 <= elapsed < 5
    assert wait_gone(server.pid, 2) and wait_gone(grandchild, 2)


def test_server_survives_until_stop_and_can_restart(tmp_path: Path) -> None:
    server = ManagedServer(ServerSpec(command=mini_command(), model="m"))
    first = server.start().pid
    server.stop(grace_s=2)
    second = server.start().pid
    try:
        assert first != second and server.is_running()
    finally:
        server.stop(grace_s=2)


# ---- the owner dies -------------------------------------------------------------------------

OWNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec
    command = [sys.executable, {mini!r}, "--port", "{{port}}", "--grandchild-pidfile", {pidfile!r}]
    server = ManagedServer(ServerSpec(command=command, model="m")).start()
    while not Path({pidfile!r}).read_text().strip():
        time.sleep(0.02)
    print(json.dumps({{"server": server.pid, "grandchild": int(Path({pidfile!r}).read_text())}}), flush=True)
    {tail}
    """
)


def run_owner(tmp_path: Path, tail: str) -> tuple[subprocess.Popen[str], dict[str, int]]:
    pidfile = tmp_path / "grandchild"
    pidfile.write_text("")
    code = OWNER.format(mini=MINI, pidfile=str(pidfile), tail=tail)
    owner = subprocess.Popen(
        [PY, "-c", code],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "owner.err").open("wb"),  # the Ctrl-C test's traceback lands here
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": REPO_ROOT},
    )
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line, f"owner process failed (exit {owner.wait()}): {(tmp_path / 'owner.err').read_text()}"
    return owner, json.loads(line)


def assert_all_gone(pids: dict[str, int], timeout_s: float) -> None:
    try:
        for name, pid in pids.items():
            assert wait_gone(pid, timeout_s), f"{name} (pid {pid}) outlived its owner"
    finally:
        for pid in pids.values():
            if not pid_gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_sigkill_of_the_owner_leaves_no_orphan(tmp_path: Path) -> None:
    owner, pids = run_owner(tmp_path, "time.sleep(3600)")
    assert not pid_gone(pids["server"]) and not pid_gone(pids["grandchild"])
    owner.kill()
    owner.wait()
    assert_all_gone(pids, timeout_s=5)


def test_ctrl_c_of_the_owner_leaves_no_orphan(tmp_path: Path) -> None:
    owner, pids = run_owner(tmp_path, "time.sleep(3600)")
    try:
        owner.send_signal(signal.SIGINT)  # KeyboardInterrupt -> interpreter exit -> atexit stop()
        assert owner.wait(timeout=15) != 0
    finally:
        if owner.poll() is None:  # a failed test leaves no owner behind (its watchdog then stops the server)
            owner.kill()
    assert_all_gone(pids, timeout_s=3)


def test_owner_exiting_without_stop_leaves_no_orphan(tmp_path: Path) -> None:
    owner, pids = run_owner(tmp_path, "sys.exit(0)")
    assert owner.wait(timeout=15) == 0
    assert_all_gone(pids, timeout_s=3)
