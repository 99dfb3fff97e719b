"""Embedding and rerank calls for one endpoint: batched, concurrent, cached, retried.

`VectorClient.embed(texts)` returns the float32 matrix of `texts` in order: the texts the vector
cache (`cache.py`) lacks are sent in batches of `batch_size` (``input`` lists), at most
``--llm-concurrency`` batches in flight, each validated by `wire.read_embeddings` and committed to
the cache the moment it arrives (a killed run resumes with only the missing texts). Identical texts
are sent once. `rerank(query, documents)` posts one rerank request (cached by model, query and
documents). Requests go through the project's client (`endpoint.client.ChatClient.post_json`): the
same base URL, key, timeouts, retries on 429/5xx and transport errors, and error names as chat; a
reply that breaks the wire format is a `BadResponseError` naming the reply.

The calls are synchronous for the caller (pytest's main thread): each bulk call runs its own event
loop (`asyncio.run`) with a fresh connection pool; bulk calls are few (one per corpus chunk and
per query set), so the pool's setup does not count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..endpoint.client import ChatClient
from ..errors import BadResponseError, EndpointError
from ..redact import redact
from ..settings import EndpointSettings
from . import wire
from .cache import VectorCache, rerank_key, text_key


@dataclass
class Counters:
    """What the client did: requests sent, texts embedded vs. read from the cache, tokens."""

    requests: int = 0
    texts_sent: int = 0
    texts_cached: int = 0
    rerank_cached: int = 0
    prompt_tokens: int = 0
    latency_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class EmbeddingOptions:
    """How texts are embedded: `batch_size` inputs per request, `encoding_format`, `dimensions`."""

    batch_size: int = 32
    encoding_format: wire.EncodingFormat = "float"
    dimensions: int | None = None


class VectorClient:
    def __init__(self, settings: EndpointSettings, cache: VectorCache | None, options: EmbeddingOptions) -> None:
        self.settings = settings
        self.cache = cache
        self.options = options
        self.counters = Counters()

    @property
    def model(self) -> str:
        return self.settings.model

    # -- embeddings ----------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of `texts` (float32, shape (len(texts), dimension)), from the cache or the endpoint."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [text_key(self.model, self.options.dimensions, t) for t in texts]
        found = self.cache.vectors(list(dict.fromkeys(keys))) if self.cache is not None else {}
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found and key not in missing:
                missing[key] = text
        self.counters.texts_cached += len(texts) - sum(1 for k in keys if k in missing)
        if missing:
            found.update(asyncio.run(self._embed_all(list(missing.items()))))
        dims = {len(v) for v in found.values()}
        if len(dims) > 1:  # e.g. a cache filled by another server of the same model name
            raise BadResponseError(
                f"the embeddings of {self.model!r} have varying dimensions {sorted(dims)} (some came from the "
                "vector cache): clear it (--llm-no-cache, or delete vectors.sqlite3) or fix the server"
            )
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False)

    async def _embed_all(self, pending: list[tuple[str, str]]) -> dict[str, np.ndarray]:
        client = ChatClient(self.settings)
        limit = asyncio.Semaphore(self.settings.concurrency)
        size = self.options.batch_size
        batches = [pending[i : i + size] for i in range(0, len(pending), size)]
        out: dict[str, np.ndarray] = {}

        async def one(batch: list[tuple[str, str]]) -> None:
            async with limit:
                texts = [t for _, t in batch]
                body = wire.embeddings_body(self.model, texts, self.options.encoding_format, self.options.dimensions)
                data, latency = await client.post_json("/embeddings", body)
                self.counters.requests += 1
                self.counters.latency_s.append(latency)
                try:
                    reply = wire.read_embeddings(data, texts, self.options.dimensions)
                except wire.BadReply as exc:
                    raise BadResponseError(redact(str(exc))) from None
                self.counters.texts_sent += len(texts)
                self.counters.prompt_tokens += reply.prompt_tokens
                keys = [k for k, _ in batch]
                if self.cache is not None:
                    self.cache.put_vectors(keys, reply.vectors)
                out.update(zip(keys, reply.vectors, strict=True))

        try:
            await _all_or_first_error([one(b) for b in batches])
        finally:
            await client.aclose()
        return out

    # -- rerank --------------------------------------------------------------------------------

    def rerank(
        self, query: str, documents: Sequence[str], *, path: str = "/rerank", from_root: bool = False, field: str = ""
    ) -> list[float]:
        """The relevance score of each document to `query` (input order)."""
        return self.rerank_many([(query, list(documents))], path=path, from_root=from_root, field=field)[0]

    def rerank_many(
        self,
        requests: Sequence[tuple[str, list[str]]],
        *,
        path: str = "/rerank",
        from_root: bool = False,
        field: str = "",
    ) -> list[list[float]]:
        """Scores of several rerank requests (query, documents), sent concurrently."""
        results: list[list[float] | None] = [None] * len(requests)
        todo: list[int] = []
        for i, (query, docs) in enumerate(requests):
            cached = self.cache.scores(rerank_key(self.model, query, docs)) if self.cache is not None else None
            if cached is not None and len(cached) == len(docs):
                results[i] = cached
                self.counters.rerank_cached += 1
            else:
                todo.append(i)
        if todo:
            asyncio.run(self._rerank_all(requests, todo, results, path, from_root, field or "documents"))
        return [r if r is not None else [] for r in results]

    async def _rerank_all(
        self,
        requests: Sequence[tuple[str, list[str]]],
        todo: list[int],
        results: list[list[float] | None],
        path: str,
        from_root: bool,
        field: str,
    ) -> None:
        client = ChatClient(self.settings)
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(i: int) -> None:
            query, docs = requests[i]
            async with limit:
                body = wire.rerank_body(self.model, query, docs, "texts" if field == "texts" else "documents")
                data, latency = await client.post_json(path, body, from_root=from_root)
                self.counters.requests += 1
                self.counters.latency_s.append(latency)
                try:
                    reply = wire.read_rerank(data, query, docs)
                except wire.BadReply as exc:
                    raise BadResponseError(redact(str(exc))) from None
                self.counters.prompt_tokens += reply.tokens
                if self.cache is not None:
                    self.cache.put_scores(rerank_key(self.model, query, docs), reply.scores)
                results[i] = reply.scores

        try:
            await _all_or_first_error([one(i) for i in todo])
        finally:
            await client.aclose()


async def _all_or_first_error(coros: list[Any]) -> None:
    """Run every coroutine; on the first failure cancel the rest and raise it (what arrived is cached)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


Notify = Callable[[str], None]
__all__ = ["Counters", "EmbeddingOptions", "EndpointError", "VectorClient"]
