"""The sandbox against real misbehaving programs: every test starts real processes on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.execution import sandbox
from pytest_llmeval.execution.sandbox import SandboxLimits, run_many, run_python

FAST = SandboxLimits(cpu_time_s=1, wall_time_s=3)


@pytest.fixture(autouse=True, params=["rlimits"])
def rlimits_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """These tests pin the rlimits layer (used alone with LLMEVAL_SANDBOX=rlimits, and inside bubblewrap):
    many observe the program through files it writes outside its directory, which isolation forbids.
    tests/execution/test_sandbox_isolation.py runs the limits and the escapes under bubblewrap."""
    monkeypatch.setenv(sandbox.SANDBOX_ENV, request.param)
    return str(request.param)


def _recorded_pids(path: Path) -> set[int]:
    if not path.exists():
        return set()
    return {int(line) for line in path.read_text().split() if line.strip()}


def _still_there(pids: set[int]) -> list[str]:
    """Processes (zombies included) that still exist, described for the assertion message."""
    left = []
    for pid in pids:
        try:
            left.append(Path(f"/proc/{pid}/stat").read_text())
        except OSError:
            pass
    return left


def test_program_reads_stdin_and_returns_its_output() -> None:
    result = run_python("a, b = map(int, input().split())\nprint(a + b)", stdin="2 40\n")

    assert (result.status, result.exit_code, result.stdout) == ("ok", 0, "42\n")


def test_exit_builtin_works_without_site_and_sets_the_exit_code() -> None:
    result = run_python("print('partial')\nexit(3)")

    assert (result.status, result.exit_code, result.stdout) == ("runtime_error", 3, "partial\n")


def test_uncaught_exception_is_runtime_error_with_traceback() -> None:
    result = run_python("def f():\n    return 1 / 0\nf()")

    assert result.status == "runtime_error"
    assert "ZeroDivisionError" in result.stderr and 'File "main.py", line 2' in result.stderr


def test_segfault_is_runtime_error() -> None:
    result = run_python("import ctypes\nctypes.string_at(0)")

    assert result.status == "runtime_error"
    assert result.exit_code == -11


def test_infinite_loop_is_stopped_within_its_limit() -> None:
    started = time.monotonic()
    result = run_python("while True:\n    pass", limits=FAST)
    elapsed = time.monotonic() - started

    assert result.status == "timeout"
    # The CPU limit (1 s) fires first on an idle core; on a busy machine the wall limit (3 s) does.
    # The margin covers a loaded machine's start-up; an unstopped loop would run for ever.
    assert elapsed < FAST.wall_time_s + 10


def test_sleeping_program_is_killed_at_wall_time() -> None:
    limits = SandboxLimits(cpu_time_s=5, wall_time_s=1)
    started = time.monotonic()
    result = run_python("import time\nprint('started', flush=True)\ntime.sleep(100)", limits=limits)
    elapsed = time.monotonic() - started

    assert result.status == "timeout" and result.exit_code is None
    assert result.stdout == "started\n", "output printed before the kill is kept"
    assert 1.0 <= elapsed < 10, "killed at its 1 s wall limit, not after its 100 s sleep"


def test_program_ignoring_sigxcpu_is_still_stopped() -> None:
    source = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"
    started = time.monotonic()
    result = run_python(source, limits=FAST)

    assert result.status == "timeout"
    assert time.monotonic() - started < FAST.wall_time_s + 0.5


FORK_BOMB = """
import os, time
log = {log!r}
for _ in range(200):  # bounded on purpose: 200 sleepers, never an unbounded bomb
    pid = os.fork()
    if pid == 0:
        with open(log, "a") as f:
            f.write(f"{{os.getpid()}}\\n")
        time.sleep(60)
        os._exit(0)
    with open(log, "a") as f:
        f.write(f"{{pid}}\\n")
    time.sleep(0.002)  # paced so "stopped early" holds on a loaded machine; still 200 forks within a second
