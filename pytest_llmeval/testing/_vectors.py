"""The fake server's embeddings and rerank answers: deterministic, meaningful, and hostile on request.

A text's vector is a hashed bag of words: each lower-cased word (runs of letters and digits) adds
+1 or -1 (by its hash) to one of `dim` coordinates (by its hash), then the vector is L2-normalised
(a text without words gets the first unit vector). Texts sharing words are close, so retrieval
over a small corpus is meaningful (a query that repeats its document's words finds it), and the
same text always gets the same vector, in every process. Rerank scores are the cosine similarity
of the query's and each document's vectors.

Hostile modes (`FakeServerConfig`, substring rules on the inputs of one request):
``embedding_nan`` (that input's vector holds NaN), ``embedding_varying_dim`` (that input's vector
is one shorter), ``embedding_wrong_count`` (the reply leaves the last vector out),
``rerank_bad_index`` (a query containing it gets an index past the documents);
``rerank_shape``: ``results`` (Cohere, Jina, vLLM, llama.cpp), ``list`` (TEI) or ``data``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import numpy as np

from ._config import FakeServerConfig

_WORD = re.compile(r"[^\W_]+")


def bag_of_words(text: str, dim: int) -> np.ndarray:
    vector = np.zeros(dim, dtype=np.float64)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vector[value % dim] += 1.0 if (value >> 40) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return vector / norm


def embeddings_reply(config: FakeServerConfig, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, JSON object) for a POST /v1/embeddings body."""
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return 400, {"message": "'input' must be a string or a non-empty list of strings"}
    if any(t == "" for t in texts):  # as OpenAI's API answers
        return 400, {"message": "'input' cannot contain an empty string"}
    dim = body.get("dimensions") or config.embedding_dim
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 4096:
        return 400, {"message": f"'dimensions' must be an integer from 1 to 4096, got {dim!r}"}
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        return 400, {"message": f"'encoding_format' must be 'float' or 'base64', got {encoding!r}"}
    data = []
    for index, text in enumerate(texts):
        vector = bag_of_words(text, dim)
        if any(s in text for s in config.embedding_nan):
            vector[0] = float("nan")
        if any(s in text for s in config.embedding_varying_dim):
            vector = vector[:-1]
        value: Any = (
            base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
            if encoding == "base64"
            else vector.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": value})
    if any(s in t for t in texts for s in config.embedding_wrong_count):
        data = data[:-1]
    tokens = sum(len(t.split()) for t in texts)
    return 200, {
        "object": "list",
        "data": data,
        "model": config.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def rerank_reply(config: FakeServerConfig, body: dict[str, Any]) -> tuple[int, Any]:
    """(status, JSON value) for a POST /v1/rerank or /rerank body (`documents`, or TEI's `texts`)."""
    query = body.get("query")
    documents = body.get("documents", body.get("texts"))
    if not isinstance(query, str) or not isinstance(documents, list) or not documents:
        return 400, {"message": "'query' must be a string and 'documents' (or 'texts') a non-empty list"}
    texts = [d if isinstance(d, str) else str((d or {}).get("text", "")) for d in documents]
    q = bag_of_words(query, config.embedding_dim)
    scores = [float(q @ bag_of_words(t, config.embedding_dim)) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -scores[i])  # best first, as real servers answer
    bad = any(s in query for s in config.rerank_bad_index)
    rows = []
    for i in order:
        index = len(texts) + i if bad and i == order[0] else i
        if config.rerank_shape == "list":
            rows.append({"index": index, "score": scores[i]})
        else:
            rows.append({"index": index, "relevance_score": scores[i]})
    tokens = len(query.split()) + sum(len(t.split()) for t in texts)
    if config.rerank_shape == "list":
        return 200, rows
    key = "results" if config.rerank_shape == "results" else "data"
    return 200, {"id": "rerank-1", "model": config.model, key: rows, "usage": {"total_tokens": tokens}}
