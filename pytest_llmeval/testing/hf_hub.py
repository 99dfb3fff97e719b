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
import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ._hub_stand_in import TRICKLE, Answer, HubStandIn

SHA = "0123456789abcdef0123456789abcdef01234567"


class HuggingFaceStandIn(HubStandIn):
    """`repos`: dataset id (`owner/name`) -> {path inside the repo: file bytes}."""

    protocol_version = "HTTP/1.1"

    def __init__(
        self,
        repos: Mapping[str, Mapping[str, bytes]],
        *,
        trickle: Collection[str] = (),
        trickle_s: float = 0.05,
        endless_listing: bool = False,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.trickle = set(trickle)
        self.endless_listing = endless_listing
        self.sizes = dict(sizes or {})
        super().__init__(repos, trickle_s=trickle_s)

    # -- answers -----------------------------------------------------------------------------------

    def _entry(self, name: str, data: bytes) -> dict[str, Any]:
        return {
            "type": "file",
            "path": name,
            "size": self.sizes.get(name, len(data)),
            "oid": hashlib.sha1(data).hexdigest(),
        }

    def answer(self, method: str, raw_path: str, body: bytes) -> Answer:
        self.record(method, raw_path)
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path)
        for repo, files in self.repos.items():
            api = f"/api/datasets/{repo}"
            if path in (api, f"{api}/revision/main", f"{api}/revision/{SHA}"):
                info = {
                    "id": repo,
                    "sha": SHA,
                    "private": False,
                    "disabled": False,
                    "gated": False,
                    "siblings": [{"rfilename": name} for name in sorted(files)],
                    "cardData": {},
                    "tags": [],
                }
                return self.json_answer(200, info)
            for rev in ("main", SHA):
                tree = f"{api}/tree/{rev}"
                if path == tree or path.startswith(tree + "/"):
                    if "/tree" in self.trickle:
                        return 200, {"Content-Type": "application/json"}, TRICKLE
                    root = path[len(tree) :].strip("/")
                    page = int(query.get("cursor", "0"))
                    inside = {
                        n[len(root) + 1 :] if root else n: d
                        for n, d in files.items()
                        if not root or n.startswith(root + "/")
                    }
                    prefix = f"{root}/" if root else ""
                    if query.get("recursive", "false").lower() == "true":
                        entries = [self._entry(prefix + n, d) for n, d in sorted(inside.items())]
                    else:  # this folder's files, and its subfolders as directory entries
                        entries = [self._entry(prefix + n, d) for n, d in sorted(inside.items()) if "/" not in n]
                        entries += [
                            {"type": "directory", "path": prefix + d, "oid": "0" * 40}
                            for d in sorted({n.split("/")[0] for n in inside if "/" in n})
                        ]
                    headers = {}
                    if self.endless_listing:
                        entries = [
                            {"type": "file", "path": f"page{page}/f{i}.txt", "size": 1, "oid": "0" * 40}
                            for i in range(50)
                        ]
                        headers["Link"] = f'<{self.url}{tree}?recursive=true&cursor={page + 1}>; rel="next"'
                    return self.json_answer(200, entries, headers)
                if path == f"{api}/paths-info/{rev}":
                    asked = parse_qs(body.decode()).get("paths", []) if body else []
                    if not asked and body:
                        try:
                            asked = json.loads(body).get("paths", [])
                        except ValueError:
                            asked = []
                    found = [self._entry(n, files[n]) for n in asked if n in files]
                    found += [
                        {"type": "directory", "path": n, "oid": "0" * 40}
                        for n in asked
                        if n not in files and any(f.startswith(n.rstrip("/") + "/") for f in files)
                    ]
                    return self.json_answer(200, found)
            for rev in ("main", SHA):
                resolve = f"/datasets/{repo}/resolve/{rev}/"
                if path.startswith(resolve):
                    name = path[len(resolve) :]
                    if name not in files:
                        return self.json_answer(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    data = files[name]
                    headers = {
                        "X-Repo-Commit": SHA,
                        "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                        "Content-Type": "application/octet-stream",
                    }
                    if name in self.trickle:
                        return 200, headers, TRICKLE
                    return 200, headers, data
        return self.json_answer(404, {"error": f"not found: {path}"}, {"X-Error-Code": "RepoNotFound"})
