"""pytest_llmeval.processes: spawning our modules, process groups, trees and the parent-death watchdog,
with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from pytest_llmeval import processes

SLEEPER = "import time; time.sleep(120)"


def wait_until(check, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_spawned_module_imports_this_package_from_any_directory(tmp_path) -> None:
    result = processes.run_module(
        "pytest_llmeval.endpoint.llama_build",
        ["--help"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "portable" in result.stdout


def test_stop_group_reaches_a_grandchild_that_ignores_sigterm() -> None:
    code = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)']); "
        "time.sleep(120)"
    )
    leader = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    assert wait_until(lambda: len(processes.live_descendants(leader.pid)) == 1)
    grandchild = processes.live_descendants(leader.pid)[0]
    assert processes.group_alive(leader.pid, leader)
    began = time.monotonic()
    processes.stop_group(leader, grace_s=0.5)
    assert time.monotonic() - began < 10
    assert not processes.group_alive(leader.pid, leader)
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE


def test_kill_tree_kills_descendants() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); time.sleep(120)",
        ]
    )
    assert wait_until(lambda: len(processes.live_descendants(parent.pid)) == 1)
    child = processes.live_descendants(parent.pid)[0]
    processes.kill_tree(parent.pid)
    parent.wait(timeout=10)
    assert wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE)


def test_watchdog_stops_the_group_when_its_owner_is_sigkilled(tmp_path) -> None:
    pidfile = tmp_path / "group.pid"
    owner_code = f"""
import subprocess, sys, time
from pytest_llmeval.processes import Watchdog
server = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}], start_new_session=True)
Watchdog(server.pid, grace_s=1)
open({str(pidfile)!r}, "w").write(str(server.pid))
time.sleep(120)
"""
    owner = subprocess.Popen([sys.executable, "-c", owner_code], env=processes.package_env())
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    server = psutil.Process(int(pidfile.read_text()))
    assert server.is_running()
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert wait_until(lambda: not server.is_running() or server.status() == psutil.STATUS_ZOMBIE)


def test_watchdog_released_leaves_the_group_alone() -> None:
    server = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True)
    try:
        dog = processes.Watchdog(server.pid, grace_s=1)
        watchdog_pid = dog.pid
        dog.release()
        assert (watchdog_pid is not None and not psutil.pid_exists(watchdog_pid)) or psutil.Process(
            watchdog_pid
        ).status() == psutil.STATUS_ZOMBIE
        time.sleep(0.5)
        assert server.poll() is None
    finally:
        server.kill()
        server.wait()
