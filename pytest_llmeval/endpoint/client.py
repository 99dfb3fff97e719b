"""Async client for OpenAI-compatible chat endpoints: retries, streaming timings, typed responses.

Every request goes through the native HTTP/1.1 client of `endpoint/native.py`, the one the perf
load generator uses: 141 µs of CPU per request against 448 µs for the httpx-over-aiohttp client it
replaced (issue 31: a third of a zero-latency evaluation's CPU was that client). What the old client
gave is kept: keep-alive connections (at most ``--llm-concurrency``), http and https (TLS with
httpx's SSL context: certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), gzip/deflate
replies inflated under the response cap. Proxies are not used, as before (httpx ignores the proxy
variables when given a transport, and the aiohttp session it used did not read them either).

Requests and replies are read and written by `endpoint/wire.py` (the OpenAI wire format); failures
are named by their cause (`endpoint/transport.py`, one table), not by the transport's exception
class. When a request to a server the plugin started fails, the server is checked first: a dead
server is a :class:`~pytest_llmeval.errors.ServerDiedError` (never retried, never a per-item timeout).

Timeouts: connecting may take at most ``min(--llm-timeout, 30 s)``; the whole request (connect,
send, every byte of the answer) at most ``--llm-timeout``.

Retries (tenacity): ``--llm-retries`` more attempts on 408/409/425/429/500/502/503/504 and transport errors,
waiting "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a uniform random
time in ``[0, min(30 s, 0.5 s * 2**attempt)]``, so requests that failed together do not retry together.
A ``Retry-After`` header (seconds or an HTTP date, RFC 9110 §10.2.3) replaces that wait;
``retry-after-ms`` (milliseconds, sent by OpenAI and Azure OpenAI) is preferred when both are there.
Every wait between attempts, the server's or the backoff's, is at most ``min(30 s, --llm-timeout)``
(`adaptive.wait_bound`): a ``Retry-After`` of 100000 s or an HTTP date years ahead is waited 30 s
at most; one that is not a finite, non-negative number (``inf``, ``nan``, ``-5``) is ignored like an
unreadable header, and the jittered backoff applies.

Adaptive concurrency (`endpoint/adaptive.py`, ``--llm-adaptive-concurrency``): given the dispatcher's
`Permit`, each answer is reported to the in-flight gate (a success, or an overload answer: 429/503),
a backoff is waited out without holding a slot, and overload answers do not use up ``--llm-retries``
(a request gives up on them after ``--llm-timeout`` seconds in total).
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # tenacity is imported by the first retry (`_retrying`)
    from tenacity import RetryCallState

from ..errors import (
    AuthenticationError,
    BadResponseError,
    EndpointError,
    EndpointNotFoundError,
    EndpointUnreachableError,
    RequestTimeoutError,
    ServerError,
    base_url_hint,
)
from ..redact import active as redaction_active
from ..redact import redact, redact_optional, register_request_secrets, register_secret
from ..settings import EndpointSettings
from . import native, wire
from .adaptive import MAX_WAIT_S, OVERLOAD_STATUSES, Permit, bounded_wait, wait_bound
from .models import ChatResponse, Choice, Usage
from .pool_process import ProcessPool
from .response_cap import ResponseTooLarge, too_large_message
from .server import server_death, watched
from .transport import ServerClosedConnection, TransportFailure, transport_error

_T = TypeVar("_T")
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = MAX_WAIT_S  # the retry backoff's cap, and the longest Retry-After honoured (30 s)
BACKOFF_BASE_S = 0.5


def make_process_pool(settings: EndpointSettings, on_death: Callable[[str], None] | None = None) -> ProcessPool:
    """The chat requests' connections in a child process (`endpoint/pool_process.py`), set up as
    `make_pool`'s; `on_death` is told how the child ended if it ends before the run."""
    return ProcessPool(
        settings.concurrency,
        settings.max_response_bytes,
        httpx_tls=_is_https(settings),
        on_death=on_death,
        **_pool_options(settings),
    )


def make_pool(settings: EndpointSettings, connections: int) -> native.HttpPool:
    return native.HttpPool(
        connections,
        settings.max_response_bytes,
        # httpx's context only when this endpoint is https: it is all this client imports httpx for
        ssl_context=native.httpx_ssl_context() if _is_https(settings) else None,
        **_pool_options(settings),
    )


def _pool_options(settings: EndpointSettings) -> dict[str, Any]:
    """The `HttpPool` keywords both pools share: connect timeout, inflating, keep-alive expiry."""
    return {"connect_timeout": min(settings.timeout_s, 30.0), "inflate": True, "keepalive_expiry": KEEPALIVE_EXPIRY_S}


def _is_https(settings: EndpointSettings) -> bool:
    urls = [settings.base_url or "", *(replica.public for replica in settings.replicas)]
    return any(url.lower().startswith("https:") for url in urls)


KEEPALIVE_EXPIRY_S = 5.0  # idle connections older than this are not reused (httpx's default, as before)


# What a request can raise below the client, for `transport_error` to name.
_TRANSPORT_ERRORS = (OSError, asyncio.TimeoutError, ServerClosedConnection, TransportFailure)


class _Reply(NamedTuple):
    status: int
    reason: str
    retry_after: str | None
    retry_after_ms: str | None
    body: bytes  # the whole body; empty for a successful stream handed to its sink


def base_url_candidates(base_url: str) -> list[str]:
    """Base URLs to try when `base_url` (with no version segment) has no `/models`: `base_url/v1`
    (`http://host:8000` -> `http://host:8000/v1`), then the server root's `/v1` when `base_url` has
    a path (`http://host:11434/api` -> `http://host:11434/v1`, ollama's OpenAI routes)."""
    parts = urlsplit(base_url.rstrip("/"))
    candidates = [f"{base_url.rstrip('/')}/v1"]
    if parts.path.strip("/"):
        candidates.append(urlunsplit((parts.scheme, parts.netloc, "/v1", "", "")))
    return candidates


