"""Durable response cache: every completed response is committed as it arrives.

SQLite in WAL mode: a commit survives SIGKILL of the writer (the WAL is on disk once the commit
returns), several processes (xdist workers) can write at once, and readers never block writers.
The key is a hash of the request body (which names the model); it never includes the API key or
the base URL, so a local server restarted on another port still hits the cache, and the stream
flags are left out because a streamed and a plain answer are the same answer.

A damaged file (truncated, overwritten, not SQLite at all) never stops a run: at open it is moved
aside to `responses.sqlite3.damaged-<UTC time>` and a fresh cache is started, with one line saying
so (through `notify`); a row that cannot be read later is a cache miss, and a write that fails is
dropped (the answer is still used), each said once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .models import ChatResponse

CACHE_FILE = "responses.sqlite3"
Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    """Key -> ChatResponse, shared by every process of a run. Thread-safe within a process.

    `notify` receives the one-line notices about a damaged cache (default: stderr).
    """

    def __init__(self, directory: Path, notify: Notify | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self.notify = notify or _stderr
        self._lock = threading.Lock()
        self._said: set[str] = set()
        # Several xdist workers may open a damaged file at once: one of them moves it aside.
        with (directory / (CACHE_FILE + ".lock")).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                moved = self._move_aside()
                self.notify(
                    f"llmeval: the response cache {self.path} is damaged ({exc}); moved it to {moved} and started "
                    "a fresh cache (delete that file when you no longer need it, or pass --llm-no-cache to run "
                    "without a cache)"
                )
                self._db = self._open()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT NOT NULL)"
            )
            verdict = db.execute("PRAGMA quick_check(1)").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {verdict[0] if verdict else 'no answer'}")
            db.execute("SELECT key, model, response FROM responses LIMIT 1").fetchall()  # the columns we use
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{CACHE_FILE}.damaged-{stamp}")
        self.path.replace(target)
        for suffix in ("-wal", "-shm"):  # the damaged file's journal belongs to it
            sidecar = self.path.with_name(CACHE_FILE + suffix)
            if sidecar.exists():
                sidecar.replace(target.with_name(target.name + suffix))
        return target

    def _say_once(self, what: str, exc: BaseException) -> None:
        if what not in self._said:
            self._said.add(what)
            self.notify(
                f"llmeval: the response cache {self.path} {what} ({exc}); continuing (pass --llm-no-cache to run "
                "without a cache, or move the file aside to start a fresh one)"
            )

    def get(self, key: str) -> ChatResponse | None:
        """The stored response, or None when there is none or it cannot be read (a miss)."""
        try:
            with self._lock:
                row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            response = ChatResponse.model_validate_json(row[0])
        except (sqlite3.Error, ValidationError, ValueError, TypeError) as exc:
            self._say_once("has unreadable rows, read as cache misses", exc)
            return None
        response.cached = True
        return response

    def get_many(self, keys: Iterable[str]) -> dict[str, ChatResponse]:
        """The stored responses of `keys`, one query per 500 keys; keys without a (readable) row
        are left out. For many reads at once: `get` costs a query each."""
        found: dict[str, ChatResponse] = {}
        for batch in _batches(keys):
            try:
                rows = self._select("key, response", batch)
            except sqlite3.Error as exc:
                self._say_once("cannot be read, every response counts as missing", exc)
                return found
            for key, text in rows:
                try:
                    response = ChatResponse.model_validate_json(text)
                except (ValidationError, ValueError, TypeError) as exc:
                    self._say_once("has unreadable rows, read as cache misses", exc)
                    continue
                response.cached = True
                found[key] = response
        return found

    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys that have no stored response (checked in batches: fast for 100k keys)."""
        wanted: set[str] = set()
        present: set[str] = set()
        for batch in _batches(keys):
            wanted.update(batch)
            try:
                present.update(row[0] for row in self._select("key", batch))
            except sqlite3.Error as exc:
                self._say_once("cannot be read, every response counts as missing", exc)
                return wanted | set(keys)
        return wanted - present

    def _select(self, columns: str, keys: list[str]) -> list[tuple[Any, ...]]:
        marks = ",".join("?" * len(keys))
        with self._lock:
            return self._db.execute(f"SELECT {columns} FROM responses WHERE key IN ({marks})", keys).fetchall()

    def put(self, key: str, model: str, response: ChatResponse) -> None:
        payload = response.model_dump_json(exclude={"cached"})
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses (key, model, response) VALUES (?, ?, ?)", (key, model, payload)
                )
        except sqlite3.Error as exc:  # the answer is still used; it is only not kept
            self._say_once("cannot be written, answers are not cached", exc)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass


def _batches(keys: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    """`keys` without repeats, `size` at a time (SQLite's parameter limit is 999 in old builds)."""
    seen: set[str] = set()
    batch: list[str] = []
    for key in keys:
        if key not in seen:
            seen.add(key)
            batch.append(key)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch
