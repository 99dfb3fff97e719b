"""Request accounting for ``GET /_stats`` / ``POST /_reset``.

Tests use it to assert "each sample was sent exactly once" (``chat_by_body_sha256``) and "the
second run sent nothing" (``total_requests == 0`` after a reset); benches read the realised
timings to know what the server really injected.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from typing import Any

# Keys that change how a response is delivered, not what is asked: a cached/replayed request is
# the same request whether or not it streams.
_DELIVERY_KEYS = frozenset({"stream", "stream_options"})
_TIMING_SAMPLES = 4096
_HASH_CACHE_SIZE = 4096


def canonical_body_sha256(body: dict[str, Any]) -> str:
    """sha256 hex of the request body without ``stream``/``stream_options``.

    Canonical form: ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    encoded as UTF-8, so key order and whitespace of the client's JSON do not matter, but every
    value (including ``extra_body`` keys merged into the top level) does.
    """
    reduced = {k: v for k, v in body.items() if k not in _DELIVERY_KEYS}
    text = json.dumps(reduced, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ServerStats:
    """Mutable counters owned by the server's event loop (single-threaded, so no locks)."""

    def __init__(self, keep_bodies: int = 0) -> None:
        self.keep_bodies = keep_bodies  # chat request bodies kept for /_stats (tests of what was sent)
        self._hash_cache: dict[bytes, str] = {}
        self.reset(in_flight=0)

    def reset(self, in_flight: int) -> None:
        self.total_requests = 0
        self.endpoints: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        self.faults: dict[str, int] = {}
        self.chat_by_body_sha256: dict[str, int] = {}
        self.completions_by_body_sha256: dict[str, int] = {}
        self.generation_requests = 0  # the counter fail_first_n / fail_every_k look at
        self.in_flight = in_flight
        self.max_in_flight = in_flight
        # requests in flight when each generation request arrived (itself included), in arrival order
        self.arrival_in_flight: deque[int] = deque(maxlen=_TIMING_SAMPLES)
        # realised timings, seconds: (ttft, mean itl, tokens written) per finished stream
        self.stream_timings: deque[tuple[float, float, int]] = deque(maxlen=_TIMING_SAMPLES)
        self.latencies: deque[float] = deque(maxlen=_TIMING_SAMPLES)
        self.chat_bodies: deque[dict[str, Any]] = deque(maxlen=self.keep_bodies)
        self.vector_models: dict[str, int] = {}  # "model" of each embeddings / rerank request: how many

    def count_body(self, table: dict[str, int], raw: bytes, body: dict[str, Any]) -> None:
        # load tests repeat the same bodies: remember the hash of the exact bytes
        key = self._hash_cache.get(raw)
        if key is None:
            key = canonical_body_sha256(body)
            if len(self._hash_cache) >= _HASH_CACHE_SIZE:
                self._hash_cache.clear()
            self._hash_cache[raw] = key
        table[key] = table.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "total_requests": self.total_requests,
            "endpoints": dict(self.endpoints),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "faults": dict(self.faults),
            "chat_requests": sum(self.chat_by_body_sha256.values()),
            "chat_by_body_sha256": dict(self.chat_by_body_sha256),
            "completions_by_body_sha256": dict(self.completions_by_body_sha256),
            "generation_requests": self.generation_requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "arrival_in_flight": list(self.arrival_in_flight),
            "chat_bodies": list(self.chat_bodies),
            "vector_models": dict(self.vector_models),
            "timings": {
                "streams": [list(t) for t in self.stream_timings],
                "non_stream_latencies": list(self.latencies),
            },
        }
