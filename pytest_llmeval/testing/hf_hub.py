"""A loopback stand-in for the Hugging Face hub's dataset routes, for tests (never a real hub).

It serves the routes `huggingface_hub` and `datasets` call to load a dataset repository's data files
(`datasets.load_dataset(REPO, split=...)`, `hf://datasets/REPO/FILE` paths, `snapshot_download`):

* `GET /api/datasets/{repo}[/revision/{rev}]` -> the repository's info (`sha`, `siblings`);
* `GET /api/datasets/{repo}/tree/{rev}[/{path}]` -> its file tree (JSON list; pages linked by a
  `Link: <...>; rel="next"` header);
* `POST /api/datasets/{repo}/paths-info/{rev}` -> the entries of the paths asked;
* `HEAD|GET /datasets/{repo}/resolve/{rev}/{path}` -> a file (headers `X-Repo-Commit`, `ETag`).

Anything else answers 404. Every request is recorded in `requests`. Point the clients at it with
`HF_ENDPOINT=<server.url>` (and a fresh `HF_HOME`).

Hostile behaviours, for the attacks of a hub that is not trustworthy (docs/security.md):

* `trickle`: file paths (or `"/tree"` for the listing) answered one byte every `trickle_s`, forever;
* `endless_listing`: every tree page links to a next page, forever;
* `sizes`: {path: the size the tree announces} instead of the real one.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SHA = "0123456789abcdef0123456789abcdef01234567"
TRICKLE = b"<trickle>"


class HuggingFaceStandIn:
    """`repos`: dataset id (`owner/name`) -> {path inside the repo: file bytes}."""

    def __init__(
        self,
        repos: Mapping[str, Mapping[str, bytes]],
        *,
        trickle: Collection[str] = (),
        trickle_s: float = 0.05,
        endless_listing: bool = False,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.repos = {repo: dict(files) for repo, files in repos.items()}
        self.trickle = set(trickle)
        self.trickle_s = trickle_s
        self.endless_listing = endless_listing
        self.sizes = dict(sizes or {})
        self.trickled = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> HuggingFaceStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- answers -----------------------------------------------------------------------------------

    def _entry(self, name: str, data: bytes) -> dict[str, Any]:
        return {"type": "file", "path": name, "size": self.sizes.get(name, len(data)),
                "oid": hashlib.sha1(data).hexdigest()}

    def answer(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(f"{method} {raw_path}")
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path)
        for repo, files in self.repos.items():
            api = f"/api/datasets/{repo}"
            if path in (api, f"{api}/revision/main", f"{api}/revision/{SHA}"):
                info = {"id": repo, "sha": SHA, "private": False, "disabled": False, "gated": False,
                        "siblings": [{"rfilename": name} for name in sorted(files)], "cardData": {}, "tags": []}
                return self._json(200, info)
            for rev in ("main", SHA):
                tree = f"{api}/tree/{rev}"
                if path == tree or path.startswith(tree + "/"):
                    if "/tree" in self.trickle:
                        return 200, {"Content-Type": "application/json"}, TRICKLE
                    root = path[len(tree):].strip("/")
                    page = int(query.get("cursor", "0"))
                    inside = {n[len(root) + 1:] if root else n: d for n, d in files.items()
                              if not root or n.startswith(root + "/")}
                    prefix = f"{root}/" if root else ""
                    if query.get("recursive", "false").lower() == "true":
                        entries = [self._entry(prefix + n, d) for n, d in sorted(inside.items())]
                    else:  # this folder's files, and its subfolders as directory entries
                        entries = [self._entry(prefix + n, d) for n, d in sorted(inside.items()) if "/" not in n]
                        entries += [{"type": "directory", "path": prefix + d, "oid": "0" * 40}
                                    for d in sorted({n.split("/")[0] for n in inside if "/" in n})]
                    headers = {}
                    if self.endless_listing:
                        entries = [{"type": "file", "path": f"page{page}/f{i}.txt", "size": 1, "oid": "0" * 40}
                                   for i in range(50)]
                        headers["Link"] = f'<{self.url}{tree}?recursive=true&cursor={page + 1}>; rel="next"'
                    return self._json(200, entries, headers)
                if path == f"{api}/paths-info/{rev}":
                    asked = parse_qs(body.decode()).get("paths", []) if body else []
                    if not asked and body:
                        try:
                            asked = json.loads(body).get("paths", [])
                        except ValueError:
                            asked = []
                    found = [self._entry(n, files[n]) for n in asked if n in files]
                    found += [{"type": "directory", "path": n, "oid": "0" * 40} for n in asked
                              if n not in files and any(f.startswith(n.rstrip("/") + "/") for f in files)]
                    return self._json(200, found)
            for rev in ("main", SHA):
                resolve = f"/datasets/{repo}/resolve/{rev}/"
                if path.startswith(resolve):
                    name = path[len(resolve):]
                    if name not in files:
                        return self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    data = files[name]
                    headers = {"X-Repo-Commit": SHA, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                               "Content-Type": "application/octet-stream"}
                    if name in self.trickle:
                        return 200, headers, TRICKLE
                    return 200, headers, data
        return self._json(404, {"error": f"not found: {path}"}, {"X-Error-Code": "RepoNotFound"})

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()

    def _trickle(self, wfile: Any) -> None:
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
            protocol_version = "HTTP/1.1"

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
