"""Answering the items of embedding and reranker tasks (`EmbeddingTask`, `api = "vectors"`).

The engine's runtime (`engine.runtime.EvalRuntime`) hands these items here: `start(items)` learns
this process's share in run order (under xdist, the worker's); the first item of a task's subset
does the bulk work for every planned item of that subset, and each item then takes its own answer:

* retrieval: the corpus is streamed from its rows in chunks of 4,096 documents, embedded (batched,
  concurrent, cached per text: `client.VectorClient`) into one float32 matrix, normalised; the
  queries of the share are embedded together; `search.top_k` ranks the corpus for each (exact);
  with ``first_stage=bm25`` the `bm25s` library ranks instead; with ``reranker=endpoint`` the top
  ``rerank_top_k`` are reranked through the rerank API. Metrics: `scoring.retrieval`.
* STS: both sentences of every pair embedded, one cosine per pair (the correlation is the task's
  aggregate, `benchmarks.sts`).
* reranking: query and candidates embedded (cosine) or sent to the rerank API; MAP and MRR@10.

The corpus of a subset is embedded once per process and kept (ids, vectors, and a 200-character
snippet per document for the report; the full texts only when BM25 or a reranker needs them). A
failure of the bulk work (the endpoint, a broken reply) is every planned item's error, raised at
its setup like a chat item's transport error, never a wrong answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..benchmarks.base import is_vector_task
from ..benchmarks.embedding_base import EmbeddingTask
from ..benchmarks.retrieval import RetrievalTask
from ..endpoint.models import Usage
from ..errors import AuthenticationError, DatasetError, EndpointNotFoundError, EndpointUnreachableError, LLMEvalError
from ..results import SampleRecord
from ..scoring import retrieval as metrics
from ..settings import RunSettings
from .cache import VectorCache
from .client import EmbeddingOptions, VectorClient
from .search import normalized, top_k

# failures that say the endpoint is wrong, not this task: the run stops with one usage error
_WHOLE_RUN = (EndpointUnreachableError, EndpointNotFoundError, AuthenticationError)
CORPUS_CHUNK = 4096
SNIPPET = 200
SHOWN = 10  # documents of a query's ranking kept in its record (then every relevant one ranked lower)


@dataclass
class VectorAnswer:
    """What one item's bulk work found: its metrics and the record fields that show them."""

    metrics: dict[str, float]
    passed: bool
    output: str
    extracted: str | None = None
    explanation: str | None = None
    ranking: list[dict[str, Any]] | None = None
    latency_s: float | None = None
    cached: bool = False
    tokens: int = 0


@dataclass
class Corpus:
    ids: list[str]
    vectors: np.ndarray | None  # normalised (N, d) float32; None for BM25 alone
    snippets: list[str]
    texts: list[str] | None = None
    bm25: Any = None
    index: dict[str, int] = field(default_factory=dict)