time.sleep(60)
"""


def _assert_fork_bomb_stopped(tmp_path: Path) -> None:
    log = tmp_path / "pids.txt"
    limits = SandboxLimits(cpu_time_s=5, wall_time_s=20, max_processes=16)
    started = time.monotonic()
    result = run_python(FORK_BOMB.format(log=str(log)), limits=limits)
    elapsed = time.monotonic() - started

    forked = _recorded_pids(log)
    assert result.status == "killed"
    assert elapsed < 5, "the process watchdog, not the wall clock, stopped it"
    assert 16 <= len(forked) < 200, "it was stopped while still forking"
    assert _still_there(forked) == [], "no sleeper and no zombie is left"
    assert run_python("print('fine')").stdout == "fine\n", "the machine still runs programs"


def test_bounded_fork_bomb_is_killed_without_leftovers(tmp_path: Path) -> None:
    _assert_fork_bomb_stopped(tmp_path)


def test_fork_bomb_is_killed_with_full_proc_scan_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels without CONFIG_PROC_CHILDREN: the watchdog scans all of /proc instead of walking children files.
    monkeypatch.setattr(sandbox, "_CHILDREN_FILES", False)
    monkeypatch.setattr(sandbox, "_SCAN_EVERY_S", 0.05)
    _assert_fork_bomb_stopped(tmp_path)


def test_works_without_pidfd_by_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels before 5.3 have no pidfd_open: the supervisor polls for the bootstrap's exit instead.
    monkeypatch.delattr(os, "pidfd_open")
    started = time.monotonic()

    quick = run_python("print('hi')")
    slow = run_python("import time\ntime.sleep(100)", limits=SandboxLimits(wall_time_s=1))

    assert (quick.status, quick.stdout) == ("ok", "hi\n")
    assert slow.status == "timeout"
    assert time.monotonic() - started < 2.5


def test_memory_hog_is_memory_exceeded() -> None:
    result = run_python("block = bytearray(2 * 1024**3)\nprint('allocated')")

    assert result.status == "memory_exceeded"
    assert result.stdout == ""


def test_growing_memory_is_memory_exceeded() -> None:
    result = run_python("chunks = []\nwhile True:\n    chunks.append(' ' * 10**6)", limits=SandboxLimits(memory_mb=256))

    assert result.status == "memory_exceeded"


def test_secret_in_parent_environment_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    source = "import json, os\nprint(json.dumps({'env': dict(os.environ), 'raw': open('/proc/self/environ').read()}))"

    result = run_python(source)

    seen = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in seen["env"]
    assert "sk-secret" not in result.stdout
    assert set(seen["env"]) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "MALLOC_ARENA_MAX"}


def test_third_party_packages_are_not_importable() -> None:
    result = run_python("import pydantic")

    assert result.status == "runtime_error" and "ModuleNotFoundError" in result.stderr


def test_huge_file_write_is_stopped(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    source = f"with open({str(target)!r}, 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)"

    result = run_python(source, limits=SandboxLimits(file_size_mb=2))

    assert result.status == "output_exceeded"
    assert target.stat().st_size <= 2 * 1024 * 1024
    assert "File too large" in result.stderr


def test_huge_stdout_is_cut_at_the_cap() -> None:
    limits = SandboxLimits(max_output_bytes=100_000)
    started = time.monotonic()
    result = run_python("import sys\nwhile True:\n    sys.stdout.write('y' * 4096)", limits=limits)

    assert result.status == "output_exceeded" and result.exit_code is None
    assert len(result.stdout) == 100_000 and set(result.stdout) == {"y"}
    assert time.monotonic() - started < 2


def test_huge_stderr_is_cut_at_the_cap() -> None:
    result = run_python(
        "import sys\nwhile True:\n    sys.stderr.write('e' * 4096)", limits=SandboxLimits(max_output_bytes=50_000)
    )

    assert result.status == "output_exceeded" and len(result.stderr) == 50_000


GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import os, time; open({log!r}, 'w').write(str(os.getpid())); time.sleep(10**6)"])
while True:
    try:
        if open({log!r}).read():
            break
    except FileNotFoundError:
        time.sleep(0.01)
print("main done")
{tail}
"""


