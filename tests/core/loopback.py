"""A small hostile OpenAI-compatible server on loopback, for attacks the fake server does not make:
HTTP Basic auth and query parameters that must arrive, and bodies that never end.

Modes of the chat route:
  * "reply": a normal chat completion with `reply` (streamed as SSE when the request asks for it);
  * "endless_sse": 200 and `data:` chunks of valid content forever;
  * "endless_line": 200 and one line without a newline, forever;
  * "endless_body": a non-streamed 200 whose body never ends (no Content-Length);
  * "huge": a complete, valid chat completion of `huge_bytes` bytes with a Content-Length;
  * "gzip_bomb": 200, `Content-Encoding: gzip`, a body of about 0.5 MB that inflates to 512 MiB.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = b"x" * 65536


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet keep-alive handler with `_send(payload)`, a 200 JSON reply, and `_reply(bytes, kind)`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, payload: Any) -> None:
        # float("inf") -> Infinity, nan -> NaN: what Python reads back
        self._reply(json.dumps(payload).encode())

    def _reply(self, data: bytes, kind: str = "application/json") -> None:
        """A 200 of `data` bytes, of content type `kind`."""
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ThreadedServer:
    """`handler` served on a free loopback port from daemon threads, from now until `close` (or the end
    of a `with` block). `base_url` is its OpenAI-style root, `http://127.0.0.1:PORT/v1`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ThreadedServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@functools.lru_cache(maxsize=1)
def gzip_bomb(inflated_mib: int = 512) -> bytes:
    """A valid gzip body of about 0.5 MB that inflates to `inflated_mib` MiB of spaces. Built in half
    a second: after a full flush deflate restarts from nothing, so one compressed MiB is repeated."""
    block = b" " * 2**20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; the gzip header and trailer are ours
    one = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return (
        header
        + one * inflated_mib
        + packer.flush(zlib.Z_FINISH)
        + struct.pack("<II", crc, (inflated_mib << 20) & 0xFFFFFFFF)
    )


class LoopbackChatServer:
    def __init__(
        self,
        *,
        reply: str = "ok",
        mode: str = "reply",
        require_auth: tuple[str, str] | None = None,
        require_query: dict[str, str] | None = None,
        huge_bytes: int = 0,
    ) -> None:
        self.reply = reply
        self.mode = mode
        self.require_auth = require_auth
        self.require_query = require_query
        self.huge_bytes = huge_bytes
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.bytes_sent = 0
        self._server = ThreadedServer(self._handler())
        self.port = self._server.port

    def __enter__(self) -> LoopbackChatServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _checked(self) -> bool:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                server.requests.append((self.command, parts.path, query))
                if server.require_auth is not None:
                    token = base64.b64encode(":".join(server.require_auth).encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {token}":
                        self._json(401, {"error": {"message": "bad credentials"}})
                        return False
                if server.require_query is not None and {k: v[-1] for k, v in query.items()} != server.require_query:
                    self._json(403, {"error": {"message": "bad query"}})
                    return False
                return True

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forever(self, piece: bytes) -> None:
                try:
                    while True:
                        self.wfile.write(piece)
                        server.bytes_sent += len(piece)
                except OSError:
                    pass  # the client hung up: what it should do
                self.close_connection = True

            def do_GET(self) -> None:
                if not self._checked():
                    return
                if urlsplit(self.path).path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "no such route"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if not self._checked():
                    return
                if urlsplit(self.path).path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "no such route"}})
                    return
                mode = server.mode
                if mode == "gzip_bomb":
                    bomb = gzip_bomb()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream" if body.get("stream") else "application/json")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(bomb)))
                    self.end_headers()
                    try:
                        self.wfile.write(bomb)
                        server.bytes_sent += len(bomb)
                    except OSError:
                        pass  # the client hung up
                    return
                if mode == "huge":
                    padding = "y" * server.huge_bytes
                    self._json(200, {"choices": [{"message": {"content": padding}, "finish_reason": "stop"}]})
                    return
                if mode == "reply" and not body.get("stream"):
                    self._json(
                        200,
                        {
                            "choices": [{"message": {"content": server.reply}, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if body.get("stream") else "application/json")
                self.end_headers()
                if mode == "reply":
                    chunk = {"choices": [{"index": 0, "delta": {"content": server.reply}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
                    self.close_connection = True
                elif mode == "endless_sse":
                    chunk = {"choices": [{"index": 0, "delta": {"content": "x" * 4000}}]}
                    self._forever(f"data: {json.dumps(chunk)}\n\n".encode() * 16)
                elif mode == "endless_line":
                    self.wfile.write(b'data: {"choices": [{"index": 0, "delta": {"content": "')
                    self._forever(CHUNK)
                else:  # endless_body
                    self.wfile.write(b'{"choices": [{"message": {"content": "')
                    self._forever(CHUNK)

        return Handler
