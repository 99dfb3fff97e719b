"""Per-request timings and the figures of one run, defined as vLLM's serving benchmark defines them.

Definitions (all times in seconds, measured by the client with `time.perf_counter()`):

* latency (end-to-end): from just before the request is written to the moment the last byte of the
  response was read.
* TTFT: from the same start to the read that delivered the first chunk carrying generated text
  (`delta.content`, `delta.reasoning_content`/`reasoning`, or `text`). A role-only opening chunk is
  not a token and does not count. Streaming only.
* ITL: every gap between consecutive content-carrying chunks of one request, pooled over all
  requests. Chunks that arrived in the same read have a gap of 0 (what the client really saw).
* TPOT: per request, `(latency - TTFT) / (output_tokens - 1)`; requests with fewer than two output
  tokens have no TPOT. Streaming only.
* Statistics: mean, population std, min, max and percentiles with linear interpolation between
  closest ranks (numpy's default), over ok requests only.
* A response that carries no content or reasoning token at all (a broken chat template, an
  immediate EOS) is a failed request of its own kind, `no_output`, as in vLLM (its `success`
  requires generated text): counted in `errors`, excluded from every latency figure and throughput.
* Throughputs divide by the run's duration: from the first measured request's start to the last
  measured request's end (warm-up excluded). request = ok requests/s, input/output = tokens of ok
  requests/s, total = input + output.
* Goodput: the share of all measured requests (failed ones count as missing every SLO) that are ok
  and meet every given SLO; `rate` is the number of such requests per second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from ..redact import redact_optional

TokenSource = Literal["usage", "tokenizer", "approximate"]
SLO_KEYS = ("ttft", "tpot", "itl", "latency")
# Weakest source wins when requests disagree: a figure is only as exact as its worst input.
_SOURCE_RANK: dict[str, int] = {"usage": 0, "tokenizer": 1, "approximate": 2}


def percentile(ordered: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) of an ascending, non-empty sequence; linear interpolation between
    closest ranks, so p50 of [1, 2, 3, 4] is 2.5 (same as `numpy.percentile`)."""
    if not ordered:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


class LatencyStats(BaseModel):
    """Summary of one timing (seconds). `count == 0` (e.g. TTFT of a non-streamed run) leaves every
    statistic None, so `r.ttft.p99 < 0.5` raises a TypeError instead of passing silently."""

    count: int = 0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> LatencyStats:
        ordered = sorted(values)
        if not ordered:
            return cls()
        count = len(ordered)
        mean = math.fsum(ordered) / count
        variance = math.fsum((v - mean) ** 2 for v in ordered) / count  # population, like np.std
        return cls(
            count=count,
            mean=mean,
            std=math.sqrt(variance),
            min=ordered[0],
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            max=ordered[-1],
        )


class Goodput(BaseModel):
    slo: dict[str, float]  # e.g. {"ttft": 0.5, "tpot": 0.05} seconds
    good: int
    ratio: float  # good / measured requests
    rate: float  # good requests per second


class ReplicaFigures(BaseModel):
    """One replica's share of a level when the load is spread over replicas (perf/replicas.py):
    the level's figures computed over the requests it answered, on the level's clock (so the
    replicas' throughputs add up to the level's)."""

    url: str  # the replica's base URL, public form (no user, password or query)
    number: int = 0
    ok: int = 0
    failed: int = 0
    errors: dict[str, int] = Field(default_factory=dict)
    request_throughput: float = 0.0
    output_throughput: float = 0.0
    latency: LatencyStats = Field(default_factory=LatencyStats)
    ttft: LatencyStats = Field(default_factory=LatencyStats)


class PerfResult(BaseModel):
    """Figures of one load level (one `parallel` or one `rate`); see the module docstring."""

    label: str = ""
    parallel: int | None = None  # closed loop: requests in flight; open loop: the optional cap
    rate: float | None = None  # open loop: target arrivals per second
    arrival: str | None = None  # "poisson" | "constant" (open loop)
    number: int = 0  # measured requests sent (warm-up excluded)
    warmup: int = 0
    dataset: str = "random"
    stream: bool = True
    ok: int = 0
    failed: int = 0
    errors: dict[str, int] = Field(default_factory=dict)  # kind ("http_500", "timeout", ...) -> count
    first_error: str | None = None
    duration_s: float = 0.0
    request_throughput: float = 0.0
    input_throughput: float = 0.0
    output_throughput: float = 0.0
    total_throughput: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    token_source: TokenSource = "usage"
    latency: LatencyStats = Field(default_factory=LatencyStats)
    ttft: LatencyStats = Field(default_factory=LatencyStats)
    tpot: LatencyStats = Field(default_factory=LatencyStats)
    itl: LatencyStats = Field(default_factory=LatencyStats)
    goodput: Goodput | None = None
    send_lag_max_s: float | None = None  # open loop: how late the latest arrival was sent
    client_cpu_s: float | None = None  # CPU seconds the load generator used during the run
    notes: list[str] = Field(default_factory=list)
    # embeddings / rerank (perf/embedding.py): inputs = texts embedded (documents scored) by ok requests
    api: str = "chat"
    batch_size: int | None = None
    input_length: int | None = None  # tokens per input asked for (None: prompt_tokens)
    inputs: int = 0
    inputs_throughput: float = 0.0  # inputs per second
    # several --llm-base-url: each replica's share of this level (the fields above are the totals)
    replicas: list[ReplicaFigures] = Field(default_factory=list)

    @property
    def success_rate(self) -> float:
        total = self.ok + self.failed
        return self.ok / total if total else 0.0