def test_grandchild_left_sleeping_is_killed_when_main_exits(tmp_path: Path) -> None:
    log = tmp_path / "grandchild.pid"

    result = run_python(GRANDCHILD.format(log=str(log), tail=""), limits=SandboxLimits(wall_time_s=10))

    assert result.status == "ok" and result.stdout == "main done\n"
    assert _still_there(_recorded_pids(log)) == []


def test_child_and_grandchild_are_both_killed_on_timeout(tmp_path: Path) -> None:
    log = tmp_path / "grandchild.pid"
    limits = SandboxLimits(wall_time_s=2)

    started = time.monotonic()
    result = run_python(GRANDCHILD.format(log=str(log), tail="time.sleep(10**6)"), limits=limits)

    assert result.status == "timeout"
    assert time.monotonic() - started < limits.wall_time_s + 0.5
    assert _still_there(_recorded_pids(log)) == []


def test_daemon_that_escapes_its_session_is_killed_and_reaped(tmp_path: Path) -> None:
    log = tmp_path / "daemon.pid"
    source = f"""
import os, time
if os.fork() == 0:
    os.setsid()  # new session, new group: killpg and session scans no longer see it
    if os.fork() == 0:
        open({str(log)!r}, "w").write(str(os.getpid()))
        time.sleep(10**6)
    os._exit(0)
while not os.path.exists({str(log)!r}):
    time.sleep(0.01)
"""
    result = run_python(source, limits=SandboxLimits(wall_time_s=10))

    assert result.status == "ok"
    assert _still_there(_recorded_pids(log)) == [], "killed and reaped, not left as a zombie of init"


def test_program_runs_in_a_fresh_directory_that_is_removed() -> None:
    source = (
        "import os\nopen('scratch.txt', 'w').write('x')\nos.mkdir('locked')\nos.chmod('locked', 0)\nprint(os.getcwd())"
    )

    result = run_python(source)

    workdir = result.stdout.strip()
    assert result.status == "ok" and os.path.basename(workdir).startswith("llmeval-sandbox-")
    assert not os.path.exists(workdir)


def test_run_many_runs_in_parallel_and_keeps_order() -> None:
    jobs = [(f"import time\ntime.sleep(1)\nprint({i})", "") for i in range(4)]

    started = time.monotonic()
    results = run_many(jobs, workers=2)
    elapsed = time.monotonic() - started

    assert [r.stdout for r in results] == ["0\n", "1\n", "2\n", "3\n"]
    # Serial would take 4 s; two at a time 2 s plus start-up. Not fewer than 2 s: only two run at once.
    assert 2.0 <= elapsed < 3.9


def test_run_many_with_no_jobs_returns_nothing() -> None:
    assert run_many([]) == []


def test_missing_interpreter_is_a_clear_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an executable file"):
        run_python("print(1)", python=str(tmp_path / "no-python"))


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="wall_time_s"):
        SandboxLimits(wall_time_s=0)
    with pytest.raises(ValueError, match="max_processes"):
        SandboxLimits(max_processes=0)


def test_sandbox_uses_the_given_interpreter() -> None:
    result = run_python("import sys\nprint(sys.flags.isolated, sys.flags.no_site)", python=sys.executable)

    assert result.stdout == "1 1\n"


INTERRUPTED_CALLER = """
import os, signal, threading, time
from pytest_llmeval.execution.sandbox import run_python
source = '''
import os, time
for _ in range(5):
    if os.fork() == 0:
        open({log!r}, "a").write(str(os.getpid()) + "\\\\n")
        time.sleep(100)
        os._exit(0)
time.sleep(100)
'''
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    run_python(source)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_during_a_run_leaves_no_processes(tmp_path: Path) -> None:
    log = tmp_path / "children.pid"
    script = tmp_path / "caller.py"
    script.write_text(INTERRUPTED_CALLER.format(log=str(log)))
    env = {**os.environ, "PYTHONPATH": str(Path(sandbox.__file__).parents[2])}

    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, env=env, check=False
    )

    assert done.stdout == "interrupted\n", done.stderr
    children = _recorded_pids(log)
    assert len(children) == 5
    assert _still_there(children) == []
