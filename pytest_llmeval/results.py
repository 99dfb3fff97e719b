"""Result models: one `SampleRecord` per item, aggregated into a `RunResult` (the results JSON).

A neutral module: `report/`, `gating/`, `engine/` and the hooks all import these models, and this
module imports none of them (only `endpoint.models` for token usage), so the layers point one way.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

from .endpoint.models import Usage


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
    requests: int = 1  # chat requests behind the sample (--llm-repeats K: K)
    requests_cached: int = 0  # of those, answered from the cache
    finish_reason: str | None = None  # of the first generation: "stop", "length" (cut at max_tokens), ...
    finish_reasons: list[str | None] | None = None  # every generation's, when there are several
    truncated: int = 0  # generations cut off at max_tokens (finish_reason "length")
    error: str | None = None
    error_kind: str | None = None
    thinking: list[dict[str, Any]] | None = None  # --llm-think-eval figures, one per generation
    # output_type=multiple_choice: per choice {continuation, logprob (summed), tokens (how many summed)}
    choice_logprobs: list[dict[str, Any]] | None = None
    # embedding / reranker tasks (retrieval/runtime.py): the ranked documents of a query, each
    # {rank, id, score, relevance, text}: the top 10, then every relevant one ranked lower (rank None: not retrieved)
    ranking: list[dict[str, Any]] | None = None
    # an arena pair (pytest_llmeval/arena): both answers, the judge's two verdicts with rationale, the outcome
    arena: dict[str, Any] | None = None


class MetricUncertainty(BaseModel):
    """The sampling error of one aggregated metric (see docs/statistics.md).

    `se`: standard error, in the metric's own units. `ci_low`/`ci_high`: the two-sided confidence
    interval at `level` (0.95). `n`: the number of independent units behind it (samples, or
    clusters). `method`: how it was computed - `wilson` (binary per-sample scores), `clt` (mean of
    non-binary scores), `clustered` (several generations per sample, or a ratio pooled over items
    grouped in samples, e.g. IFEval instructions), `bootstrap` (an arena win rate: percentile bootstrap over
    prompts), `fisher-z` (a correlation over the samples, STS) or `none` (an aggregate the plugin cannot put an
    error on; `se` and the bounds are then null).
    """

    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    level: float = 0.95
    n: int = 0
    method: Literal["wilson", "clt", "clustered", "macro", "bootstrap", "fisher-z", "none"] = "none"


class GroupResult(BaseModel):
    """Metrics over a group of samples. `count` counts scored samples; `errors` those the endpoint
    failed on, which are left out of the metrics (an error is never a wrong answer).
    `uncertainty[metric]` is the metric's standard error and 95% interval; `skipped` counts samples
    not requested because `--llm-early-stop` had already decided the benchmark's thresholds."""

    count: int = 0
    errors: int = 0
    truncated: int = 0  # scored samples with at least one generation cut off at max_tokens
    skipped: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    uncertainty: dict[str, MetricUncertainty] = Field(default_factory=dict)


class BenchmarkResult(GroupResult):
    subsets: dict[str, GroupResult] = Field(default_factory=dict)
    # how the benchmark asked and read: its prompt protocol (`evalscope`, `native`; None for a benchmark
    # with one prompt of its own) and answer parser, so two results say whether they compare like with like
    protocol: str | None = None
    answer_parser: str | None = None
    output_type: str | None = None  # generate_until | multiple_choice (log-likelihood), benchmarks/output_types.py


class ThresholdOutcome(BaseModel):
    """One `--llm-threshold` verdict: the measured `value` (None when there was none) and `passed`.

    Under `--llm-threshold-mode ci` or `--llm-early-stop` it also says `status` (`pass`, `fail` or
    `undecided`: the interval straddles the threshold, which fails the run), `mode` (`ci` or
    `early-stop`), the metric's 95% interval `ci_low`/`ci_high`, and `reason` in words. `reason`
    is also set, in every mode, when there is no value (why not). These keys are left out of the
    JSON when unset, so a plain point-estimate gate with a value reads as before."""

    expression: str
    value: float | None
    passed: bool
    status: Literal["pass", "fail", "undecided"] | None = None
    mode: Literal["point", "ci", "early-stop"] | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k in ("expression", "value", "passed")}


