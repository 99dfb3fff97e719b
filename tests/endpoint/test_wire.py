"""One reader of the OpenAI wire format and one table of transport failures, for eval and perf.

The same bytes and the same failing sockets go through the eval client (`endpoint/client.py`) and
the perf load generator (`perf/backend.py`, `perf/native.py`): both read the same text, and both
name a failure from the same row of `endpoint/transport.py`'s table.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import struct
from collections.abc import Callable

import pytest

from pytest_llmeval.endpoint import wire
from pytest_llmeval.endpoint.client import ChatClient
from pytest_llmeval.endpoint.transport import KINDS, perf_failure, transport_error
from pytest_llmeval.errors import BadResponseError, EndpointError, ServerError
from pytest_llmeval.perf.backend import RequestFailed, SSEParser, parse_completion
from pytest_llmeval.perf.metrics import RequestRecord
from pytest_llmeval.perf.native import NativeBackend
from pytest_llmeval.settings import EndpointSettings
from tests.endpoint.test_transport_errors import free_port, read_request

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

STREAM = (
    b'data: {"model":"m1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"think"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\r\n\r\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


def replying(head: bytes, body: bytes) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        conn.close()

    return handle


def eval_chat(base_url: str, body: dict | None = None, max_bytes: int | None = None):
    extra = {} if max_bytes is None else {"max_response_bytes": max_bytes}
    settings = EndpointSettings(model="m", base_url=base_url, retries=0, timeout_s=20, **extra)

    async def go():
        client = ChatClient(settings)
        try:
            return await client.chat(body or BODY)
        except EndpointError as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(go())


def perf_request(url: str, stream: bool) -> RequestRecord:
    async def go() -> RequestRecord:
        record = RequestRecord()
        async with NativeBackend(url, {}, 1, 20.0) as backend:
            await backend.request(json.dumps({**BODY, "stream": stream}).encode(), stream, record)
        return record

    return asyncio.run(go())


@pytest.mark.parametrize("step", [1, 3, 17, 10_000])
def test_a_stream_read_in_any_pieces_gives_the_same_text_to_eval_and_perf(
    step: int,
) -> None:
    state = wire.StreamState()
    record = RequestRecord()
    parser = SSEParser(record)
    for i in range(0, len(STREAM), step):
        state.feed(STREAM[i : i + step], float(i))
        parser.feed(STREAM[i : i + step], float(i))
    (choice,) = state.close(99.0)
    parser.close(99.0)
    assert (choice.text, choice.reasoning, choice.finish_reason) == (
        "Hello",
        "think",
        "stop",
    )
    assert (state.usage, state.model, state.pieces) == (
        {"prompt_tokens": 3, "completion_tokens": 2},
        "m1",
        2,
    )
    assert record.pieces == [
        "think",
        "Hel",
        "lo",
    ]  # perf counts reasoning as output, as vLLM's benchmark does
    assert state.first_at == record.first_token  # the read that completed the first piece, for both


def test_reasoning_only_reply_is_output_for_perf_in_either_field_name() -> None:
    # vLLM >= 0.10 names the field `reasoning`; perf called such an unstreamed reply no_output before
    for field in ("reasoning_content", "reasoning"):
        record = RequestRecord()
        parse_completion(
            json.dumps({"choices": [{"message": {"content": None, field: "hmm"}}]}).encode(),
            record,
        )
        assert record.pieces == ["hmm"]
        assert (
            wire.read_completion(json.dumps({"choices": [{"message": {field: "hmm"}}]}).encode()).choices[0].reasoning
            == "hmm"
        )


@pytest.mark.parametrize(
    ("payload", "kind", "reason"),
    [
        (b"data: {not json\n\n", "bad_response", "stream chunk is not JSON"),
        (b"data: [1, 2]\n\n", "bad_response", "stream chunk is not a JSON object"),
        (
            b'data: {"error": {"message": "boom"}}\n\n',
            "stream_error",
            "server sent an error mid-stream",
        ),
    ],
)
def test_a_broken_stream_is_one_error_for_both(payload: bytes, kind: str, reason: str) -> None:
    with pytest.raises(wire.WireError) as failed:
        wire.StreamState().feed(payload, 0.0)
    assert (failed.value.kind, failed.value.reason) == (kind, reason)
    with pytest.raises(RequestFailed) as counted:
        SSEParser(RequestRecord()).feed(payload, 0.0)
    assert counted.value.kind == kind and str(counted.value).startswith(reason)


def test_stream_without_done_or_finish_is_incomplete_for_both() -> None:
    state = wire.StreamState()
    state.feed(b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n', 0.0)
    with pytest.raises(wire.WireError) as failed:
        state.close(1.0)
    assert failed.value.kind == "incomplete_stream"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>oops</html>", "response is not a chat completion"),
        (b'{"choices": []}', "response has no choices"),
        # JSON that json.loads cannot hold: a RecursionError and a ValueError of Python's integer limit
        (b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "response is not a chat completion"),
        (
            b'{"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": ' + b"1" * 5000 + b"}}",
            "response is not a chat completion",
        ),
    ],
    ids=["html", "no-choices", "deep-nesting", "huge-integer"],
)
def test_a_reply_that_is_no_completion_is_a_bad_response_for_both(raw_server, body: bytes, reason: str) -> None:
    server = raw_server(replying(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", body))
    error = eval_chat(f"http://127.0.0.1:{server.port}/v1")
    assert type(error) is BadResponseError and str(error).startswith(f"{reason} (HTTP 200)")
    record = perf_request(f"http://127.0.0.1:{server.port}/v1/chat/completions", stream=False)
    assert record.error_kind == "bad_response" and record.error.startswith(reason)


def test_an_error_event_mid_stream_is_a_server_error_for_eval(raw_server) -> None:
    event = b'data: {"error": {"message": "out of memory"}}\n\n'
    server = raw_server(replying(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", event))
    error = eval_chat(f"http://127.0.0.1:{server.port}/v1", {**BODY, "stream": True})
    assert (
        type(error) is ServerError and "server sent an error mid-stream" in str(error) and "out of memory" in str(error)
    )


def test_a_gzip_reply_the_client_did_not_ask_for_is_inflated(raw_server) -> None:
    completion = json.dumps({"choices": [{"message": {"content": "zipped"}, "finish_reason": "stop"}]}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    server = raw_server(replying(head, gzip.compress(completion)))
    response = eval_chat(f"http://127.0.0.1:{server.port}/v1")
    assert not isinstance(response, Exception) and response.text == "zipped"


def test_a_gzip_bomb_stops_at_the_cap_for_eval(raw_server) -> None:
    bomb = gzip.compress(b" " * 50_000_000, compresslevel=9)  # 50 MB inflated from about 50 kB
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    server = raw_server(replying(head, bomb))
    error = eval_chat(f"http://127.0.0.1:{server.port}/v1", max_bytes=1_000_000)
    assert type(error) is BadResponseError and "larger than 1,000,000 bytes (--llm-max-response-bytes)" in str(error)


def _refused(raw_server) -> str:
    return f"http://127.0.0.1:{free_port()}/v1"


def _reset(raw_server) -> str:
    def reset_now(conn: socket.socket) -> None:
        read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    return f"http://127.0.0.1:{raw_server(reset_now).port}/v1"


def _closed(raw_server) -> str:
    return f"http://127.0.0.1:{raw_server(lambda conn: (read_request(conn), conn.close())).port}/v1"


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_refused, "connection_refused"),
        (_reset, "connection_reset"),
        (_closed, "disconnected"),
    ],
)
def test_the_same_failure_is_named_from_the_same_row_by_eval_and_perf(raw_server, make, kind: str) -> None:
    base_url = make(raw_server)
    error = eval_chat(base_url)
    assert error.kind == kind
    record = perf_request(f"{base_url}/chat/completions", stream=True)
    assert record.error_kind == KINDS[kind].perf_kind


def test_every_kind_of_the_table_has_its_eval_error_and_perf_kind() -> None:
    for kind, entry in KINDS.items():
        assert entry.error.kind == kind
        assert entry.perf_kind in ("connection_error", "connection_reset", "timeout")
    refused = ConnectionRefusedError(111, "Connection refused")
    assert transport_error(refused, "http://h/v1/chat/completions", 1.0, 2.0).kind == "connection_refused"
    assert perf_failure(refused) == (
        "connection_error",
        "cannot connect: ConnectionRefusedError: [Errno 111] Connection refused",
    )
    assert perf_failure(ValueError("a bug of ours"))[0] == "error"  # not a network failure: not hidden as one


def keep_alive_server(conn: socket.socket) -> None:
    """Answers every request on the connection until the client closes it."""
    conn.settimeout(10)
    data = b""
    completion = json.dumps({"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}).encode()
    while True:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(data) < length:
            data += conn.recv(65536)
        data = data[length:]
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(completion)
            + completion
        )


def requests_over(base_url: str, pause_s: float) -> None:
    settings = EndpointSettings(model="m", base_url=base_url, retries=0)

    async def go() -> None:
        client = ChatClient(settings)
        try:
            for _ in range(3):
                assert (await client.chat(BODY)).text == "ok"
                await asyncio.sleep(pause_s)
        finally:
            await client.aclose()

    asyncio.run(go())


def test_one_connection_serves_requests_one_after_another(raw_server, monkeypatch) -> None:
    from pytest_llmeval.endpoint import client

    monkeypatch.setattr(client, "KEEPALIVE_EXPIRY_S", 600.0)
    server = raw_server(keep_alive_server)
    requests_over(f"http://127.0.0.1:{server.port}/v1", 0.0)
    assert server.connections == 1


def test_an_idle_connection_past_the_keepalive_expiry_is_not_reused(raw_server, monkeypatch) -> None:
    # a server closes idle connections after a few seconds; writing into one it is closing fails
    from pytest_llmeval.endpoint import client

    monkeypatch.setattr(client, "KEEPALIVE_EXPIRY_S", 0.05)
    server = raw_server(keep_alive_server)
    requests_over(f"http://127.0.0.1:{server.port}/v1", 0.2)
    assert server.connections == 3
