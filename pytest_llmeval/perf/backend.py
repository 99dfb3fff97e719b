"""The load generator's HTTP client: one chat request -> one RequestRecord, with per-chunk times.

Timing rules (why the figures do not carry the client's own overhead):
  * `start` is taken just before the request is handed to the connection (bodies are pre-encoded
    bytes; connections are opened before the run by `preconnect`, so TCP setup is not in TTFT);
  * every read from the socket is stamped with `time.perf_counter()` when it returns, before its
    bytes are parsed; an SSE event gets the stamp of the read that completed it;
  * nothing else happens on the hot path (no tokenizer, no logging): token counting and
    statistics run after the level has finished.
No retries: a retried request would report a latency that no single request had.

Transports (`transport=`): `native` (default, `native.py`: asyncio Protocols, stamps inside
`data_received`; the only one whose TTFT stays exact under load, and the cheapest per request,
see bench/perf_accuracy.py and bench/perf_capacity.py), and for comparison the coroutine-based
`aiohttp`, `httpx-aiohttp` (httpx API on aiohttp's transport) and `httpx` (stock pool), which
stamp a read only when the reading coroutine gets its turn on the event loop.

The wire format (SSE and JSON replies) is read by `endpoint/wire.py` and transport failures are
named by the table of `endpoint/transport.py`, both shared with the eval client; this module only
adds the clock around them.

Error kinds: `http_<status>`, `timeout`, `connection_reset` (the server closed or reset the
connection before the response was complete), `connection_error` (could not connect: refused,
DNS, TLS),
`bad_response` (not JSON / not a completion), `stream_error` (an error event inside the stream),
`incomplete_stream` (the stream ended cleanly but without `[DONE]` or a finish reason),
`response_too_large` (the response passed `--llm-max-response-bytes`, default 16 MiB, counted after
decompression: an endless stream or a gzip bomb; the rule of `endpoint/response_cap.py`, shared
with the eval client, so reading stops there and memory stays bounded).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from time import perf_counter
from typing import Any

from ..endpoint import wire
from ..endpoint.models import token_count
from ..endpoint.response_cap import ResponseBudget
from ..endpoint.transport import TransportFailure, perf_failure
from ..settings import DEFAULT_MAX_RESPONSE_BYTES
from .metrics import RequestRecord

try:  # orjson parses SSE events ~3x faster; json is the fallback
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

ERROR_SNIPPET = wire.SNIPPET

# One failed perf request, counted by ``kind`` in the level's figures; never reaches a user, so not
# in errors.py. The same class the shared HTTP client and wire reader raise.
RequestFailed = TransportFailure


def _error_message(status: int, body: bytes) -> str:
    return f"HTTP {status}: {wire.error_message(body)[:ERROR_SNIPPET]}"


class SSEParser:
    """Server-sent events of one chat stream -> the record's content-chunk times, text and usage
    (the first choice; a reasoning piece counts as output like a content piece).

    `feed(data, now)`: bytes in arrival order, each with the time its read returned; an event gets
    the time of the read that completed it. `close(now)` checks the stream ended properly."""

    __slots__ = ("done", "finished", "lines", "record")

    def __init__(self, record: RequestRecord) -> None:
        self.record = record
        self.lines = wire.SSELines()
        self.done = False
        self.finished = False

    def feed(self, data: bytes, now: float) -> None:
        for payload in self.lines.feed(data):
            self._event(payload, now)

    def _event(self, payload: bytes, now: float) -> None:
        event = wire.read_event(payload, _loads)
        record = self.record
        if event is wire.DONE:
            self.done = True
            record.end = now
            return
        pieces = wire.deltas(event)
        if pieces:
            _, content, reasoning, finish = pieces[0]
            text = content or reasoning
            if text:
                if record.first_token is None:
                    record.first_token = now
                record.chunk_times.append(now)
                record.pieces.append(text)
            if finish:
                self.finished = True
        if event.get("usage"):
            _read_usage(event["usage"], record)

    def close(self, now: float) -> None:
        for payload in self.lines.close():
            self._event(payload, now)
        if not self.done:
            self.record.end = now
            if not self.finished:
                raise RequestFailed("incomplete_stream", "the stream ended without [DONE] or a finish_reason")
        if self.record.first_token is None:
            raise RequestFailed("no_output", NO_OUTPUT)


async def read_stream(chunks: AsyncIterator[bytes], record: RequestRecord, budget: ResponseBudget) -> None:
    """Consume an SSE body from an async byte iterator, stamping each read as it returns; past the
    budget's cap it stops with ResponseTooLarge."""
    parser = SSEParser(record)
    async for data in chunks:
        now = perf_counter()
        budget.add(len(data))
        parser.feed(data, now)
    parser.close(perf_counter())


async def read_body(chunks: AsyncIterator[bytes], budget: ResponseBudget) -> bytes:
    """A whole (decompressed) body, counted against the budget as it arrives."""
    parts: list[bytes] = []
    async for data in chunks:
        budget.add(len(data))
        parts.append(data)
    return b"".join(parts)