class ChatClient:
    """Sends chat requests to one endpoint. Create and use it inside one event loop."""

    def __init__(
        self, settings: EndpointSettings, connections: int | None = None, chat_pool: ProcessPool | None = None
    ) -> None:
        """`chat_pool`: make the chat and completion requests through this pool (the dispatcher's
        child process); the model list and other posts always go through the client's own."""
        self.settings = settings
        self._pool = make_pool(settings, connections or settings.concurrency)
        self._chat_pool: native.HttpPool | ProcessPool = chat_pool if chat_pool is not None else self._pool
        self._headers = settings.headers()
        self._heads: dict[tuple[str, str], tuple[native.Target, bytes]] = {}
        self._post_urls: dict[bool, str] = {}  # completion?: URL (settings are frozen; ~4 us a request)
        register_secret(settings.api_key.get_secret_value() if settings.api_key is not None else None)
        if settings.base_url is not None:  # the secrets of the URL (user info, `?api-key=`) as well
            auth = settings.base_url_auth.get_secret_value() if settings.base_url_auth is not None else None
            register_request_secrets(settings.url_parts.url(), self._headers, auth)

    async def aclose(self) -> None:
        await self._pool.aclose()
        if self._chat_pool is not self._pool:
            await self._chat_pool.aclose()

    async def _exchange(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        sink: native.BodySink | None = None,
        pool: native.HttpPool | ProcessPool | None = None,
    ) -> _Reply:
        """One request and its whole reply, read under the response cap (BadResponseError past it).
        `sink` gets the body of a reply with status < 400 as it arrives, with each read's time.
        `pool`: the connections to use (default: the client's own)."""
        pool = pool or self._pool
        head = self._heads.get((method, url))
        if head is None:
            try:
                where = native.target(url)
            except ValueError:  # settings accept only http(s) URLs: a request built elsewhere
                raise EndpointUnreachableError(redact(f"cannot send to {url}: not an http(s) URL")) from None
            head = self._heads[(method, url)] = (where, native.request_head(method, where, self._headers))
        response = pool.new_response(sink)
        try:
            await pool.request(head[0], head[1], body, response)
        except ResponseTooLarge:
            raise _too_large(self.settings.max_response_bytes, response.status or None) from None
        failed = response.status >= 400  # only a failure's Retry-After is read: no head parsing per answer
        return _Reply(
            response.status,
            native.reason_phrase(response),
            response.header("retry-after") if failed else None,
            response.header("retry-after-ms") if failed else None,
            response.content(),
        )

    async def list_models(self) -> list[str]:
        """GET /models once, without retries: the preflight check that the endpoint is there.

        Raises EndpointUnreachableError or AuthenticationError, and EndpointNotFoundError for a 404
        when the base URL has no version segment (`http://host:8011` instead of `.../v1`); other
        statuses (some servers have no /models route) are not fatal and return an empty list.
        """
        url = self.settings.models_url
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(self._exchange("GET", url), 10.0)
        except BadResponseError:
            return []
        except _TRANSPORT_ERRORS as exc:
            error = transport_error(exc, self.settings.public_models_url, time.monotonic() - started, 10.0)
            fix = (
                "" if "check --llm-base-url" in str(error) else "; check --llm-base-url and that the server is running"
            )
            raise type(error)(f"cannot reach {self.settings.public_models_url}: {error}{fix}") from None
        if response.status in (401, 403):
            raise AuthenticationError(self.settings.require_base_url(), response.status)
        if response.status == 404 and base_url_hint(self.settings.require_base_url()).startswith("did you mean"):
            found = await self._answering_base_url(self.settings.require_base_url())
            raise EndpointNotFoundError(
                "GET", self.settings.public_models_url, self.settings.require_base_url(), suggestion=found
            )
        if response.status != 200:
            return []
        try:
            return [m.get("id", "") for m in json.loads(response.body).get("data", [])]
        except (ValueError, AttributeError, RecursionError):
            return []

    async def _answering_base_url(self, base_url: str) -> str | None:
        """After a 404 from `base_url/models`: the first of `base_url_candidates` whose `/models`
        answers (200, or 401/403 from a keyed server), so that the suggested fix is one that works
        (ollama's `/api` is its own API, its OpenAI routes are at `/v1`; OpenRouter's are at
        `/api/v1`). None when none answers."""
        for candidate in base_url_candidates(base_url):
            try:
                response = await asyncio.wait_for(self._exchange("GET", f"{candidate}/models"), 5.0)
            except (BadResponseError, *_TRANSPORT_ERRORS):
                continue
            if response.status in (200, 401, 403):
                return candidate
        return None

    async def chat(self, body: dict[str, Any], permit: Permit | None = None) -> ChatResponse:
        """One chat completion with retries on 429/5xx/transport errors (full-jitter backoff,
        `Retry-After` honoured). Anything still failing raises an EndpointError; a server the plugin
        started that died raises ServerDiedError at once. `permit`: the dispatcher's slot in its
        in-flight gate, told of every answer (adaptive concurrency)."""
        adaptive = permit is not None and permit.adaptive
        # The first attempt outside tenacity: its per-call set-up took ~30 us of the client
        # thread's CPU per request (bench/eval_throughput.py), and almost every request
        # succeeds at once. A retryable failure is handed to tenacity below as its attempt 1,
        # so waits and the attempt count are the same as when tenacity made every attempt
        # (the adaptive stop rule counts its time from `started`).
        started = time.monotonic()
        try:
            return await self._attempt(body, permit)
        except Exception as exc:
            if not _retryable(exc) or self.settings.retries == 0:
                raise
            failed_first: BaseException | None = exc
        retrying = _retrying(
            _OverloadAwareStop(self.settings.retries, self.settings.timeout_s, started)
            if adaptive
            else self.settings.retries + 1,
            sleep=permit.pause if permit is not None else asyncio.sleep,
            max_wait_s=wait_bound(self.settings.timeout_s),
        )
        async for attempt in retrying:
            with attempt:
                if failed_first is not None:
                    failure, failed_first = failed_first, None
                    raise failure
                return await self._attempt(body, permit)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, body: dict[str, Any], permit: Permit | None) -> ChatResponse:
        """One request; the in-flight gate (`permit`) is told of its answer."""
        if permit is None:
            return await self._chat_once(body)
        try:
            response = await self._chat_once(body)
        except ServerError as exc:
            if exc.status in OVERLOAD_STATUSES:
                permit.overloaded(exc.status, exc.retry_after)
            raise
        permit.succeeded()
        return response

    async def _chat_once(self, body: dict[str, Any]) -> ChatResponse:
        started = time.monotonic()
        try:
            try:
                # the whole request, every byte included
                return _redacted(await _within(self._send(body), self.settings.timeout_s))
            except _TRANSPORT_ERRORS as exc:
                raise transport_error(
                    exc, self.settings.public_chat_url, time.monotonic() - started, self.settings.timeout_s
                ) from None
        except (EndpointUnreachableError, RequestTimeoutError, ServerError, BadResponseError):
            await self._raise_if_server_died()
            raise

    async def _send(self, body: dict[str, Any]) -> ChatResponse:
        if isinstance(self._chat_pool, ProcessPool):
            await self._chat_pool.ready()  # its start-up is no request's latency or TTFT
        started = time.perf_counter()
        if body.get("stream"):
            return await self._stream(body, started)
        url = self._post_url(wire.is_completion(body))
        reply = await self._exchange("POST", url, wire.encode(body), pool=self._chat_pool)
        _raise_for_status(reply, self.settings)
        latency = time.perf_counter() - started
        try:
            parsed = wire.read_completion(reply.body)
        except wire.WireError as exc:
            raise _wire_error(exc, reply.status) from None
        return ChatResponse(
            choices=[
                Choice(text=c.text, reasoning=c.reasoning, finish_reason=c.finish_reason, logprobs=c.logprobs)
                for c in parsed.choices
            ],
            usage=Usage.from_openai(parsed.usage),
            model=parsed.model,
            latency_s=latency,
        )

    def _post_url(self, completion: bool) -> str:
        url = self._post_urls.get(completion)
        if url is None:
            url = self._post_urls[completion] = self.settings.completions_url if completion else self.settings.chat_url
        return url

    async def _stream(self, body: dict[str, Any], started: float) -> ChatResponse:
        state = wire.StreamState()
        try:
            reply = await self._exchange(
                "POST", self._post_url(False), wire.encode(wire.with_stream(body, True)), state.feed, self._chat_pool
            )
        except wire.WireError as exc:  # raised by the stream's reader as the bytes arrived
            raise _wire_error(exc, 200) from None
        _raise_for_status(reply, self.settings)
        try:
            choices = state.close(time.perf_counter())
        except wire.WireError as exc:
            raise _wire_error(exc, reply.status) from None
        return ChatResponse(
            choices=[Choice(text=c.text, reasoning=c.reasoning, finish_reason=c.finish_reason) for c in choices],
            usage=Usage.from_openai(state.usage) if state.usage else Usage(completion_tokens=state.pieces),
            model=state.model,
            latency_s=time.perf_counter() - started,
            ttft_s=state.first_at - started if state.first_at is not None else None,
        )

    async def post_json(self, path: str, body: dict[str, Any], *, from_root: bool = False) -> tuple[bytes, float]:
        """POST `body` to `path` (``/embeddings`` or ``/rerank`` under the base URL; with `from_root`,
        under the server root: ``/rerank`` -> ``http://host:port/rerank``, TEI's route) with the
        chat path's retries, timeout, error names and dead-server check. Returns the reply body
        (status < 400) and its latency in seconds; the caller reads and validates the body."""
        retrying = _retrying(self.settings.retries + 1, max_wait_s=wait_bound(self.settings.timeout_s))
        if from_root:
            root = urlsplit(self.settings.require_base_url())
            public = url = urlunsplit((root.scheme, root.netloc, path, "", ""))
        else:
            public = self.settings.require_base_url() + path
            url = self.settings.url_parts.url(path)
        async for attempt in retrying:
            with attempt:
                return await self._post_once(url, public, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post_once(self, url: str, public: str, body: dict[str, Any]) -> tuple[bytes, float]:
        started = time.monotonic()
        try:
            try:
                reply = await _within(self._exchange("POST", url, wire.encode(body)), self.settings.timeout_s)
            except _TRANSPORT_ERRORS as exc:
                raise transport_error(exc, public, time.monotonic() - started, self.settings.timeout_s) from None
            _raise_for_status(reply, self.settings, public)
        except (EndpointUnreachableError, RequestTimeoutError, ServerError, BadResponseError):
            await self._raise_if_server_died()
            raise
        return reply.body, time.monotonic() - started

    async def _raise_if_server_died(self) -> None:
        """Whenever a request to a server we started fails, ask whether the server is still there:
        ServerDiedError (its exit, its log's tail) instead of the request's own error."""
        if watched(self.settings.base_url):
            death = await asyncio.to_thread(server_death, self.settings.base_url)
            if death is not None:
                raise death from None


async def _within(awaitable: Awaitable[_T], seconds: float) -> _T:
    """`awaitable`, or TimeoutError after `seconds`: `asyncio.timeout` on Python >= 3.11 (no extra
    task per request), `asyncio.wait_for` before."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


def _wire_error(exc: wire.WireError, status: int) -> EndpointError:
    """The eval error for a reply that breaks the wire format; the snippet redacted before it is cut."""
    snippet = redact(exc.snippet)[:300] if exc.snippet is not None else None
    if exc.kind == "stream_error":
        return ServerError(exc.reason, status=status, snippet=snippet)
    return BadResponseError(exc.reason, status=status, snippet=snippet)


def _too_large(limit: int, status: int | None) -> BadResponseError:
    return BadResponseError(too_large_message(limit), status=status)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (EndpointUnreachableError, RequestTimeoutError)) or (
        isinstance(exc, ServerError) and exc.status in RETRY_STATUSES
    )


def _is_overload(exc: BaseException | None) -> bool:
    return isinstance(exc, ServerError) and exc.status in OVERLOAD_STATUSES


# overload answers (429/503) one request may get per --llm-retries while adapting: a rate limit that
# clears is waited out, a prompt the server always refuses ends as an error instead of for --llm-timeout
OVERLOAD_TRIES_PER_RETRY = 16


class _OverloadAwareStop:
    """Adaptive concurrency's stop rule: `retries` more attempts for failures other than overload
    answers (429/503); overload answers are retried up to `retries * OVERLOAD_TRIES_PER_RETRY` times
    and until `timeout_s` seconds since the first attempt (the gate lowers the limit meanwhile).
    `retries` 0 means no retry of any kind."""

    def __init__(self, retries: int, timeout_s: float, started: float) -> None:
        """`started`: `time.monotonic()` of the first attempt."""
        self.retries = retries
        self.timeout_s = timeout_s
        self.started = started
        self.failures = 0
        self.overloads = 0

    def __call__(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome is not None else None
        if _is_overload(error):
            self.overloads += 1
            if self.overloads > self.retries * OVERLOAD_TRIES_PER_RETRY:
                return True
            return time.monotonic() - self.started >= self.timeout_s
        self.failures += 1
        return self.failures > self.retries


def _retrying(
    stop: int | Callable[[RetryCallState], bool],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    max_wait_s: float = MAX_BACKOFF_S,
) -> Any:
    """tenacity's retry loop with the client's wait (`_retry_wait`, at most `max_wait_s`) and rule
    (`_retryable`), the last failure re-raised; `stop`: how many attempts in all, or a stop rule.
    tenacity is imported here, by the first retry: ~4 ms of start-up that most runs never need."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    return AsyncRetrying(
        stop=stop_after_attempt(stop) if isinstance(stop, int) else stop,
        wait=functools.partial(_retry_wait, max_wait_s=max_wait_s),
        retry=retry_if_exception(_retryable),
        reraise=True,
        sleep=sleep,
    )


