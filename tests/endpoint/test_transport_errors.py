"""Each way a transport can fail is named by its cause, against real loopback sockets.

The sockets here are real: a port nobody listens on, a server that closes the connection before or
in the middle of its response, one that resets it (RST), one that never answers, a plain-HTTP port
spoken to over TLS, and a host name that cannot resolve.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest

from pytest_llmeval.endpoint.client import ChatClient, make_process_pool, parse_retry_after
from pytest_llmeval.errors import (
    ConnectionRefusedEndpointError,
    ConnectionResetEndpointError,
    DNSResolutionError,
    EndpointError,
    RequestTimeoutError,
    ServerDisconnectedError,
    TLSEndpointError,
)
from pytest_llmeval.settings import EndpointSettings

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RawServer:
    """A TCP server on loopback whose connection handler is a plain function of the socket."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.handle = handle
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    conn.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture(params=["in_process", "child_process"])
def via(request: pytest.FixtureRequest) -> str:
    """Every failure is named the same whether the chat request's HTTP runs in this process or in
    the dispatcher's child process (endpoint/pool_process.py: the exception crosses a pipe)."""
    return str(request.param)


def chat(via: str, base_url: str, *, timeout_s: float = 20.0, retries: int = 0, stream: bool = False) -> EndpointError:
    settings = EndpointSettings(model="m", base_url=base_url, timeout_s=timeout_s, retries=retries)

    async def go() -> EndpointError:
        client = ChatClient(settings, chat_pool=make_process_pool(settings) if via == "child_process" else None)
        try:
            await client.chat({**BODY, "stream": stream} if stream else BODY)
        except EndpointError as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("the request succeeded")

    return asyncio.run(go())


def test_port_nobody_listens_on_is_connection_refused(via: str) -> None:
    error = chat(via, f"http://127.0.0.1:{free_port()}/v1")
    assert type(error) is ConnectionRefusedEndpointError and error.kind == "connection_refused"
    assert "refused" in str(error) and "timed out" not in str(error) and "Timeout" not in str(error)


def test_server_closing_before_answering_is_a_disconnect(raw_server, via: str) -> None:
    server = raw_server(lambda conn: (read_request(conn), conn.close()))
    error = chat(via, f"http://127.0.0.1:{server.port}/v1")
    assert type(error) is ServerDisconnectedError and error.kind == "disconnected"
    assert "closed the connection" in str(error)


def test_server_closing_mid_body_is_a_disconnect(raw_server, via: str) -> None:
    def half_answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"choi')
        time.sleep(0.1)
        conn.close()

    server = raw_server(half_answer)
    error = chat(via, f"http://127.0.0.1:{server.port}/v1")
    assert type(error) is ServerDisconnectedError, repr(error)


def test_stream_cut_mid_response_is_a_disconnect(raw_server, via: str) -> None:
    def half_stream(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        event = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'
        conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        time.sleep(0.1)
        conn.close()

    server = raw_server(half_stream)
    error = chat(via, f"http://127.0.0.1:{server.port}/v1", stream=True)
    assert type(error) is ServerDisconnectedError, repr(error)


def test_reset_mid_body_is_a_reset_or_disconnect_never_a_timeout(raw_server, via: str) -> None:
    # aiohttp reports an RST after part of a Content-Length body as ContentLengthError (the reset
    # itself is not in the chain): then "closed before the response was complete" is what is known.
    def reset(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        conn.close()

    server = raw_server(reset)
    error = chat(via, f"http://127.0.0.1:{server.port}/v1")
    assert isinstance(error, (ConnectionResetEndpointError, ServerDisconnectedError)), repr(error)
    assert error.kind in ("connection_reset", "disconnected")
    assert not isinstance(error, RequestTimeoutError)


def test_reset_before_any_byte_is_a_reset(raw_server, via: str) -> None:
    def reset_now(conn: socket.socket) -> None:
        read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    server = raw_server(reset_now)
    error = chat(via, f"http://127.0.0.1:{server.port}/v1")
    assert type(error) is ConnectionResetEndpointError and error.kind == "connection_reset", repr(error)
    assert "reset by the server" in str(error)


def test_server_that_never_answers_is_a_timeout_stating_the_elapsed_time(raw_server, via: str) -> None:
    release = threading.Event()
    server = raw_server(lambda conn: (read_request(conn), release.wait(30)))
    began = time.monotonic()
    error = chat(via, f"http://127.0.0.1:{server.port}/v1", timeout_s=1.0)
    elapsed = time.monotonic() - began
    release.set()
    assert type(error) is RequestTimeoutError and error.kind == "timeout"
    stated = float(str(error).split("gave up after ")[1].split(" s")[0])
    assert 0.9 <= stated <= elapsed + 0.05
    assert "--llm-timeout" in str(error)


def test_tls_to_a_plain_http_port_is_a_tls_error(raw_server, via: str) -> None:
    server = raw_server(lambda conn: (conn.recv(4096), conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n"), conn.close()))
    error = chat(via, f"https://127.0.0.1:{server.port}/v1")
    assert type(error) is TLSEndpointError and error.kind == "tls", repr(error)


def test_name_that_does_not_resolve_is_a_dns_error(via: str) -> None:
    error = chat(via, "http://no-such-host.invalid:8000/v1")  # .invalid never resolves (RFC 6761)
    assert type(error) is DNSResolutionError and error.kind == "dns", repr(error)
    assert "does not resolve" in str(error)


def test_connection_errors_are_retried_then_named(raw_server, via: str) -> None:
    server = raw_server(lambda conn: (read_request(conn), conn.close()))
    error = chat(via, f"http://127.0.0.1:{server.port}/v1", retries=2)
    assert type(error) is ServerDisconnectedError
    assert server.connections == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-2", None),  # not a delay: ignored (test_retries.py, hostile values)
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
    ],
)
def test_retry_after_seconds_and_http_dates(header: str | None, expected: float | None) -> None:
    from datetime import datetime, timezone

    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)
    assert parse_retry_after(header, now=now) == expected
