"""The answers of a run whose every answer is in the response cache (a re-score), read on pytest's thread.

Other runs read cached answers on the dispatcher's thread, ahead of the items, as they read answers
over HTTP. With every answer cached that costs pytest more than the reads themselves: each SQLite
call releases the interpreter lock, and each read interleaved with pytest's own work for an item
runs cold. Measured at 5,000 GSM8K samples, every answer cached (`bench/eval_throughput.py`'s
workload, one process, wall time of the items): 2.62 s read on the dispatcher's thread, 2.42 s read
one by one on pytest's thread (~76 us a read), 2.04 s with every answer read before the first item
(~22 us a read). `CachedAnswers` reads them a chunk at a time, one SQLite query a chunk of at most
`CHUNK` requests (as many answers as the prefetch window holds in other runs).

The run decided on this path because every request's key is in the cache; a row that does not
parse (damaged, or written by another version) or went away since is asked for from the endpoint,
all of a chunk's at once (the dispatcher's concurrency, its retries and cache), never one by one.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any

from ..endpoint.cache import ResponseCache, request_key
from ..endpoint.models import ChatResponse
from .nodes import SampleItem

CHUNK = 256  # requests whose answers are read at once (a sample's repeats are never split)

Answer = ChatResponse | concurrent.futures.Future[ChatResponse]


class CachedAnswers:
    """The answers of `samples` (this process's share, in run order; `item.plan_index` becomes an
    item's position), read from `cache` a chunk at a time as the items ask for them. `body(item, r)`
    builds request `r` of an item, `count(item)` says how many it makes, `ask(body)` sends one to the
    endpoint without waiting (for an answer the cache no longer gives)."""

    def __init__(
        self,
        cache: ResponseCache,
        samples: Sequence[SampleItem],
        body: Callable[[SampleItem, int], dict[str, Any]],
        count: Callable[[SampleItem], int],
        ask: Callable[[dict[str, Any]], concurrent.futures.Future[ChatResponse]],
    ) -> None:
        self.cache = cache
        self.samples = samples
        self.body = body
        self.count = count
        self.ask = ask
        for position, item in enumerate(samples):
            item.plan_index = position
        self.chunk_start = self.chunk_end = 0
        self.answers: dict[tuple[int, int], Answer] = {}  # (position, repeat) -> answer, or its request

    def answer(self, item: SampleItem, repeat: int) -> ChatResponse:
        """Request `repeat` of `item`'s answer; raises what building its request raises, or the
        endpoint's error when it had to be asked."""
        position = item.plan_index
        if position is None or not 0 <= position < len(self.samples) or self.samples[position] is not item:
            return self.read_one(item, repeat)
        if not self.chunk_start <= position < self.chunk_end:
            self.read_chunk(position)
        answer = self.answers.pop((position, repeat), None)
        if answer is None:  # its body could not be built: `read_one` raises why
            return self.read_one(item, repeat)
        return answer.result() if isinstance(answer, concurrent.futures.Future) else answer

    def read_chunk(self, start: int) -> None:
        """The answers of the samples from `start` on, whole samples, until `CHUNK` requests."""
        keys: dict[tuple[int, int], str] = {}
        position = start
        while position < len(self.samples) and (position == start or len(keys) < CHUNK):
            item = self.samples[position]
            for repeat in range(self.count(item)):
                try:
                    keys[position, repeat] = request_key(self.body(item, repeat))
                except Exception:  # this sample errors alone when its turn comes (`read_one` raises it)
                    continue
            position += 1
        self.chunk_start, self.chunk_end = start, position
        found = self.cache.get_many(keys.values())
        answers: dict[tuple[int, int], Answer] = {}
        for slot, key in keys.items():
            cached = found.get(key)
            answers[slot] = cached if cached is not None else self.ask(self.body(self.samples[slot[0]], slot[1]))
        self.answers = answers

    def read_one(self, item: SampleItem, repeat: int) -> ChatResponse:
        body = self.body(item, repeat)
        cached = self.cache.get(request_key(body))
        return cached if cached is not None else self.ask(body).result()