class RequestStats(BaseModel):
    """Requests of the run. `sent`: requests answered by the endpoint; `failed`: samples whose
    request left the machine and failed (transport, status, bad reply); `not_sent`: samples that
    failed before any request (a medium or record that could not become one: `media`,
    `bad_record`); `skipped_early_stop`: samples never requested because `--llm-early-stop` had
    decided their benchmark (the requests saved)."""

    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    cached: int = 0
    skipped_early_stop: int = 0
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
    # Whether every planned sample finished (scored, or recorded as an error) and the run was not cut
    # short (Ctrl-C, -x, a lost worker). An incomplete run is never passed.
    complete: bool = True
    interrupted: bool = False
    samples_planned: int | None = None  # sample items selected for the run; None when unknown
    samples_scored: int = 0  # samples with a verdict
    samples_errored: int = 0  # samples the endpoint (or scorer) failed on
    # {benchmark: samples collected but deselected (-k, -m, --lf, --deselect)}: the metrics describe
    # the selection only. A deliberate selection is not an incomplete run.
    samples_deselected: dict[str, int] = Field(default_factory=dict)
    collection: dict[str, Any] | None = None  # --llm-collection: collection.results.CollectionResult (docs/results.md)
    thinking: dict[str, Any] | None = None  # --llm-think-eval (efficiency.EfficiencyResult, docs/results.md)
    samples_path: str | None = None  # the --llm-samples JSONL of this run, for paired comparisons
    # tokens and cost per run, model, benchmark, subset and collection group (spend.tally.UsageSummary, docs/cost.md)
    usage: dict[str, Any] | None = None
    # why the run stopped sending before the end (--llm-max-tokens-budget / --llm-max-cost); never passed then
    stopped_by: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # room for perf results and other sections


# -- old run versus new run (`--llm-compare`) ------------------------------------------------------

CompareStatus = Literal["up", "down", "same", "new", "missing"]


class ComparisonRow(BaseModel):
    """One metric of one group in both runs. `delta` = new - old. With the samples of both runs,
    `paired` is true and `n` counts the samples present (and scored) in both; `se`/`ci_low`/
    `ci_high` are those of the difference and `p_value` that of `test` (`mcnemar-exact`,
    `paired-t`, or `unpaired-z` when the samples could not be paired)."""

    benchmark: str
    subset: str | None = None  # None: over the whole benchmark
    metric: str
    old: float | None = None
    new: float | None = None
    delta: float | None = None  # new - old, when both exist
    status: CompareStatus
    dropped: bool = False  # the --llm-max-drop gate's vote against this row
    paired: bool = False
    n: int | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    test: Literal["mcnemar-exact", "paired-t", "unpaired-z"] | None = None
    discordant: tuple[int, int] | None = None  # McNemar's (old pass & new fail, old fail & new pass)

    @property
    def label(self) -> str:
        """`gsm8k.acc` or `iquiz.EQ.acc`: the same spelling as --llm-threshold."""
        middle = f".{self.subset}" if self.subset is not None else ""
        return f"{self.benchmark}{middle}.{self.metric}"


class Baseline(BaseModel):
    path: str
    model: str
    started: str
    samples_path: str | None = None  # the old run's samples JSONL used for pairing, if any
    # an old run cut short (Ctrl-C, -x, a budget): its scores describe the samples it finished only
    incomplete: str | None = None  # e.g. "4 of 20 samples finished", None when the old run completed


class Comparison(BaseModel):
    """What `result.extra["compare"]` holds (as JSON)."""

    baseline: Baseline
    max_drop: float | None = None
    significance: float | None = None
    paired: bool = False  # whether samples of both runs were paired by id
    rows: list[ComparisonRow] = Field(default_factory=list)

    @property
    def dropped(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.dropped]

    @property
    def passed(self) -> bool:
        return not self.dropped

    def find(self, benchmark: str, subset: str | None, metric: str) -> ComparisonRow | None:
        for row in self.rows:
            if (row.benchmark, row.subset, row.metric) == (benchmark, subset, metric):
                return row
        return None
