"""Closed-loop and open-loop request schedules over a Backend.

Closed loop (`rate` unset): `parallel` workers, each sends its next request the moment its last one
finished, until `number` requests were sent or `duration` seconds passed; the server never sees
more than `parallel` requests of the run at once.

Open loop (`rate` set): arrival times are drawn up front (poisson: exponential gaps with mean
1/rate, seeded; constant: exactly 1/rate apart) and each request is sent at its arrival time,
whether or not earlier ones finished, until `number` were sent or `duration` passed. With
`parallel` set, a request that arrives while `parallel` are in flight waits for a free slot; its
latency starts when it is sent (like vLLM's --max-concurrency). `send_lag_max_s` reports how late
the latest request left compared to its schedule: large values mean the client could not keep up.

A level stops early when its first `abort_after` finished requests all failed (the server is
down or rejects everything); the requests already in flight still finish.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count
from time import perf_counter

from .backend import Backend
from .load import Level
from .metrics import RequestRecord

ABORT_AFTER_MIN = 8


@dataclass
class LevelRun:
    records: list[RequestRecord] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # records[i] used bodies[indices[i]]
    started: float = 0.0
    finished: float = 0.0
    send_lag_max: float | None = None
    aborted: bool = False


class _Abort:
    """Stops a level once its first `threshold` finished requests all failed."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.done = 0
        self.ok = 0
        self.stop = False

    def finished(self, record: RequestRecord) -> None:
        self.done += 1
        if record.ok:
            self.ok += 1
        elif self.ok == 0 and self.done >= self.threshold:
            self.stop = True


def arrival_offsets(rate: float, arrival: str, seed: int) -> Callable[[], float]:
    """A generator of successive arrival offsets (seconds from the level's start)."""
    rng = random.Random(seed)
    now = 0.0
    first = True

    def step() -> float:
        nonlocal now, first
        if first:  # the first request leaves at once
            first = False
            return 0.0
        now += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
        return now

    return step


async def run_closed(
    backend: Backend, bodies: Sequence[bytes], stream: bool, parallel: int, number: int | None, duration: float | None
) -> LevelRun:
    run = LevelRun()
    abort = _Abort(min(number or ABORT_AFTER_MIN, max(parallel, ABORT_AFTER_MIN)))
    sent = 0
    run.started = perf_counter()
    deadline = run.started + duration if duration else None

    async def worker() -> None:
        nonlocal sent
        while not abort.stop:
            if number is not None and sent >= number:
                return
            if deadline is not None and perf_counter() >= deadline:
                return
            index = sent
            sent += 1
            record = RequestRecord()
            run.records.append(record)
            run.indices.append(index)
            await backend.request(bodies[index % len(bodies)], stream, record)
            abort.finished(record)

    await asyncio.gather(*(worker() for _ in range(parallel)))
    run.finished = max((r.end for r in run.records), default=run.started)
    run.aborted = abort.stop
    return run


async def run_open(
    backend: Backend,
    bodies: Sequence[bytes],
    stream: bool,
    rate: float,
    arrival: str,
    seed: int,
    parallel: int | None,
    number: int | None,
    duration: float | None,
) -> LevelRun:
    run = LevelRun()
    abort = _Abort(min(number or ABORT_AFTER_MIN, max(parallel or 0, ABORT_AFTER_MIN)))
    slots = asyncio.Semaphore(parallel) if parallel else None
    next_offset = arrival_offsets(rate, arrival, seed)
    tasks: set[asyncio.Task[None]] = set()
    lag_max = 0.0
    loop = asyncio.get_running_loop()

    async def one(record: RequestRecord, body: bytes) -> None:
        if slots is None:
            await backend.request(body, stream, record)
        else:
            async with slots:
                await backend.request(body, stream, record)
        abort.finished(record)

    run.started = perf_counter()
    for index in count():
        if abort.stop or (number is not None and index >= number):
            break
        offset = next_offset()
        if duration is not None and offset >= duration:
            break
        due = run.started + offset
        delay = due - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, perf_counter() - due)
        record = RequestRecord()
        run.records.append(record)
        run.indices.append(index)
        task = loop.create_task(one(record, bodies[index % len(bodies)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    run.finished = max((r.end for r in run.records), default=run.started)
    run.send_lag_max = lag_max
    run.aborted = abort.stop
    return run


async def run_level(
    backend: Backend, bodies: Sequence[bytes], stream: bool, level: Level, arrival: str, seed: int
) -> LevelRun:
    if level.closed:
        return await run_closed(backend, bodies, stream, level.parallel or 1, level.number, level.duration)
    assert level.rate is not None
    return await run_open(
        backend, bodies, stream, level.rate, arrival, seed, level.parallel, level.number, level.duration
    )


async def run_warmup(backend: Backend, bodies: Sequence[bytes], stream: bool, parallel: int) -> None:
    """Send `bodies` closed-loop with `parallel` in flight; results are dropped."""
    if bodies:
        await run_closed(backend, bodies, stream, min(parallel, len(bodies)), len(bodies), None)
