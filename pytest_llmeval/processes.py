"""Child processes, once: spawn a module of ours, signal and stop a process group, walk a process tree,
and a parent-death watchdog.

Used by every part of the plugin that starts a process: the managed model server
(``endpoint/server.py``), the fake OpenAI server launcher (``testing/_process.py``), the code sandbox
(``execution/sandbox.py``), the math-verify helper (``execution/symbolic.py``), the perf runner
(``perf/runner.py``) and the eval client's HTTP process (``endpoint/pool_process.py``).

* :func:`spawn_module` / :func:`run_module`: ``python -m pytest_llmeval.<module>`` with this package
  importable (its parent directory first on ``PYTHONPATH``), whatever the caller's working directory.
* :func:`group_alive`, :func:`signal_group`, :func:`stop_group`: a process group is alive while one of
  its members is not a zombie (an orphaned zombie may wait ~1 s for init in some containers);
  membership and state come from psutil (no ``/proc`` parsing of our own).
* :func:`live_descendants`, :func:`kill_tree`: the live processes below a pid (psutil).
* :class:`Watchdog`: a small process (``pytest_llmeval/_watchdog.py``, standard library only, run
  by path with ``python -I``) that holds the read end of a pipe whose write end only the parent
  holds. When the parent dies in any way (SIGKILL included) the kernel closes the pipe, the watchdog
  sees EOF and stops the watched process group (SIGTERM, then SIGKILL after the grace period). A
  pipe rather than ``PR_SET_PDEATHSIG``: the latter fires when the *thread* that started the child
  exits, needs a ``preexec_fn`` (unsafe with threads) and only covers the direct child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil  # imported where used: ~5 ms of every run's start-up otherwise

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])  # the directory that holds pytest_llmeval/
WATCHDOG_SCRIPT = str(Path(__file__).resolve().with_name("_watchdog.py"))
_POSIX = os.name == "posix"


# -- spawning a module of ours ---------------------------------------------------------------------


def package_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with this package first on ``PYTHONPATH``."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def module_argv(module: str, args: Sequence[str] = ()) -> list[str]:
    """``[python, "-m", module, *args]`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def spawn_module(
    module: str, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None, **popen: Any
) -> subprocess.Popen[Any]:
    """Start ``python -m module args`` (a module of this package) with :func:`package_env`."""
    return subprocess.Popen(module_argv(module, args), env=package_env(env), **popen)


def run_module(
    module: str, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None, **run: Any
) -> subprocess.CompletedProcess[Any]:
    """Run ``python -m module args`` to completion (``subprocess.run`` keywords apply)."""
    return subprocess.run(module_argv(module, args), env=package_env(env), **run)


# -- process groups and trees ----------------------------------------------------------------------


def _running(proc: psutil.Process) -> bool:
    import psutil

    try:
        return proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """The live (non-zombie) processes whose process group is ``pgid``."""
    import psutil

    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and _running(proc):
                members.append(proc)
        except (OSError, psutil.Error):
            continue  # exited meanwhile
    return members


def group_alive(pgid: int, leader: subprocess.Popen[Any] | None = None) -> bool:
    """True while a process of group ``pgid`` runs (the leader, if given, is reaped first so that its
    own zombie does not count)."""
    if leader is not None:
        leader.poll()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed uid; it still exists
        return True
    return bool(group_members(pgid))


def signal_group(pgid: int, sig: int) -> None:
    """``killpg`` that ignores a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(proc: subprocess.Popen[Any], grace_s: float, kill_wait_s: float = 5.0) -> None:
    """SIGTERM the group led by ``proc``, SIGKILL it after ``grace_s``, reap the leader.

    On Windows (no process groups to signal) the direct child is terminated, then killed.
    """
    if not _POSIX:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    pgid = proc.pid
    if not group_alive(pgid, proc):
        return
    signal_group(pgid, signal.SIGTERM)
    _wait_group(pgid, proc, grace_s)
    if group_alive(pgid, proc):
        signal_group(pgid, signal.SIGKILL)
        _wait_group(pgid, proc, kill_wait_s)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=kill_wait_s)


def _wait_group(pgid: int, leader: subprocess.Popen[Any], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and group_alive(pgid, leader):
        time.sleep(0.05)


def live_descendants(pid: int) -> list[psutil.Process]:
    """The live (non-zombie) processes below ``pid``; empty when ``pid`` is gone."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [child for child in children if _running(child)]


def kill_tree(pid: int, include_root: bool = True) -> None:
    """SIGKILL ``pid``'s descendants (and ``pid`` itself when ``include_root``)."""
    import psutil

    targets = live_descendants(pid)
    if include_root:
        with contextlib.suppress(psutil.Error):
            targets.append(psutil.Process(pid))
    for proc in targets:
        with contextlib.suppress(psutil.Error):
            proc.kill()


# -- parent-death watchdog -------------------------------------------------------------------------


class Watchdog:
    """Stops process group ``pgid`` when this process dies (see the module docstring)."""

    def __init__(self, pgid: int, grace_s: float = 10.0) -> None:
        read_fd, write_fd = os.pipe()  # both non-inheritable (PEP 446); only read_fd is passed on
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", WATCHDOG_SCRIPT, str(pgid), str(grace_s)],
                stdin=read_fd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # terminal Ctrl-C / hangup must not kill the watchdog
            )
        finally:
            os.close(read_fd)
        self._lifeline: int | None = write_fd

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def release(self) -> None:
        """The group was stopped by its owner: end the watchdog without it touching anything."""
        if self._lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifeline)
            self._lifeline = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()  # the group is already gone; no need to wait for its poll loop
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
