"""Durable response cache: every completed response is committed as it arrives.

SQLite in WAL mode: a commit survives SIGKILL of the writer (the WAL is on disk once the commit
returns), several processes (xdist workers) can write at once, and readers never block writers.
The key is a hash of the request body (which names the model); it never includes the API key or
the base URL, so a local server restarted on another port still hits the cache, and the stream
flags are left out because a streamed and a plain answer are the same answer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from .models import ChatResponse

_TRANSPORT_ONLY_FIELDS = ("stream", "stream_options")
# `--llm-repeats`: the repeat index of a request. Part of the cache key (each repeat is its own
# answer), never sent to the server (`wire_body`).
REPEAT_FIELD = "_llmeval_repeat"


def wire_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body as sent to the server: without the cache-only `REPEAT_FIELD`."""
    return {k: v for k, v in body.items() if k != REPEAT_FIELD} if REPEAT_FIELD in body else body


def request_key(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the request body, minus transport-only fields."""
    canonical = {k: v for k, v in body.items() if k not in _TRANSPORT_ONLY_FIELDS}
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Key -> ChatResponse, shared by every process of a run. Thread-safe within a process."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "responses.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT NOT NULL)"
        )

    def get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        response = ChatResponse.model_validate_json(row[0])
        response.cached = True
        return response

    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys that have no stored response (checked in batches: fast for 100k keys)."""
        wanted = list(dict.fromkeys(keys))
        present: set[str] = set()
        with self._lock:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ",".join("?" * len(batch))
                present.update(
                    r[0] for r in self._db.execute(f"SELECT key FROM responses WHERE key IN ({marks})", batch)
                )
        return set(wanted) - present

    def put(self, key: str, model: str, response: ChatResponse) -> None:
        payload = response.model_dump_json(exclude={"cached"})
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, response) VALUES (?, ?, ?)", (key, model, payload)
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
