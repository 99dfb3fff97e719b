"""Hostile generated programs under bubblewrap: each escape is attempted for real and must fail.

Every attack runs twice where that is safe: under ``bwrap`` (must fail) and under ``rlimits`` (today's
mode, where it succeeds), which shows the attack itself works and it is the isolation that stops it.
The "pytest" being attacked is a runner process started here with the API key in its environment,
so that a successful attack cannot hurt the test run itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from pytest_llmeval.errors import SandboxUnavailableError
from pytest_llmeval.execution import sandbox
from pytest_llmeval.execution.sandbox import SandboxLimits, run_python

ROOT = Path(__file__).resolve().parents[2]
RUNNER = """
import json, sys
from pytest_llmeval.execution.sandbox import run_python
result = run_python(sys.stdin.read(), isolation=sys.argv[1])
print(json.dumps(result.model_dump()))
"""


@pytest.fixture(autouse=True)
def need_bwrap() -> None:
    problem = sandbox.bwrap_problem()
    if problem is not None:
        if os.environ.get("LLMEVAL_REQUIRE_E2E"):
            pytest.fail(f"CI installs bubblewrap (.ci/run), but: {problem}", pytrace=False)
        pytest.skip(problem)


def run_in_runner(source: str, mode: str, **env: str) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    """Run ``source`` in the sandbox from a separate "pytest" process (its environment: this one + ``env``)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", **env}
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, mode], input=source, capture_output=True, text=True, env=full_env, timeout=120
    )
    lines = proc.stdout.strip().splitlines()
    return proc, (json.loads(lines[-1]) if proc.returncode == 0 and lines else None)


SCAN_ENVIRON = """
import os
found = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            data = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"KEY_MARKER" in data:
            found.append(pid)
found += [k for k, v in os.environ.items() if "KEY_MARKER" in v]
print("FOUND" if found else "nothing", found)
"""


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_program_cannot_read_the_api_key_from_proc_environ(mode: str) -> None:
    key = f"sk-hostile-{uuid.uuid4().hex}"
    proc, result = run_in_runner(SCAN_ENVIRON.replace("KEY_MARKER", key), mode, OPENAI_API_KEY=key)
    assert result is not None, proc.stderr
    if mode == "bwrap":
        assert result["status"] == "ok" and result["stdout"].startswith("nothing"), result
        assert key not in json.dumps(result)
    else:  # the attack is real: today's mode leaks the key of the process that started the sandbox
        assert result["stdout"].startswith("FOUND"), result


class Listener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(100))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_program_cannot_open_a_socket_to_a_loopback_server(mode: str) -> None:
    listener = Listener()
    try:
        source = (
            f"import socket\ntry:\n    s = socket.create_connection(('127.0.0.1', {listener.port}), timeout=3)\n"
            f"    s.sendall(b'pwned'); s.close(); print('connected')\nexcept OSError as e:\n    print('blocked', e)"
        )
        result = run_python(source, isolation=mode)  # type: ignore[arg-type]
        time.sleep(0.3)
    finally:
        listener.close()
    if mode == "bwrap":
        assert result.stdout.startswith("blocked") and listener.received == []
    else:
        assert result.stdout.startswith("connected") and listener.received == [b"pwned"]


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_program_cannot_write_into_the_project_or_outside_its_directory(mode: str, tmp_path: Path) -> None:
    name = f"pwned-{uuid.uuid4().hex}"
    targets = [ROOT / name, tmp_path / name, Path.home() / name]
    source = "import sys\nfor path in sys.argv[1:] or %r:\n" % [str(t) for t in targets] + (
        "    try:\n        open(path, 'w').write('x'); print('wrote', path)\n"
        "    except OSError as e:\n        print('refused', path, e.errno)\n"
    )
    try:
        result = run_python(source, isolation=mode)  # type: ignore[arg-type]
        created = [t for t in targets if t.exists()]
    finally:
        for target in targets:
            target.unlink(missing_ok=True)
    if mode == "bwrap":
        assert created == [], result.stdout
        assert "refused" in result.stdout  # read-only root (the project, $HOME); /tmp is a private tmpfs
    else:
        assert created  # the attack is real


def _survivors_after(marker: str, seconds: float) -> list[psutil.Process]:
    """The processes still carrying `marker` once `seconds` have passed (killed, so none outlive the test)."""
    deadline = time.monotonic() + seconds
    while _marker_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _marker_processes(marker)
    for proc in survivors:
        proc.kill()
    return survivors


def _marker_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if marker in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_daemon_does_not_survive_the_run() -> None:
    marker = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    source = f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{marker}"])
    os._exit(0)
