"""The answers of a run whose every answer is in the response cache (a re-score), read on pytest's thread.

Other runs read cached answers on the dispatcher's thread, ahead of the items, as they read answers
over HTTP. With every answer cached that costs pytest more than the reads themselves: each SQLite
call releases the interpreter lock, and each read interleaved with pytest's own work for an item
runs cold. Measured at 5,000 GSM8K samples, every answer cached (`bench/eval_throughput.py`'s
workload, one process, wall time of the items): 2.62 s read on the dispatcher's thread, 2.42 s read
one by one on pytest's thread (~76 us a read), 2.04 s with every answer read before the first item
(~22 us a read). `CachedAnswers` reads them in chunks of `CHUNK` samples, one SQLite query a chunk,
so memory stays bounded by the chunk whatever the run's size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..endpoint.cache import ResponseCache, request_key
from ..endpoint.models import ChatResponse
from .nodes import SampleItem

CHUNK = 256  # samples whose answers are read at once


class CachedAnswers:
    """The answers of `samples` (this process's share, in run order; `item.plan_index` becomes an
    item's position), read from `cache` a chunk at a time as the items ask for them. `body(item, r)`
    builds request `r` of an item, `count(item)` says how many it makes, `ask(body)` asks the
    endpoint (for an answer no longer cached)."""

    def __init__(
        self,
        cache: ResponseCache,
        samples: Sequence[SampleItem],
        body: Callable[[SampleItem, int], dict[str, Any]],
        count: Callable[[SampleItem], int],
        ask: Callable[[dict[str, Any]], ChatResponse],
    ) -> None:
        self.cache = cache
        self.samples = samples
        self.body = body
        self.count = count
        self.ask = ask
        for position, item in enumerate(samples):
            item.plan_index = position
        self.chunk_start = self.chunk_end = 0
        self.answers: dict[tuple[int, int], ChatResponse] = {}  # (position, repeat) -> answer

    def answer(self, item: SampleItem, repeat: int) -> ChatResponse:
        """Request `repeat` of `item`'s answer. One the chunk lacks (its sample cannot become a
        request, or its row went away since the run checked) is read alone (`read_one`), which
        raises what building its request raises, or asks the endpoint."""
        position = item.plan_index
        if position is None or not 0 <= position < len(self.samples) or self.samples[position] is not item:
            return self.read_one(item, repeat)
        if not self.chunk_start <= position < self.chunk_end:
            self.read_chunk(position)
        answer = self.answers.pop((position, repeat), None)
        return answer if answer is not None else self.read_one(item, repeat)

    def read_chunk(self, start: int) -> None:
        keys: dict[tuple[int, int], str] = {}
        self.chunk_start, self.chunk_end = start, min(start + CHUNK, len(self.samples))
        for position in range(self.chunk_start, self.chunk_end):
            item = self.samples[position]
            for repeat in range(self.count(item)):
                try:
                    keys[position, repeat] = request_key(self.body(item, repeat))
                except Exception:  # this sample errors alone when its turn comes (`read_one` raises it)
                    continue
        found = self.cache.get_many(keys.values())
        self.answers = {slot: found[key] for slot, key in keys.items() if key in found}

    def read_one(self, item: SampleItem, repeat: int) -> ChatResponse:
        body = self.body(item, repeat)
        cached = self.cache.get(request_key(body))
        return cached if cached is not None else self.ask(body)
