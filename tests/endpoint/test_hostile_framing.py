"""A server's framing cannot hang or crash the run: hostile chunk sizes and floods of interim heads.

The parser (`endpoint/native.py`'s `Response`) is fed the exact bytes an attacker sent, whole and one
byte at a time, under a SIGALRM deadline so that a parser that spins fails the test instead of
hanging the suite. Then a real small evaluation runs against a loopback server whose replies to two
questions are such bytes: those two samples are `bad_response` errors naming what was wrong, the
others pass, with the HTTP child process (`--llm-client-process`) on and off.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.endpoint import native
from pytest_llmeval.endpoint.native import MAX_HEAD_BYTES, Response
from pytest_llmeval.endpoint.response_cap import ResponseTooLarge
from pytest_llmeval.endpoint.transport import TransportFailure
from tests.conftest import write_jsonl
from tests.core.loopback import ThreadedServer
from tests.runs import dataset, llm_args, output_of, read_jsonl

CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
NEGATIVE_CHUNK = CHUNKED_HEAD + b"-6\r\n\r\n"  # the attacker's reply, byte for byte
CONTINUE_FLOOD = b"HTTP/1.1 100 Continue\r\n\r\n" * 3000 + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
NEGATIVE_CHUNK_ERROR = "bad chunk size line b'-6': not 1 to 16 hex digits with optional ;extensions"


def flood_error() -> str:
    return f"more than {native.MAX_INTERIM_HEADS} interim (1xx) responses before the final one"


@contextmanager
def finishes_within(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the code under test if it has not returned after `seconds`."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still parsing after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def feed(loop: asyncio.AbstractEventLoop, reply: bytes, step: int | None = None) -> Response:
    """A response fed `reply` in one piece, or `step` bytes at a time; the body is kept."""
    response = Response(loop.create_future(), 1_000_000)
    step = step or len(reply)
    with finishes_within(5.0):
        for i in range(0, len(reply), step):
            response.feed(reply[i : i + step], 0.0)
    return response


HOSTILE_CHUNK_LINES = [
    b"-6",
    b"-0",
    b"+6",
    b"0x6",
    b"",
    b" 6",
    b"6 6",
    b"6_0",
    b"1" + b"0" * 16,  # 17 hex digits: more than 64 bits
    b"0" * 17 + b"6",
    b"zz",
    b"6\x00",
    b"6;",  # an extension without a name
    b"6;a=",  # ... or without a value after its "="
    b'6;a="open',  # ... or with an unterminated quoted string
    b"6;a b",
    "\u0666".encode(),  # an Arabic-Indic six: a digit to int(), not a HEXDIG
]


@pytest.mark.parametrize("step", [None, 1])
@pytest.mark.parametrize("line", HOSTILE_CHUNK_LINES, ids=repr)
def test_a_chunk_size_that_is_no_hex_size_is_a_bad_response(loop, line: bytes, step: int | None) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, CHUNKED_HEAD + line + b"\r\nabcdef\r\n0\r\n\r\n", step)
    assert failed.value.kind == "bad_response" and "bad chunk size line" in str(failed.value)


@pytest.mark.parametrize("step", [None, 1, 3])
def test_the_attackers_negative_chunk_ends_at_once(loop, step: int | None) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, NEGATIVE_CHUNK, step)
    assert failed.value.kind == "bad_response" and str(failed.value) == NEGATIVE_CHUNK_ERROR


@pytest.mark.parametrize("step", [None, 1, 5])
def test_sizes_and_extensions_of_rfc_9112_are_read(loop, step: int | None) -> None:
    reply = (
        CHUNKED_HEAD
        + b"00003\r\nabc\r\n"  # leading zeros
        + b"A;name=value\r\n0123456789\r\n"  # upper-case hex, an extension
        + b'2 ; q="a \\" b" ;flag\r\nxy\r\n'  # whitespace around ";", a quoted value, a bare name
        + b"1 \r\nz\r\n"  # trailing whitespace
        + b"0;last\r\nX-Trailer: yes\r\n\r\n"
    )
    response = feed(loop, reply, step)
    assert response.complete and response.content() == b"abc0123456789xyz"


@pytest.mark.parametrize("step", [None, 1])
def test_chunk_data_not_followed_by_crlf_is_a_bad_response(loop, step: int | None) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, CHUNKED_HEAD + b"3\r\nabcXY0\r\n\r\n", step)
    assert failed.value.kind == "bad_response" and "not followed by CRLF" in str(failed.value)


def test_a_chunk_larger_than_the_cap_is_refused_before_its_data(loop) -> None:
    with pytest.raises(ResponseTooLarge):
        feed(loop, CHUNKED_HEAD + b"ffffffffffffffff\r\n")


@pytest.mark.parametrize("step", [None, 4096])
def test_an_endless_trailer_line_is_a_bad_response(loop, step: int | None) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, CHUNKED_HEAD + b"0\r\nX-Trailer: " + b"a" * (MAX_HEAD_BYTES + 10), step)
    assert failed.value.kind == "bad_response" and "trailer line is longer" in str(failed.value)


@pytest.mark.parametrize("step", [None, 7])
def test_a_flood_of_interim_heads_is_a_bad_response(loop, step: int | None) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, CONTINUE_FLOOD, step)
    assert failed.value.kind == "bad_response" and str(failed.value) == flood_error()


@pytest.mark.parametrize("step", [None, 1])
def test_interim_heads_up_to_the_limit_are_skipped(loop, step: int | None) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    reply = interim * (native.MAX_INTERIM_HEADS // 2) + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    response = feed(loop, reply, step)
    assert response.complete and response.status == 200 and response.content() == b"{}"


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5_0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"HTTP/1.1 -20 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 +20 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 099 Low\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    ],
)
def test_a_status_or_length_that_is_no_number_of_its_kind_is_a_bad_response(loop, head: bytes) -> None:
    with pytest.raises(TransportFailure) as failed:
        feed(loop, head + b"hello")
    assert failed.value.kind == "bad_response"


# -- a real evaluation against a hostile server ------------------------------------------------

ROWS = 4
NEGATIVE_ROW, FLOOD_ROW = 1, 2


class HostileFramingServer:
    """An OpenAI-compatible loopback server that answers question `NEGATIVE_ROW` with the negative
    chunk and `FLOOD_ROW` with the 100 Continue flood (then holds the connection open, so that only
    the parser can end those requests), and every other question rightly."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._server = ThreadedServer(self._handler())
        self.base_url = self._server.base_url

    def __enter__(self) -> HostileFramingServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self._server.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._json({"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                prompt = json.dumps(body.get("messages", []))
                if f"What is {NEGATIVE_ROW} plus" in prompt or f"What is {FLOOD_ROW} plus" in prompt:
                    self.wfile.write(NEGATIVE_CHUNK if f"What is {NEGATIVE_ROW} plus" in prompt else CONTINUE_FLOOD)
                    self.wfile.flush()
                    server.release.wait(120)
                    self.close_connection = True
                    return
                number = next(i for i in range(ROWS) if f"What is {i} plus" in prompt)
                self._json(
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": f"\\boxed{{{number}}}"},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
                    }
                )

        return Handler


@pytest.mark.parametrize("client_process", ["on", "off"])
def test_a_hostile_reply_fails_its_own_sample_only(pytester, tmp_path: Path, client_process: str) -> None:
    rows = [{"question": f"What is {i} plus 0? (apples)", "answer": f"#### {i}"} for i in range(ROWS)]
    data = write_jsonl(tmp_path / "g.jsonl", rows)
    samples = tmp_path / "s.jsonl"
    with HostileFramingServer() as server:
        # Before the fix the in-process run hangs for good: the pytester timeout makes that a failure.
        result = pytester.runpytest_subprocess(
            *llm_args(server.base_url, model="m"),
            *dataset("gsm8k", data),
            "--llm-client-process",
            client_process,
            "--llm-timeout",
            "60",
            "--llm-retries",
            "0",
            "--llm-samples",
            str(samples),
            timeout=240,
        )
    output = output_of(result)
    result.assert_outcomes(passed=ROWS - 2, errors=2)
    assert f"llmeval error: {NEGATIVE_CHUNK_ERROR}" in output and f"llmeval error: {flood_error()}" in output
    assert "RecursionError" not in output and "gave up after" not in output
    errors = {record["id"]: (record["error_kind"], record["error"]) for record in read_jsonl(samples)}
    assert errors == {
        "0000": (None, None),
        "0001": ("bad_response", NEGATIVE_CHUNK_ERROR),
        "0002": ("bad_response", flood_error()),
        "0003": (None, None),
    }
