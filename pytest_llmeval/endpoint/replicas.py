"""Replicas: one logical model behind several endpoints (`--llm-base-url` given more than once).

`ReplicaSet` stands where the dispatcher's `ChatClient` stands (`chat`, `list_models`, `aclose`)
and owns one `ChatClient` per replica, each without retries of its own:

- **Choice**: each request goes to the healthy replica with the fewest requests outstanding (ties:
  the one listed first), so a slower replica gets fewer requests.
- **Ejection**: a replica that refuses the connection (`unreachable`) is taken out at once; one that
  fails `EJECT_AFTER` requests in a row with a retryable failure (5xx, 429, timeout, a broken
  reply) is taken out too.
- **Probing**: an ejected replica is tried again after a backoff of `PROBE_FIRST_S` seconds,
  doubled at each failed probe up to `PROBE_MAX_S`; while it waits to be probed it gets one
  request at a time, and a success puts it back (backoff reset).
- **Retries**: a request that failed on one replica is sent again, to whichever replica is chosen
  next; it may be tried `retries + 1` times on healthy replicas, and once more for each replica
  ejected under it (that failure said something about the replica, not the request). When no
  replica is left, the request waits for the earliest probe; it fails with the last error only when
  its tries are used up.

The cache key never names a replica (it is the request body's, `endpoint/cache.py`), so answers are
shared whichever replica gave them. `stats()` gives requests, errors and latency per replica (the
results JSON's `extra.replicas`, `run/replicas.py`).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import EndpointError, EndpointUnreachableError, LLMEvalError
from ..settings import EndpointSettings
from .adaptive import Permit
from .client import ChatClient, _retryable
from .models import ChatResponse

EJECT_AFTER = 3  # failed requests in a row that take a replica out
PROBE_FIRST_S = 1.0  # seconds before an ejected replica is tried again
PROBE_MAX_S = 30.0  # the longest wait between probes


@dataclass
class Replica:
    url: str  # public form
    client: ChatClient
    outstanding: int = 0
    failures_in_row: int = 0
    ejected_until: float | None = None  # monotonic time of the next probe; None: healthy
    backoff_s: float = PROBE_FIRST_S
    requests: int = 0
    errors: int = 0
    ejections: int = 0
    latencies: list[float] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        done = sorted(self.latencies)
        return {
            "url": self.url,
            "requests": self.requests,
            "errors": self.errors,
            "ejections": self.ejections,
            "healthy": self.ejected_until is None,
            "latency_mean_s": round(sum(done) / len(done), 6) if done else None,
            "latency_p50_s": round(done[len(done) // 2], 6) if done else None,
            "latency_max_s": round(done[-1], 6) if done else None,
        }


class ReplicaSet:
    """Several endpoints of one model behind the `ChatClient` interface (see the module docstring)."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        self.replicas = [
            Replica(endpoint.require_base_url(), ChatClient(endpoint.model_copy(update={"retries": 0})))
            for endpoint in settings.replica_endpoints()
        ]

    async def aclose(self) -> None:
        for replica in self.replicas:
            await replica.client.aclose()

    # -- choosing ------------------------------------------------------------------------------

    def pick(self, now: float) -> Replica | None:
        """The healthy replica with the fewest outstanding requests; else an ejected one whose probe
        is due and which is not being probed; else None."""
        healthy = [r for r in self.replicas if r.ejected_until is None]
        if healthy:
            return min(healthy, key=lambda r: r.outstanding)
        due = [r for r in self.replicas if r.ejected_until is not None and r.ejected_until <= now and not r.outstanding]
        return min(due, key=lambda r: r.ejected_until or 0.0) if due else None

    def next_probe_in(self, now: float) -> float:
        times = [r.ejected_until for r in self.replicas if r.ejected_until is not None]
        return max(0.0, min(times) - now) if times else 0.0

    def eject(self, replica: Replica, now: float) -> None:
        if replica.ejected_until is None:
            replica.ejections += 1
            replica.backoff_s = PROBE_FIRST_S
        else:  # a failed probe: wait twice as long
            replica.backoff_s = min(replica.backoff_s * 2, PROBE_MAX_S)
        replica.ejected_until = now + replica.backoff_s

    # -- requests ------------------------------------------------------------------------------

    async def chat(self, body: dict[str, Any], permit: Permit | None = None) -> ChatResponse:
        budget = self.settings.retries + 1
        tries = 0
        last: EndpointError | None = None
        while True:
            now = time.monotonic()
            replica = self.pick(now)
            if replica is None:  # every replica is out: wait for the first probe
                if last is not None and tries >= budget:
                    raise last
                await asyncio.sleep(min(self.next_probe_in(now), PROBE_MAX_S) + 0.001)
                continue
            replica.outstanding += 1
            replica.requests += 1
            started = time.perf_counter()
            try:
                response = await replica.client.chat(body, permit)
            except EndpointError as exc:
                replica.errors += 1
                if not _retryable(exc):
                    replica.failures_in_row = 0
                    raise
                last = exc
                replica.failures_in_row += 1
                probing = replica.ejected_until is not None
                if probing or isinstance(exc, EndpointUnreachableError) or replica.failures_in_row >= EJECT_AFTER:
                    self.eject(replica, time.monotonic())
                    budget += 1  # the replica failed, not the request
                tries += 1
                if tries >= budget:
                    raise
                if self.pick(time.monotonic()) is replica:  # the same replica again: back off first
                    await asyncio.sleep(random.uniform(0, min(0.5 * 2**tries, 8.0)))
                continue
            finally:
                replica.outstanding -= 1
            replica.latencies.append(time.perf_counter() - started)
            replica.failures_in_row = 0
            if replica.ejected_until is not None:  # a probe answered: back in
                replica.ejected_until = None
                replica.backoff_s = PROBE_FIRST_S
            return response

    async def list_models(self) -> list[str]:
        """Each replica's /models: those that fail are ejected (probed later); the models of the
        first that answers. Raises the first error when none answers."""
        found: list[str] | None = None
        first_error: LLMEvalError | None = None
        for replica in self.replicas:
            try:
                models = await replica.client.list_models()
            except LLMEvalError as exc:
                first_error = first_error or exc
                self.eject(replica, time.monotonic())
                continue
            if found is None:
                found = models
        if found is None:
            assert first_error is not None
            raise first_error  # none of the replicas answers: the first one's error names its URL
        return found

    def stats(self) -> list[dict[str, Any]]:
        return [replica.stats() for replica in list(self.replicas)]
