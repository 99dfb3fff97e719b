"""The `native` transport: the shared HTTP/1.1 client of `endpoint/native.py`, with perf's clock.

Why it is the default (see bench/perf_accuracy.py): a coroutine-based client (aiohttp, httpx) reads
a stream in a coroutine, so a chunk's timestamp is taken only when that coroutine gets its turn on
the event loop, after every other callback that became ready at the same time. Under load, streams
share a rhythm (all tokens every ITL), so each read queues behind a burst of others and TTFT/ITL
grow by the burst's processing time; requests are also written later than their `start`. The
shared client instead stamps every read inside `data_received` before any processing, and takes
`start` immediately before the request bytes go to the socket; here the SSE and JSON replies are
parsed after the response completed (`endpoint/wire.py` through `perf/backend.py`), outside the
timing path. About 3x less CPU per request than aiohttp.

Size: every byte a response sends counts against `max_response_bytes` (`endpoint/response_cap.py`);
past it the connection is dropped at once and the request fails as `response_too_large`.
Failures are named by `endpoint/transport.py`'s table (`connection_error`, `connection_reset`...).
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from ..endpoint import native
from ..settings import DEFAULT_MAX_RESPONSE_BYTES
from .backend import Backend, RequestFailed, SSEParser, _error_message
from .metrics import RequestRecord


class NativeBackend(Backend):
    """Same interface and error kinds as Backend; see the module docstring."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        connections: int,
        timeout: float,
        transport: str = "native",
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(url, headers, connections, timeout, transport, max_response_bytes)
        try:
            self.where = native.target(url)
        except ValueError as exc:
            raise RequestFailed("connection_error", str(exc)) from None
        self._head = native.request_head("POST", self.where, self.headers)
        self._pool: native.HttpPool | None = None

    async def __aenter__(self) -> NativeBackend:
        self._pool = native.HttpPool(self.connections, self.max_response_bytes)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def preconnect(self, count: int, url: str) -> None:
        """Open `count` keep-alive connections before the run (no request is sent)."""
        assert self._pool is not None
        await self._pool.preconnect(self.where, count)

    async def _send(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        assert self._pool is not None
        response = await self._pool.request(self.where, self._head, body)
        record.start = response.sent_at
        self._consume(response, stream, record)

    def _consume(self, response: native.Response, stream: bool, record: RequestRecord) -> None:
        """Parse the completed response (outside the timing path); raises RequestFailed."""
        if response.status >= 400:
            raise RequestFailed(f"http_{response.status}", _error_message(response.status, response.content()))
        last = response.body[-1][0] if response.body else perf_counter()
        if not stream:
            record.end = last
            self.parse(response.content(), record)
            return
        parser = SSEParser(record)
        for now, data in response.body:
            parser.feed(data, now)
        parser.close(last)


def make_backend(
    url: str,
    headers: dict[str, str],
    connections: int,
    timeout: float,
    transport: str,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> Any:
    """The Backend for `transport` (native, aiohttp, httpx-aiohttp, httpx); every one stops reading
    a response at `max_response_bytes` (`endpoint/response_cap.py`)."""
    if transport == "native":
        return NativeBackend(url, headers, connections, timeout, max_response_bytes=max_response_bytes)
    return Backend(url, headers, connections, timeout, transport, max_response_bytes)
