"""What the loopback hub stand-ins (`hf_hub.py`, `modelscope_hub.py`) share: the server's life,
the record of requests, and the hostile "trickle" answer. Each stand-in only says what a route
answers (`answer`)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Mapping
from typing import Any, TypeVar

TRICKLE = b"<trickle>"  # the body marker of an answer sent one byte at a time, forever

Answer = tuple[int, dict[str, str], bytes]  # (status, headers, body or TRICKLE)
_Self = TypeVar("_Self", bound="HubStandIn")


class HubStandIn:
    """A threaded HTTP server on 127.0.0.1 that hands every request to `answer`. Use as a context
    manager; `url` is its root, `requests` lists `"METHOD /path?query"` in arrival order, `trickled`
    counts the bytes sent by trickling answers."""

    protocol_version = "HTTP/1.0"  # a subclass may speak HTTP/1.1 (keep-alive) like its real hub

    def __init__(self, repos: Mapping[str, Mapping[str, bytes]], *, trickle_s: float) -> None:
        self.repos = {repo: dict(files) for repo, files in repos.items()}
        self.trickle_s = trickle_s
        self.trickled = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}" if isinstance(host, str) else f"http://{host.decode()}:{port}"

    def __enter__(self: _Self) -> _Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # ends trickling answers
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, raw_path: str, body: bytes) -> Answer:
        raise NotImplementedError

    def record(self, method: str, raw_path: str) -> None:
        with self._lock:
            self.requests.append(f"{method} {raw_path}")

    @staticmethod
    def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
        return (
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(body).encode(),
        )

    def _trickle(self, wfile: Any) -> None:
        """One byte every `trickle_s` until the client goes away or the stand-in stops."""
        while not self._stop.wait(self.trickle_s):
            try:
                wfile.write(b" ")
                wfile.flush()
            except OSError:
                return
            with self._lock:
                self.trickled += 1

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = stand_in.protocol_version

            def _reply(self, head_only: bool) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, data = stand_in.answer(self.command, self.path, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if data is TRICKLE:  # no length: the body ends when the connection does, i.e. never
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if not head_only:
                        stand_in._trickle(self.wfile)
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head_only:
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(head_only=False)

            def do_HEAD(self) -> None:
                self._reply(head_only=True)

            def do_POST(self) -> None:
                self._reply(head_only=False)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler
