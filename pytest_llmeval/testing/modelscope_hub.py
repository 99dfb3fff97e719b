"""A loopback stand-in for the ModelScope hub's dataset routes, for tests (never a real hub).

It serves exactly the two HTTP routes the `modelscope` client (through `modelscope_hub`) calls to
download a dataset snapshot:

* `GET /api/v1/datasets/{owner}/{name}/repo/tree?Revision=..&Recursive=True&PageNumber=N&PageSize=M`
  -> `{"Code": 200, "Success": true, "Data": {"Files": [{"Path", "Type": "blob", "Size", "Sha256"}]}}`
* `GET /api/v1/datasets/{owner}/{name}/repo?Revision=..&FilePath=PATH` -> the file's bytes.

Anything else answers 404 with the hub's JSON error shape. Every request is recorded in
`requests` (method and path), so a test can assert that a cached run sent none. Point the client at
it with `MODELSCOPE_ENDPOINT=<server.url>`.

Hostile behaviours, for the attacks of a hub that is not trustworthy (docs/security.md):

* `sizes`: {path: the size the listing announces} instead of the file's real size;
* `trickle`: paths (or `"/tree"` for the listing) answered one byte every `trickle_s`, forever;
* `endless_listing`: every listing page is full (`PageSize` entries), so pages never end.

A file whose name the listing gives but `repos` does not hold (`/tmp/x.jsonl`, `../x.jsonl`) is
served all the same: the listing's names are the attack, the bytes are its payload.

Usage::

    with ModelScopeStandIn({"AI-ModelScope/IQuiz": {"IQ/test.jsonl": b"..."}}) as hub:
        env = {"MODELSCOPE_ENDPOINT": hub.url}
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from ._hub_stand_in import TRICKLE, Answer, HubStandIn

_PREFIX = "/api/v1/datasets/"
TRICKLE_SIZE = 1 << 30  # what the listing announces for a trickling file (a large, plausible file)


class ModelScopeStandIn(HubStandIn):
    """`repos`: dataset id (`owner/name`) -> {path inside the repo: file bytes}."""

    def __init__(
        self,
        repos: Mapping[str, Mapping[str, bytes]],
        *,
        sizes: Mapping[str, int] | None = None,
        trickle: Collection[str] = (),
        trickle_s: float = 0.05,
        endless_listing: bool = False,
    ) -> None:
        self.sizes = dict(sizes or {})
        self.trickle = set(trickle)
        self.endless_listing = endless_listing
        super().__init__(repos, trickle_s=trickle_s)

    def answer(self, method: str, raw_path: str, body: bytes = b"") -> Answer:
        """(status, headers, body); a body of TRICKLE means one byte at a time, forever."""
        self.record(method, raw_path)
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path)
        if path.startswith(_PREFIX):
            rest = path[len(_PREFIX) :]
            for repo, files in self.repos.items():
                if rest == f"{repo}/repo/tree":
                    if "/tree" in self.trickle:
                        return 200, {"Content-Type": "application/json"}, TRICKLE
                    page = int(query.get("PageNumber", "1"))
                    size = int(query.get("PageSize", "100"))
                    root = query.get("Root", "/").strip("/")
                    entries = (
                        []
                        if page > 1
                        else [
                            {
                                "Path": name,
                                "Name": name.rsplit("/", 1)[-1],
                                "Type": "blob",
                                "Size": self.sizes.get(name, TRICKLE_SIZE if name in self.trickle else len(data)),
                                "Sha256": hashlib.sha256(data).hexdigest(),
                                "Revision": "master",
                            }
                            for name, data in sorted(files.items())
                            if not root or name.startswith(root + "/")
                        ]
                    )
                    if self.endless_listing:
                        entries = [
                            {
                                "Path": f"page{page}/f{i}.txt",
                                "Name": f"f{i}.txt",
                                "Type": "blob",
                                "Size": 1,
                                "Sha256": "0" * 64,
                                "Revision": "master",
                            }
                            for i in range(size)
                        ]
                    return self.json_answer(200, {"Code": 200, "Success": True, "Data": {"Files": entries}})
                if rest == f"{repo}/repo":
                    name = query.get("FilePath", "")
                    if name in self.trickle:
                        return 200, {"Content-Type": "application/octet-stream"}, TRICKLE
                    for key in (name, name.lstrip("/")):
                        if key in files:
                            return 200, {"Content-Type": "application/octet-stream"}, files[key]
        return self.json_answer(404, {"Code": 404, "Success": False, "Message": f"not found: {path}"})
