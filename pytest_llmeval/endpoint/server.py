"""A model server process the plugin starts, waits for, and always stops.

``ManagedServer(ServerSpec(...)).start()`` runs a command (llama.cpp, vLLM, a fake server ...), waits
until ``GET http://host:port/v1/models`` answers 200 (or 401/403: a key-protected server is up too),
and exposes ``base_url``. ``stop()`` ends the
server's whole process group.

No orphan survives the test run:
  * the server runs in its own session / process group, so ``stop()`` reaches grandchildren too
    (a ``sh -c`` wrapper, a worker pool), and Ctrl-C in the terminal does not hit it mid-shutdown;
  * ``stop()`` runs from ``atexit`` for every server still running;
  * a parent-death watchdog (:class:`pytest_llmeval.processes.Watchdog`) stops the server's group
    when this process dies in any way (SIGKILL included).

A server that dies after it was ready is noticed, not mistaken for a slow or unreachable one:
  * a monitor thread waits on the child; when it ends without ``stop()`` having been asked, the
    death is recorded (``death()``), written to ``<log>.exit.json`` (for xdist workers, which do not
    own the process) and the ``on_death`` callbacks run (the serving plugin stops the run there);
  * ``server_death(base_url)`` is what the HTTP client asks whenever a request to a server fails:
    it answers with a :class:`~pytest_llmeval.errors.ServerDiedError` (exit code or signal by name,
    the command, the last log lines) when that server is gone, and None when it is alive.

Edge cases:
  * ``port=None`` picks a free loopback port; if another process grabs it before the server binds,
    the start is retried (3 attempts) with a new port.
  * an explicit port that is already taken fails before anything starts (``PortInUseError``), since a
    different server answering ``/v1/models`` there would otherwise look "ready".
  * the command is run without a shell; a string command is split with ``shlex``. Placeholders
    ``{port}``, ``{host}`` and ``{model}`` are replaced inside each argument (other braces are left
    alone, so JSON arguments are safe). A command without ``{port}`` needs an explicit ``port``.
  * the log file (stdout+stderr) is overwritten on each start and kept after ``stop()`` for reading.
  * POSIX only for the group/watchdog guarantees; on Windows ``stop()`` terminates the direct child.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import (
    PortInUseError,
    ServerCommandError,
    ServerDiedError,
    ServerExitedError,
    ServerReadyTimeoutError,
    ServerStartError,  # noqa: F401 - re-exported: callers catch endpoint.server.ServerStartError
)
from ..processes import Watchdog, stop_group
from ..redact import redact
from ..terminal_text import printable

if TYPE_CHECKING:
    from typing_extensions import Self

_POSIX = os.name == "posix"
_LOG_TAIL_LINES = 20
_PORT_RETRIES = 3
# 401/403: an API-key protected server (vLLM --api-key) is up and answering; waiting on would only
# end in a misleading timeout. 503 ("loading model", llama.cpp's llama-server) keeps waiting.
_READY_STATUSES = frozenset({200, 401, 403})
_ADDRESS_IN_USE_MARKERS = ("address already in use", "eaddrinuse", "errno 98", "errno 48")


class ServerSpec(BaseModel):
    """What to run and how to know it is ready. See the module docstring for placeholder rules."""

    model_config = ConfigDict(frozen=True)

    command: str | list[str]
    model: str
    port: int | None = Field(default=None, ge=1, le=65535)
    host: str = "127.0.0.1"
    ready_timeout_s: float = Field(default=600.0, gt=0)
    log_path: Path | None = None
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        if not (shlex.split(value) if isinstance(value, str) else value):
            raise ValueError("the server command is empty")
        return value

    def argv(self, port: int) -> list[str]:
        """The command as an argument list with placeholders filled."""
        parts = shlex.split(self.command) if isinstance(self.command, str) else list(self.command)
        values = {"{port}": str(port), "{host}": self.host, "{model}": self.model}
        filled = []
        for part in parts:
            for key, value in values.items():
                part = part.replace(key, value)
            filled.append(part)
        return filled

    def has_port_placeholder(self) -> bool:
        parts = [self.command] if isinstance(self.command, str) else self.command
        return any("{port}" in part for part in parts)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it; another process may take it later)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when binding (host, port) fails the way a server's bind would (SO_REUSEADDR, as uvicorn)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def server_url(host: str, port: int) -> str:
    """The OpenAI base URL of a server on ``host:port``: ``http://host:port/v1``."""
    return f"http://{_url_host(host)}:{port}/v1"


def _shown(argv: list[str]) -> list[str]:
    """A server's command as messages quote it: a key on it (`--api-key KEY`) redacted."""
    return [redact(part) for part in argv]


