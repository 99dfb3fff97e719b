"""Durable cache of embeddings (one row per model + text) and rerank scores (one row per request).

A sibling of the response cache (`endpoint/cache.py`: same folder, same SQLite WAL settings, so a
killed run keeps every batch that arrived and xdist workers write at once), in its own file
``vectors.sqlite3``: an embedding is keyed by the model, the `dimensions` asked for and the text, not
by the request, so a rerun with another batch size, or a corpus shared by two tasks, hits it.
Vectors are stored as little-endian float32 bytes. A file that cannot be opened or read is no
error: the run goes on uncached and says so once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

CACHE_FILE = "vectors.sqlite3"


def text_key(model: str, dimensions: int | None, text: str) -> str:
    canonical = json.dumps(["embedding", model, dimensions, text], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def rerank_key(model: str, query: str, documents: Sequence[str]) -> str:
    canonical = json.dumps(["rerank", model, query, list(documents)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class VectorCache:
    def __init__(self, directory: Path, notify: Callable[[str], None]) -> None:
        self.path = directory / CACHE_FILE
        self.notify = notify
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS rerank (key TEXT PRIMARY KEY, scores BLOB NOT NULL)")
            self._db = db
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None
        self.notify(
            f"llmeval: the vector cache {self.path} cannot be used ({exc}); embeddings are not cached this run "
            "(move the file aside to start a fresh one)"
        )

    def _get(self, table: str, column: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if self._db is None:
            return found
        try:
            with self._lock:
                for start in range(0, len(keys), 500):
                    batch = list(keys[start : start + 500])
                    marks = ",".join("?" * len(batch))
                    query = f"SELECT key, {column} FROM {table} WHERE key IN ({marks})"
                    found.update((k, v) for k, v in self._db.execute(query, batch))
        except sqlite3.Error as exc:
            self._fail(exc)
        return found

    def _put(self, table: str, rows: list[tuple[str, bytes]]) -> None:
        if self._db is None or not rows:
            return
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of `keys`; a damaged row (not whole float32 values) is a miss, asked again."""
        found = self._get("vectors", "vector", keys).items()
        return {k: np.frombuffer(v, dtype="<f4") for k, v in found if _whole(v, 4)}

    def put_vectors(self, keys: Sequence[str], matrix: np.ndarray) -> None:
        rows = [(k, np.ascontiguousarray(row, dtype="<f4").tobytes()) for k, row in zip(keys, matrix, strict=True)]
        self._put("vectors", rows)

    def scores(self, key: str) -> list[float] | None:
        found = self._get("rerank", "scores", [key])
        return np.frombuffer(found[key], dtype="<f8").tolist() if key in found and _whole(found[key], 8) else None

    def put_scores(self, key: str, scores: Sequence[float]) -> None:
        self._put("rerank", [(key, np.asarray(scores, dtype="<f8").tobytes())])

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None


def _whole(blob: object, size: int) -> bool:
    """Whether a stored value is bytes of whole `size`-byte numbers (a damaged file may hold anything)."""
    return isinstance(blob, bytes) and len(blob) % size == 0
