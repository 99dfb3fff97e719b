"""Exact nearest-neighbour search by cosine similarity (numpy; no index, no approximation).

`normalized(matrix)` makes rows unit length (a zero row stays zero), so a dot product is the cosine.
`top_k(queries, corpus, k)` scores the queries against the whole corpus in blocks of queries whose
score matrix stays under `block_bytes` (64 MiB: a block of q x N float32), picks each row's k best
with `numpy.argpartition` (linear time), and sorts only those k. Memory: the corpus matrix (N x d
float32) plus one block; nothing grows with the number of queries but the (q x k) answer.
"""

from __future__ import annotations

import numpy as np

BLOCK_BYTES = 64 * 1024 * 1024


def normalized(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def top_k(
    queries: np.ndarray, corpus: np.ndarray, k: int, block_bytes: int = BLOCK_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores), each (len(queries), min(k, len(corpus))), best first per row: the corpus
    rows with the highest dot product with each query (cosine, for `normalized` inputs)."""
    n = corpus.shape[0]
    k = min(k, n)
    q = queries.shape[0]
    indices = np.empty((q, k), dtype=np.int64)
    scores = np.empty((q, k), dtype=np.float32)
    rows = max(1, block_bytes // max(1, n * 4))
    for start in range(0, q, rows):
        sims = queries[start : start + rows] @ corpus.T
        if k < n:
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), sims.shape).copy()
        picked = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        indices[start : start + rows] = np.take_along_axis(part, order, axis=1)
        scores[start : start + rows] = np.take_along_axis(picked, order, axis=1)
    return indices, scores
