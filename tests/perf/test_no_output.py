"""A response with no content or reasoning token is a failure of its own kind (`no_output`),
never an ok request with throughput (issue 12 item 5; vLLM's definition, docs/perf.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_llmeval.perf.backend import RequestFailed, SSEParser, parse_completion
from pytest_llmeval.perf.metrics import Counted, RequestRecord, summarize
from pytest_llmeval.perf.runner import PerfRunError, check_results
from pytest_llmeval.testing import FakeOpenAIServer
from tests.perf.test_loadgen import run_one

ROLE = b'data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}\n\n'
EOS = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":0}}\n\n'
DONE = b"data: [DONE]\n\n"
TOKEN = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
REASONING = b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"hmm"},"finish_reason":null}]}\n\n'


def parse(*events: bytes) -> RequestRecord:
    record = RequestRecord(start=0.0)
    parser = SSEParser(record)
    for t, event in enumerate(events, 1):
        parser.feed(event, float(t))
    parser.close(float(len(events) + 1))
    return record


@pytest.mark.parametrize(
    "events",
    [(ROLE, EOS, DONE), (ROLE, EOS, USAGE, DONE), (EOS,), (ROLE, EOS)],
    ids=["immediate-eos", "with-usage", "finish-only", "no-done"],
)
def test_stream_without_a_token_fails_as_no_output(events: tuple[bytes, ...]) -> None:
    with pytest.raises(RequestFailed) as failed:
        parse(*events)
    assert failed.value.kind == "no_output" and "no content or reasoning token" in str(failed.value)


@pytest.mark.parametrize("token", [TOKEN, REASONING], ids=["content", "reasoning"])
def test_one_token_of_either_kind_is_output(token: bytes) -> None:
    record = parse(ROLE, token, EOS, DONE)
    assert record.first_token == 2.0 and len(record.chunk_times) == 1


def test_unstreamed_empty_message_fails_as_no_output() -> None:
    record = RequestRecord()
    with pytest.raises(RequestFailed) as failed:
        parse_completion(b'{"choices":[{"message":{"role":"assistant","content":""},"finish_reason":"stop"}]}', record)
    assert failed.value.kind == "no_output"
    parse_completion(b'{"choices":[{"message":{"content":"ok"}}],"usage":{"completion_tokens":1}}', record)
    assert record.pieces == ["ok"]


def test_no_output_requests_are_excluded_from_latency_figures() -> None:
    good = RequestRecord(start=0.0, end=1.0, first_token=0.5, chunk_times=[0.5, 1.0])
    empty = RequestRecord(start=0.0, end=0.01, error_kind="no_output", error="no token")
    result = summarize([good, empty], [Counted(4, 2, "usage"), None], started=0.0, finished=1.0)
    assert (result.ok, result.failed, result.errors) == (1, 1, {"no_output": 1})
    assert result.latency.count == 1 and result.latency.min == 1.0  # the 10 ms empty reply is not a latency


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unstreamed"])
def test_a_sweep_against_a_server_that_says_nothing_fails_with_the_kind(
    start_server: Callable[..., FakeOpenAIServer], stream: bool
) -> None:
    server = start_server(fixed_reply="")
    result = run_one(server, parallel=2, number=4, stream=stream)
    assert (result.ok, result.errors, result.request_throughput) == (0, {"no_output": 4}, 0.0)
    assert result.latency.count == 0 and result.ttft.count == 0
    with pytest.raises(
        PerfRunError, match=r"all 4 requests failed \(no_output: 4\); first error: the response carried"
    ):
        check_results([result])
