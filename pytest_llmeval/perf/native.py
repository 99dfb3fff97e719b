"""The `native` transport: a minimal HTTP/1.1 keep-alive client on asyncio Protocols.

Why it exists (see bench/perf_accuracy.py): a coroutine-based client (aiohttp, httpx) reads a
stream in a coroutine, so a chunk's timestamp is taken only when that coroutine gets its turn on
the event loop, after every other callback that became ready at the same time. Under load, streams
share a rhythm (all tokens every ITL), so each read queues behind a burst of others and TTFT/ITL
grow by the burst's processing time; requests are also written later than their `start`. Here:

  * `start` is taken immediately before the request bytes are handed to the socket (one write);
  * `data_received` stamps `time.perf_counter()` first, then only de-chunks the body: SSE and JSON
    parsing happen after the response completed, outside the timing path;
  * no per-request objects beyond the response state: about 3x less CPU per request than aiohttp.

Supported: http and https (TLS via asyncio), `Content-Length`, `chunked` and read-until-close
bodies, `Connection: close`, 1xx interim responses. Not supported: proxies, HTTP/2, compression
(the request sends no Accept-Encoding, so servers answer uncompressed; a compressed body is not
inflated, so it is never a decompression bomb here).

Size: every byte a response sends (head, framing and body) counts against `max_response_bytes`
(`endpoint/response_cap.py`, the eval client's rule); past it the connection is dropped at once and
the request fails as `response_too_large`, so an endless stream costs at most the cap in memory.
"""

from __future__ import annotations

import asyncio
import ssl
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from ..endpoint.response_cap import DEFAULT_MAX_RESPONSE_BYTES, ERROR_KIND, ResponseBudget, ResponseTooLarge
from .backend import Backend, RequestFailed, SSEParser, _error_message, parse_completion
from .metrics import RequestRecord

_HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 65536  # a head (or a chunk-size line) longer than this is no HTTP response


