"""Async client for OpenAI-compatible chat endpoints: retries, streaming timings, typed responses.

It speaks httpx; the transport is aiohttp's (through `httpx-aiohttp`) because the stock httpx pool
costs several times more CPU per request under high concurrency (see bench/eval_throughput.py).

Failures are named by their cause (`endpoint/transport.py`), not by the transport's exception class.
When a request to a server the plugin started fails, the server is checked first: a dead server is a
:class:`~pytest_llmeval.errors.ServerDiedError` (never retried, never a per-item timeout).

Retries (tenacity): ``--llm-retries`` more attempts on 408/409/425/429/500/502/503/504 and transport errors,
waiting "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a uniform random
time in ``[0, min(30 s, 0.5 s * 2**attempt)]``, so requests that failed together do not retry together.
A ``Retry-After`` header (seconds or an HTTP date, RFC 9110 §10.2.3) replaces that wait, capped at 30 s.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

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
from ..redact import redact, redact_optional, register_secret
from ..settings import EndpointSettings
from .models import ChatResponse, Choice, Usage
from .response_cap import ResponseBudget, ResponseTooLarge, too_large_message
from .server import server_death, watched
from .transport import transport_error

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
BACKOFF_BASE_S = 0.5
_full_jitter = wait_random_exponential(multiplier=BACKOFF_BASE_S, max=MAX_BACKOFF_S)


def make_http_client(settings: EndpointSettings, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(settings.timeout_s, connect=min(settings.timeout_s, 30.0))
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # the stock transport still works, only slower
        return httpx.AsyncClient(limits=limits, timeout=timeout)
    return httpx.AsyncClient(transport=AiohttpTransport(limits=limits), limits=limits, timeout=timeout)


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

    def __init__(self, settings: EndpointSettings, connections: int | None = None) -> None:
        self.settings = settings
        self._http = make_http_client(settings, connections or settings.concurrency)
        self._headers = settings.headers()
        register_secret(settings.api_key.get_secret_value() if settings.api_key is not None else None)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_models(self) -> list[str]:
        """GET /models once, without retries: the preflight check that the endpoint is there.

        Raises EndpointUnreachableError or AuthenticationError, and EndpointNotFoundError for a 404
        when the base URL has no version segment (`http://host:8011` instead of `.../v1`); other
        statuses (some servers have no /models route) are not fatal and return an empty list.
        """
        url = self.settings.models_url
        started = time.monotonic()
        try:
            response = await self._http.get(url, headers=self._headers, timeout=10.0)
        except httpx.HTTPError as exc:
            error = transport_error(exc, self.settings.public_models_url, time.monotonic() - started, 10.0)
            fix = "" if "check --llm-base-url" in str(error) else "; check --llm-base-url and that the server is running"
            raise type(error)(f"cannot reach {self.settings.public_models_url}: {error}{fix}") from None
        if response.status_code in (401, 403):
            raise AuthenticationError(self.settings.require_base_url(), response.status_code)
        if response.status_code == 404 and base_url_hint(self.settings.require_base_url()).startswith("did you mean"):
            found = await self._answering_base_url(self.settings.require_base_url())
            raise EndpointNotFoundError("GET", self.settings.public_models_url, self.settings.require_base_url(), suggestion=found)
        if response.status_code != 200:
            return []
        try:
            return [m.get("id", "") for m in response.json().get("data", [])]
        except (ValueError, AttributeError):
            return []

    async def _answering_base_url(self, base_url: str) -> str | None:
        """After a 404 from `base_url/models`: the first of `base_url_candidates` whose `/models`
        answers (200, or 401/403 from a keyed server), so that the suggested fix is one that works
        (ollama's `/api` is its own API, its OpenAI routes are at `/v1`; OpenRouter's are at
        `/api/v1`). None when none answers."""
        for candidate in base_url_candidates(base_url):
            try:
                response = await self._http.get(f"{candidate}/models", headers=self._headers, timeout=5.0)
            except httpx.HTTPError:
                continue
            if response.status_code in (200, 401, 403):
                return candidate
        return None

    async def chat(self, body: dict[str, Any]) -> ChatResponse:
        """One chat completion with retries on 429/5xx/transport errors (full-jitter backoff,
        `Retry-After` honoured). Anything still failing raises an EndpointError; a server the plugin
        started that died raises ServerDiedError at once."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=_retry_wait,
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._chat_once(body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _chat_once(self, body: dict[str, Any]) -> ChatResponse:
        started = time.monotonic()
        try:
            try:
                return _redacted(await asyncio.wait_for(self._send(body), self.settings.timeout_s))
            except (asyncio.TimeoutError, httpx.HTTPError) as exc:
                raise transport_error(exc, self.settings.public_chat_url, time.monotonic() - started,
                                      self.settings.timeout_s) from None
        except (EndpointUnreachableError, RequestTimeoutError, ServerError, BadResponseError):
            # Whenever a request to a server we started fails, ask whether the server is still there.
            death = await asyncio.to_thread(server_death, self.settings.base_url) if watched(self.settings.base_url) else None
            if death is not None:
                raise death from None
            raise

    async def _send(self, body: dict[str, Any]) -> ChatResponse:
        started = time.perf_counter()
        if body.get("stream"):
            return await self._stream(body, started)
        # A body with a `prompt` is a text completion (log-likelihood scoring), one with `messages` a chat.
        url = self.settings.completions_url if "prompt" in body else self.settings.chat_url
        async with self._http.stream("POST", url, json=body, headers=self._headers) as streamed:
            response = await _read_capped(streamed, self.settings.max_response_bytes)
        _raise_for_status(response, self.settings)
        return _parse_completion(response, time.perf_counter() - started)

    async def _stream(self, body: dict[str, Any], started: float) -> ChatResponse:
        body = {**body, "stream_options": {"include_usage": True, **(body.get("stream_options") or {})}}
        texts: dict[int, list[str]] = {}
        reasonings: dict[int, list[str]] = {}
        finish: dict[int, str | None] = {}
        usage: dict[str, Any] | None = None
        model: str | None = None
        ttft: float | None = None
        chunks = 0  # content chunks: the token count when the server sends no usage (llama.cpp)
        async with self._http.stream("POST", self.settings.chat_url, json=body, headers=self._headers) as response:
            if response.status_code >= 400:
                _raise_for_status(await _read_capped(response, self.settings.max_response_bytes), self.settings)
            done = False
            async for line in _capped_lines(response, self.settings.max_response_bytes):
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise BadResponseError("stream chunk is not JSON", status=response.status_code,
                                           snippet=redact(data)) from None
                if "error" in chunk:
                    raise ServerError("server sent an error mid-stream", status=response.status_code, snippet=redact(data))
                model = chunk.get("model", model)
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    index = choice.get("index", 0)
                    delta = choice.get("delta") or {}
                    content = delta.get("content")
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    if (content or reasoning) and ttft is None:
                        ttft = time.perf_counter() - started
                    if content:
                        texts.setdefault(index, []).append(content)
                        chunks += 1
                    if reasoning:
                        reasonings.setdefault(index, []).append(reasoning)
                    if choice.get("finish_reason"):
                        finish[index] = choice["finish_reason"]
            if not done and not finish:
                raise BadResponseError("stream ended before [DONE]", status=response.status_code)
        indices = sorted(set(texts) | set(reasonings) | set(finish)) or [0]
        choices = [
            Choice(
                text="".join(texts.get(i, [])),
                reasoning="".join(reasonings[i]) if i in reasonings else None,
                finish_reason=finish.get(i),
            )
            for i in indices
        ]
        return ChatResponse(
            choices=choices, usage=Usage.from_openai(usage) if usage else Usage(completion_tokens=chunks),
            model=model, latency_s=time.perf_counter() - started, ttft_s=ttft,
        )


_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _too_large(limit: int, status: int) -> BadResponseError:
    return BadResponseError(too_large_message(limit), status=status)


async def _read_capped(response: httpx.Response, limit: int) -> httpx.Response:
    """The whole body of a streamed `response`, read while counting (`endpoint/response_cap.py`):
    past `limit` bytes it stops reading and raises BadResponseError, so memory stays bounded
    whatever the server sends."""
    budget = ResponseBudget(limit)
    parts: list[bytes] = []
    try:
        budget.declared(response.headers.get("content-length"))
        async for part in response.aiter_bytes():
            budget.add(len(part))
            parts.append(part)
    except ResponseTooLarge:
        raise _too_large(limit, response.status_code) from None
    # The parts are decoded already: the new response must not decode them again.
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(parts), request=response.request)


