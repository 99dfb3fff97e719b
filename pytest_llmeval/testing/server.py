"""Fake OpenAI-compatible server on raw asyncio: fast, with precisely injected timings and faults.

Run it as a process::

    python -m pytest_llmeval.testing.server --port 8000 --latency 0.2 --ttft 0.05 --itl 0.01 \\
        --output-tokens 16 --config config.json

It prints ``http://HOST:PORT/v1`` on stdout once it accepts connections (``--port 0``, the
default, picks a free port). ``FakeOpenAIServer`` (in ``_process.py``) wraps exactly this.

Design notes (why it is fast and why its timings are trustworthy):
  * One ``asyncio.Protocol`` per connection and no coroutine per request: a response due later is
    one ``loop.call_at`` timer, a stream is a chain of timers whose deadlines are absolute
    (arrival + ttft + i*itl), so lateness of one token never shifts the next; a stream's chunks
    are rendered when due, so many streams arriving together do not stall the loop.
  * The event loop waits with microsecond resolution (``_PreciseEpollSelector``) instead of
    epoll's whole milliseconds; timers fire ``timer_lead_s`` early to absorb wake-up latency.
  * The realised TTFT / mean ITL / latency of every response is kept for ``GET /_stats``.
  * "Arrival" is when the server read the whole request: if the OS keeps the server off the CPU
    (a loaded machine), the whole schedule shifts by that delay. Compare medians, not maxima.
Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/completions``,
``POST /v1/embeddings``, ``POST /v1/rerank`` and ``POST /rerank`` (``_vectors.py``),
``GET /_stats``, ``POST /_reset`` (the two ``/_`` endpoints are never counted nor authenticated).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import select
import selectors
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._config import FakeServerConfig
from ._http import CONTINUE, LAST_CHUNK, HttpError, HttpRequest, RequestParser, chunk, response_head
from ._payloads import (
    ChatChunks,
    StreamScript,
    TextChunks,
    chat_completion_body,
    dumps,
    error_body,
    loads,
    models_body,
    prompt_logprobs,
    text_completion_body,
    usage,
)
from ._responder import GenerationLimits, OutputPlan, Prompt, chat_prompt, completion_prompt, plan_output
from ._stats import ServerStats

_JSON = "application/json"
_SSE = "text/event-stream"
_MALFORMED_BODY = b'this is not JSON {"choices": [{"message": '
_MALFORMED_EVENT = 'data: {"choices": [{"delta": not json\n\n'
_CONTROL_PATHS = frozenset({"/_stats", "/_reset"})
_MAX_N = 128


class _Connection(asyncio.Protocol):
    """One client connection: parses requests in order and lets ``FakeServerApp`` answer them.

    While a response is pending (``busy``) further pipelined requests wait in the parser buffer.
    """

    __slots__ = ("_processing", "app", "busy", "closed", "counted", "parser", "timer", "transport")

    def __init__(self, app: FakeServerApp) -> None:
        self.app = app
        self.transport: asyncio.Transport | None = None
        self.parser = RequestParser()
        self.busy = False
        self.closed = False
        self.counted = False  # the pending request is part of in_flight
        self.timer: asyncio.TimerHandle | None = None
        self._processing = False

    # asyncio callbacks ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.app.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        if not self.busy and not self._processing:
            self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.busy:
            self._release()
        self.app.connections.discard(self)

    # request loop ----------------------------------------------------------------------------
    def _process(self) -> None:
        self._processing = True
        try:
            while not self.busy and not self.closed:
                try:
                    request = self.parser.next_request(self.app.loop.time())
                except HttpError as err:
                    self.busy = True
                    self.respond(err.status, error_body(err.status, err.message), keep_alive=False)
                    return
                if request is None:
                    if self.parser.continue_due:
                        self.parser.continue_due = False
                        self.write(CONTINUE)
                    return
                self.busy = True
                self.app.handle(self, request)
        finally:
            self._processing = False

    def _release(self) -> None:
        self.busy = False
        if self.counted:
            self.counted = False
            self.app.stats.in_flight -= 1

    def finish(self, keep_alive: bool) -> None:
        """The pending response is completely written."""
        self.timer = None
        self._release()
        if not keep_alive:
            self.close()
        elif self.parser.buf and not self._processing:
            self._process()

    # output helpers --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()  # flushes what was written, then FIN

    def respond(
        self,
        status: int,
        body: bytes,
        *,
        keep_alive: bool,
        content_type: str = _JSON,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Write a complete response now and finish the request."""
        if self.counted:
            self.app.count_status(status)
        head = response_head(
            status, content_type, content_length=len(body), close=not keep_alive, extra_headers=extra_headers
        )
        self.write(head + body)
        self.finish(keep_alive)

    def deliver_at(self, when: float, data: bytes, keep_alive: bool, arrival: float, then_close: bool) -> None:
        """Write ``data`` (a full response) at loop time ``when``, recording the realised latency."""
        self.app.at(self, when, self._deliver, data, keep_alive, arrival, then_close)

    def _deliver(self, data: bytes, keep_alive: bool, arrival: float, then_close: bool) -> None:
        self.app.stats.latencies.append(self.app.loop.time() - arrival)
        self.write(data)
        self.finish(keep_alive and not then_close)


