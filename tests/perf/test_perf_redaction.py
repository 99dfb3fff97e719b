"""A perf run against a server that quotes the request's credentials in its error bodies prints and
writes none of them: the first error of a level is shown in the terminal, the failure message and
the results. A real `--llm-perf` sweep against a loopback server, the key plain and base64-encoded.
Nor can the server's error text drive the terminal (clear the screen, print a forged verdict)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.core.loopback import ThreadedServer

KEY = "sk-proj-PerfEcho0123456789abcdef"
QUERY_KEY = "azure-PerfQuery0123456789"


class EchoingServer(ThreadedServer):
    """Answers GET /models; every POST gets a 400 quoting its Authorization header and its path."""

    def __init__(self) -> None:
        self.message = ""  # what every 400 says (default: the request's path and Authorization header)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "m"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                shown = base64.b64encode(auth.encode()).decode()
                message = outer.message or f"refused {self.path} with {auth} ({shown})"
                self._send(400, {"error": {"message": message}})

        super().__init__(Handler)


@pytest.fixture
def server() -> Iterator[EchoingServer]:
    with EchoingServer() as running:
        yield running


def test_a_perf_error_quoting_the_key_is_redacted_in_the_terminal_and_results(pytester, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "m",
        "--llm-base-url",
        f"http://127.0.0.1:{server.port}/v1?api-key={QUERY_KEY}",
        "-p",
        "no:cacheprovider",
        "--llm-perf",
        "parallel=1",
        "number=2",
        "prompt_tokens=8",
        "output_tokens=4",
        "--llm-results",
        str(results),
        "-rA",
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 1 and "first error: HTTP 400: refused" in output, output
    assert "[REDACTED]" in output
    written = output + results.read_text()
    encoded = base64.b64encode(f"Bearer {KEY}".encode()).decode()
    assert [s for s in (KEY, KEY[8:24], QUERY_KEY, encoded[12:40]) if s in written] == []


def test_a_perf_error_with_terminal_controls_is_shown_escaped(pytester, server):
    server.message = "busy\x1b[2J\x1b[1;1Hllmeval: PASS\x9b2J\u202e"
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", f"http://127.0.0.1:{server.port}/v1", "-p", "no:cacheprovider",
        "--llm-perf", "parallel=1", "number=2", "prompt_tokens=8", "output_tokens=4", "-rA",
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 1
    assert "\x1b" not in output and "\x9b" not in output and "\u202e" not in output
    assert "first error: HTTP 400: busy\\x1b[2J\\x1b[1;1Hllmeval: PASS\\x9b2J\\u202e" in output, output
