"""Reranking (MTEB's reranking tasks): one pytest item per query, its candidates ordered by the model.

A row is ``{"query", "positive": [texts], "negative": [texts]}`` (MTEB's reranking copies on the
hub, or a local file with ``--llm-dataset NAME=FILE``). The candidates (positives, then negatives)
are scored by the cosine of their embedding with the query's (``/v1/embeddings``), or with
``reranker=endpoint`` by the rerank API (``/v1/rerank``); then ordered best first.

Metrics (MTEB's reranking evaluator; scoring/retrieval.py): ``map`` (main: average precision over
the whole candidate list) and ``mrr_at_10`` (1 / rank of the first positive within the first 10).
Both are means over queries, with standard errors. An item passes when a positive is ranked first.
A row without a positive or without a negative, or with an empty query, is a DatasetError naming
the row (MTEB skips such rows; here the data is fixed instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import DatasetSource, Sample
from .embedding_base import EmbeddingTask
from .registry import register_benchmark


def _texts(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{field!r} must be a list of texts")
    return [str(v) for v in value if str(v).strip()]


class RerankingTask(EmbeddingTask):
    kind = "reranking"
    tags: ClassVar[tuple[str, ...]] = ("reranking", "embedding")
    task_type = "reranking"
    metrics = ("map", "mrr_at_10")

    def failure_headline(self, target: Any, extracted: str | None, explanation: str | None) -> str:
        return f"a negative candidate is ranked first ({extracted})"

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        query = str(record["query"] or "").strip()
        if not query:
            raise ValueError("the query is empty")
        positive, negative = _texts(record["positive"], "positive"), _texts(record["negative"], "negative")
        if not positive or not negative:
            raise ValueError(f"a row needs a positive and a negative (has {len(positive)} and {len(negative)})")
        return Sample(
            id=str(record.get("id") or index),
            subset=subset,
            input=query,
            target=positive,
            metadata={"candidates": positive + negative, "positives": len(positive)},
        )


@register_benchmark
class AskUbuntuDupQuestions(RerankingTask):
    name = "askubuntudupquestions"
    description = "AskUbuntuDupQuestions (MTEB reranking): 375 questions, ~20 candidate duplicates each"
    source = DatasetSource(path="mteb/askubuntudupquestions-reranking", split="test")


@register_benchmark
class SciDocsRR(RerankingTask):
    name = "scidocsrr"
    description = "SciDocsRR (MTEB reranking): paper titles -> cited/co-viewed papers among 30 candidates"
    source = DatasetSource(path="mteb/scidocs-reranking", split="test")
