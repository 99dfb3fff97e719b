"""Embeddings / rerank load tests without a model: the sweep's shape, the request bodies, the reply checks,
the table and where the load goes. The runs against the real embedded model are in
tests/e2e/test_embedding_perf.py."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.perf import embedding
from pytest_llmeval.perf.backend import RequestFailed
from pytest_llmeval.perf.load import make_spec, parse_words
from pytest_llmeval.perf.metrics import PerfResult, RequestRecord
from pytest_llmeval.perf.plugin import api_url
from pytest_llmeval.perf.table import perf_lines


def test_batch_size_and_input_tokens_multiply_every_load_level() -> None:
    spec = make_spec(parse_words("api=embeddings parallel=1,4 number=8,16 batch_size=1,32 input_tokens=16,256".split()))
    shapes = [(lv.parallel, lv.number, lv.batch_size, lv.input_tokens) for lv in spec.levels]
    assert shapes == [(p, n, b, t) for p, n in ((1, 8), (4, 16)) for b in (1, 32) for t in (16, 256)]
    assert spec.levels[-1].label == "parallel=4 batch=32 input=256"
    assert spec.workload.stream is False  # one JSON body per reply: no TTFT to measure


def test_an_embedding_run_defaults_to_one_input_per_request() -> None:
    spec = make_spec({"api": "rerank", "parallel": 2, "number": 4})
    assert [(lv.batch_size, lv.input_tokens) for lv in spec.levels] == [(1, None)]


@pytest.mark.parametrize(
    ("load", "named"),
    [
        ({"batch_size": 8}, "apply to api=embeddings or api=rerank"),
        ({"api": "embeddings", "batch_size": 0}, "batch_size must be 1 or more"),
        ({"api": "embeddings", "input_tokens": [8, -1]}, "input_tokens must be 1 or more"),
        ({"api": "rerank", "dataset": "openqa", "dataset_path": __file__}, "sends random texts"),
        ({"api": "images"}, "invalid api"),
    ],
)
def test_a_bad_embedding_load_is_one_usage_error(load: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        make_spec(load)


def test_request_bodies_hold_batch_size_texts_of_the_asked_length() -> None:
    spec = make_spec({"api": "embeddings", "batch_size": 3, "input_tokens": 10, "encoding_format": "base64"})
    requests = embedding.build_requests(spec.workload, spec.levels[0], "m", 2, None, seed=1)
    body = json.loads(requests[0].body)
    assert set(body) == {"model", "input", "encoding_format"} and body["encoding_format"] == "base64"
    assert len(body["input"]) == 3 and all(len(text.split()) == 10 for text in body["input"])
    assert requests[0].inputs == 3 and requests[0].tokens == 30 and not requests[0].exact
    rerank = make_spec({"api": "rerank", "batch_size": 5, "input_tokens": 4})
    body = json.loads(embedding.build_requests(rerank.workload, rerank.levels[0], "m", 1, None, seed=1)[0].body)
    assert set(body) == {"model", "query", "documents"} and len(body["documents"]) == 5


def test_a_reply_short_of_vectors_or_naming_a_missing_document_fails_as_bad_response() -> None:
    request = embedding.ApiRequest(b"{}", inputs=3, tokens=9, exact=False)
    record = RequestRecord()
    embedding.parse_embeddings(
        b'{"data":[{"embedding":[0.1]},{"embedding":[0.2]}],"usage":{"prompt_tokens":7}}', record
    )
    assert record.prompt_tokens == 7
    embedding.check_reply(record, request, "embeddings")
    assert record.error_kind == "bad_response" and record.error == "2 embeddings for 3 inputs"

    record = RequestRecord()
    embedding.parse_rerank(b'{"results":[{"index":3,"relevance_score":0.5},{"index":0,"relevance_score":0.1}]}', record)
    embedding.check_reply(record, request, "rerank")
    assert record.error == "rerank index 3 out of range for 3 documents"

    for parse, body in ((embedding.parse_embeddings, b'{"object":"list"}'), (embedding.parse_rerank, b"[1]")):
        with pytest.raises(RequestFailed) as failure:
            parse(body, RequestRecord())
        assert failure.value.kind == "bad_response"


def test_the_table_shows_batch_input_length_and_inputs_per_second() -> None:
    result = PerfResult(label="parallel=2 batch=8 input=64", parallel=2, number=4, ok=4, duration_s=2.0,
                        request_throughput=2.0, api="embeddings", batch_size=8, input_length=64, inputs=32,
                        inputs_throughput=16.0, stream=False)  # fmt: skip
    lines = perf_lines([result])
    header = lines[0].split()
    assert header[:4] == ["Conc.", "Rate", "Batch", "In"] and "Inputs/s" in lines[0]
    assert "16.0" in lines[2] and "TTFT" not in "\n".join(lines)


def test_the_load_goes_beside_the_chat_path_with_its_query_string() -> None:
    assert api_url("http://h:1/v1/chat/completions", "embeddings") == "http://h:1/v1/embeddings"
    assert api_url("http://h:1/v1/chat/completions?key=s", "rerank") == "http://h:1/v1/rerank?key=s"
    assert api_url("http://h:1/v1/chat/completions", "chat") is None
