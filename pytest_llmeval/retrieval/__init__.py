"""Embedding and reranker evaluation: the requests, the vector cache, exact search and the runtime of
the items of embedding tasks (docs/embeddings.md). The tasks are benchmarks (`benchmarks/retrieval.py`,
`sts.py`, `reranking.py`); their metrics are pure functions in `scoring/retrieval.py`."""

from .client import EmbeddingOptions, VectorClient
from .wire import BadReply, Embeddings, Rerank, read_embeddings, read_rerank

__all__ = ["BadReply", "EmbeddingOptions", "Embeddings", "Rerank", "VectorClient", "read_embeddings", "read_rerank"]