def _read_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The log's last lines, redacted (servers log their arguments, vLLM `api_key=[...]`) and with terminal
    controls escaped (a server may log the prompts it got: dataset text that could clear the screen)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return printable(redact("\n".join(text.splitlines()[-lines:])))


class ManagedServer:
    """One server process: ``start()`` it (or use ``with``), read ``base_url``, ``stop()`` it.

    ``start()`` blocks until ready or raises a ``ServerStartError``; on any failure the process group
    is already stopped. ``stop()`` is idempotent and safe to call from ``atexit`` or signal handlers.
    """

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: Watchdog | None = None
        self._port: int | None = None
        self._log_path: Path | None = spec.log_path
        self._argv: list[str] = []
        self._lock = threading.RLock()
        self._stopping = False
        self._death: ServerDiedError | None = None
        self._died = threading.Event()
        self.on_death: list[Callable[[ServerDiedError], None]] = []

    # ---- public properties -------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has no port yet; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for ``--llm-base-url``."""
        return server_url(self.spec.host, self.port)

    @property
    def log_path(self) -> Path:
        if self._log_path is None:
            raise RuntimeError("the server has no log yet; call start() first")
        return self._log_path

    @property
    def pid(self) -> int:
        """Pid of the direct child, which is also the process-group id on POSIX."""
        if self._proc is None:
            raise RuntimeError("the server is not started; call start() first")
        return self._proc.pid

    @property
    def command(self) -> list[str]:
        """The argv of the last start (placeholders filled)."""
        return list(self._argv)

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_path(self) -> Path:
        """``<log>.exit.json``: written when the server dies unasked (read by xdist workers)."""
        return self.log_path.with_name(self.log_path.name + ".exit.json")

    def death(self, wait_s: float = 0.0) -> ServerDiedError | None:
        """The error describing this server's unasked death, or None while it runs (or was stopped).

        ``wait_s``: how long to wait for a dying process to be reaped (a request that just failed
        may have seen the socket close a moment before the process ended).
        """
        if self._death is None and wait_s > 0 and self._proc is not None and not self._stopping:
            self._died.wait(wait_s if _dying(self._proc.pid) else min(wait_s, 0.05))
        return self._death

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ManagedServer:
        """Start the command and block until ``/v1/models`` answers 200; return ``self``."""
        with self._lock:
            if self.is_running():
                return self
            if self._proc is not None:  # died after it was ready: clean up its group and watchdog
                self.stop(grace_s=2)
            if self.spec.port is None and not self.spec.has_port_placeholder():
                raise ServerCommandError(
                    "the server command has no {port} placeholder, so it cannot be told which port to "
                    "use; add e.g. '--port {port}' to the command, or give the port it listens on with "
                    "--llm-base-url http://127.0.0.1:PORT/v1"
                )
            attempts = _PORT_RETRIES if self.spec.port is None else 1
            self._stopping = False
            self._death = None
            self._died.clear()
            for attempt in range(attempts):
                port = self.spec.port if self.spec.port is not None else free_port(self.spec.host)
                if port_in_use(self.spec.host, port):
                    if attempt + 1 < attempts:
                        continue
                    raise PortInUseError(self.spec.host, port)
                try:
                    self._launch(port)
                    self._wait_ready()
                    self._start_monitor()
                    return self
                except PortInUseError:
                    if attempt + 1 >= attempts:
                        raise
                except BaseException:
                    self.stop()
                    raise
            raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, grace_s: float = 10) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``grace_s``, reap. Idempotent."""
        self._stopping = True
        with self._lock:
            proc = self._proc
            if proc is not None:
                self._terminate_group(proc, grace_s)
            self._release_watchdog()
            _LIVE.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self._proc.pid} port={self._port}" if self._proc else "not started"
        return f"<ManagedServer {self.spec.model!r} {state}>"

    # ---- internals ---------------------------------------------------------------------------
    def _launch(self, port: int) -> None:
        self._port = port
        self._argv = self.spec.argv(port)
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="llmeval-server-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self.exit_path.unlink(missing_ok=True)
        env = {**os.environ, **self.spec.env}
        with self._log_path.open("wb") as log:
            try:
                self._proc = subprocess.Popen(
                    self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=_POSIX,
                    creationflags=0 if _POSIX else subprocess.CREATE_NEW_PROCESS_GROUP,  # type: ignore[attr-defined]
                )
            except (FileNotFoundError, PermissionError) as exc:
                raise ServerCommandError(
                    f"cannot run the server command {shlex.join(self._argv)}: {exc.strerror} "
                    f"({self._argv[0]}); check that it is installed and on PATH"
                ) from exc
        _LIVE.add(self)
        if _POSIX:
            self._start_watchdog(self._proc.pid)

    def _start_monitor(self) -> None:
        proc = self._proc
        assert proc is not None
        _WATCHES[_url_key(self.base_url)] = self.death
        threading.Thread(target=self._monitor, args=(proc,), name="llmeval-server-monitor", daemon=True).start()

    def _monitor(self, proc: subprocess.Popen[bytes]) -> None:
        returncode = proc.wait()
        if self._stopping or proc is not self._proc:
            return
        log_path = self._log_path
        tail = _read_tail(log_path) if log_path is not None else ""
        death = ServerDiedError(returncode, _shown(self._argv), tail, str(log_path) if log_path else None)
        with contextlib.suppress(OSError):
            self.exit_path.write_text(
                json.dumps({"returncode": returncode, "command": _shown(self._argv), "log_path": str(log_path)}),
                encoding="utf-8",
            )
        self._death = death
        self._died.set()
        for callback in list(self.on_death):
            with contextlib.suppress(Exception):
                callback(death)

    def _start_watchdog(self, pgid: int) -> None:
        self._watchdog = Watchdog(pgid, grace_s=10)

    def _release_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.release()

    def _terminate_group(self, proc: subprocess.Popen[bytes], grace_s: float) -> None:
        stop_group(proc, grace_s)

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._log_path is not None
        url = f"http://{_url_host(self.spec.host)}:{self.port}/v1/models"
        deadline = time.monotonic() + self.spec.ready_timeout_s
        delay = 0.05
        import httpx  # here, not at import: a run that starts no server does not pay ~7 MB for it

        # trust_env=False: an HTTP(S)_PROXY in the environment must not intercept loopback polls.
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                returncode = self._proc.poll()
                if returncode is not None:
                    self._raise_exited(returncode)
                try:
                    if client.get(url).status_code in _READY_STATUSES:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                if time.monotonic() >= deadline:
                    self.stop()
                    tail = _read_tail(self._log_path)
                    raise ServerReadyTimeoutError(url, self.spec.ready_timeout_s, tail, self._log_path)
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)

    def _raise_exited(self, returncode: int) -> None:
        assert self._log_path is not None
        self.stop(grace_s=2)  # grandchildren may still be alive
        tail = _read_tail(self._log_path)
        if any(marker in tail.lower() for marker in _ADDRESS_IN_USE_MARKERS):
            raise PortInUseError(self.spec.host, self.port, self._log_path)
        raise ServerExitedError(_shown(self._argv), returncode, tail, self._log_path)


_LIVE: set[ManagedServer] = set()
_WATCHES: dict[str, Callable[[float], ServerDiedError | None]] = {}


def _url_key(base_url: str) -> str:
    return base_url.rstrip("/")


def _dying(pid: int) -> bool:
    """True when ``pid`` is gone, a zombie, or exiting (psutil), i.e. worth waiting for its status."""
    import psutil  # only once a server looks dead: not in every run's start-up

    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return True


class RemoteServerWatch:
    """A managed server seen from an xdist worker: the controller owns the process and writes
    ``exit_path`` when it dies; the worker reads it (and the log tail) after a failed request."""

    def __init__(self, pid: int, exit_path: Path, command: list[str], log_path: Path) -> None:
        self.pid = pid
        self.exit_path = exit_path
        self.command = command
        self.log_path = log_path

    def __call__(self, wait_s: float = 0.0) -> ServerDiedError | None:
        deadline = time.monotonic() + wait_s
        while True:
            if self.exit_path.exists():
                try:
                    record = json.loads(self.exit_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    record = None
                if record is not None:
                    return ServerDiedError(
                        int(record["returncode"]),
                        list(record["command"]),
                        _read_tail(self.log_path),
                        str(self.log_path),
                    )
            # Alive and running: the failure was something else; do not wait out the whole window.
            if time.monotonic() >= deadline or not _dying(self.pid):
                return None
            time.sleep(0.02)


def watch_remote_server(base_url: str, watch: RemoteServerWatch) -> None:
    """Let ``server_death(base_url)`` consult ``watch`` (used by xdist workers)."""
    _WATCHES[_url_key(base_url)] = watch


def watched(base_url: str | None) -> bool:
    """True when ``base_url`` belongs to a server the plugin started (so a failure is worth a check)."""
    return base_url is not None and _url_key(base_url) in _WATCHES


def server_death(base_url: str | None, wait_s: float = 1.0) -> ServerDiedError | None:
    """The death of the server the plugin started at ``base_url``, or None (alive, or not ours).

    Called after a request to ``base_url`` failed; waits at most ``wait_s`` seconds for a process
    that is exiting to be reaped, and returns at once for a server that is running.
    """
    if base_url is None:
        return None
    watch = _WATCHES.get(_url_key(base_url))
    return watch(wait_s) if watch is not None else None


@atexit.register
def _stop_all() -> None:
    """Stop every server still running when the interpreter exits normally (or after Ctrl-C)."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop(grace_s=5)