NO_OUTPUT = (
    "the response carried no content or reasoning token (a broken chat template or an immediate EOS); "
    "a failure, as vLLM's benchmark counts it"
)


def parse_completion(body: bytes, record: RequestRecord) -> None:
    """A whole reply: its first choice's content (or reasoning) and usage into `record`."""
    completion = wire.read_completion(body, _loads)
    first = completion.choices[0]
    text = first.text or first.reasoning or ""
    if not text:
        raise RequestFailed("no_output", NO_OUTPUT)
    record.pieces.append(text)
    _read_usage(completion.usage, record)


def _read_usage(usage: Any, record: RequestRecord) -> None:
    """The token counts of a usage object into `record`; a count that is not a whole number >= 0 (or a usage
    that is not an object) is left out, so the tokenizer or the estimate counts instead."""
    if isinstance(usage, dict):
        record.prompt_tokens = token_count(usage.get("prompt_tokens"))
        record.completion_tokens = token_count(usage.get("completion_tokens"))


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) of any exception a request raised: `endpoint/transport.py`'s table."""
    return perf_failure(exc)


class Backend:
    """An HTTP client bound to one chat URL, for one event loop. Use `async with`. A response longer
    than `max_response_bytes` fails as `response_too_large` (see the module docstring)."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        connections: int,
        timeout: float,
        transport: str = "aiohttp",
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.url = url
        self.max_response_bytes = max_response_bytes
        self.headers = {**headers, "Content-Type": "application/json"}
        self.connections = max(connections, 1)
        self.timeout = timeout
        self.transport = transport
        self._session: Any = None
        # how a whole (non-streamed) reply is read: a chat completion, or perf/embedding.py's parsers
        self.parse: Callable[[bytes, RequestRecord], None] = parse_completion

    async def __aenter__(self) -> Backend:
        if self.transport == "aiohttp":
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=0, keepalive_timeout=120)
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
        else:
            import httpx

            limits = httpx.Limits(
                max_connections=self.connections, max_keepalive_connections=self.connections, keepalive_expiry=120
            )
            if self.transport == "httpx-aiohttp":
                from httpx_aiohttp import AiohttpTransport

                self._session = httpx.AsyncClient(
                    transport=AiohttpTransport(limits=limits), limits=limits, timeout=None
                )
            else:
                self._session = httpx.AsyncClient(limits=limits, timeout=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            if self.transport == "aiohttp":
                await self._session.close()
            else:
                await self._session.aclose()
            self._session = None

    async def preconnect(self, count: int, url: str) -> None:
        """Open up to `count` keep-alive connections with concurrent GETs of `url` (the model
        list), so connection setup is not measured. Failures are ignored: this is only a warm-up."""

        async def one() -> None:
            try:
                budget = ResponseBudget(self.max_response_bytes)
                if self.transport == "aiohttp":
                    async with self._session.get(url, headers=self.headers) as response:
                        await read_body(response.content.iter_any(), budget)
                else:
                    async with self._session.stream("GET", url, headers=self.headers) as response:
                        await read_body(response.aiter_bytes(), budget)
            except Exception:
                pass

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(min(count, self.connections)))), 30)

    async def request(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        """Send one request; fills `record` (timings, usage, or error kind and text). Never raises
        for a failed request."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            if task is not None:
                task.cancel()

        timer = loop.call_later(self.timeout, expire)
        record.start = perf_counter()
        try:
            await self._send(body, stream, record)
        except asyncio.CancelledError:
            if not expired:
                raise
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            record.error_kind, record.error = "timeout", f"no complete response within {self.timeout:g} s (timeout=)"
        except Exception as exc:
            record.error_kind, record.error = classify(exc)
        finally:
            timer.cancel()
        if not record.end:
            record.end = perf_counter()

    async def _send(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        if self.transport == "aiohttp":
            await self._send_aiohttp(body, stream, record)
        else:
            await self._send_httpx(body, stream, record)

    async def _send_aiohttp(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        budget = ResponseBudget(self.max_response_bytes)
        async with self._session.post(self.url, data=body, headers=self.headers) as response:
            budget.declared(response.headers.get("Content-Length"))
            # iter_any() yields the body decompressed, so a gzip bomb is counted as what it inflates to
            if response.status >= 400:
                raise RequestFailed(
                    f"http_{response.status}",
                    _error_message(response.status, await read_body(response.content.iter_any(), budget)),
                )
            if stream:
                await read_stream(response.content.iter_any(), record, budget)
            else:
                data = await read_body(response.content.iter_any(), budget)
                record.end = perf_counter()
                self.parse(data, record)

    async def _send_httpx(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        budget = ResponseBudget(self.max_response_bytes)
        async with self._session.stream("POST", self.url, content=body, headers=self.headers) as response:
            budget.declared(response.headers.get("Content-Length"))
            if response.status_code >= 400:
                raise RequestFailed(
                    f"http_{response.status_code}",
                    _error_message(response.status_code, await read_body(response.aiter_bytes(), budget)),
                )
            if stream:
                await read_stream(response.aiter_bytes(), record, budget)
            else:
                data = await read_body(response.aiter_bytes(), budget)
                record.end = perf_counter()
                self.parse(data, record)