def _retry_wait(state: RetryCallState, max_wait_s: float = MAX_BACKOFF_S) -> float:
    """Seconds before the next attempt: the server's Retry-After if it sent a usable one, else full
    jitter; either way at most `max_wait_s` (`wait_bound`: 30 s, or ``--llm-timeout`` when shorter)."""
    bound = wait_bound(max_wait_s)
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, EndpointError):
        asked = bounded_wait(error.retry_after, bound)  # None: none sent, or not a finite delay >= 0
        if asked is not None:
            return asked
    from tenacity import wait_random_exponential

    return float(min(wait_random_exponential(multiplier=BACKOFF_BASE_S, max=MAX_BACKOFF_S)(state), bound))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3), at most
    `MAX_BACKOFF_S` (30 s: a larger number, or a date further ahead, is that cap); a date already
    past is 0. None when absent or invalid, and a number that is not finite and non-negative (``inf``,
    ``nan``, ``-5``: RFC 9110's delta-seconds are digits) is invalid: ignored like an unreadable
    header, so the client's jittered backoff applies instead."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return bounded_wait(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return bounded_wait(max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0))


def _retry_after_ms(value: str | None) -> float | None:
    """``retry-after-ms`` in seconds (OpenAI's header: a finer Retry-After), at most `MAX_BACKOFF_S`;
    None if absent or invalid (not a number, or not finite and non-negative, as `parse_retry_after`)."""
    if not value:
        return None
    try:
        milliseconds = float(value.strip())
    except ValueError:
        return None
    return bounded_wait(milliseconds / 1000.0)


def _raise_for_status(response: _Reply, settings: EndpointSettings, public_url: str | None = None) -> None:
    status = response.status
    if status < 400:
        return
    if status in (401, 403):
        raise AuthenticationError(settings.require_base_url(), status)
    if status in (404, 405, 501):  # no such route, or one that takes no POST (a static file server)
        raise EndpointNotFoundError(
            "POST",
            public_url or settings.public_chat_url,
            settings.require_base_url(),
            snippet=_error_text(response),
            status=status,
            reason=response.reason or "",
        )
    raise ServerError(
        f"server answered {status} {response.reason}",
        status=status,
        snippet=_error_text(response),
        retry_after=_retry_after_ms(response.retry_after_ms) or parse_retry_after(response.retry_after),
    )


def _error_text(response: _Reply) -> str:
    """The error body, secrets redacted *before* it is cut to 300 characters (a cut key would survive)."""
    try:
        payload = json.loads(response.body)
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            return redact(str(payload["error"].get("message", payload["error"])))
        return redact(json.dumps(payload))[:300]
    except (ValueError, RecursionError):
        return redact(response.body.decode("utf-8", "replace"))[:300]


def _redacted(response: ChatResponse) -> ChatResponse:
    """The response with configured secrets removed from every text the server sent: the generated texts,
    the finish reasons, the model name and the tokens of log-probabilities (all of them are cached)."""
    if not redaction_active():
        return response
    choices = [
        choice.model_copy(
            update={
                "text": redact(choice.text),
                "reasoning": redact_optional(choice.reasoning),
                "finish_reason": redact_optional(choice.finish_reason),
                "logprobs": _redacted_json(choice.logprobs),
            }
        )
        for choice in response.choices
    ]
    return response.model_copy(update={"choices": choices, "model": redact_optional(response.model)})


def _redacted_json(value: Any) -> Any:
    """A JSON value with every string in it (object keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted_json(v) for v in value]
    if isinstance(value, dict):
        return {redact(k): _redacted_json(v) for k, v in value.items()}
    return value
