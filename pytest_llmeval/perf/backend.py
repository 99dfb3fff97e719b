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

Error kinds: `http_<status>`, `timeout`, `connection_reset` (the server closed or reset the
connection before the response was complete), `connection_error` (could not connect),
`bad_response` (not JSON / not a completion), `stream_error` (an error event inside the stream),
`incomplete_stream` (the stream ended cleanly but without `[DONE]` or a finish reason),
`response_too_large` (the response passed `--llm-max-response-bytes`, default 16 MiB, counted after
decompression: an endless stream or a gzip bomb; the rule of `endpoint/response_cap.py`, shared
with the eval client, so reading stops there and memory stays bounded).
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncIterator, Callable
from time import perf_counter
from typing import Any

from ..endpoint.response_cap import DEFAULT_MAX_RESPONSE_BYTES, ERROR_KIND, ResponseBudget, ResponseTooLarge
from .metrics import RequestRecord

try:  # orjson parses SSE events ~3x faster; json is the fallback
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

ERROR_SNIPPET = 300


class RequestFailed(Exception):
    """Internal: one failed perf request, counted by ``kind`` in the level's figures; never reaches a
    user, so not in errors.py."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _error_message(status: int, body: bytes) -> str:
    text = body[:2000].decode("utf-8", "replace")
    try:
        payload = json.loads(text)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            text = str(payload["error"].get("message", payload["error"]))
        elif isinstance(payload, dict) and "message" in payload:
            text = str(payload["message"])
    except ValueError:
        pass
    return f"HTTP {status}: {text[:ERROR_SNIPPET]}"


class SSEParser:
    """Server-sent events of one chat stream -> the record's content-chunk times, text and usage.

    `feed(data, now)`: bytes in arrival order, each with the time its read returned; an event gets
    the time of the read that completed it. `close(now)` checks the stream ended properly."""

    __slots__ = ("done", "finished", "pending", "record")

    def __init__(self, record: RequestRecord) -> None:
        self.record = record
        self.pending: list[bytes] = []  # reads of a line not ended yet, joined once it ends
        self.done = False
        self.finished = False

    def feed(self, data: bytes, now: float) -> None:
        if b"\n" not in data:
            self.pending.append(data)  # not `buffer + data`: re-copying a long line per read is quadratic
            return
        if self.pending:
            self.pending.append(data)
            data = b"".join(self.pending)
        lines = data.split(b"\n")
        tail = lines.pop()
        self.pending = [tail] if tail else []
        record = self.record
        loads = _loads
        for line in lines:
            if line[:5] != b"data:":
                continue
            payload = line[5:]
            try:
                event = loads(payload)
            except ValueError:
                if payload.strip() == b"[DONE]":
                    self.done = True
                    record.end = now
                    continue
                raise RequestFailed("bad_response", f"stream event is not JSON: {payload[:ERROR_SNIPPET]!r}") from None
            if event.__class__ is not dict:
                raise RequestFailed("bad_response", f"stream event is not a JSON object: {payload[:ERROR_SNIPPET]!r}")
            choices = event.get("choices")
            if choices:
                choice = choices[0]
                delta = choice.get("delta")
                if delta is not None:
                    text = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
                else:
                    text = choice.get("text")
                if text:
                    if record.first_token is None:
                        record.first_token = now
                    record.chunk_times.append(now)
                    record.pieces.append(text)
                if choice.get("finish_reason"):
                    self.finished = True
            elif "error" in event:
                error = event["error"]
                message = error.get("message", error) if isinstance(error, dict) else error
                raise RequestFailed("stream_error", f"error event in the stream: {str(message)[:ERROR_SNIPPET]}")
            usage = event.get("usage")
            if usage:
                record.prompt_tokens = usage.get("prompt_tokens")
                record.completion_tokens = usage.get("completion_tokens")

    def close(self, now: float) -> None:
        if any(part.strip() for part in self.pending):
            self.feed(b"\n", now)
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
    try:
        payload = _loads(body)
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        text = message.get("content") or message.get("reasoning_content") or choice.get("text") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise RequestFailed("bad_response", f"not a chat completion: {body[:ERROR_SNIPPET]!r}") from None
    usage = payload.get("usage") or {}
    if not text:
        raise RequestFailed("no_output", NO_OUTPUT)
    record.pieces.append(text)
    record.prompt_tokens = usage.get("prompt_tokens")
    record.completion_tokens = usage.get("completion_tokens")


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) of a transport exception from aiohttp or httpx."""
    name = type(exc).__name__
    text = str(exc) or name
    if isinstance(exc, RequestFailed):
        return exc.kind, str(exc)
    if isinstance(exc, ResponseTooLarge):
        return ERROR_KIND, str(exc)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", "timed out"
    if isinstance(exc, ConnectionRefusedError) or name in ("ClientConnectorError", "ConnectError", "ConnectTimeout"):
        return "connection_error", f"cannot connect: {text}"
    if isinstance(exc, ConnectionResetError) or getattr(exc, "errno", None) in (errno.ECONNRESET, errno.EPIPE):
        return "connection_reset", f"connection reset: {text}"
    if name in ("ServerDisconnectedError", "ClientPayloadError", "RemoteProtocolError", "ReadError",
                "ClientOSError", "IncompleteRead", "TransferEncodingError", "ContentLengthError"):
        return "connection_reset", f"connection closed by the server: {text}"
    return "error", f"{name}: {text}"


class Backend:
    """An HTTP client bound to one chat URL, for one event loop. Use `async with`. A response longer
    than `max_response_bytes` fails as `response_too_large` (see the module docstring)."""

    def __init__(self, url: str, headers: dict[str, str], connections: int, timeout: float, transport: str = "aiohttp",
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.url = url
        self.max_response_bytes = max_response_bytes
        self.headers = {**headers, "Content-Type": "application/json"}
        self.connections = max(connections, 1)
        self.timeout = timeout
        self.transport = transport
        self._session: Any = None

    async def __aenter__(self) -> Backend:
        if self.transport == "aiohttp":
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=0, keepalive_timeout=120)
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))
        else:
            import httpx

            limits = httpx.Limits(max_connections=self.connections, max_keepalive_connections=self.connections,
                                  keepalive_expiry=120)
            if self.transport == "httpx-aiohttp":
                from httpx_aiohttp import AiohttpTransport

                self._session = httpx.AsyncClient(transport=AiohttpTransport(limits=limits), limits=limits, timeout=None)
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
                raise RequestFailed(f"http_{response.status}",
                                    _error_message(response.status, await read_body(response.content.iter_any(), budget)))
            if stream:
                await read_stream(response.content.iter_any(), record, budget)
            else:
                data = await read_body(response.content.iter_any(), budget)
                record.end = perf_counter()
                parse_completion(data, record)

    async def _send_httpx(self, body: bytes, stream: bool, record: RequestRecord) -> None:
        budget = ResponseBudget(self.max_response_bytes)
        async with self._session.stream("POST", self.url, content=body, headers=self.headers) as response:
            budget.declared(response.headers.get("Content-Length"))
            if response.status_code >= 400:
                raise RequestFailed(f"http_{response.status_code}",
                                    _error_message(response.status_code, await read_body(response.aiter_bytes(), budget)))
            if stream:
                await read_stream(response.aiter_bytes(), record, budget)
            else:
                data = await read_body(response.aiter_bytes(), budget)
                record.end = perf_counter()
                parse_completion(data, record)
