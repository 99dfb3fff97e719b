"""The native transport's HTTP/1.1 framing, fed byte by byte (the worst a socket can do)."""

from __future__ import annotations

import asyncio

import pytest

from pytest_llmeval.endpoint.native import Response as _Response
from pytest_llmeval.perf.backend import RequestFailed, SSEParser
from pytest_llmeval.perf.metrics import RequestRecord
from pytest_llmeval.settings import DEFAULT_MAX_RESPONSE_BYTES

EVENTS = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":" world"},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


def chunked(payload: bytes, size: int) -> bytes:
    out = b""
    for i in range(0, len(payload), size):
        part = payload[i : i + size]
        out += f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
    return out + b"0\r\nX-Trailer: 1\r\n\r\n"


def feed_all(raw: bytes, step: int) -> _Response:
    loop = asyncio.new_event_loop()
    try:
        response = _Response(loop.create_future(), DEFAULT_MAX_RESPONSE_BYTES)
        for i in range(0, len(raw), step):
            response.feed(raw[i : i + step], float(i))
        return response
    finally:
        loop.close()


@pytest.mark.parametrize("step", [1, 2, 7, 64, 10_000])
@pytest.mark.parametrize("chunk", [5, 33, 4096])
def test_chunked_sse_reassembles_exactly(step: int, chunk: int) -> None:
    head = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    response = feed_all(head + chunked(EVENTS, chunk), step)
    assert response.complete and response.status == 200 and response.keep_alive
    assert b"".join(d for _, d in response.body) == EVENTS
    record = RequestRecord()
    parser = SSEParser(record)
    for now, data in response.body:
        parser.feed(data, now)
    parser.close(response.body[-1][0])
    assert record.pieces == ["Hello", " world"]
    assert (record.prompt_tokens, record.completion_tokens) == (3, 2)
    assert record.first_token == record.chunk_times[0]
    # each event is stamped with the read that completed it: never before its bytes arrived
    assert record.chunk_times == sorted(record.chunk_times)


def test_content_length_and_connection_close() -> None:
    body = b'{"choices":[{"message":{"content":"hi"}}]}'
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    response = feed_all(raw, 3)
    assert response.complete and not response.keep_alive
    assert b"".join(d for _, d in response.body) == body


def test_http_1_0_without_length_reads_until_close() -> None:
    response = feed_all(b"HTTP/1.0 500 Oops\r\n\r\npartial", 4)
    assert response.status == 500 and response.until_close and not response.complete and not response.keep_alive


def test_garbage_is_a_bad_response() -> None:
    with pytest.raises(RequestFailed) as info:
        feed_all(b"SSH-2.0-OpenSSH\r\n\r\n", 100)
    assert info.value.kind == "bad_response"


def test_stream_without_done_or_finish_is_incomplete() -> None:
    record = RequestRecord()
    parser = SSEParser(record)
    parser.feed(b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n', 1.0)
    with pytest.raises(RequestFailed) as info:
        parser.close(2.0)
    assert info.value.kind == "incomplete_stream"
    assert record.end == 2.0
