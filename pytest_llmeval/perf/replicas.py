"""Load tests over replicas: `--llm-base-url` given more than once spreads a perf level over them.

A level's load (``parallel`` requests in flight, or ``rate`` arrivals per second) is the load of
the whole logical model: `SpreadBackend` sends each request to the replica with the fewest of the
level's requests in flight (ties: the one listed first), the eval dispatcher's rule
(endpoint/replicas.py), so with equal replicas ``parallel=8`` over two of them is 4 + 4 and a
slower replica gets fewer. The clock, schedules and figures are the single endpoint's; each
request records which replica answered it, and the level gets `PerfResult.replicas`: per replica
its requests, failures and throughput on the level's clock (they add up to the level's totals) and
its latency and TTFT statistics.

A load test measures, it does not heal: unlike the eval dispatcher there is no ejection and no
retry (a retried request would report a latency no single request had). So every replica must
accept connections before the first level (`check_reachable`: a PerfRunError naming the replica
and the fix): a refusing replica fails at once, the fewest-in-flight rule would hand it most of
the load, and the level would stop on its first failures. A replica that answers errors shows them
in its own row and in the level's totals (it too draws load by failing fast, as it would behind a
least-outstanding load balancer).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from .metrics import Counted, ReplicaFigures, RequestRecord, summarize


class ReplicaTarget(BaseModel):
    """Where one replica is reached (its URLs and headers: the key travels only in the job)."""

    url: str  # public form, for the report
    chat_url: str
    models_url: str
    api_url: str | None = None  # embeddings / rerank
    headers: dict[str, str] = Field(default_factory=dict)


class SpreadBackend:
    """The `Backend` interface over one backend per replica (see the module docstring)."""

    def __init__(self, backends: Sequence[Any], targets: Sequence[ReplicaTarget]) -> None:
        self.backends = list(backends)
        self.targets = list(targets)
        self.in_flight = [0] * len(self.backends)
        self._stack = contextlib.AsyncExitStack()

    @property
    def parse(self) -> Callable[[bytes, RequestRecord], None]:
        return self.backends[0].parse

    @parse.setter
    def parse(self, parse: Callable[[bytes, RequestRecord], None]) -> None:
        for backend in self.backends:
            backend.parse = parse

    async def __aenter__(self) -> SpreadBackend:
        for backend in self.backends:
            await self._stack.enter_async_context(backend)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def preconnect(self, count: int, url: str) -> None:
        """Open each replica's share of `count` connections (twice the even share, at most `count`:
        the split follows the replicas' speed), each to its own model list."""
        share = min(count, 2 * math.ceil(count / len(self.backends)))
        for backend, target in zip(self.backends, self.targets, strict=True):
            await backend.preconnect(share, target.models_url)

    async def request(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        index = min(range(len(self.backends)), key=self.in_flight.__getitem__)
        record.replica = index
        self.in_flight[index] += 1
        try:
            await self.backends[index].request(body, stream, record)
        finally:
            self.in_flight[index] -= 1


async def check_reachable(targets: Sequence[ReplicaTarget], timeout: float = 10.0) -> None:
    """Every replica must accept a connection before the first level: a replica that refuses fails
    at once, so the fewest-in-flight rule would send it most of the load and the level would stop
    on its first failures, measuring nothing. Raises PerfRunError naming the replica and the fix."""
    import asyncio

    from ..endpoint import native
    from ..errors import PerfRunError

    for replica in targets:
        where = native.target(replica.chat_url)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(where.host, where.port), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise PerfRunError(
                f"perf: replica {replica.url} does not accept connections ({type(exc).__name__}: {exc}); a load "
                "test spreads every level over each --llm-base-url: start that replica or leave its "
                "--llm-base-url out of this run"
            ) from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def replica_figures(
    records: Sequence[RequestRecord],
    counts: Sequence[Counted | None],
    targets: Sequence[ReplicaTarget],
    *,
    started: float,
    finished: float,
) -> list[ReplicaFigures]:
    """Each replica's figures over the requests it answered, on the level's clock."""
    figures = []
    for index, target in enumerate(targets):
        mine = [(r, c) for r, c in zip(records, counts, strict=False) if r.replica == index]
        part = summarize([r for r, _ in mine], [c for _, c in mine], started=started, finished=finished)
        figures.append(
            ReplicaFigures(
                url=target.url,
                number=part.number,
                ok=part.ok,
                failed=part.failed,
                errors=part.errors,
                request_throughput=part.request_throughput,
                output_throughput=part.output_throughput,
                latency=part.latency,
                ttft=part.ttft,
            )
        )
    return figures
