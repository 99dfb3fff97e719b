"""``FakeOpenAIServer``: runs ``python -m pytest_llmeval.testing.server`` in a child process.

The child binds the port itself (port 0 = the kernel picks a free one) and prints its URL, so
parallel test workers never race for a port. Startup costs ~0.3-0.4 s (interpreter + pydantic).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import FakeServerError
from ..processes import spawn_module
from ._config import FakeServerConfig

_URL_RE = re.compile(r"^http://([^\s/]+):(\d+)/v1$", re.MULTILINE)
_START_TIMEOUT_S = 15.0
_STOP_GRACE_S = 3.0


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup when a FakeOpenAIServer is garbage-collected or the interpreter exits."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class FakeOpenAIServer:
    """A fake OpenAI-compatible server in its own process; use as a context manager.

    ``FakeOpenAIServer(config, **overrides)``: ``overrides`` are ``FakeServerConfig`` fields that
    replace those of ``config`` (or of the defaults), validated together. The process also exits
    by itself within ~1 s when the process that started it dies.

    >>> with FakeOpenAIServer(ttft_s=0.05, itl_s=0.01) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    """

    def __init__(self, config: FakeServerConfig | None = None, **overrides: Any) -> None:
        data = config.model_dump() if config is not None else {}
        data.update(overrides)
        self.config = FakeServerConfig.model_validate(data)
        self.port = 0
        self._host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._last_log = ""
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], FakeOpenAIServer] | None = None

    # addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``)."""
        if not self.port:
            raise FakeServerError("the fake server is not started: call start() or use 'with FakeOpenAIServer()'")
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, what ``openai.OpenAI(base_url=...)`` wants."""
        return self.url + "/v1"

    @property
    def api_key(self) -> str:
        """The key clients should send: ``require_api_key`` when set, else any placeholder."""
        return self.config.require_api_key if self.config.require_api_key is not None else "sk-fake"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = _START_TIMEOUT_S) -> FakeOpenAIServer:
        """Spawn the process and wait until ``GET /v1/models`` answers 200; stats start at zero.

        Raises FakeServerError with the tail of the server log if it exits or is not ready in time.
        """
        if self._proc is not None and self._proc.poll() is None:
            return self
        fd, log_name = tempfile.mkstemp(prefix="fake-openai-server-", suffix=".log")
        self._log_path = Path(log_name)
        # The config travels in a file beside the log: a config with thousands of rules is
        # longer than one command-line argument may be.
        config_path = self._log_path.with_suffix(".json")
        config_path.write_text(self.config.model_dump_json(), encoding="utf-8")
        args = ["--config", str(config_path), "--parent-pid", str(os.getpid())]
        with os.fdopen(fd, "wb") as log:
            self._proc = spawn_module(
                "pytest_llmeval.testing.server",
                args,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        deadline = time.monotonic() + timeout
        try:
            self._wait_for_url(deadline)
            self._wait_for_models(deadline)
            self.reset()  # the readiness probe is not a request the test made
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_url(self, deadline: float) -> None:
        assert self._proc is not None and self._log_path is not None
        pause = 0.002
        while True:
            match = _URL_RE.search(self._log_path.read_text(encoding="utf-8", errors="replace"))
            if match:
                self._host = match.group(1)
                self.port = int(match.group(2))
                return
            code = self._proc.poll()
            if code is not None:
                raise FakeServerError(
                    f"the fake OpenAI server exited with code {code} before it was ready; log tail:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise FakeServerError(f"the fake OpenAI server printed no URL in time; log tail:\n{self.log_tail()}")
            time.sleep(pause)
            pause = min(pause * 1.5, 0.05)

    def _wait_for_models(self, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        while True:
            try:
                status, _ = self._request("GET", "/v1/models", headers=headers, timeout=1.0)
                if status == 200:
                    return
                problem = f"GET /v1/models answered {status}"
            except OSError as err:
                problem = f"GET /v1/models failed: {err}"
            if self._proc is not None and self._proc.poll() is not None:
                problem = f"the process exited with code {self._proc.returncode}"
            if time.monotonic() > deadline or (self._proc is not None and self._proc.poll() is not None):
                raise FakeServerError(f"the fake OpenAI server is not ready ({problem}); log tail:\n{self.log_tail()}")
            time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 3 s. Safe to call twice or before start()."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._log_path is not None:
            self._last_log = self.log_tail()
            self._log_path.unlink(missing_ok=True)
            self._log_path.with_suffix(".json").unlink(missing_ok=True)
            self._log_path = None
        self.port = 0

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server's stdout/stderr (kept after stop())."""
        if self._log_path is None:
            return self._last_log
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return self._last_log
        return "\n".join(text.splitlines()[-lines:])

    # control endpoints -------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """``GET /_stats``: total_requests, endpoints, statuses, faults, chat_by_body_sha256,
        completions_by_body_sha256, generation_requests, in_flight, max_in_flight, timings."""
        status, body = self._request("GET", "/_stats")
        if status != 200:
            raise FakeServerError(f"GET /_stats answered {status}: {body[:200]!r}")
        result: dict[str, Any] = json.loads(body)
        return result

    def reset(self) -> None:
        """``POST /_reset``: zero every counter, including the fail_first_n / fail_every_k count."""
        status, body = self._request("POST", "/_reset", body=b"")
        if status != 200:
            raise FakeServerError(f"POST /_reset answered {status}: {body[:200]!r}")

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        if not self.port:
            raise FakeServerError("the fake server is not started: call start() or use 'with FakeOpenAIServer()'")
        conn = http.client.HTTPConnection(self._host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
