"""Result models: one `SampleRecord` per item, aggregated into a `RunResult` (the results JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..endpoint.models import Usage


class SampleRecord(BaseModel):
    """Everything about one sample: a line of the samples JSONL.

    `passed`/`metrics` are None/empty when the endpoint failed; then `error` says why and
    `error_kind` classifies it (unreachable, auth, timeout, http_status, bad_response, ...).
    """

    nodeid: str
    benchmark: str
    subset: str
    id: str
    messages: list[dict[str, Any]] = Field(default_factory=list)
    output: str | None = None
    outputs: list[str] | None = None  # every generation, when n > 1
    reasoning: str | None = None
    extracted: str | None = None
    target: Any = None
    passed: bool | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    explanation: str | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    queued_s: float | None = None  # waited for a free request slot before sending (not in latency_s)
    usage: Usage | None = None
    cached: bool = False
    finish_reason: str | None = None  # of the first generation: "stop", "length" (cut at max_tokens), ...
    finish_reasons: list[str | None] | None = None  # every generation's, when there are several
    truncated: int = 0  # generations cut off at max_tokens (finish_reason "length")
    error: str | None = None
    error_kind: str | None = None
    thinking: list[dict[str, Any]] | None = None  # --llm-think-eval figures, one per generation


class GroupResult(BaseModel):
    """Metrics over a group of samples. `count` counts scored samples; `errors` those the endpoint
    failed on, which are left out of the metrics (an error is never a wrong answer)."""

    count: int = 0
    errors: int = 0
    truncated: int = 0  # scored samples with at least one generation cut off at max_tokens
    metrics: dict[str, float] = Field(default_factory=dict)


class BenchmarkResult(GroupResult):
    subsets: dict[str, GroupResult] = Field(default_factory=dict)


class ThresholdOutcome(BaseModel):
    expression: str
    value: float | None
    passed: bool


class RequestStats(BaseModel):
    sent: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RunResult(BaseModel):
    """The `--llm-results` JSON (see docs/results.md)."""

    model: str
    base_url: str | None
    started: str
    duration_s: float
    generation: dict[str, Any] = Field(default_factory=dict)
    benchmarks: dict[str, BenchmarkResult] = Field(default_factory=dict)
    thresholds: list[ThresholdOutcome] = Field(default_factory=list)
    requests: RequestStats = Field(default_factory=RequestStats)
    passed: bool = True
    collection: dict[str, Any] | None = None  # --llm-collection: collection.results.CollectionResult
    # Whether every planned sample finished (scored, or recorded as an error) and the run was not cut
    # short (Ctrl-C, -x, a lost worker). An incomplete run is never passed.
    complete: bool = True
    interrupted: bool = False
    samples_planned: int | None = None  # sample items selected for the run; None when unknown
    samples_scored: int = 0  # samples with a verdict
    samples_errored: int = 0  # samples the endpoint (or scorer) failed on
    thinking: dict[str, Any] | None = None  # --llm-think-eval (thinking.ThinkingResult, docs/results.md)
    extra: dict[str, Any] = Field(default_factory=dict)  # room for perf results and other sections