@dataclass(slots=True)
class RequestRecord:
    """What one request produced. Filled on the hot path, so a plain slotted dataclass."""

    start: float = 0.0
    end: float = 0.0
    first_token: float | None = None  # perf_counter of the read that delivered the first content
    chunk_times: list[float] = field(default_factory=list)  # one per content-carrying chunk
    pieces: list[str] = field(default_factory=list)  # generated text, only used without `usage`
    prompt_tokens: int | None = None  # from usage
    completion_tokens: int | None = None  # from usage
    items: int | None = None  # embeddings / rerank: vectors or scores in the reply (perf/embedding.py)
    max_index: int | None = None  # rerank: the largest document index the reply names
    error_kind: str | None = None
    error: str | None = None
    replica: int | None = None  # which replica answered (perf/replicas.py), None for one endpoint

    @property
    def ok(self) -> bool:
        return self.error_kind is None


@dataclass(slots=True)
class Counted:
    """Token counts of one ok request and where they came from."""

    input_tokens: int
    output_tokens: int
    source: TokenSource


def request_tpot(latency: float, ttft: float, output_tokens: int) -> float | None:
    """(latency - TTFT) / (output tokens - 1); None for fewer than two output tokens."""
    if output_tokens < 2:
        return None
    return (latency - ttft) / (output_tokens - 1)


def request_itls(chunk_times: Sequence[float]) -> list[float]:
    """Every gap between consecutive content chunks of one request."""
    return [b - a for a, b in itertools.pairwise(chunk_times)]


def weakest(sources: Iterable[str]) -> TokenSource:
    ranked = max(sources, key=lambda s: _SOURCE_RANK[s], default="usage")
    return ranked  # type: ignore[return-value]


def summarize(
    records: Sequence[RequestRecord],
    counts: Sequence[Counted | None],
    *,
    started: float,
    finished: float,
    slo: dict[str, float] | None = None,
) -> PerfResult:
    """Figures of one level from its measured requests; `counts[i]` belongs to `records[i]` (None
    for failed requests). Load fields (parallel, rate, label...) are left for the caller."""
    ok = [(r, c) for r, c in zip(records, counts, strict=False) if r.ok and c is not None]
    failed = [r for r in records if not r.ok]
    errors: dict[str, int] = {}
    for record in failed:
        kind = record.error_kind or "error"
        errors[kind] = errors.get(kind, 0) + 1
    # a server's error text may quote the request's key: shown in the terminal and the failure message
    first_error = redact_optional(min(failed, key=lambda r: r.end).error) if failed else None
    duration = max(finished - started, 0.0)
    input_tokens = sum(c.input_tokens for _, c in ok)
    output_tokens = sum(c.output_tokens for _, c in ok)
    latencies = [r.end - r.start for r, _ in ok]
    ttfts = [r.first_token - r.start for r, _ in ok if r.first_token is not None]
    tpots = [
        t
        for r, c in ok
        if r.first_token is not None
        and (t := request_tpot(r.end - r.start, r.first_token - r.start, c.output_tokens)) is not None
    ]
    itls = [gap for r, _ in ok for gap in request_itls(r.chunk_times)]
    per_second = (lambda amount: amount / duration) if duration > 0 else (lambda amount: 0.0)
    result = PerfResult(
        number=len(records),
        ok=len(ok),
        failed=len(failed),
        errors=errors,
        first_error=first_error,
        duration_s=duration,
        request_throughput=per_second(len(ok)),
        input_throughput=per_second(input_tokens),
        output_throughput=per_second(output_tokens),
        total_throughput=per_second(input_tokens + output_tokens),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        token_source=weakest(c.source for _, c in ok),
        latency=LatencyStats.of(latencies),
        ttft=LatencyStats.of(ttfts),
        tpot=LatencyStats.of(tpots),
        itl=LatencyStats.of(itls),
    )
    if slo:
        good = sum(1 for r, c in ok if meets_slo(r, c, slo))
        result.goodput = Goodput(
            slo=dict(slo), good=good, ratio=good / len(records) if records else 0.0, rate=per_second(good)
        )
    return result


def meets_slo(record: RequestRecord, counted: Counted, slo: dict[str, float]) -> bool:
    """True when the request meets every SLO given. A streaming SLO (ttft, tpot, itl) on a request
    without that figure (non-streamed, or a single token for tpot) counts as met only for tpot."""
    latency = record.end - record.start
    for key, limit in slo.items():
        if key == "latency":
            if latency > limit:
                return False
        elif key == "ttft":
            if record.first_token is None or record.first_token - record.start > limit:
                return False
        elif key == "tpot":
            if record.first_token is None:
                return False
            tpot = request_tpot(latency, record.first_token - record.start, counted.output_tokens)
            if tpot is not None and tpot > limit:
                return False
        elif key == "itl" and (
            record.first_token is None or any(gap > limit for gap in request_itls(record.chunk_times))
        ):
            return False
    return True
