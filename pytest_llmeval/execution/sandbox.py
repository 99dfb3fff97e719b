"""Run untrusted, model-generated Python programs in a separate, resource-limited process.

What a run looks like::

    pytest process ──(new session)──> bootstrap  (python -I -S, child subreaper, reaps everything)
                                         └──(own process group, rlimits)──> python -I -S -B main.py
                                                                               └── whatever it forks

* The program is saved as ``main.py`` in the run's working directory (under bubblewrap: copied from an
  in-memory file into the run's private tmpfs; with rlimits only: a fresh temporary folder, removed afterwards);
  stdin is an in-memory file, stdout/stderr are read through pipes with a size cap.
* Environment: only ``PATH``, ``LANG``/``LC_ALL``, ``HOME``/``TMPDIR`` (the work dir) and ``MALLOC_ARENA_MAX``.
  Nothing else is inherited, so secrets such as ``OPENAI_API_KEY`` are not visible through ``os.environ``.
* Interpreter flags ``-I -S -B``: isolated mode (ignores ``PYTHON*`` variables, no user site, no current directory
  on ``sys.path``) and no ``site`` import (no third-party packages: benchmark programs use the standard library;
  ``site`` also costs tens of milliseconds per run). ``exit()``/``quit()``, which ``site`` normally provides, are
  defined by a one-line prelude so programs that call them still work.
* Limits (:class:`SandboxLimits`), applied with ``setrlimit`` in the program's process before ``exec``:
  ``RLIMIT_CPU`` (whole seconds, rounded up), ``RLIMIT_AS`` (address space, so a 2 GB allocation fails with
  ``MemoryError``), ``RLIMIT_FSIZE`` (largest file the program may write) and ``RLIMIT_NPROC``.
* Processes: ``RLIMIT_NPROC`` counts every process of the *user*, not of the program, and the kernel does not
  enforce it for root with ``CAP_SYS_RESOURCE`` (while a capability-less root in Docker is counted host-wide). So
  the real guard is a watchdog in this process: every 5 ms it counts the live processes under the bootstrap
  through ``/proc`` and kills them all when there are more than ``max_processes``. For non-root users
  ``RLIMIT_NPROC`` is additionally set to "processes the user has now + max_processes" as a backstop; for root
  it is left alone.
* Killing: every process group below the bootstrap gets ``killpg(SIGKILL)`` (atomic for a group, so a forking
  loop cannot outrun it) and every descendant found in ``/proc`` gets ``SIGKILL``, in rounds until none is left.
  The bootstrap is a *child subreaper* (``PR_SET_CHILD_SUBREAPER``): orphans (double forks, daemons) are
  re-parented to it instead of to init, so they are still found, killed and reaped. This matters on machines
  whose init never reaps (containers, microVMs): no zombies and no orphans survive a run. When the program's
  main process exits, the bootstrap kills whatever it left running.

Isolation (``LLMEVAL_SANDBOX``, default ``bwrap``): the bootstrap runs inside bubblewrap (``bwrap``, Debian
package ``bubblewrap`` >= 0.5, unprivileged user namespaces; :func:`bwrap_argv`): only ``/usr``, ``/bin``,
``/lib*``, the dynamic linker's files of ``/etc`` and the interpreter with its standard library are visible,
read-only (nothing of ``$HOME``, the project, its ``.env``, the caches or the host's ``/tmp``); a private tmpfs
``/tmp`` of ``disk_mb`` is the only writable place besides a 1 MB ``/dev/shm``; fresh ``/dev`` and ``/proc``,
every namespace unshared (no network: only a loopback interface that is down; a new PID namespace: no other
process is visible or reachable, so neither ``/proc/<pid>/environ`` of pytest nor ``kill`` of it works), no
capabilities, a new session, an empty environment but the variables above, and ``--die-with-parent`` (when
this process dies the whole namespace dies with it). The rlimits and the watchdog work inside it unchanged
(the watchdog allows for bubblewrap's own two processes). When bubblewrap cannot run,
:class:`~pytest_llmeval.errors.SandboxUnavailableError` names the fix, unless ``LLMEVAL_SANDBOX=rlimits``
accepts the risk: then the program runs as the same user as pytest with the same filesystem and network (it
could read other processes' ``/proc/<pid>/environ``, write files anywhere, connect anywhere), which an
:class:`UnisolatedCodeWarning` says once per process. Configured API keys (and their encoded forms) are
redacted from what a program prints (:mod:`pytest_llmeval.redact`).

Verdicts: a *checker* (``checker=`` of :func:`run_python`, ``_checker_boot.py``) runs in place of the program,
in a fork of the non-dumpable bootstrap, starts the program itself and reports on a descriptor the program
never holds. docs/security.md lists what is promised and tested.

Process walking stays our own (``/proc/<pid>/task/<tid>/children``) instead of psutil
(:mod:`pytest_llmeval.processes`): measured on this 2-core machine with ~190 processes, psutil's
``children(recursive=True)`` costs 32 ms per call against 0.8 ms here, and the watchdog walks the tree every
5 ms to catch fork loops early. The bootstrap (``_sandbox_boot.py``) runs without site-packages, so it cannot
use psutil at all.

Linux only (``/proc``, ``prctl``); other platforms get a clear :class:`~pytest_llmeval.errors.ConfigError`.
"""

