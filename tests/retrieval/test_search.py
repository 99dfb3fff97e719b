"""Exact top-k: the same documents and order as a full sort, in blocks of any size."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_llmeval.retrieval.search import normalized, top_k
from pytest_llmeval.retrieval.wire import BadReply, read_rerank


@pytest.mark.parametrize("block_bytes", [4, 1000, 1 << 26])
def test_top_k_equals_a_full_sort(block_bytes: int) -> None:
    rng = np.random.default_rng(1)
    corpus = normalized(rng.normal(size=(500, 16)))
    queries = normalized(rng.normal(size=(37, 16)))
    found, scores = top_k(queries, corpus, 10, block_bytes=block_bytes)
    full = queries @ corpus.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-6)


def test_k_larger_than_the_corpus_ranks_every_document() -> None:
    corpus = normalized(np.eye(3))
    found, _ = top_k(normalized(np.array([[0.0, 1.0, 0.5]])), corpus, 100)
    assert found.tolist() == [[1, 2, 0]]


def test_a_zero_vector_stays_zero_instead_of_nan() -> None:
    assert not np.isnan(normalized(np.zeros((2, 4)))).any()


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b'[{"index": 0, "score": 1.0}, {"index": 0, "score": 0.5}]', "index 0 is scored twice"),
        (b'{"results": [{"index": 1, "relevance_score": 0.2}]}', "scores 1 of 2 documents (missing index 0)"),
        (b'{"results": [{"index": 0, "relevance_score": NaN}, {"index": 1, "relevance_score": 1}]}', "no finite"),
        (b'{"nothing": []}', "has neither `results`"),
    ],
)
def test_rerank_replies_that_break_the_format(reply: bytes, says: str) -> None:
    with pytest.raises(
        BadReply, match=f"the /rerank reply for query 'q' over 2 document.*{says.replace('(', '.').replace(')', '.')}"
    ):
        read_rerank(reply, "q", ["a", "b"])