class _StreamJob:
    """Writes a stream's chunks at absolute deadlines start + i*itl, rendering each when due.

    ``truncated`` streams stop after half their writes and close without the terminating chunk.
    """

    __slots__ = ("arrival", "conn", "first_at", "index", "itl", "keep_alive", "script", "start", "truncated", "writes")

    def __init__(
        self,
        conn: _Connection,
        script: StreamScript | None,
        writes: int,
        start: float,
        itl: float,
        arrival: float,
        keep_alive: bool,
        truncated: bool,
    ) -> None:
        self.conn = conn
        self.script = script  # None: the malformed stream
        self.writes = writes
        self.start = start
        self.itl = itl
        self.arrival = arrival
        self.keep_alive = keep_alive
        self.truncated = truncated
        self.index = 0
        self.first_at = 0.0

    def _payload(self, index: int) -> bytes:
        script = self.script
        if script is None:
            return chunk((_MALFORMED_EVENT + "data: [DONE]\n\n").encode()) + LAST_CHUNK
        if self.itl == 0:  # nothing to space out: one write
            count = max(1, script.writes // 2) if self.truncated else script.writes
            text = "".join(script.render(t, with_tail=not self.truncated) for t in range(count))
        else:
            text = script.render(index, with_tail=not self.truncated)
        data = chunk(text.encode("utf-8"))
        return data + LAST_CHUNK if index == self.writes - 1 and not self.truncated else data

    def step(self) -> None:
        conn = self.conn
        if conn.closed:
            return
        app = conn.app
        loop = app.loop
        if self.index == 0:
            self.first_at = loop.time()
        while True:
            conn.write(self._payload(self.index))
            self.index += 1
            if self.index >= self.writes:
                break
            fire = self.start + self.index * self.itl - app.timer_lead
            if fire > loop.time():
                conn.timer = loop.call_at(fire, self.step)
                return
            # overdue (the loop was stalled): catch up in this call rather than recursing
        if not self.truncated:
            now = loop.time()
            mean_itl = (now - self.first_at) / (self.index - 1) if self.index > 1 else 0.0
            app.stats.stream_timings.append((self.first_at - self.arrival, mean_itl, self.index))
        conn.finish(self.keep_alive and not self.truncated)


class FakeServerApp:
    """Routing, authentication, fault injection and the OpenAI endpoints."""

    def __init__(self, config: FakeServerConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.stats = ServerStats(config.keep_chat_bodies)
        self.connections: set[_Connection] = set()
        self._ids = itertools.count(1)
        self.timer_lead = config.timer_lead_s
        self._auth = f"Bearer {config.require_api_key}" if config.require_api_key is not None else None
        self._models = models_body(config.model, int(time.time()))
        self._routes: dict[tuple[str, str], Callable[[_Connection, HttpRequest], None]] = {
            ("GET", "/v1/models"): self._list_models,
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/completions"): self._completions,
            ("POST", "/v1/embeddings"): self._vectors,
            ("POST", "/v1/rerank"): self._vectors,
            ("POST", "/rerank"): self._vectors,
            ("GET", "/_stats"): self._get_stats,
            ("POST", "/_reset"): self._reset,
        }
        self._paths = {path for _, path in self._routes}

    # scheduling --------------------------------------------------------------------------
    def at(self, conn: _Connection, when: float, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback`` at loop time ``when`` (fired ``timer_lead_s`` early), or now if due."""
        fire = when - self.timer_lead
        if fire <= self.loop.time():
            callback(*args)
        else:
            conn.timer = self.loop.call_at(fire, callback, *args)

    def count_status(self, status: int) -> None:
        statuses = self.stats.statuses
        statuses[status] = statuses.get(status, 0) + 1

    # dispatch ----------------------------------------------------------------------------
    def handle(self, conn: _Connection, req: HttpRequest) -> None:
        route = self._routes.get((req.method, req.path))
        if req.path in _CONTROL_PATHS and route is not None:
            route(conn, req)
            return
        stats = self.stats
        stats.total_requests += 1
        key = f"{req.method} {req.path}"
        stats.endpoints[key] = stats.endpoints.get(key, 0) + 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        conn.counted = True
        if route is None:
            if req.path in self._paths:
                self._error(conn, req, 405, f"method {req.method} is not allowed on {req.path}")
            else:
                known = ", ".join(sorted(self._paths - _CONTROL_PATHS))
                self._error(conn, req, 404, f"no route {req.method} {req.path}; this server serves {known}")
            return
        if self._auth is not None and req.headers.get("authorization") != self._auth:
            self._error(
                conn,
                req,
                401,
                "Incorrect API key provided: send 'Authorization: Bearer <key>' "
                "with the key the fake server was started with (require_api_key)",
            )
            return
        route(conn, req)

    def _error(
        self,
        conn: _Connection,
        req: HttpRequest,
        status: int,
        message: str,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        conn.respond(status, error_body(status, message), keep_alive=req.keep_alive, extra_headers=extra_headers)

    # control endpoints ------------------------------------------------------------------------
    def _get_stats(self, conn: _Connection, req: HttpRequest) -> None:
        conn.respond(200, dumps(self.stats.snapshot()), keep_alive=req.keep_alive)

    def _reset(self, conn: _Connection, req: HttpRequest) -> None:
        self.stats.reset(in_flight=self.stats.in_flight)
        conn.respond(200, b'{"reset":true}', keep_alive=req.keep_alive)

    # OpenAI endpoints -------------------------------------------------------------------------
    def _list_models(self, conn: _Connection, req: HttpRequest) -> None:
        conn.respond(200, self._models, keep_alive=req.keep_alive)

    def _parse_body(self, conn: _Connection, req: HttpRequest) -> dict[str, Any] | None:
        try:
            body = loads(req.body)
        except (ValueError, UnicodeDecodeError) as err:
            self._error(conn, req, 400, f"request body is not valid JSON: {err}")
            return None
        if not isinstance(body, dict):
            self._error(conn, req, 400, "request body must be a JSON object")
            return None
        return body

    def _common_params(
        self, conn: _Connection, req: HttpRequest, body: dict[str, Any]
    ) -> tuple[int, GenerationLimits] | None:
        n = body.get("n")
        if n is None:
            n = 1
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX_N:
            self._error(conn, req, 400, f"n must be an integer between 1 and {_MAX_N}, got {n!r}")
            return None
        if self.config.ignore_n:
            n = 1
        try:
            limits = GenerationLimits.from_body(body)
        except ValueError as err:
            self._error(conn, req, 400, str(err))
            return None
        return n, limits

    def _chat(self, conn: _Connection, req: HttpRequest) -> None:
        body = self._parse_body(conn, req)
        if body is None:
            return
        self.stats.count_body(self.stats.chat_by_body_sha256, req.body, body)
        if self.stats.keep_bodies:
            self.stats.chat_bodies.append(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            self._error(conn, req, 400, "'messages' must be a non-empty list of {role, content} objects")
            return
        params = self._common_params(conn, req, body)
        if params is None:
            return
        n, limits = params
        prompt = chat_prompt(messages)
        fault = self._fault(conn, req, prompt)
        if fault == "answered":
            return
        plan = plan_output(self.config, prompt, limits)
        reasoning = len(plan.reasoning) * n if self.config.reasoning_tokens_in_usage else 0
        cid, created = f"chatcmpl-{next(self._ids):x}", int(time.time())
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            chunks = ChatChunks(cid, created, self.config.model, include_usage)
            usage_obj = usage(prompt.prompt_tokens, plan.completion_tokens * n, reasoning) if include_usage else None
            self._stream(conn, req, StreamScript(chunks, [plan] * n, usage_obj), fault)
        else:
            data = chat_completion_body(cid, created, self.config.model, plan, n, prompt.prompt_tokens, reasoning)
            self._respond_later(conn, req, data, fault)

    def _completions(self, conn: _Connection, req: HttpRequest) -> None:
        body = self._parse_body(conn, req)
        if body is None:
            return
        self.stats.count_body(self.stats.completions_by_body_sha256, req.body, body)
        raw = body.get("prompt")
        prompts = [raw] if isinstance(raw, str) else raw
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            self._error(conn, req, 400, "'prompt' must be a string or a non-empty list of strings")
            return
        params = self._common_params(conn, req, body)
        if params is None:
            return
        n, limits = params
        parsed = [completion_prompt(p) for p in prompts]
        joined = Prompt(
            last_user=parsed[-1].last_user,
            full_text="\n".join(p.full_text for p in parsed),
            prompt_tokens=sum(p.prompt_tokens for p in parsed),
        )
        fault = self._fault(conn, req, joined)
        if fault == "answered":
            return
        plans = [plan_output(self.config, p, limits, with_reasoning=False) for p in parsed]
        cid, created = f"cmpl-{next(self._ids):x}", int(time.time())
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            chunks = TextChunks(cid, created, self.config.model, include_usage)
            choice_plans: list[OutputPlan] = [plan for plan in plans for _ in range(n)]
            completion_tokens = sum(p.completion_tokens for p in choice_plans)
            usage_obj = usage(joined.prompt_tokens, completion_tokens) if include_usage else None
            self._stream(conn, req, StreamScript(chunks, choice_plans, usage_obj), fault)
        elif body.get("echo") and body.get("logprobs") is not None:
            data = self._echoed(cid, created, prompts, plans, joined.prompt_tokens)
            self._respond_later(conn, req, data, fault)
        else:
            data = text_completion_body(cid, created, self.config.model, plans, n, joined.prompt_tokens)
            self._respond_later(conn, req, data, fault)

    def _vectors(self, conn: _Connection, req: HttpRequest) -> None:
        """/v1/embeddings, /v1/rerank and /rerank (testing/_vectors.py); answered after `latency_s`."""
        from ._vectors import embeddings_reply, rerank_reply

        body = self._parse_body(conn, req)
        if body is None:
            return
        reply = embeddings_reply if req.path.endswith("/embeddings") else rerank_reply
        model = str(body.get("model"))
        self.stats.vector_models[model] = self.stats.vector_models.get(model, 0) + 1
        status, payload = reply(self.config, body)
        if status != 200:
            self._error(conn, req, status, payload["message"])
            return
        # the fault rules apply here too, matching the inputs (or the query and documents) joined
        raw = body.get("input", [body.get("query", ""), *(body.get("documents") or body.get("texts") or [])])
        text = "\n".join(map(str, raw if isinstance(raw, list) else [raw]))
        fault = self._fault(conn, req, Prompt(last_user=text, full_text=text, prompt_tokens=0))
        if fault == "answered":
            return
        # the stdlib writes NaN as NaN (the hostile mode's point), where orjson would write null
        self._respond_later(conn, req, json.dumps(payload, separators=(",", ":")).encode(), fault)

    def _echoed(self, cid: str, created: int, prompts: list[str], plans: list[OutputPlan], prompt_tokens: int) -> bytes:
        """echo + logprobs: each choice's text is its prompt plus the reply's first token, with the prompt's
        known log-probabilities (``prompt_logprobs`` / ``token_logprobs`` in the config)."""
        choices: list[dict[str, Any]] = []
        for prompt, plan in zip(prompts, plans, strict=False):
            generated = plan.content[0] if plan.content else ""
            logprobs = prompt_logprobs(prompt, generated, self.config.prompt_logprobs, self.config.token_logprobs)
            text = prompt + generated
            choices.append({"index": len(choices), "text": text, "logprobs": logprobs, "finish_reason": "length"})
        return dumps(
            {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": self.config.model,
                "choices": choices,
                "usage": usage(prompt_tokens, len(choices)),
            }
        )

    # faults ---------------------------------------------------------------------------------
    def _fault(self, conn: _Connection, req: HttpRequest, prompt: Prompt) -> str | None:
        """Apply fault injection. Returns "answered" when the request was dealt with here,
        "malformed"/"truncate" when the normal path must corrupt its output, else None."""
        cfg = self.config
        stats = self.stats
        stats.generation_requests += 1
        index = stats.generation_requests
        stats.arrival_in_flight.append(stats.in_flight)
        if cfg.max_concurrency is not None and stats.in_flight > cfg.max_concurrency:
            self._fail(conn, req, "overload", cfg.overload_status, cfg.retry_after_s)
            return "answered"
        text = prompt.full_text
        if any(s in text for s in cfg.hang):
            self._count_fault("hang")
            return "answered"  # stays busy until the client closes the connection
        if any(s in text for s in cfg.drop_connection):
            self._count_fault("drop_connection")
            conn.close()
            return "answered"
        for rule in cfg.fail_rules:
            if rule.contains in text:
                self._fail(conn, req, "fail_rule", rule.status, rule.retry_after_s)
                return "answered"
        if any(s in text for s in cfg.malformed):
            self._count_fault("malformed")
            return "malformed"
        if any(s in text for s in cfg.truncate):
            self._count_fault("truncate")
            return "truncate"
        if index <= cfg.fail_first_n:
            self._fail(conn, req, "fail_first_n", cfg.fail_status, cfg.retry_after_s)
            return "answered"
        if cfg.fail_every_k and index % cfg.fail_every_k == 0:
            self._fail(conn, req, "fail_every_k", cfg.fail_status, cfg.retry_after_s)
            return "answered"
        return None

    def _count_fault(self, kind: str) -> None:
        self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1

    def _fail(self, conn: _Connection, req: HttpRequest, kind: str, status: int, retry_after: float | None) -> None:
        self._count_fault(kind)
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None:
            headers = (("Retry-After", str(math.ceil(retry_after))), ("retry-after-ms", str(int(retry_after * 1000))))
        self._error(conn, req, status, f"injected failure ({kind}): HTTP {status}", headers)

    # delivery -----------------------------------------------------------------------------------
    def _load_delay(self) -> float:
        """``delay_per_in_flight_s`` times the requests in flight now (this one included)."""
        return self.config.delay_per_in_flight_s * self.stats.in_flight

    def _respond_later(self, conn: _Connection, req: HttpRequest, data: bytes, fault: str | None) -> None:
        self.count_status(200)
        truncated = fault == "truncate"
        if fault == "malformed":
            data = _MALFORMED_BODY
        head = response_head(200, _JSON, content_length=len(data), close=not req.keep_alive or truncated)
        payload = head + (data[: len(data) // 2] if truncated else data)
        delay = self.config.latency_s + self._load_delay()
        conn.deliver_at(req.arrival + delay, payload, req.keep_alive, req.arrival, truncated)

    def _stream(self, conn: _Connection, req: HttpRequest, script: StreamScript, fault: str | None) -> None:
        self.count_status(200)
        cfg = self.config
        truncated = fault == "truncate"
        if fault == "malformed":
            job_script: StreamScript | None = None
            writes = 1
        else:
            job_script = script
            if cfg.itl_s == 0:
                writes = 1
            elif truncated:
                writes = max(1, script.writes // 2)
            else:
                writes = script.writes
        conn.write(response_head(200, _SSE, close=not req.keep_alive or truncated))
        start = req.arrival + cfg.ttft_s + self._load_delay()
        job = _StreamJob(conn, job_script, writes, start, cfg.itl_s, req.arrival, req.keep_alive, truncated)
        self.at(conn, start, job.step)


# process entry point ------------------------------------------------------------------------------


class _PreciseEpollSelector(selectors.EpollSelector):
    """epoll_wait() rounds timeouts up to whole milliseconds, so every asyncio timer fires up to
    1 ms late. select() on the epoll fd itself waits with microsecond resolution; the ready events
    are then harvested with a non-blocking epoll_wait(). One extra syscall per timed wait."""

    def __init__(self) -> None:
        super().__init__()
        # select() cannot watch descriptors >= FD_SETSIZE; the epoll fd is made first, so it is small
        self._precise = self._selector.fileno() < 1024  # type: ignore[attr-defined]

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._precise and timeout is not None and timeout > 0:
            readable, _, _ = select.select([self._selector.fileno()], [], [], timeout)  # type: ignore[attr-defined]
            if not readable:
                return []
            timeout = 0
        return super().select(timeout)


def _new_loop(config: FakeServerConfig) -> asyncio.AbstractEventLoop:
    if config.use_uvloop:
        try:
            import uvloop  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    if hasattr(selectors, "EpollSelector"):
        return asyncio.SelectorEventLoop(_PreciseEpollSelector())
    return asyncio.new_event_loop()


async def serve(config: FakeServerConfig, parent_pid: int | None = None, ready: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM/SIGINT (or until ``parent_pid`` is gone); calls ``ready(url)`` once listening."""
    loop = asyncio.get_running_loop()
    app = FakeServerApp(config, loop)
    server = await loop.create_server(lambda: _Connection(app), config.host, config.port, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if parent_pid is not None:
        _watch_parent(loop, parent_pid, stop)
    gc.freeze()  # startup objects never need scanning again; keeps GC pauses out of timings
    ready(f"http://{config.host}:{port}/v1")
    await stop.wait()
    server.close()
    for conn in list(app.connections):
        if conn.transport is not None:
            conn.transport.abort()


def _watch_parent(loop: asyncio.AbstractEventLoop, parent_pid: int, stop: asyncio.Event) -> None:
    """Exit when the spawning process died without stopping us (e.g. pytest was SIGKILLed)."""

    def check() -> None:
        if os.getppid() != parent_pid:
            stop.set()
        else:
            loop.call_later(1.0, check)

    loop.call_later(1.0, check)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmeval.testing.server",
        description="Fake OpenAI-compatible server for tests and benches. Flags override --config-json, "
        "which overrides --config.",
    )
    parser.add_argument("--config", type=Path, help="JSON file with FakeServerConfig fields")
    parser.add_argument("--config-json", help="FakeServerConfig as a JSON string")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--model")
    parser.add_argument("--api-key", dest="require_api_key", help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--latency", dest="latency_s", type=float, help="non-stream response delay, seconds")
    parser.add_argument("--ttft", dest="ttft_s", type=float, help="stream: delay to the first token, seconds")
    parser.add_argument("--itl", dest="itl_s", type=float, help="stream: delay between tokens, seconds")
    parser.add_argument("--output-tokens", dest="output_tokens", type=int, help="echo responder reply length")
    parser.add_argument("--responder", choices=["echo", "fixed", "rules"])
    parser.add_argument("--fixed-reply", dest="fixed_reply")
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> FakeServerConfig:
    """Merge --config, --config-json and flags; raises SystemExit with a readable message."""
    data: dict[str, Any] = {}
    try:
        if args.config is not None:
            data.update(json.loads(args.config.read_text(encoding="utf-8")))
        if args.config_json:
            data.update(json.loads(args.config_json))
    except (OSError, ValueError) as err:
        raise SystemExit(
            f"fake server: cannot read the config ({err}); pass a JSON object of FakeServerConfig fields"
        ) from None
    for field in (
        "host",
        "port",
        "model",
        "require_api_key",
        "latency_s",
        "ttft_s",
        "itl_s",
        "output_tokens",
        "responder",
        "fixed_reply",
    ):
        value = getattr(args, field)
        if value is not None:
            data[field] = value
    try:
        return FakeServerConfig.model_validate(data)
    except ValueError as err:
        raise SystemExit(f"fake server: invalid configuration:\n{err}") from None


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    config = config_from_args(args)
    loop = _new_loop(config)
    try:
        loop.run_until_complete(serve(config, args.parent_pid, lambda url: print(url, flush=True)))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