from __future__ import annotations

import json
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from pytest_llmeval.errors import ConfigError, SandboxUnavailableError
from pytest_llmeval.redact import redact

SandboxStatus = Literal["ok", "runtime_error", "timeout", "memory_exceeded", "output_exceeded", "killed"]


class SandboxLimits(BaseModel):
    """Resource limits of one run; every field applies to each process of the program separately except
    ``wall_time_s``, ``max_processes`` and ``max_output_bytes``, which apply to the run as a whole.

    * ``cpu_time_s``: CPU seconds per process (``RLIMIT_CPU``, rounded *up* to whole seconds, at least 1).
    * ``wall_time_s``: wall-clock seconds from start until everything is killed.
    * ``memory_mb``: address space per process (``RLIMIT_AS``); virtual, so it is stricter than resident memory.
    * ``max_processes``: live processes of the run at any moment, counting the program itself; the watchdog
      checks every few milliseconds, so a fast fork loop may briefly overshoot before it is killed.
    * ``max_output_bytes``: cap on stdout and on stderr, each; output beyond it is discarded and the run killed.
    * ``file_size_mb``: largest file the program may write (``RLIMIT_FSIZE``); 0 forbids writing files.
    * ``disk_mb``: size of the private ``/tmp`` (the program's working directory, a tmpfs under bubblewrap):
      writes beyond it fail with ``ENOSPC``; ``/dev/shm`` gets 1 MB, every other path is read-only.
    * ``max_files``: files and folders in that ``/tmp`` (tmpfs bounds bytes, not inodes, and each costs kernel
      memory); the watchdog kills the run (``output_exceeded``) beyond it. Bubblewrap mode only.
    * ``total_memory_mb``: resident memory of all the run's processes together; the watchdog kills the run
      (``memory_exceeded``) when the sum passes it (``memory_mb`` alone allows that much per process).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_time_s: float = Field(default=6, gt=0)
    wall_time_s: float = Field(default=10, gt=0)
    memory_mb: int = Field(default=512, gt=0)
    max_processes: int = Field(default=32, ge=1)
    max_output_bytes: int = Field(default=1_000_000, gt=0)
    file_size_mb: int = Field(default=16, ge=0)
    disk_mb: int = Field(default=64, ge=1)
    max_files: int = Field(default=10_000, ge=1)
    total_memory_mb: int = Field(default=1024, ge=1)


class SandboxResult(BaseModel):
    """How one program run ended.

    ``status``:

    * ``ok``: exited with code 0 within every limit.
    * ``runtime_error``: non-zero exit (uncaught exception, ``sys.exit(n)``) or a crash (SIGSEGV, SIGABRT...).
    * ``timeout``: wall time reached (killed by the sandbox) or CPU time exceeded (SIGXCPU / hard-limit SIGKILL).
    * ``memory_exceeded``: the program died of ``MemoryError`` or ``ENOMEM`` under the address-space limit.
    * ``output_exceeded``: stdout or stderr passed ``max_output_bytes`` (killed), or a file write passed
      ``file_size_mb`` (``EFBIG``, "File too large").
    * ``killed``: the sandbox killed it for running more than ``max_processes`` processes, or it died of a signal
      no limit explains (e.g. SIGKILL from the kernel's OOM killer).

    ``reason`` says in words which limit stopped the run (``"stdout passed 1000000 bytes"``, ``"no space
    left in /tmp (disk_mb=64)"``...), or None. ``verdict`` is what a *checker* (see :func:`run_python`)
    wrote on its private channel, or None without one; the program cannot write there (docs/security.md).
    ``exit_code`` is the program's code as :class:`subprocess.Popen` reports it (negative = killed by that
    signal), or ``None`` when the sandbox itself killed the run (timeout, output, process limit).
    ``stdout``/``stderr`` are decoded as UTF-8 with replacement characters and hold at most
    ``max_output_bytes`` each. ``cpu_time_s`` is the CPU time used by the program and the processes it
    waited for, when known.
    """

    model_config = ConfigDict(frozen=True)

    status: SandboxStatus
    exit_code: int | None
    stdout: str
    stderr: str
    wall_time_s: float
    cpu_time_s: float | None = None
    verdict: str | None = None
    reason: str | None = None


DEFAULT_LIMITS = SandboxLimits()

# Defines exit()/quit() (normally added by `site`, which -S skips), then runs main.py as __main__.
_PRELUDE = (
    "import sys, builtins; builtins.exit = builtins.quit = sys.exit; del sys.argv[0]; __file__ = sys.argv[0]; "
    "del sys, builtins; exec(compile(open(__file__, 'rb').read(), __file__, 'exec'))"
)

# The bootstrap: a real module, but run with `-c` from its source, so the sandbox needs no view of this package.
_BOOTSTRAP_SOURCE = Path(__file__).resolve().with_name("_sandbox_boot.py").read_text(encoding="utf-8")
_IN_PROCESS = "--in-process"  # the bootstrap runs the checker's source in its fork (see _sandbox_boot.py)
_VERDICT_CAP = 16 * 1024 * 1024  # a checker's reports (functional results carry the returned values)
_SHM_BYTES = 1024 * 1024

_MIN_ENV_PATH = "/usr/local/bin:/usr/bin:/bin"
_POLL_WITHOUT_PIDFD_S = 0.01
_STOP_GRACE_S = 2.0  # after a kill, how long the bootstrap gets to reap everything and exit
_ESCAPEE_GRACE_S = 0.5  # after the bootstrap exits, how long stray holders of the pipes get to close them
_FINAL_REAP_S = 0.5  # when giving up (or interrupted), how long the bootstrap gets before it is killed too
_KILL_ROUNDS = 50
_READ_CHUNK = 65536
_CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL})
_MEMORY_ERROR = re.compile(r"(?m)^[\w.]*MemoryError\b|\[Errno 12\]")
_FILE_TOO_LARGE = re.compile(r"\[Errno 27\]|File too large")
_DISK_FULL = re.compile(r"\[Errno 28\]|No space left on device")


class _Proc(NamedTuple):
    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    rss_pages: int = 0


def _read_stat(pid: int) -> _Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        # The command name is in parentheses and may itself contain spaces or ')': split after the last one.
        fields = data.rpartition(b")")[2].split()
        return _Proc(pid, fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3]), int(fields[21]))
    except (OSError, ValueError, IndexError):
        return None


def _all_procs() -> list[_Proc]:
    procs = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (proc := _read_stat(int(name))) is not None:
            procs.append(proc)
    return procs


def _has_children_files() -> bool:
    me = os.getpid()
    return os.path.exists(f"/proc/{me}/task/{me}/children")


_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CHILDREN_FILES = sys.platform.startswith("linux") and _has_children_files()
# How often the watchdog counts processes: walking the tree through children files costs microseconds for a
# normal program, so it can run often enough to catch a fork loop early; a full /proc scan costs milliseconds.
_SCAN_EVERY_S = 0.005 if _CHILDREN_FILES else 0.05


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(p) for p in f.read().split())
    except OSError:  # the process or thread just exited
        pass
    return kids


def _descendants_in(procs: list[_Proc], root: int) -> list[_Proc]:
    by_parent: dict[int, list[_Proc]] = {}
    for proc in procs:
        by_parent.setdefault(proc.ppid, []).append(proc)
    found, todo = [], [root]
    while todo:
        for child in by_parent.get(todo.pop(), ()):
            found.append(child)
            todo.append(child.pid)
    return found


def _live_descendants(root: int) -> list[_Proc]:
    """Live (non-zombie) processes below ``root``; cheap when the kernel has ``/proc/*/task/*/children``."""
    if not _CHILDREN_FILES:
        return [p for p in _descendants_in(_all_procs(), root) if p.state not in "ZX"]
    found, todo, seen = [], [root], {root}
    while todo:
        for pid in _children(todo.pop()):
            if pid not in seen:
                seen.add(pid)
                todo.append(pid)
                proc = _read_stat(pid)
                if proc is not None and proc.state not in "ZX":
                    found.append(proc)
    return found


def _kill_run(bootstrap: int, bootstrap_alive: bool) -> None:
    """SIGKILL every live process of the run except the bootstrap, until none is left.

    Targets: descendants of the bootstrap (only while it is unreaped: afterwards its pid could name someone else)
    and members of its session (a session id cannot be reused while a member lives).
    """
    me = os.getpid()
    for _ in range(_KILL_ROUNDS):
        procs = _all_procs()
        candidates = {p.pid: p for p in procs if p.session == bootstrap}
        if bootstrap_alive:
            candidates.update((p.pid, p) for p in _descendants_in(procs, bootstrap))
        targets = [p for p in candidates.values() if p.pid not in (bootstrap, me) and p.pid > 1 and p.state not in "ZX"]
        if not targets:
            return
        for pgrp in {p.pgrp for p in targets} - {bootstrap, me, os.getpgrp(), 0, 1}:
            try:
                os.killpg(pgrp, signal.SIGKILL)
            except OSError:
                pass
        for proc in targets:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.002)


class _Outcome(NamedTuple):
    reason: SandboxStatus | None  # why the sandbox killed the run, if it did
    returncode: int | None
    cpu_time_s: float | None
    stdout: bytes
    stderr: bytes
    wall_time_s: float
    verdict: bytes | None = None
    message: str | None = None  # why the sandbox stopped the run, when it did


class _Supervisor:
    """Reads the pipes, enforces wall time, output and process limits, and reaps the bootstrap."""

    def __init__(
        self,
        pid: int,
        stdout_fd: int,
        stderr_fd: int,
        limits: SandboxLimits,
        started: float,
        overhead: int = 0,
        verdict_fd: int = -1,
    ) -> None:
        self.pid = pid
        self.overhead = overhead  # processes of the isolation layer (bubblewrap) between pid and the bootstrap
        self.limits = limits
        self.started = started
        self.buffers = {stdout_fd: bytearray(), stderr_fd: bytearray()}
        self.caps = {stdout_fd: limits.max_output_bytes, stderr_fd: limits.max_output_bytes}
        self.stdout_fd, self.stderr_fd, self.verdict_fd = stdout_fd, stderr_fd, verdict_fd
        self.open_fds = {stdout_fd, stderr_fd}
        if verdict_fd >= 0:
            self.buffers[verdict_fd] = bytearray()
            self.caps[verdict_fd] = _VERDICT_CAP
            self.open_fds.add(verdict_fd)
        self.selector = selectors.DefaultSelector()
        for fd in self.open_fds:
            self.selector.register(fd, selectors.EVENT_READ)
        self.pidfd: int | None = None
        try:
            self.pidfd = os.pidfd_open(pid)  # readable when the bootstrap exits: no polling needed
            self.selector.register(self.pidfd, selectors.EVENT_READ)
        except (AttributeError, OSError):
            self.pidfd = None
        self.reason: SandboxStatus | None = None
        self.message: str | None = None
        self.count_files = overhead > 0  # isolated: /tmp is the run's own tmpfs
        self.returncode: int | None = None
        self.cpu_time_s: float | None = None
        self.ended_at: float | None = None
        self.give_up_at: float | None = None

    def run(self) -> _Outcome:
        try:
            self._loop()
        finally:
            self._finish()
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        return _Outcome(
            self.reason,
            self.returncode,
            self.cpu_time_s,
            bytes(self.buffers[self.stdout_fd]),
            bytes(self.buffers[self.stderr_fd]),
            end - self.started,
            bytes(self.buffers[self.verdict_fd]) if self.verdict_fd >= 0 else None,
            self.message,
        )

    def _loop(self) -> None:
        deadline = self.started + self.limits.wall_time_s
        next_scan = time.monotonic() + _SCAN_EVERY_S
        while True:
            now = time.monotonic()
            if self.reason is None and self.returncode is None and now >= deadline:
                self._stop("timeout", f"wall time of {self.limits.wall_time_s:g} s reached")
            if self.returncode is not None and not self.open_fds:
                return
            if self.returncode is not None and self.give_up_at is None:
                # The bootstrap is gone; what remains is draining the pipes. Anything still holding them after the
                # grace period escaped the bootstrap (only hostile code does that) and is killed in _finish().
                self.give_up_at = now + _ESCAPEE_GRACE_S
            if self.give_up_at is not None and now >= self.give_up_at:
                return
            watching = self.reason is None and self.returncode is None
            wake = [next_scan, deadline] if watching else []
            if self.give_up_at is not None:
                wake.append(self.give_up_at)
            timeout = max(0.0, min(wake) - now) if wake else _SCAN_EVERY_S
            if self.pidfd is None:
                timeout = min(timeout, _POLL_WITHOUT_PIDFD_S)
            for key, _ in self.selector.select(timeout):
                if key.fd == self.pidfd:
                    self._reap(block=False)
                else:
                    self._read(key.fd)
            if self.pidfd is None:
                self._reap(block=False)
            now = time.monotonic()
            if watching and self.reason is None and self.returncode is None and now >= next_scan:
                live = _live_descendants(self.pid)
                if len(live) - self.overhead > self.limits.max_processes:
                    self._stop("killed", f"more than {self.limits.max_processes} processes at once")
                elif sum(p.rss_pages for p in live) * _PAGE_BYTES > self.limits.total_memory_mb * 1024 * 1024:
                    self._stop(
                        "memory_exceeded",
                        f"the processes together held more than {self.limits.total_memory_mb} MB of memory",
                    )
                elif self.count_files and self._files_in_tmp(live) > self.limits.max_files:
                    self._stop("output_exceeded", f"more than {self.limits.max_files} files and folders in /tmp")
                next_scan = now + _SCAN_EVERY_S

    def _files_in_tmp(self, live: list[_Proc]) -> int:
        """Inodes used in the private /tmp, seen through a process of the run (its mount namespace): tmpfs
        limits bytes (``--size``) but not the number of files, each of which costs kernel memory."""
        for proc in live:
            try:
                stat = os.statvfs(f"/proc/{proc.pid}/root{_SANDBOX_DIR}")
            except OSError:
                continue
            # Only our tmpfs has exactly disk_mb (early on, a process may still see the host's /tmp).
            if stat.f_blocks * stat.f_frsize == self.limits.disk_mb * 1024 * 1024:
                return stat.f_files - stat.f_ffree
        return 0

    def _stop(self, reason: SandboxStatus, message: str) -> None:
        if self.reason is None:
            self.reason = reason
            self.message = message
        _kill_run(self.pid, bootstrap_alive=self.returncode is None)
        if self.give_up_at is None:
            self.give_up_at = time.monotonic() + _STOP_GRACE_S

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_CHUNK)
        except OSError:
            data = b""
        if not data:
            self._close_stream(fd)
            return
        buffer = self.buffers[fd]
        room = self.caps[fd] - len(buffer)
        buffer += data[:room]
        if len(data) > room:
            self._close_stream(fd)  # stop reading: the writers are killed next
            name = {self.stdout_fd: "stdout", self.stderr_fd: "stderr"}.get(fd, "the checker's report")
            self._stop("output_exceeded", f"{name} passed {self.caps[fd]} bytes")

    def _close_stream(self, fd: int) -> None:
        if fd in self.open_fds:
            self.selector.unregister(fd)
            self.open_fds.discard(fd)

    def _reap(self, block: bool) -> None:
        if self.returncode is not None:
            return
        try:
            pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status, usage = self.pid, 0, None
        if pid == 0:
            return
        self.ended_at = time.monotonic()
        self.returncode = os.waitstatus_to_exitcode(status)
        if usage is not None:
            self.cpu_time_s = usage.ru_utime + usage.ru_stime
        if self.pidfd is not None:
            self.selector.unregister(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None

    def _finish(self) -> None:
        """Whatever happened (including KeyboardInterrupt), leave no process and no open descriptor behind."""
        if self.returncode is None:
            _kill_run(self.pid, bootstrap_alive=True)
            # Give the bootstrap a moment to reap what just died: killed with zombie children, it would hand
            # them to init, which may never reap them.
            patience = time.monotonic() + _FINAL_REAP_S
            while self.returncode is None and time.monotonic() < patience:
                self._reap(block=False)
                time.sleep(0.005)
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self._reap(block=True)
        if self.open_fds:
            _kill_run(self.pid, bootstrap_alive=False)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.selector.close()


def _classify(outcome: _Outcome, limits: SandboxLimits) -> tuple[SandboxStatus, int | None, str | None]:
    """``(status, exit code, reason)``: the reason names the limit that ended the run, when one did."""
    if outcome.reason is not None:
        return outcome.reason, None, outcome.message
    code = outcome.returncode
    if code == 0:
        return "ok", 0, None
    if code is None:
        return "killed", None, None
    cpu = f"CPU time of {_cpu_rlimit(limits)} s used up"
    file_size = f"a file passed file_size_mb={limits.file_size_mb}"
    if code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return "timeout", code, cpu
        if sig == signal.SIGXFSZ:
            return "output_exceeded", code, file_size
        if sig == signal.SIGKILL and outcome.cpu_time_s is not None and outcome.cpu_time_s >= _cpu_rlimit(limits):
            return "timeout", code, cpu  # the hard CPU limit, reached by a program that ignored SIGXCPU
    tail = outcome.stderr[-4000:].decode("utf-8", "replace")
    if _MEMORY_ERROR.search(tail):
        return "memory_exceeded", code, f"a process passed memory_mb={limits.memory_mb} of address space"
    if _FILE_TOO_LARGE.search(tail):
        return "output_exceeded", code, file_size
    if _DISK_FULL.search(tail):
        return "output_exceeded", code, disk_full_reason(limits)
    if code < 0 and -code not in _CRASH_SIGNALS:
        return "killed", code, f"killed by signal {-code}"
    return "runtime_error", code, None


def disk_full_reason(limits: SandboxLimits) -> str:
    return f"no space left in /tmp (disk_mb={limits.disk_mb}) or /dev/shm (1 MB)"


def _cpu_rlimit(limits: SandboxLimits) -> int:
    return max(1, math.ceil(limits.cpu_time_s))


def _minimal_env(workdir: str) -> dict[str, str]:
    return {
        "PATH": _MIN_ENV_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per thread arena; keep RLIMIT_AS usable
    }


def _check_can_run(python: str) -> None:
    if not sys.platform.startswith("linux"):
        raise ConfigError(
            f"the code sandbox needs Linux (/proc, prctl, rlimits), this is {sys.platform}; "
            "run code benchmarks on Linux or inside a Linux container"
        )
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise ConfigError(
            f"sandbox interpreter {python!r} is not an executable file; pass python= the path of a Python 3 "
            "interpreter (the default is sys.executable)"
        )


def _remove_workdir(path: str) -> None:
    # A program may have chmod-ed its own directories to 000; make them traversable first.
    for root, dirs, _files in os.walk(path):
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), 0o700, follow_symlinks=False)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


def run_python(
    source: str,
    stdin: str = "",
    limits: SandboxLimits = DEFAULT_LIMITS,
    python: str = sys.executable,
    isolation: IsolationMode | None = None,
    *,
    checker: tuple[str, Sequence[str]] | None = None,
) -> SandboxResult:
    """Run ``source`` as ``main.py`` in a fresh process under ``limits``, feeding ``stdin``; never raises for
    anything the program does (its fate is in :attr:`SandboxResult.status`).

    ``isolation``: ``"bwrap"`` (bubblewrap: only the interpreter and system libraries visible, read-only; a
    size-limited private ``/tmp`` as working directory; no network, own PID namespace, no capabilities, empty
    environment, dies with its parent), ``"rlimits"`` (the limits only, no boundary), or None for
    :func:`isolation_mode` (``LLMEVAL_SANDBOX``, default ``bwrap``). The rlimits apply in both modes.

    ``checker``: ``(source, args)`` of a trusted Python program run *instead of* ``main.py``, in a fork of the
    bootstrap (no interpreter start-up of its own) with ``sys.argv = ["-c", *args, VERDICT_FD, PAYLOAD_FD]``:
    where it writes its verdict (which lands in
    :attr:`SandboxResult.verdict`) and where it reads ``stdin`` (an in-memory file). The sandbox's own stdin is
    then empty: bubblewrap's init process keeps descriptors 0-2 open, where the program could read them. The
    checker starts ``main.py`` itself (see ``execution/_checker_boot.py``).

    Blocks the calling thread until the program and everything it started are gone; safe to call from many
    threads at once (see :func:`run_many`), and from asyncio through ``asyncio.to_thread``. Raises
    :class:`~pytest_llmeval.errors.ConfigError` only for a sandbox that cannot work here (not Linux, bad
    ``python``), and :class:`~pytest_llmeval.errors.SandboxUnavailableError` when isolation is required but
    bubblewrap cannot run. ``python`` must be able to run with ``-I -S`` (any CPython 3).
    """
    _check_can_run(python)
    mode = isolation or isolation_mode()
    if mode == "bwrap":
        require_bwrap()
    else:
        _warn_unisolated_once()
    workdir: str | None = None
    fds: list[int] = []  # every descriptor opened here, closed at the end
    try:
        # An in-memory file, never a path the program could find; a checker's goes to the checker alone.
        payload_fd = _memfd("stdin", stdin.encode("utf-8"))
        fds.append(payload_fd)
        stdin_fd = payload_fd if checker is None else _memfd("empty", b"")
        if stdin_fd != payload_fd:
            fds.append(stdin_fd)
        status_r = status_w = verdict_r = verdict_w = -1
        if mode == "bwrap":
            status_r, status_w = os.pipe()
            fds += [status_r, status_w]
        handed: list[int] = []  # descriptors for the checker only
        if checker is not None:
            verdict_r, verdict_w = os.pipe()
            fds += [verdict_r, verdict_w]
            handed = [verdict_w, payload_fd]
        if mode == "bwrap":
            program_fd = _memfd("main.py", source.encode("utf-8"))
            fds.append(program_fd)
            inner_python = _interpreter(python).executable
            cwd = _SANDBOX_DIR
            env = _minimal_env(cwd)
        else:
            workdir = tempfile.mkdtemp(prefix="llmeval-sandbox-")
            with open(os.path.join(workdir, "main.py"), "w", encoding="utf-8") as f:
                f.write(source)
            inner_python, cwd = python, workdir
            env = _minimal_env(workdir)
        program = (
            [_IN_PROCESS, checker[0], *checker[1], *map(str, handed)]
            if checker is not None
            else [inner_python, "-I", "-S", "-B", "-c", _PRELUDE, "main.py"]
        )
        argv = [
            inner_python, "-I", "-S", "-B", "-c", _BOOTSTRAP_SOURCE,
            str(_cpu_rlimit(limits)),
            str(limits.memory_mb * 1024 * 1024),
            str(limits.file_size_mb * 1024 * 1024),
            str(limits.max_processes),
            str(status_w),
            ",".join(map(str, handed)) or "-",
            *program,
        ]  # fmt: skip
        passed = [fd for fd in (status_w, *handed) if fd >= 0]
        if mode == "bwrap":
            argv = bwrap_argv(env, limits, python, program_fd) + argv
            passed.append(program_fd)
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            stdin=stdin_fd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd if mode != "bwrap" else None,
            env={} if mode == "bwrap" else env,
            start_new_session=True,
            close_fds=True,
            pass_fds=tuple(passed),
        )
        for fd in (status_w, verdict_w):  # the children hold them now: EOF on the read ends when they are done
            if fd >= 0:
                os.close(fd)
                fds.remove(fd)
        assert proc.stdout is not None and proc.stderr is not None
        overhead = _BWRAP_PROCESSES if mode == "bwrap" else 0
        try:
            outcome = _Supervisor(
                proc.pid, proc.stdout.fileno(), proc.stderr.fileno(), limits, started, overhead, verdict_r
            ).run()
            if status_r >= 0:
                outcome = _with_program_status(outcome, status_r)
            proc.returncode = outcome.returncode  # reaped by us (os.wait4, for the CPU time)
        finally:
            proc.stdout.close()
            proc.stderr.close()
    finally:
        for fd in fds:
            os.close(fd)
        if workdir is not None:
            _remove_workdir(workdir)
    status, exit_code, reason = _classify(outcome, limits)
    return SandboxResult(
        status=status,
        exit_code=exit_code,
        reason=reason,
        stdout=redact(outcome.stdout.decode("utf-8", "replace")),
        stderr=redact(outcome.stderr.decode("utf-8", "replace")),
        wall_time_s=round(outcome.wall_time_s, 4),
        cpu_time_s=None if outcome.cpu_time_s is None else round(outcome.cpu_time_s, 4),
        verdict=None if outcome.verdict is None else redact(outcome.verdict.decode("utf-8", "replace")),
    )


def _memfd(name: str, data: bytes) -> int:
    """An anonymous in-memory file holding ``data``, positioned at its start (no path on any disk)."""
    fd = os.memfd_create(f"llmeval-{name}", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _with_program_status(outcome: _Outcome, status_fd: int) -> _Outcome:
    """Replace bubblewrap's exit code (128+signal for a signal) by the program's own wait status."""
    os.set_blocking(status_fd, False)
    try:
        data = os.read(status_fd, 64)
    except OSError:
        data = b""
    if not data.strip().isdigit() or outcome.returncode is None:
        return outcome
    return outcome._replace(returncode=os.waitstatus_to_exitcode(int(data)))


# -- isolation ------------------------------------------------------------------------------------------------

IsolationMode = Literal["bwrap", "rlimits"]
SANDBOX_ENV = "LLMEVAL_SANDBOX"
_BWRAP_PROCESSES = 2  # bwrap itself and its init in the new PID namespace, both below the supervised pid
_FIX = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0)"
    f", or accept the risk with {SANDBOX_ENV}=rlimits (generated code then runs as you, with your files, "
    "environment and network; see docs/security.md)"
)


def isolation_mode() -> IsolationMode:
    """``LLMEVAL_SANDBOX``: ``bwrap`` (the default) or ``rlimits`` (today's limits, no isolation: opt-in)."""
    value = os.environ.get(SANDBOX_ENV, "bwrap").strip().lower() or "bwrap"
    if value not in ("bwrap", "rlimits"):
        raise ConfigError(f"{SANDBOX_ENV}={value!r}: expected 'bwrap' (isolated, the default) or 'rlimits'")
    return value  # type: ignore[return-value]


_SANDBOX_DIR = "/tmp"  # inside bubblewrap: the private, size-limited tmpfs; the program's cwd, HOME and TMPDIR
# System files the interpreter and its C extensions may read: the dynamic linker's cache and the time zone.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
_TOP_LEVEL_LIBS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def bwrap_argv(
    env: dict[str, str],
    limits: SandboxLimits = DEFAULT_LIMITS,
    python: str = sys.executable,
    program_fd: int | None = None,
) -> list[str]:
    """The bubblewrap prefix. Visible, read-only: ``/usr``, ``/bin``, ``/lib*`` (or their symlinks), a few
    files of ``/etc`` (dynamic linker cache, time zone) and the interpreter (its executable, shared library
    and standard library; its ``site-packages`` is hidden). Nothing of ``$HOME``, the project, the caches or
    the host's ``/tmp``. Writable: a private tmpfs ``/tmp`` of ``limits.disk_mb`` (``main.py`` is copied there
    from ``program_fd``) and a 1 MB ``/dev/shm``; the root and ``/dev`` themselves are read-only. Every
    namespace unshared (network, PID, IPC, UTS, user, cgroup), all capabilities dropped, a new session, an
    empty environment but ``env``, and death with the parent."""
    argv = [
        _bwrap_path() or "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--clearenv",
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for path in _TOP_LEVEL_LIBS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in _ETC_FILES:
        argv += ["--ro-bind-try", path, path]
    argv += [
        "--dev", "/dev",
        "--size", str(_SHM_BYTES), "--tmpfs", "/dev/shm",
        "--proc", "/proc",
        "--size", str(limits.disk_mb * 1024 * 1024), "--tmpfs", _SANDBOX_DIR,
    ]  # fmt: skip
    argv += _interpreter(python).binds  # after the private /tmp: a virtualenv may live under /tmp (CI, tox)
    if program_fd is not None:
        argv += ["--file", str(program_fd), f"{_SANDBOX_DIR}/main.py"]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--chdir", _SANDBOX_DIR, "--"]


class _Interpreter(NamedTuple):
    executable: str  # the real file (a virtualenv's python is a symlink into a directory not mounted)
    binds: list[str]


_INTERPRETERS: dict[str, _Interpreter] = {}
# Asked of the interpreter itself (once per path): where it and its standard library really are.
_PROBE = (
    "import json, os, sys, sysconfig\n"
    "v = sysconfig.get_config_var\n"
    "lib = os.path.join(v('LIBDIR') or '', v('INSTSONAME') or '') if v('Py_ENABLE_SHARED') else ''\n"
    "print(json.dumps([os.path.realpath(sys.executable), sysconfig.get_path('stdlib'),"
    " sysconfig.get_path('platstdlib'), lib]))"
)


def _interpreter(python: str) -> _Interpreter:
    """The read-only binds the sandboxed interpreter needs outside ``/usr``: its executable, shared library,
    standard library (with ``site-packages`` covered by an empty read-only tmpfs)."""
    found = _INTERPRETERS.get(python)
    if found is None:
        try:
            probe = subprocess.run(
                [python, "-I", "-S", "-c", _PROBE],
                capture_output=True,
                text=True,
                timeout=60,
                env={"PATH": _MIN_ENV_PATH},
            )
            executable, stdlib, platstdlib, shared = json.loads(probe.stdout)
        except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
            raise ConfigError(
                f"sandbox interpreter {python!r} cannot describe itself ({exc}); pass python= "
                "the path of a CPython 3 interpreter"
            ) from None
        binds: list[str] = []
        # A virtualenv made with --copies has a real interpreter in it, which finds the standard library
        # through the pyvenv.cfg beside its bin/ (a few paths, no secret).
        venv_cfg = os.path.join(os.path.dirname(os.path.dirname(executable)), "pyvenv.cfg")
        for path in dict.fromkeys([executable, shared, stdlib, platstdlib, venv_cfg]):
            if path and os.path.exists(path) and not _under(path, "/usr"):
                binds += ["--ro-bind", path, path]
        for path in dict.fromkeys([stdlib, platstdlib]):
            packages = os.path.join(path, "site-packages")
            if os.path.isdir(packages):
                binds += ["--tmpfs", packages, "--remount-ro", packages]
        found = _INTERPRETERS[python] = _Interpreter(executable, binds)
    return found


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


_BWRAP_STATE: dict[str, str | None] = {}


def bwrap_problem() -> str | None:
    """None when bubblewrap runs here (checked once per process by running ``true`` in it), else why not."""
    if "problem" not in _BWRAP_STATE:
        path = _bwrap_path()
        if path is None:
            problem: str | None = "bubblewrap (bwrap) is not installed"
        else:
            try:
                probe = subprocess.run(
                    [*bwrap_argv({}), "/bin/true"], capture_output=True, text=True, timeout=30, env={}
                )
                problem = None if probe.returncode == 0 else f"bwrap cannot run here: {probe.stderr.strip()[:300]}"
                if problem and "--size" in problem:
                    problem += " (a size-limited /tmp needs bubblewrap 0.5 or newer)"
            except (OSError, subprocess.TimeoutExpired) as exc:
                problem = f"bwrap cannot run here: {exc}"
        _BWRAP_STATE["problem"] = problem
    return _BWRAP_STATE["problem"]


def require_bwrap() -> None:
    """Raise SandboxUnavailableError (naming the fix) when bubblewrap cannot isolate generated code here."""
    problem = bwrap_problem()
    if problem is not None:
        raise SandboxUnavailableError(f"generated code cannot be isolated: {problem}; {_FIX}")


_WARNED: list[bool] = []


def _warn_unisolated_once() -> None:
    if not _WARNED:
        _WARNED.append(True)
        problem = bwrap_problem()
        why = f" ({problem})" if problem else ""
        warnings.warn(
            f"{SANDBOX_ENV}=rlimits: generated code runs WITHOUT isolation{why}: it can read your files, "
            f"environment and network. To isolate it: {_FIX.split(', or accept')[0]}",
            UnisolatedCodeWarning,
            stacklevel=3,
        )


class UnisolatedCodeWarning(UserWarning):
    """Generated code runs with rlimits only (``LLMEVAL_SANDBOX=rlimits``), shown once per process."""


def run_many(
    jobs: Sequence[tuple[str, str]],
    limits: SandboxLimits = DEFAULT_LIMITS,
    workers: int | None = None,
    python: str = sys.executable,
    isolation: IsolationMode | None = None,
) -> list[SandboxResult]:
    """Run ``(source, stdin)`` jobs in parallel, ``workers`` at a time (default: ``os.cpu_count()``); results come
    back in job order. Each worker thread only waits on its own subprocess, so the programs themselves run on
    separate cores; more workers than cores makes CPU-bound programs slower and more likely to hit time limits.
    """
    if not jobs:
        return []
    n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="llmeval-sandbox") as pool:
        return list(pool.map(lambda job: run_python(job[0], job[1], limits, python, isolation), jobs))
