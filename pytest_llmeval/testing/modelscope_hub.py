"""A loopback stand-in for the ModelScope hub's dataset routes, for tests (never a real hub).

It serves exactly the two HTTP routes the `modelscope` client (through `modelscope_hub`) calls to
download a dataset snapshot:

* `GET /api/v1/datasets/{owner}/{name}/repo/tree?Revision=..&Recursive=True&PageNumber=N&PageSize=M`
  -> `{"Code": 200, "Success": true, "Data": {"Files": [{"Path", "Type": "blob", "Size", "Sha256"}]}}`
* `GET /api/v1/datasets/{owner}/{name}/repo?Revision=..&FilePath=PATH` -> the file's bytes.

Anything else answers 404 with the hub's JSON error shape. Every request is recorded in
`requests` (method and path), so a test can assert that a cached run sent none. Point the client at
it with `MODELSCOPE_ENDPOINT=<server.url>`.

Usage::

    with ModelScopeStandIn({"AI-ModelScope/IQuiz": {"IQ/test.jsonl": b"..."}}) as hub:
        env = {"MODELSCOPE_ENDPOINT": hub.url}
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_PREFIX = "/api/v1/datasets/"


class ModelScopeStandIn:
    """`repos`: dataset id (`owner/name`) -> {path inside the repo: file bytes}."""

    def __init__(self, repos: Mapping[str, Mapping[str, bytes]]) -> None:
        self.repos = {repo: dict(files) for repo, files in repos.items()}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "ModelScopeStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, raw_path: str) -> tuple[int, str, bytes]:
        with self._lock:
            self.requests.append(f"{method} {raw_path}")
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path)
        if path.startswith(_PREFIX):
            rest = path[len(_PREFIX):]
            for repo, files in self.repos.items():
                if rest == f"{repo}/repo/tree":
                    page = int(query.get("PageNumber", "1"))
                    root = query.get("Root", "/").strip("/")
                    entries = [] if page > 1 else [
                        {"Path": name, "Name": name.rsplit("/", 1)[-1], "Type": "blob", "Size": len(data),
                         "Sha256": hashlib.sha256(data).hexdigest(), "Revision": "master"}
                        for name, data in sorted(files.items())
                        if not root or name.startswith(root + "/")
                    ]
                    return self._json(200, {"Code": 200, "Success": True, "Data": {"Files": entries}})
                if rest == f"{repo}/repo":
                    name = query.get("FilePath", "").lstrip("/")
                    if name in files:
                        return 200, "application/octet-stream", files[name]
        return self._json(404, {"Code": 404, "Success": False, "Message": f"not found: {path}"})

    @staticmethod
    def _json(status: int, body: Any) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(body).encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, head_only: bool) -> None:
                status, kind, body = stand_in.answer(self.command, self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head_only:
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._reply(head_only=False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._reply(head_only=True)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return Handler