class VectorRuntime:
    def __init__(self, settings: RunSettings, notify: Callable[[str], None]) -> None:
        self.settings = settings
        self.notify = notify
        self._cache: VectorCache | None = None
        if settings.use_cache and settings.cache_dir:
            self._cache = VectorCache(settings.cache_dir, notify)
        self._planned: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self._answers: dict[str, VectorAnswer] = {}
        self._failed: dict[tuple[str, str], BaseException] = {}
        self._corpora: dict[tuple[str, str], Corpus] = {}

    # -- the engine's side ---------------------------------------------------------------------

    def start(self, items: Sequence[Any]) -> None:
        for item in items:
            self._planned[(item.benchmark.name, item.sample.subset)].append(item)

    def response_for(self, item: Any) -> VectorAnswer:
        answer = self._answers.pop(item.nodeid, None)
        if answer is not None:
            return answer
        group = (item.benchmark.name, item.sample.subset)
        if group in self._failed:
            raise self._failed[group]
        planned = self._planned.pop(group, [])
        batch = planned if any(p is item for p in planned) else [item]
        try:
            answers = self._answer(item.benchmark, batch)
        except LLMEvalError as exc:
            if batch is planned:
                self._failed[group] = exc
            if isinstance(exc, _WHOLE_RUN):  # every other request would fail the same way: one error
                if not hasattr(item.config, "workerinput"):
                    pytest.exit(f"llmeval: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
                item.session.shouldstop = f"llmeval: {exc}"  # an xdist worker cannot exit mid-item
            raise
        self._answers.update(answers)
        return self._answers.pop(item.nodeid)

    def score(self, item: Any, answer: VectorAnswer) -> SampleRecord:
        return SampleRecord(
            nodeid=item.nodeid,
            benchmark=item.benchmark.name,
            subset=item.sample.subset,
            id=item.sample.id,
            messages=item.benchmark.messages(item.sample),
            target=item.sample.target,
            output=answer.output,
            extracted=answer.extracted,
            passed=answer.passed,
            metrics=answer.metrics,
            explanation=answer.explanation,
            ranking=answer.ranking,
            latency_s=answer.latency_s,
            cached=answer.cached,
            usage=Usage(prompt_tokens=answer.tokens, total_tokens=answer.tokens) if answer.tokens else None,
        )

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    # -- the bulk work -------------------------------------------------------------------------

    def _client(self, task: EmbeddingTask, model: str | None = None) -> VectorClient:
        endpoint = self.settings.endpoint
        if model:
            endpoint = endpoint.model_copy(update={"model": model})
        options = EmbeddingOptions(
            batch_size=task.int_arg("batch_size"),
            encoding_format=task.args["encoding_format"],  # type: ignore[arg-type]
            dimensions=task.dimensions,
        )
        return VectorClient(endpoint, self._cache, options)

    def _answer(self, task: EmbeddingTask, items: Sequence[Any]) -> dict[str, VectorAnswer]:
        # the task's own `model`, else --llm-embedding-model, else --llm-model
        client = self._client(task, task.args["model"] or self.settings.embedding_model or None)
        if task.kind == "retrieval":
            assert isinstance(task, RetrievalTask)
            answers = self._retrieval(task, items, client)
        elif task.kind == "sts":
            answers = self._sts(task, items, client)
        elif task.kind == "reranking":
            answers = self._reranking(task, items, client)
        else:  # pragma: no cover - a subclass without a kind
            raise DatasetError(f"benchmark {task.name!r} is an embedding task of unknown kind {task.kind!r}")
        latencies = client.counters.latency_s
        latency = sum(latencies) / len(latencies) if latencies else None
        cached = client.counters.requests == 0
        for answer in answers.values():
            answer.latency_s, answer.cached = latency, cached
        return answers

    def _corpus(self, task: RetrievalTask, subset: str, client: VectorClient) -> Corpus:
        key = (task.name, subset)
        if key in self._corpora:
            return self._corpora[key]
        embed = task.args["first_stage"] == "embedding"
        with self._corpus_lock(task, subset, embed):
            corpus = self._read_corpus(task, subset, client, embed)
        self._corpora[key] = corpus
        return corpus

    @contextlib.contextmanager
    def _corpus_lock(self, task: RetrievalTask, subset: str, embed: bool) -> Iterator[None]:
        """Under ``-n N`` one worker embeds a corpus while the others wait, then read it from the
        shared vector cache instead of sending it again (each worker still holds its own matrix). An
        exclusive ``flock`` on a file beside ``vectors.sqlite3``: the kernel releases it when its
        holder exits, so a crashed worker cannot leave it held. Without the cache, or where there is
        no ``fcntl`` (Windows), every worker embeds the corpus itself, as before."""
        if not embed or self._cache is None or not self.settings.cache_dir:
            yield
            return
        try:
            import fcntl
        except ImportError:  # not POSIX
            yield
            return
        name = hashlib.sha256(f"{task.name}\0{subset}".encode()).hexdigest()[:16]
        try:
            Path(self.settings.cache_dir).mkdir(parents=True, exist_ok=True)
            handle = open(Path(self.settings.cache_dir) / f"corpus-{name}.lock", "a")  # noqa: SIM115
        except OSError:
            yield  # an unwritable cache folder: the cache itself reports that
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_corpus(self, task: RetrievalTask, subset: str, client: VectorClient, embed: bool) -> Corpus:
        keep_texts = not embed or task.uses_reranker
        ids: list[str] = []
        snippets: list[str] = []
        texts: list[str] | None = [] if keep_texts else None
        size = task.corpus_size.get(subset, 0)
        vectors = np.empty((0, 0), dtype=np.float32)
        chunk_ids: list[str] = []
        chunk_texts: list[str] = []

        def flush() -> None:
            nonlocal vectors
            if not chunk_texts:
                return
            if embed:
                # a document without title or text is sent as one space: the embeddings API refuses ""
                block = normalized(client.embed([(task.args["doc_prefix"] + t) or " " for t in chunk_texts]))
                if vectors.size == 0:
                    vectors = np.empty((max(size, len(chunk_ids)), block.shape[1]), dtype=np.float32)
                elif block.shape[1] != vectors.shape[1]:
                    raise DatasetError(
                        f"the corpus vectors changed dimension from {vectors.shape[1]} to {block.shape[1]}"
                    )
                if len(ids) + len(chunk_ids) > vectors.shape[0]:  # the corpus grew since collection
                    vectors = np.concatenate([vectors, np.empty_like(vectors)])
                vectors[len(ids) : len(ids) + len(chunk_ids)] = block
            ids.extend(chunk_ids)
            chunk_ids.clear()
            chunk_texts.clear()

        for doc_id, text in task.corpus(subset):
            chunk_ids.append(doc_id)
            chunk_texts.append(text)
            snippets.append(text[:SNIPPET])
            if texts is not None:
                texts.append(text)
            if len(chunk_texts) >= CORPUS_CHUNK:
                flush()
        flush()
        corpus = Corpus(ids=ids, vectors=vectors[: len(ids)] if embed else None, snippets=snippets, texts=texts)
        corpus.index = {doc: i for i, doc in enumerate(ids)}
        if not embed:
            corpus.bm25 = _bm25_index(texts or [])
        return corpus

    def _retrieval(self, task: RetrievalTask, items: Sequence[Any], client: VectorClient) -> dict[str, VectorAnswer]:
        subset = items[0].sample.subset
        corpus = self._corpus(task, subset, client)
        depth = task.int_arg("top_k")
        queries = [str(item.sample.input) for item in items]
        if task.args["first_stage"] == "bm25":
            found, scores = _bm25_search(corpus.bm25, queries, min(depth, len(corpus.ids)))
        else:
            assert corpus.vectors is not None
            vectors = normalized(client.embed([task.args["query_prefix"] + q for q in queries]))
            if vectors.shape[1] != corpus.vectors.shape[1]:
                raise DatasetError(
                    f"{task.name}: query vectors have {vectors.shape[1]} dimensions and the corpus's "
                    f"{corpus.vectors.shape[1]}; the server changed between the two"
                )
            found, scores = top_k(vectors, corpus.vectors, depth)
        runs = [
            {corpus.ids[j]: float(s) for j, s in zip(row, row_scores, strict=True)}
            for row, row_scores in zip(found, scores, strict=True)
        ]
        first_stage: list[dict[str, float]] | None = None
        tokens = client.counters.prompt_tokens
        if task.uses_reranker:
            assert corpus.texts is not None
            first_stage = runs
            cut = task.int_arg("rerank_top_k")
            path, from_root = task.rerank_route()
            reranker = self._client(task, task.args["rerank_model"] or None)
            heads = [metrics.rank_scores(run)[:cut] for run in runs]
            requests = [
                (q, [corpus.texts[corpus.index[d]] for d in head]) for q, head in zip(queries, heads, strict=True)
            ]
            scored = reranker.rerank_many(requests, path=path, from_root=from_root, field=task.args["rerank_field"])
            runs = [dict(zip(head, s, strict=True)) for head, s in zip(heads, scored, strict=True)]
            tokens += reranker.counters.prompt_tokens
            client.counters.requests += reranker.counters.requests
            client.counters.latency_s += reranker.counters.latency_s
        answers: dict[str, VectorAnswer] = {}
        for i, item in enumerate(items):
            qrels: dict[str, int] = item.sample.metadata["qrels"]
            ranked = metrics.rank_scores(runs[i])
            values = metrics.retrieval_metrics(ranked, qrels)
            if first_stage is not None:
                values["ndcg_at_10_first_stage"] = metrics.ndcg_at_k(metrics.rank_scores(first_stage[i]), qrels, 10)
            answers[item.nodeid] = _retrieval_answer(ranked, runs[i], qrels, values, corpus)
        if answers:
            first = next(iter(answers.values()))
            first.tokens = tokens  # the bulk work's tokens, counted once
        return answers

    def _sts(self, task: EmbeddingTask, items: Sequence[Any], client: VectorClient) -> dict[str, VectorAnswer]:
        texts = [t for item in items for t in item.sample.metadata["pair"]]
        vectors = normalized(client.embed(texts))
        answers = {}
        for i, item in enumerate(items):
            cosine = float(vectors[2 * i] @ vectors[2 * i + 1])
            gold = float(item.sample.metadata["gold"])
            answers[item.nodeid] = VectorAnswer(
                metrics={"cosine": cosine, "gold": gold},
                passed=True,
                output=f"cosine {cosine:.4f}",
                extracted=f"{cosine:.4f}",
            )
        if answers:
            next(iter(answers.values())).tokens = client.counters.prompt_tokens
        return answers

    def _reranking(self, task: EmbeddingTask, items: Sequence[Any], client: VectorClient) -> dict[str, VectorAnswer]:
        queries = [str(item.sample.input) for item in items]
        candidates = [list(item.sample.metadata["candidates"]) for item in items]
        if task.uses_reranker:
            path, from_root = task.rerank_route()
            reranker = self._client(task, task.args["rerank_model"] or None)
            all_scores = reranker.rerank_many(
                list(zip(queries, candidates, strict=True)),
                path=path,
                from_root=from_root,
                field=task.args["rerank_field"],
            )
            tokens = reranker.counters.prompt_tokens
            client.counters.requests += reranker.counters.requests
            client.counters.latency_s += reranker.counters.latency_s
        else:
            q = normalized(client.embed([task.args["query_prefix"] + t for t in queries]))
            flat = [task.args["doc_prefix"] + c for cands in candidates for c in cands]
            docs = normalized(client.embed(flat))
            all_scores, at = [], 0
            for i, cands in enumerate(candidates):
                all_scores.append([float(s) for s in docs[at : at + len(cands)] @ q[i]])
                at += len(cands)
            tokens = client.counters.prompt_tokens
        answers = {}
        for item, cands, scores in zip(items, candidates, all_scores, strict=True):
            positives = int(item.sample.metadata["positives"])
            order = sorted(range(len(cands)), key=lambda j: -scores[j])  # stable: ties keep the data's order
            relevance = [j < positives for j in order]
            values = metrics.reranking_metrics(relevance)
            ranking = [
                {
                    "rank": r,
                    "id": str(j),
                    "score": scores[j],
                    "relevance": int(j < positives),
                    "text": cands[j][:SNIPPET],
                }
                for r, j in enumerate(order, start=1)
                if r <= SHOWN or j < positives
            ]
            first_positive = relevance.index(True) + 1
            answers[item.nodeid] = VectorAnswer(
                metrics=values,
                passed=relevance[0],
                output=cands[order[0]][:SNIPPET],
                extracted=f"candidate {order[0]}",
                explanation=None
                if relevance[0]
                else f"the first positive candidate is ranked {first_positive} of {len(cands)}",
                ranking=ranking,
            )
        if answers:
            next(iter(answers.values())).tokens = tokens
        return answers


def _retrieval_answer(
    ranked: list[str], run: dict[str, float], qrels: dict[str, int], values: dict[str, float], corpus: Corpus
) -> VectorAnswer:
    rank_of = {doc: r for r, doc in enumerate(ranked, start=1)}
    ranking: list[dict[str, Any]] = []
    for r, doc in enumerate(ranked[:SHOWN], start=1):
        ranking.append(
            {
                "rank": r,
                "id": doc,
                "score": run[doc],
                "relevance": qrels.get(doc, 0),
                "text": corpus.snippets[corpus.index[doc]],
            }
        )
    relevant = sorted((d for d, g in qrels.items() if g >= metrics.RELEVANT), key=lambda d: rank_of.get(d, math.inf))
    for doc in relevant:
        at = rank_of.get(doc)
        if at is None or at > SHOWN:
            ranking.append(
                {
                    "rank": at,
                    "id": doc,
                    "score": run.get(doc),
                    "relevance": qrels[doc],
                    "text": corpus.snippets[corpus.index[doc]],
                }
            )
    passed = values["ndcg_at_10"] > 0
    explanation = None
    if not passed:
        best = next((rank_of[d] for d in relevant if d in rank_of), None)
        where = f"at rank {best}" if best is not None else f"not in the top {len(ranked)}"
        explanation = f"no relevant document in the top 10; the best-ranked relevant one is {where}"
    shown = ", ".join(f"{d} ({run[d]:.3f})" for d in ranked[:5])
    return VectorAnswer(
        metrics=values,
        passed=passed,
        output=shown,
        extracted=ranked[0] if ranked else None,
        explanation=explanation,
        ranking=ranking,
    )


def _bm25_index(texts: list[str]) -> Any:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    return retriever


def _bm25_search(retriever: Any, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    import bm25s

    tokens = bm25s.tokenize(queries, stopwords="en", show_progress=False)
    found, scores = retriever.retrieve(tokens, k=k, show_progress=False)
    return np.asarray(found), np.asarray(scores)


Notify = Callable[[str], None]
__all__ = ["VectorAnswer", "VectorRuntime", "is_vector_task"]