time.sleep(0.3)
print("main done")
"""
    result = run_python(source, isolation="bwrap")
    assert result.stdout == "main done\n"
    assert _survivors_after(marker, seconds=5) == []


KILL_PARENT = """
import os, signal, time
for pid in (RUNNER_PID, os.getppid()):
    try:
        os.kill(pid, signal.SIGKILL)
        print("sent", pid)
    except OSError as e:
        print("refused", pid, e.errno)
time.sleep(0.5)
"""


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_program_cannot_kill_the_pytest_that_runs_it(mode: str) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER + "\nimport time\ntime.sleep(0.2)\nprint('survived')", mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"},
    )
    out, err = runner.communicate(KILL_PARENT.replace("RUNNER_PID", str(runner.pid)), timeout=120)
    if mode == "bwrap":
        assert runner.returncode == 0 and out.strip().endswith("survived"), (out, err)
    else:
        assert runner.returncode == -9  # the attack is real


def test_sandbox_dies_with_the_process_that_started_it() -> None:
    marker = f"{5000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "bwrap"],
        stdin=subprocess.PIPE,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"},
    )
    assert runner.stdin is not None
    runner.stdin.write(f'import os\nos.execv("/bin/sleep", ["sleep", "{marker}"])\n')
    runner.stdin.close()
    deadline = time.monotonic() + 60
    while not _marker_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marker_processes(marker), "the sandboxed program never started"
    runner.kill()
    runner.wait()
    assert _survivors_after(marker, seconds=10) == []


def test_limits_still_apply_inside_bubblewrap() -> None:
    fast = SandboxLimits(cpu_time_s=1, wall_time_s=4, memory_mb=256, max_output_bytes=10_000, max_processes=8)
    assert run_python("while True: pass", limits=fast, isolation="bwrap").status == "timeout"
    assert run_python("x = bytearray(2 * 1024**3)", limits=fast, isolation="bwrap").status == "memory_exceeded"
    assert run_python("print('x' * 100_000)", limits=fast, isolation="bwrap").status == "output_exceeded"
    crashed = run_python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", isolation="bwrap")
    assert crashed.status == "runtime_error" and crashed.exit_code == -11  # the signal, not bwrap's 139
    exited = run_python("raise SystemExit(3)", isolation="bwrap")
    assert exited.exit_code == 3
    bomb = run_python(
        "import os, time\nfor _ in range(40):\n    if os.fork() == 0:\n        time.sleep(30)\n"
        "        os._exit(0)\ntime.sleep(30)",
        limits=fast,
        isolation="bwrap",
    )
    assert bomb.status == "killed"
    ok = run_python("import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))", "1 2 3", isolation="bwrap")
    assert ok.status == "ok" and ok.stdout == "6\n"


def test_missing_bubblewrap_is_one_error_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_BWRAP_STATE", {})
    monkeypatch.setenv("PATH", "/nonexistent")  # bwrap cannot be found
    with pytest.raises(SandboxUnavailableError) as info:
        run_python("print(1)")
    message = str(info.value)
    assert "bubblewrap" in message and "apt-get install bubblewrap" in message and "LLMEVAL_SANDBOX=rlimits" in message
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "rlimits")
    monkeypatch.setattr(sandbox, "_WARNED", [])
    with pytest.warns(sandbox.UnisolatedCodeWarning, match="WITHOUT isolation"):
        assert run_python("print(1)").stdout == "1\n"
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        run_python("print(2)")  # said once per process, not per program


def test_code_benchmark_without_bubblewrap_stops_the_run_once(pytester, start_server, tmp_path, monkeypatch):
    from tests.benchmarks.data import HUMANEVAL_ROWS
    from tests.conftest import write_jsonl
    from tests.core.test_evaluation import run

    server = start_server(
        rules=[
            {
                "contains": "truncate_number",
                "reply": "```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```",
            }
        ]
    )
    data = write_jsonl(tmp_path / "humaneval.jsonl", HUMANEVAL_ROWS)
    monkeypatch.setenv("PATH", "/nonexistent")  # the run cannot find bwrap
    result = run(pytester, server, "-m", "humaneval", "--llm-dataset", f"humaneval={data}")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert (result.stdout.str() + result.stderr.str()).count("generated code cannot be isolated") == 1
    assert "apt-get install bubblewrap" in output and "LLMEVAL_SANDBOX=rlimits" in output

    monkeypatch.setenv(sandbox.SANDBOX_ENV, "rlimits")  # the explicit opt-in: runs, and says so
    result = run(pytester, server, "-m", "humaneval", "--llm-dataset", f"humaneval={data}")
    assert result.ret in (0, 1) and "WITHOUT isolation" in result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
