"""The embeddings and rerank protocol against the loopback test server: float and base64 vectors,
the rerank reply shapes and both routes, the cache, and one clear error per broken reply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_llmeval.errors import BadResponseError, EndpointNotFoundError
from pytest_llmeval.retrieval.cache import VectorCache
from pytest_llmeval.retrieval.client import EmbeddingOptions, VectorClient
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing._vectors import bag_of_words

TEXTS = ["the cat sat on the mat", "dogs bark at night", "the cat sat on the mat", "résumé naïve 东京"]


def _client(server: Any, tmp_path: Path | None = None, notes: list[str] | None = None, **options: Any) -> VectorClient:
    settings = EndpointSettings(model="emb", base_url=server.base_url, retries=0, timeout_s=30, concurrency=2)
    cache = VectorCache(tmp_path, (notes if notes is not None else []).append) if tmp_path is not None else None
    return VectorClient(settings, cache, EmbeddingOptions(**options))


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings_in_input_order_float_and_base64(start_server: Callable[..., Any], encoding: str) -> None:
    server = start_server()
    client = _client(server, encoding_format=encoding, batch_size=3)
    vectors = client.embed(TEXTS)
    assert vectors.shape == (4, 64) and vectors.dtype == np.float32
    for text, vector in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(vector, bag_of_words(text, 64), atol=1e-6)
    # the repeated text is sent once: 3 distinct texts in batches of 3 -> one request
    assert client.counters.requests == 1 and client.counters.texts_sent == 3
    assert client.counters.prompt_tokens > 0


def test_dimensions_are_asked_for_and_checked(start_server: Callable[..., Any]) -> None:
    server = start_server()
    assert _client(server, dimensions=16).embed(["a b c"]).shape == (1, 16)


def test_an_embedding_is_cached_by_model_and_text_whatever_the_batch(
    start_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = start_server()
    first = _client(server, tmp_path, batch_size=2)
    vectors = first.embed(TEXTS[:2])
    again = _client(server, tmp_path, batch_size=7)
    both = again.embed([TEXTS[1], TEXTS[0], "a new text"])
    assert again.counters.texts_cached == 2 and again.counters.texts_sent == 1
    np.testing.assert_array_equal(both[0], vectors[1])


@pytest.mark.parametrize("shape", ["results", "list", "data"])
@pytest.mark.parametrize("route", [("/rerank", False), ("/rerank", True)])
def test_rerank_reply_shapes_and_routes(start_server: Callable[..., Any], shape: str, route: tuple[str, bool]) -> None:
    server = start_server(rerank_shape=shape)
    client = _client(server)
    docs = ["nothing in common", "the cat sat", "cat"]
    field = "texts" if shape == "list" else "documents"
    scores = client.rerank("the cat", docs, path=route[0], from_root=route[1], field=field)
    expected = [float(bag_of_words("the cat", 64) @ bag_of_words(d, 64)) for d in docs]
    assert scores == pytest.approx(expected)
    assert scores[1] > scores[0]


@pytest.mark.parametrize(
    ("fault", "texts", "says"),
    [
        ({"embedding_nan": "poison"}, ["fine", "poison here"], "input 1 ('poison here') holds NaN"),
        ({"embedding_varying_dim": "short"}, ["fine", "short one"], "varying or zero dimension: [64, 63]"),
        ({"embedding_wrong_count": "drop"}, ["drop", "b"], "has 1 vector(s), expected 2"),
    ],
)
@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_a_broken_embeddings_reply_is_one_clear_error_naming_it(
    start_server: Callable[..., Any], fault: dict[str, str], texts: list[str], says: str, encoding: str
) -> None:
    server = start_server(**fault)
    with pytest.raises(BadResponseError) as caught:
        _client(server, encoding_format=encoding).embed(texts)
    message = str(caught.value)
    assert "the /embeddings reply for 2 input(s)" in message and says in message


def test_a_rerank_index_out_of_range_names_the_reply(start_server: Callable[..., Any]) -> None:
    server = start_server(rerank_bad_index="evil")
    with pytest.raises(
        BadResponseError, match=r"/rerank reply for query 'evil query' over 2 document\(s\): index \d is out of range"
    ):
        _client(server).rerank("evil query", ["a", "b"])


def test_a_server_without_the_route_is_endpoint_not_found(start_server: Callable[..., Any]) -> None:
    server = start_server()
    with pytest.raises(EndpointNotFoundError, match="/v1/nowhere"):
        _client(server).rerank("q", ["a"], path="/nowhere")


def test_batches_in_flight_stay_within_the_concurrency_bound(start_server: Callable[..., Any]) -> None:
    server = start_server(latency_s=0.05)
    client = _client(server, batch_size=2)  # concurrency 2 (see _client)
    texts = [f"text number {i}" for i in range(40)]
    vectors = client.embed(texts)
    assert vectors.shape == (40, 64) and client.counters.requests == 20
    assert server.stats()["max_in_flight"] <= 2


def test_embeddings_are_retried_on_503_like_chat(start_server: Callable[..., Any]) -> None:
    server = start_server(fail_first_n=2, fail_status=503)
    settings = EndpointSettings(model="emb", base_url=server.base_url, retries=3, timeout_s=30)
    client = VectorClient(settings, None, EmbeddingOptions())
    assert client.embed(["a b"]).shape == (1, 64)
    assert server.stats()["endpoints"]["POST /v1/embeddings"] == 3


def test_a_reply_that_is_not_json_is_a_bad_response_naming_the_reply(start_server: Callable[..., Any]) -> None:
    server = start_server(malformed="garbled")
    with pytest.raises(BadResponseError, match=r"the /embeddings reply for 1 input\(s\) \(first: 'garbled text'\)"):
        _client(server).embed(["garbled text"])
