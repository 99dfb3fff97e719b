"""The fast HTTP client: HTTP/1.1 keep-alive connections on asyncio Protocols, for eval and perf.

Used by the eval client (`endpoint/client.py`) for every plain-``http://`` endpoint without a proxy,
and by the perf load generator (`perf/native.py`, transport ``native``) for every endpoint.

Why it exists: a coroutine-based client (httpx over aiohttp) costs about 3x more CPU per request
(measured with `bench/eval_throughput.py`: 448 µs against 141 µs per request on the dispatcher
thread) and stamps a read only when its coroutine gets its turn on the event loop. Here:

  * `Response.sent_at` is taken immediately before the request bytes are handed to the socket
    (one write);
  * `data_received` stamps `time.perf_counter()` first, then only de-chunks the body: SSE and JSON
    parsing happen outside this module (`endpoint/wire.py`), after the response or in a `sink`;
  * no per-request objects beyond the response state.

Supported: http and https (TLS via asyncio, with the caller's SSL context or the default one),
`Content-Length`, `chunked` and
read-until-close bodies, `Connection: close`, 1xx interim responses, a connect timeout. Not
supported: proxies, HTTP/2, decompression (requests send no Accept-Encoding; a body the server
compresses anyway arrives as sent, and `Response.header("content-encoding")` says so).

Size: every byte a response sends (head, framing and body) counts against `max_response_bytes`
(`endpoint/response_cap.py`); past it the connection is dropped at once and the request fails
with `ResponseTooLarge`, so an endless stream costs at most the cap in memory.

Framing is read strictly: a status, Content-Length or chunk size that is not plain digits of its
kind (a sign, ``0x``, a space inside, more than 16 hex digits), a chunk whose data is not followed by
CRLF, a chunk extension that is not RFC 9112's ``;name[=value]``, more than `MAX_INTERIM_HEADS`
interim 1xx heads, or a head, chunk-size or trailer line over `MAX_HEAD_BYTES`, ends the response
as `TransportFailure("bad_response")`. Every step of the parser consumes input, so no reply can
keep it from returning to the event loop.

Failures are raised as what happened, for `endpoint/transport.py` to name: the OSError of a failed
connect (refused, DNS, TLS), `ConnectionResetError` for a reset, `ServerClosedConnection` for a
clean close before the response was complete, `TimeoutError` for a connect timeout,
`TransportFailure("bad_response")` for bytes that are not an HTTP response.
"""

from __future__ import annotations

import asyncio
import http
import re
import ssl
import zlib
from collections.abc import Callable
from time import perf_counter
from typing import NamedTuple
from urllib.parse import urlsplit

from .response_cap import ResponseBudget, ResponseTooLarge
from .transport import ServerClosedConnection, TransportFailure

_HEAD_END = b"\r\n\r\n"
_CRLF = b"\r\n"
MAX_HEAD_BYTES = 65536  # a head (or a chunk-size or trailer line) longer than this is no HTTP response
MAX_INTERIM_HEADS = 32  # more 1xx heads (100 Continue, 103 Early Hints...) before the final one: malformed
_STATUS = re.compile(rb"HTTP/\d\.\d ([1-9]\d\d)(?: |\Z)")
_LENGTH = re.compile(rb"\d{1,19}")  # Content-Length: 1*DIGIT (19 digits fit in 64 bits)
# RFC 9112 section 7.1: chunk-size = 1*HEXDIG (at most 16 here: 64 bits), then chunk-ext =
# *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ); extensions are ignored.
# Trailing whitespace is tolerated; signs, "0x", inner spaces and underscores are not.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*[ \t]*"
)
USER_AGENT = "pytest-llmbench"

# Called with (body bytes, time of their read) for each piece of the body as it arrives; may raise
# to fail the request (the connection is then dropped).
BodySink = Callable[[bytes, float], None]


class Target(NamedTuple):
    """Where a URL's requests go. `path` includes the query; `host_header` excludes user info."""

    host: str
    port: int
    tls: bool
    path: str
    host_header: str