class _Response:
    """Incremental HTTP/1.1 response framing. Body bytes are kept with the time of their read."""

    __slots__ = (
        "body",
        "budget",
        "buffer",
        "chunk_left",
        "chunked",
        "complete",
        "future",
        "head",
        "keep_alive",
        "remaining",
        "status",
        "trailer",
        "until_close",
    )

    def __init__(self, future: asyncio.Future[None], max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.future = future
        self.budget = ResponseBudget(max_bytes)
        self.head = True
        self.status = 0
        self.keep_alive = True
        self.chunked = False
        self.remaining = -1  # Content-Length bytes still due
        self.until_close = False
        self.buffer = b""
        self.body: list[tuple[float, bytes]] = []
        self.complete = False
        self.chunk_left = 0  # bytes of the current chunk still due (+2 for its CRLF)
        self.trailer = False

    def feed(self, data: bytes, now: float) -> None:
        """Raises RequestFailed for a malformed or oversized response."""
        try:
            self.budget.add(len(data))
        except ResponseTooLarge as exc:
            raise RequestFailed(ERROR_KIND, str(exc)) from None
        self._feed(data, now)

    def _feed(self, data: bytes, now: float) -> None:
        if self.head:
            data = self.buffer + data if self.buffer else data
            end = data.find(_HEAD_END)
            if end < 0:
                if len(data) > MAX_HEAD_BYTES:
                    raise RequestFailed("bad_response", f"the response head is longer than {MAX_HEAD_BYTES:,} bytes")
                self.buffer = data
                return
            self.buffer = b""
            self._parse_head(data[:end])
            data = data[end + 4:]
            if self.head:  # a 1xx interim response: the real head follows
                if data:
                    self._feed(data, now)
                return
        if self.chunked:
            self._feed_chunked(data, now)
        elif self.until_close:
            if data:
                self.body.append((now, data))
        else:
            if data:
                self.body.append((now, data[: self.remaining]))
                self.remaining -= len(data)
            if self.remaining <= 0:
                self._finish()

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        try:
            self.status = int(status_line[9:12])
        except ValueError:
            raise RequestFailed("bad_response", f"not an HTTP response: {status_line[:100]!r}") from None
        if 100 <= self.status < 200:
            return  # stay in head mode
        self.head = False
        self.keep_alive = not status_line.startswith(b"HTTP/1.0")
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise RequestFailed("bad_response", f"bad Content-Length {value.strip()[:40]!r}") from None
                if length > self.budget.limit:
                    raise RequestFailed(ERROR_KIND, str(ResponseTooLarge(self.budget.limit)))
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
            elif name == b"connection":
                lowered = value.strip().lower()
                if lowered == b"close":
                    self.keep_alive = False
                elif lowered == b"keep-alive":
                    self.keep_alive = True
        if not self.chunked:
            if length is None:
                self.until_close = True
                self.keep_alive = False
            else:
                self.remaining = length
                if length == 0:
                    self._finish()

    def _feed_chunked(self, data: bytes, now: float) -> None:
        if self.buffer:
            data = self.buffer + data
            self.buffer = b""
        pos = 0
        size = len(data)
        while pos < size:
            if self.trailer:
                # after the last chunk: optional trailer lines, then an empty line
                end = data.find(b"\r\n", pos)
                if end < 0:
                    self.buffer = data[pos:]
                    return
                if end == pos:
                    self._finish()
                    return
                pos = end + 2
                continue
            if self.chunk_left:
                take = min(self.chunk_left, size - pos)
                payload_end = pos + take
                # the last two bytes of a chunk are its CRLF, not payload
                useful = min(payload_end, pos + max(self.chunk_left - 2, 0))
                if useful > pos:
                    self.body.append((now, data[pos:useful]))
                self.chunk_left -= take
                pos = payload_end
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                if size - pos > MAX_HEAD_BYTES:
                    raise RequestFailed("bad_response", f"a chunk-size line is longer than {MAX_HEAD_BYTES:,} bytes")
                self.buffer = data[pos:]
                return
            try:
                length = int(data[pos:end].split(b";", 1)[0], 16)
            except ValueError:
                raise RequestFailed("bad_response", f"bad chunk size line {data[pos:end][:40]!r}") from None
            pos = end + 2
            if length == 0:
                self.trailer = True
            else:
                self.chunk_left = length + 2

    def _finish(self) -> None:
        self.complete = True
        if not self.future.done():
            self.future.set_result(None)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


class _Connection(asyncio.Protocol):
    __slots__ = ("closed", "response", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.response: _Response | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = perf_counter()  # first: the read's time, before any processing
        response = self.response
        if response is None:  # bytes nobody asked for: this connection can't be trusted again
            self.abort()
            return
        try:
            response.feed(data, now)
        except RequestFailed as exc:
            response.fail(exc)
            self.abort()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is not None and not response.complete:
            if response.until_close and not response.head:
                response._finish()
            else:
                message = "connection closed by the server before the response was complete"
                response.fail(RequestFailed("connection_reset", message + (f" ({exc})" if exc else "")))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class NativeBackend(Backend):
    """Same interface and error kinds as Backend; see the module docstring."""

    def __init__(self, url: str, headers: dict[str, str], connections: int, timeout: float, transport: str = "native",
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        super().__init__(url, headers, connections, timeout, transport, max_response_bytes)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RequestFailed("connection_error", f"cannot send to {url!r}: not an http(s) URL")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rpartition("@")[2]
        lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}", "Accept: */*", "User-Agent: pytest-llmeval-perf"]
        lines += [f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in ("host", "content-length")]
        self._head_prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._slots: asyncio.Semaphore | None = None
        self._ssl: ssl.SSLContext | None = None

    async def __aenter__(self) -> NativeBackend:
        self._slots = asyncio.Semaphore(self.connections)
        if self.tls:
            self._ssl = ssl.create_default_context()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in list(self._open):
            if conn.transport is not None:
                conn.transport.close()
        self._open.clear()
        self._idle.clear()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl,
                                                   server_hostname=self.host if self.tls else None)
        except OSError as exc:
            raise RequestFailed("connection_error", f"cannot connect to {self.host}:{self.port}: {exc}") from None
        self._open.add(conn)
        return conn

    async def preconnect(self, count: int, url: str) -> None:
        """Open `count` keep-alive connections before the run (no request is sent)."""
        wanted = min(count, self.connections) - len(self._idle)

        async def one() -> None:
            try:
                self._idle.append(await self._connect())
            except RequestFailed:
                pass  # the run will report it

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(max(wanted, 0)))), 30)

    async def _acquire(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._open.discard(conn)
        return await self._connect()

    def _release(self, conn: _Connection, reuse: bool) -> None:
        conn.response = None
        if reuse and not conn.closed:
            self._idle.append(conn)
        else:
            conn.abort()
            self._open.discard(conn)

    async def _send(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        assert self._slots is not None
        async with self._slots:
            conn = await self._acquire()
            response = _Response(asyncio.get_running_loop().create_future(), self.max_response_bytes)
            conn.response = response
            reuse = False
            try:
                assert conn.transport is not None
                record.start = perf_counter()
                conn.transport.write(self._head_prefix + str(len(body)).encode() + _HEAD_END + body)
                await response.future
                reuse = response.keep_alive
            finally:
                self._release(conn, reuse)
        self._consume(response, stream, record)

    def _consume(self, response: _Response, stream: bool, record: RequestRecord) -> None:
        """Parse the completed response (outside the timing path); raises RequestFailed."""
        if response.status >= 400:
            raise RequestFailed(f"http_{response.status}", _error_message(response.status, b"".join(d for _, d in response.body)))
        last = response.body[-1][0] if response.body else perf_counter()
        if not stream:
            record.end = last
            parse_completion(b"".join(d for _, d in response.body), record)
            return
        parser = SSEParser(record)
        for now, data in response.body:
            parser.feed(data, now)
        parser.close(last)


def make_backend(url: str, headers: dict[str, str], connections: int, timeout: float, transport: str,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> Any:
    """The Backend for `transport` (native, aiohttp, httpx-aiohttp, httpx); every one stops reading
    a response at `max_response_bytes` (`endpoint/response_cap.py`)."""
    if transport == "native":
        return NativeBackend(url, headers, connections, timeout, max_response_bytes=max_response_bytes)
    return Backend(url, headers, connections, timeout, transport, max_response_bytes)
