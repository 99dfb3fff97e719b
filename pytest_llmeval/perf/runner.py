"""Runs a PerfSpec against an endpoint, in a process of its own by default.

Why a separate process: the load generator's timestamps are only as good as its event loop's
promptness. In the pytest process the loop would share the GIL with the eval dispatcher's
prefetching, slow scorers, pytest's reporting and xdist's I/O thread; any of them can hold the
GIL for milliseconds. `isolation="process"` (default) runs `python -m pytest_llmeval.perf.worker`,
which gets the job (headers included) on stdin, never on disk, and answers JSON on stdout.
`isolation="thread"` runs a fresh event loop in a thread of this process (tests, notebooks).

Per level, in the worker: prompts are built and bodies JSON-encoded; connections are opened;
`warmup` requests are sent and dropped; the GC is frozen and paused; the level runs; token counts
are resolved (usage > tokenizer > approximation) and the figures computed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import select
import selectors
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from ..errors import ConfigError, DatasetError, LLMEvalError, PerfRunError
from ..processes import run_module
from ..redact import register_request_secrets
from ..settings import DEFAULT_MAX_RESPONSE_BYTES
from ..terminal_text import printable
from .datasets import APPROXIMATE_NOTE, Prompt, build_prompts
from .load import Level, PerfSpec
from .metrics import Counted, PerfResult, RequestRecord, summarize
from .native import make_backend
from .replicas import ReplicaTarget, SpreadBackend, check_reachable, replica_figures
from .scheduler import LevelRun, run_level, run_warmup
from .tokenizer import HFTokenizer, load_tokenizer

DURATION_POOL = 2048  # distinct prompts for levels bounded by duration only
OPEN_LOOP_CONNECTIONS = 4096


class PerfJob(BaseModel):
    """Everything the worker needs. `headers` carry the API key: the job only travels by pipe."""

    spec: PerfSpec
    model: str
    chat_url: str
    models_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    gen: dict[str, Any] = Field(default_factory=dict)
    timeout: float = 600.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1)  # --llm-max-response-bytes
    tokenizer: str | None = None
    messages: list[list[dict[str, Any]]] | None = None  # prebuilt prompts (benchmark datasets)
    api_url: str | None = None  # api=embeddings / rerank: where their requests go (else chat_url)
    # several --llm-base-url: the level's load is spread over them (perf/replicas.py); [] for one endpoint
    replicas: list[ReplicaTarget] = Field(default_factory=list)


# -- request bodies -------------------------------------------------------------------------------


def request_body(job: PerfJob, prompt: Prompt) -> bytes:
    workload = job.spec.workload
    body: dict[str, Any] = {"model": job.model, "messages": prompt.messages, **job.gen}
    if workload.output_tokens is not None:
        body["max_tokens"] = workload.output_tokens
    body.update(workload.extra_body)
    if workload.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True, **(body.get("stream_options") or {})}
    else:
        body["stream"] = False
        body.pop("stream_options", None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def count_tokens(record: RequestRecord, prompt: Prompt, tokenizer: HFTokenizer | None, stream: bool) -> Counted:
    """Input/output tokens of an ok request: the server's usage, else the tokenizer, else an estimate
    (the dataset's count for input; content chunks, or characters / 4 unstreamed, for output)."""
    sources = []
    if record.prompt_tokens is not None:
        input_tokens, source = int(record.prompt_tokens), "usage"
    elif tokenizer is not None:
        input_tokens, source = (prompt.tokens if prompt.exact else tokenizer.count(prompt.text)), "tokenizer"
    else:
        input_tokens, source = prompt.tokens, ("tokenizer" if prompt.exact else "approximate")
    sources.append(source)
    if record.completion_tokens is not None:
        output_tokens, source = int(record.completion_tokens), "usage"
    elif tokenizer is not None:
        output_tokens, source = tokenizer.count("".join(record.pieces)), "tokenizer"
    elif stream:
        output_tokens, source = len(record.chunk_times), "approximate"
    else:
        output_tokens, source = max(1, round(len("".join(record.pieces)) / 4)) if record.pieces else 0, "approximate"
    sources.append(source)
    rank = {"usage": 0, "tokenizer": 1, "approximate": 2}
    return Counted(input_tokens, output_tokens, max(sources, key=rank.__getitem__))  # type: ignore[arg-type]


# -- the run --------------------------------------------------------------------------------------


async def run_job(job: PerfJob) -> list[PerfResult]:
    """Every level of the job, in order, on the running loop. Stops after a level where every
    request failed (the next level would only fail too)."""
    spec = job.spec
    workload = spec.workload
    tokenizer = load_tokenizer(job.tokenizer) if job.tokenizer else None
    if workload.exact_lengths and workload.random and tokenizer is None:
        raise ConfigError("perf: exact_lengths=True needs a tokenizer: pass --llm-tokenizer PATH or tokenizer=PATH")
    timeout = workload.timeout or job.timeout
    if job.replicas:
        await check_reachable(job.replicas, min(timeout, 10.0))
    results: list[PerfResult] = []
    for index, level in enumerate(spec.levels):
        if workload.api != "chat":
            results.append(await run_api_level(job, level, index, tokenizer, timeout))
            if results[-1].ok == 0:
                break
            continue
        needed = _level_size(level)
        seed = workload.seed * 1000 + index  # fresh prompts per level: no cross-level prefix-cache hits
        prompts = build_prompts(workload, needed + workload.warmup, tokenizer, seed, job.messages)
        measured, warm = prompts[:needed], prompts[needed:]
        bodies = [request_body(job, p) for p in measured]
        warm_bodies = [request_body(job, p) for p in warm]
        run, cpu = await _measure_level(job, level, timeout, bodies, warm_bodies, workload.stream, seed)
        counts = [
            count_tokens(r, measured[i % len(measured)], tokenizer, workload.stream) if r.ok else None
            for r, i in zip(run.records, run.indices, strict=False)
        ]
        result = _level_result(run, counts, level, job, len(warm_bodies), workload.stream, cpu)
        if workload.random and tokenizer is None:
            result.notes.append(APPROXIMATE_NOTE)
        if result.token_source != "usage" and result.ok:
            result.notes.append(
                f"token counts from the {(result.token_source == 'tokenizer' and 'tokenizer') or 'approximation'}: "
                "the server sent no usage (stream_options.include_usage was requested)"
            )
        if run.aborted:
            result.notes.append(f"stopped early: the first {result.failed} requests all failed")
        results.append(result)
        if result.ok == 0:
            break
    return results


async def run_api_level(
    job: PerfJob, level: Level, index: int, tokenizer: HFTokenizer | None, timeout: float
) -> PerfResult:
    """One level of an embeddings or rerank load test (perf/embedding.py): same clock, schedules and
    figures as a chat level, with inputs/s beside requests/s and no streaming figures."""
    from . import embedding

    workload = job.spec.workload
    needed = _level_size(level)
    seed = workload.seed * 1000 + index
    requests = embedding.build_requests(workload, level, job.model, needed + workload.warmup, tokenizer, seed)
    measured, warm = requests[:needed], requests[needed:]
    parse = embedding.parse_rerank if workload.api == "rerank" else embedding.parse_embeddings
    run, cpu = await _measure_level(
        job, level, timeout, [r.body for r in measured], [r.body for r in warm], False, seed, parse, api=True
    )
    counts: list[Counted | None] = []
    inputs = 0
    for record, i in zip(run.records, run.indices, strict=False):
        request = measured[i % len(measured)]
        embedding.check_reply(record, request, workload.api)
        if not record.ok:
            counts.append(None)
            continue
        inputs += request.inputs
        if record.prompt_tokens is not None:
            counts.append(Counted(int(record.prompt_tokens), 0, "usage"))
        else:
            counts.append(Counted(request.tokens, 0, "tokenizer" if request.exact else "approximate"))
    result = _level_result(run, counts, level, job, len(warm), False, cpu)
    result.api = workload.api
    result.batch_size = level.batch_size or 1
    result.input_length = level.input_tokens
    result.inputs = inputs
    result.inputs_throughput = inputs / result.duration_s if result.duration_s > 0 else 0.0
    if tokenizer is None and not any(r.prompt_tokens is not None for r in run.records):
        result.notes.append(APPROXIMATE_NOTE)
    if run.aborted:
        result.notes.append(f"stopped early: the first {result.failed} requests all failed")
    return result


def _level_size(level: Level) -> int:
    """Requests a level measures: its `number`, else a pool of prompts for its duration."""
    return level.number if level.number is not None else _duration_pool(level.rate, level.duration, level.parallel)


async def _measure_level(
    job: PerfJob,
    level: Level,
    timeout: float,
    bodies: list[bytes],
    warm_bodies: list[bytes],
    stream: bool,
    seed: int,
    parse: Callable[[bytes, RequestRecord], None] | None = None,
    *,
    api: bool = False,
) -> tuple[LevelRun, float]:
    """One level on its own connections: opened first, then the warm-up (dropped), then `bodies`
    with the GC frozen and paused. Returns the run and this process's CPU seconds during it.
    `parse`: how a whole reply is read, when not as a chat completion (perf/embedding.py); `api`:
    the embeddings / rerank URL instead of the chat URL."""
    workload = job.spec.workload
    connections = level.parallel or OPEN_LOOP_CONNECTIONS  # open loop without a cap: practically unbounded
    async with open_backend(job, connections, timeout, api=api) as backend:
        if parse is not None:
            backend.parse = parse
        await backend.preconnect(level.parallel or min(len(bodies), 64), job.models_url)
        await run_warmup(backend, warm_bodies, stream, level.parallel or 1)
        gc.collect()
        gc.freeze()
        gc.disable()  # a collection pause would show up as a latency outlier
        cpu = time.process_time()
        try:
            run = await run_level(backend, bodies, stream, level, workload.arrival, seed)
        finally:
            cpu = time.process_time() - cpu
            gc.enable()
            gc.unfreeze()
    return run, cpu


def _level_result(
    run: LevelRun, counts: list[Counted | None], level: Level, job: PerfJob, warmup: int, stream: bool, cpu: float
) -> PerfResult:
    """The figures of one measured level, labelled with the level and the workload it ran."""
    workload = job.spec.workload
    result = summarize(run.records, counts, started=run.started, finished=run.finished, slo=workload.slo or None)
    if job.replicas:
        result.replicas = replica_figures(run.records, counts, job.replicas, started=run.started, finished=run.finished)
    result.label = level.label
    result.parallel = level.parallel
    result.rate = level.rate
    result.arrival = None if level.closed else workload.arrival
    result.warmup = warmup
    result.dataset = workload.dataset
    result.stream = stream
    result.send_lag_max_s = run.send_lag_max
    result.client_cpu_s = cpu
    return result


def open_backend(job: PerfJob, connections: int, timeout: float, *, api: bool = False) -> Any:
    """The level's HTTP client: one endpoint's backend, or a `SpreadBackend` over one backend per
    replica (perf/replicas.py). `api`: the embeddings / rerank URL instead of the chat URL."""
    workload = job.spec.workload

    def backend(chat_url: str, api_url: str | None, headers: dict[str, str]) -> Any:
        url = (api_url or chat_url) if api else chat_url
        return make_backend(url, headers, connections, timeout, workload.transport, job.max_response_bytes)

    if not job.replicas:
        return backend(job.chat_url, job.api_url, job.headers)
    return SpreadBackend([backend(t.chat_url, t.api_url, t.headers) for t in job.replicas], job.replicas)


def _duration_pool(rate: float | None, duration: float | None, parallel: int | None) -> int:
    if rate and duration:
        return min(int(rate * duration * 1.2) + (parallel or 0) + 8, DURATION_POOL)
    return DURATION_POOL


# -- where it runs --------------------------------------------------------------------------------


class _PreciseSelector(selectors.EpollSelector if hasattr(selectors, "EpollSelector") else selectors.DefaultSelector):  # type: ignore[misc]
    """epoll_wait() rounds timeouts up to whole milliseconds, so open-loop arrivals would leave up
    to 1 ms late; select() on the epoll fd waits with microsecond resolution, then the ready
    events are harvested without waiting."""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0 and hasattr(self, "_selector"):
            readable, _, _ = select.select([self._selector.fileno()], [], [], timeout)
            if not readable:
                return []
            timeout = 0
        return super().select(timeout)


def new_loop() -> asyncio.AbstractEventLoop:
    if hasattr(selectors, "EpollSelector"):
        return asyncio.SelectorEventLoop(_PreciseSelector())
    return asyncio.new_event_loop()


def run_blocking(job: PerfJob) -> list[PerfResult]:
    """Run the job on a fresh event loop in the calling thread. The secrets its requests carry (key, URL
    secrets) are redacted from what they bring back (a worker process has no other way to know them)."""
    for url, headers in [(job.chat_url, job.headers), *((r.chat_url, r.headers) for r in job.replicas)]:
        register_request_secrets(url, headers)
    loop = new_loop()
    try:
        return loop.run_until_complete(run_job(job))
    finally:
        loop.close()


def run_in_thread(job: PerfJob) -> list[PerfResult]:
    """Run the job on a fresh event loop in a new thread of this process; re-raises its errors."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["results"] = run_blocking(job)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="llmeval-perf", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["results"]


_ERRORS: dict[str, type[LLMEvalError]] = {
    "ConfigError": ConfigError,
    "DatasetError": DatasetError,
    "PerfRunError": PerfRunError,
}


def run_in_process(job: PerfJob) -> list[PerfResult]:
    """Run the job in `python -m pytest_llmeval.perf.worker`; its errors are re-raised here with
    the same type (ConfigError, DatasetError) or as PerfRunError."""
    process = run_module(
        "pytest_llmeval.perf.worker",
        input=job.model_dump_json().encode("utf-8"),
        capture_output=True,
        check=False,
    )
    stdout = process.stdout.decode("utf-8", "replace").strip()
    last = stdout.splitlines()[-1] if stdout else ""
    try:
        answer = json.loads(last)
    except ValueError:
        tail = process.stderr.decode("utf-8", "replace")[-2000:]
        raise PerfRunError(
            f"the perf worker process failed (exit {process.returncode}): {tail or 'no output'}"
        ) from None
    if "error" in answer:
        error_type = _ERRORS.get(answer["error"]["type"], PerfRunError)
        raise error_type(answer["error"]["message"])
    return [PerfResult.model_validate(item) for item in answer["results"]]


def run(job: PerfJob, isolation: str = "process") -> list[PerfResult]:
    """Run a job where asked: "process" (default, see the module docstring) or "thread"."""
    if isolation == "process":
        return run_in_process(job)
    if isolation == "thread":
        return run_in_thread(job)
    raise ConfigError(f"perf: isolation must be 'process' or 'thread', got {isolation!r}")


def check_results(results: list[PerfResult]) -> None:
    """Raise PerfRunError when a level had no successful request, with the first error's text."""
    for result in results:
        if result.ok == 0:
            raise PerfRunError(
                f"perf {result.label}: all {result.failed} requests failed "
                f"({', '.join(f'{k}: {v}' for k, v in sorted(result.errors.items()))}); "
                f"first error: {printable(result.first_error or '')}"
            )