def target(url: str) -> Target:
    """Raises ValueError for a URL that is not http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cannot send to {url!r}: not an http(s) URL")
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        parts.hostname,
        parts.port or (443 if tls else 80),
        tls,
        path,
        parts.netloc.rpartition("@")[2],
    )


_HTTPX_SSL_CONTEXT: ssl.SSLContext | None = None


def httpx_ssl_context() -> ssl.SSLContext:
    """httpx's default SSL context (certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``),
    made once per process: loading the CA bundle takes tens of milliseconds, and httpx costs ~7 MB,
    so it is imported only for an https endpoint."""
    global _HTTPX_SSL_CONTEXT
    if _HTTPX_SSL_CONTEXT is None:
        import httpx

        _HTTPX_SSL_CONTEXT = httpx.create_ssl_context()
    return _HTTPX_SSL_CONTEXT


def request_head(method: str, where: Target, headers: dict[str, str]) -> bytes:
    """The request head up to the Content-Length value: append ``b"<length>\\r\\n\\r\\n" + body``."""
    lines = [
        f"{method} {where.path} HTTP/1.1",
        f"Host: {where.host_header}",
        "Accept: */*",
        f"User-Agent: {USER_AGENT}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")


class Response:
    """Incremental HTTP/1.1 response framing. Body bytes are kept with the time of their read,
    or handed to `sink` as they arrive."""

    __slots__ = (
        "body",
        "budget",
        "buffer",
        "chunk_left",
        "chunked",
        "complete",
        "future",
        "head",
        "inflate",
        "inflated",
        "inflater",
        "interim",
        "keep_alive",
        "raw_head",
        "reason",
        "remaining",
        "sent_at",
        "sink",
        "status",
        "trailer",
        "until_close",
    )

    def __init__(
        self,
        future: asyncio.Future[None],
        max_bytes: int,
        sink: BodySink | None = None,
        inflate: bool = False,
    ) -> None:
        self.future = future
        self.budget = ResponseBudget(max_bytes)
        self.head = True
        self.status = 0
        self.reason = ""
        self.raw_head = b""
        self.keep_alive = True
        self.chunked = False
        self.remaining = -1  # Content-Length bytes still due
        self.until_close = False
        self.buffer = b""
        self.body: list[tuple[float, bytes]] = []
        self.sink = sink
        self.complete = False
        self.chunk_left = 0  # bytes of the current chunk still due (+2 for its CRLF)
        self.trailer = False
        self.sent_at = 0.0
        self.inflate = inflate
        self.inflater: zlib._Decompress | None = None
        self.inflated = 0
        self.interim = 0  # 1xx heads read so far

    def header(self, name: str) -> str | None:
        """The first header `name` (case-insensitive) of the final head, or None."""
        wanted = name.lower().encode("latin-1")
        for line in self.raw_head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == wanted:
                return value.strip().decode("latin-1")
        return None

    def content(self) -> bytes:
        return b"".join(d for _, d in self.body)

    def feed(self, data: bytes, now: float) -> None:
        """Raises ResponseTooLarge past the cap, TransportFailure for a malformed response."""
        self.budget.add(len(data))
        self._feed(data, now)

    def _body(self, now: float, data: bytes) -> None:
        if self.inflater is not None:
            data = self._inflate(data)
            if not data:
                return
        if self.sink is None or self.status >= 400:  # an error reply's body is kept for its message
            self.body.append((now, data))
        else:
            self.sink(data, now)

    def _feed(self, data: bytes, now: float) -> None:
        if self.head:
            data = self.buffer + data if self.buffer else data
            start = 0
            while self.head:  # interim 1xx heads, then the final one; each pass consumes a head
                end = data.find(_HEAD_END, start)
                if end < 0:
                    if len(data) - start > MAX_HEAD_BYTES:
                        raise TransportFailure(
                            "bad_response",
                            f"the response head is longer than {MAX_HEAD_BYTES:,} bytes",
                        )
                    self.buffer = data[start:]
                    return
                self._parse_head(data[start:end])
                start = end + 4
                if self.head:
                    self.interim += 1
                    if self.interim > MAX_INTERIM_HEADS:
                        raise TransportFailure(
                            "bad_response",
                            f"more than {MAX_INTERIM_HEADS} interim (1xx) responses before the final one",
                        )
            self.buffer = b""
            data = data[start:]
        if self.chunked:
            self._feed_chunked(data, now)
        elif self.until_close:
            if data:
                self._body(now, data)
        else:
            if data:
                self._body(now, data[: self.remaining])
                self.remaining -= len(data)
            if self.remaining <= 0:
                self._finish()

    def _inflate(self, data: bytes) -> bytes:
        assert self.inflater is not None
        room = self.budget.limit - self.inflated
        out = self.inflater.decompress(data, room + 1)  # never more than one byte past the cap
        self.inflated += len(out)
        if self.inflated > self.budget.limit or self.inflater.unconsumed_tail:
            raise ResponseTooLarge(self.budget.limit)
        return out

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        matched = _STATUS.match(status_line)
        if matched is None:
            raise TransportFailure("bad_response", f"not an HTTP response: {status_line[:100]!r}")
        self.status = int(matched[1])
        if self.status == 101:  # no request of ours asks to upgrade
            raise TransportFailure("bad_response", "the server switched protocols (HTTP 101) unasked")
        if self.status < 200:
            return  # an interim response: stay in head mode
        self.head = False
        self.raw_head = head
        self.reason = status_line[13:].decode("latin-1").strip()
        self.keep_alive = not status_line.startswith(b"HTTP/1.0")
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                digits = value.strip()
                if _LENGTH.fullmatch(digits) is None or (length is not None and int(digits) != length):
                    raise TransportFailure("bad_response", f"bad Content-Length {digits[:40]!r}")
                length = int(digits)
                if length > self.budget.limit:
                    raise ResponseTooLarge(self.budget.limit)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
            elif name == b"connection":
                lowered = value.strip().lower()
                if lowered == b"close":
                    self.keep_alive = False
                elif lowered == b"keep-alive":
                    self.keep_alive = True
            elif name == b"content-encoding" and self.inflate:
                coding = value.strip().lower()
                if coding in (b"gzip", b"x-gzip", b"deflate"):
                    self.inflater = zlib.decompressobj(47 if coding != b"deflate" else 15)
                elif coding not in (b"", b"identity"):
                    raise TransportFailure("bad_response", f"unsupported Content-Encoding {coding[:40]!r}")
        if not self.chunked:
            if length is None:
                self.until_close = True
                self.keep_alive = False
            else:
                self.remaining = length
                if length == 0:
                    self._finish()

    def _feed_chunked(self, data: bytes, now: float) -> None:
        # Every pass of the loop moves `pos` forward (a line and its CRLF, or at least one byte of a
        # chunk) or returns: no input can make it spin.
        if self.buffer:
            data = self.buffer + data
            self.buffer = b""
        pos = 0
        size = len(data)
        while pos < size:
            if self.chunk_left > 0:
                left = self.chunk_left
                take = min(left, size - pos)
                payload_end = pos + take
                # the last two bytes of a chunk are its CRLF, not payload
                useful = min(payload_end, pos + max(left - 2, 0))
                if useful > pos:
                    self._body(now, data[pos:useful])
                if (
                    payload_end > useful
                    and data[useful:payload_end] != _CRLF[2 - min(left, 2) : 2 - min(left - take, 2)]
                ):
                    raise TransportFailure("bad_response", "a chunk's data is not followed by CRLF")
                self.chunk_left = left - take
                pos = payload_end
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                if size - pos > MAX_HEAD_BYTES:
                    what = "trailer" if self.trailer else "chunk-size"
                    raise TransportFailure("bad_response", f"a {what} line is longer than {MAX_HEAD_BYTES:,} bytes")
                self.buffer = data[pos:]
                return
            if self.trailer:
                # after the last chunk: optional trailer lines (ignored), then an empty line
                if end == pos:
                    self._finish()
                    return
                pos = end + 2
                continue
            line = data[pos:end]
            matched = _CHUNK_LINE.fullmatch(line)
            if matched is None:
                raise TransportFailure(
                    "bad_response",
                    f"bad chunk size line {line[:40]!r}: not 1 to 16 hex digits with optional ;extensions",
                )
            length = int(matched[1], 16)
            if length > self.budget.limit:
                raise ResponseTooLarge(self.budget.limit)
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
    __slots__ = ("closed", "idle_since", "response", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self.closed = False
        self.idle_since = 0.0

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
        except Exception as exc:
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
            elif isinstance(exc, OSError):
                response.fail(exc)  # a reset: ConnectionResetError, named by its cause
            else:
                failure = ServerClosedConnection("the server closed the connection before the response was complete")
                if exc is not None:
                    failure.__cause__ = exc
                response.fail(failure)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class HttpPool:
    """Keep-alive connections to any number of hosts, at most `connections` requests at once.
    Create and use it inside one event loop; `aclose()` at the end."""

    def __init__(
        self,
        connections: int,
        max_response_bytes: int,
        connect_timeout: float | None = None,
        inflate: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_expiry: float | None = None,
    ) -> None:
        self.connections = max(connections, 1)
        # An idle connection older than this is closed rather than reused: servers close idle
        # connections after a few seconds (uvicorn: 5 s), and a request written into a closing
        # one fails. None: keep them (perf, whose connections are never idle long).
        self.keepalive_expiry = keepalive_expiry
        self.inflate = inflate
        self.max_response_bytes = max_response_bytes
        self.connect_timeout = connect_timeout
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._slots: asyncio.Semaphore | None = None
        self._ssl = ssl_context  # None: asyncio's default context, made on the first https connection

    async def aclose(self) -> None:
        for conn in list(self._open):
            if conn.transport is not None:
                conn.transport.close()
        self._open.clear()
        self._idle.clear()

    async def _connect(self, where: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        if where.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        connecting = loop.create_connection(
            _Connection,
            where.host,
            where.port,
            ssl=self._ssl if where.tls else None,
            server_hostname=where.host if where.tls else None,
        )
        if self.connect_timeout is None:
            _, conn = await connecting
        else:
            _, conn = await asyncio.wait_for(connecting, self.connect_timeout)
        self._open.add(conn)
        return conn

    async def preconnect(self, where: Target, count: int) -> None:
        """Open up to `count` idle keep-alive connections to `where` (no request is sent); failures
        are left for the requests to report."""
        idle = self._idle.setdefault((where.host, where.port, where.tls), [])
        wanted = min(count, self.connections) - len(idle)

        async def one() -> None:
            try:
                idle.append(await self._connect(where))
            except (OSError, asyncio.TimeoutError):
                pass

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(max(wanted, 0)))), 30)

    async def _acquire(self, where: Target) -> _Connection:
        idle = self._idle.get((where.host, where.port, where.tls))
        while idle:
            conn = idle.pop()
            if not conn.closed and (
                self.keepalive_expiry is None or perf_counter() - conn.idle_since < self.keepalive_expiry
            ):
                return conn
            conn.abort()
            self._open.discard(conn)
        return await self._connect(where)

    def _release(self, where: Target, conn: _Connection, reuse: bool) -> None:
        conn.response = None
        if reuse and not conn.closed:
            conn.idle_since = perf_counter()
            self._idle.setdefault((where.host, where.port, where.tls), []).append(conn)
        else:
            conn.abort()
            self._open.discard(conn)

    def new_response(self, sink: BodySink | None = None) -> Response:
        """A response to pass to `request`, for a caller that wants its status even when it fails.
        `sink` receives the body of a reply with status < 400 as it arrives (not kept then)."""
        return Response(
            asyncio.get_running_loop().create_future(),
            self.max_response_bytes,
            sink,
            self.inflate,
        )

    async def request(
        self,
        where: Target,
        head: bytes,
        body: bytes = b"",
        response: Response | None = None,
    ) -> Response:
        """Send one request (`head` from `request_head`) and wait for its complete response.
        Raises what happened (see the module docstring); an HTTP error status is a Response."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.connections)
        async with self._slots:
            conn = await self._acquire(where)
            if response is None:
                response = self.new_response()
            conn.response = response
            reuse = False
            try:
                assert conn.transport is not None
                response.sent_at = perf_counter()
                conn.transport.write(head + str(len(body)).encode() + _HEAD_END + body)
                await response.future
                reuse = response.keep_alive
            finally:
                self._release(where, conn, reuse)
        return response


def reason_phrase(response: Response) -> str:
    """The server's reason phrase, or the standard one for the status."""
    if response.reason:
        return response.reason
    try:
        return http.HTTPStatus(response.status).phrase
    except ValueError:
        return ""