async def _capped_lines(response: httpx.Response, limit: int) -> Any:
    """`response.aiter_lines()` with at most `limit` bytes read in total (a line that never ends
    included), as UTF-8 text lines without their line ending."""
    budget = ResponseBudget(limit)
    pending = bytearray()
    async for part in response.aiter_bytes():
        try:
            budget.add(len(part))
        except ResponseTooLarge:
            raise _too_large(limit, response.status_code) from None
        pending += part
        end = pending.rfind(b"\n")
        if end < 0:
            continue
        for line in bytes(pending[:end]).split(b"\n"):
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
        del pending[: end + 1]
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", errors="replace")


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (EndpointUnreachableError, RequestTimeoutError)) or (
        isinstance(exc, ServerError) and exc.status in RETRY_STATUSES
    )


def _retry_wait(state: RetryCallState) -> float:
    """Seconds before the next attempt: the server's Retry-After if it sent one, else full jitter."""
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, EndpointError) and error.retry_after is not None:
        return float(min(max(error.retry_after, 0.0), MAX_BACKOFF_S))
    return float(_full_jitter(state))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


def _raise_for_status(response: httpx.Response, settings: EndpointSettings) -> None:
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise AuthenticationError(settings.require_base_url(), status)
    if status == 404:
        raise EndpointNotFoundError("POST", settings.public_chat_url, settings.require_base_url(), snippet=_error_text(response))
    raise ServerError(
        f"server answered {status} {response.reason_phrase}",
        status=status,
        snippet=_error_text(response),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _error_text(response: httpx.Response) -> str:
    """The error body, secrets redacted *before* it is cut to 300 characters (a cut key would survive)."""
    try:
        payload = response.json()
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            return redact(str(payload["error"].get("message", payload["error"])))
        return redact(json.dumps(payload))[:300]
    except ValueError:
        return redact(response.text)[:300]


def _redacted(response: ChatResponse) -> ChatResponse:
    """The response with configured secrets removed from every generated text."""
    if not redaction_active():
        return response
    choices = [
        choice.model_copy(update={"text": redact(choice.text), "reasoning": redact_optional(choice.reasoning)})
        for choice in response.choices
    ]
    return response.model_copy(update={"choices": choices})


def _parse_completion(response: httpx.Response, latency: float) -> ChatResponse:
    try:
        payload = response.json()
        raw_choices = payload["choices"]
        choices = []
        for raw in raw_choices:
            if "message" not in raw and "text" in raw:  # /v1/completions
                logprobs = raw.get("logprobs") if isinstance(raw.get("logprobs"), dict) else None
                finish = raw.get("finish_reason")
                choices.append(Choice(text=raw["text"] or "", finish_reason=finish, logprobs=logprobs))
                continue
            message = raw.get("message") or {}
            choices.append(
                Choice(
                    text=message.get("content") or "",
                    reasoning=message.get("reasoning_content") or message.get("reasoning"),
                    finish_reason=raw.get("finish_reason"),
                )
            )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadResponseError(
            "response is not a chat completion", status=response.status_code, snippet=redact(response.text)[:300]
        ) from None
    if not choices:
        raise BadResponseError("response has no choices", status=response.status_code, snippet=redact(response.text)[:300])
    return ChatResponse(
        choices=choices, usage=Usage.from_openai(payload.get("usage")), model=payload.get("model"), latency_s=latency
    )
