"""What a tracker receives: one `TrackerPayload` per run, the same for MLflow and W&B.

- `params` (str -> str): model, base URL (public part only), every generation parameter
  (`gen.temperature`...), the benchmarks and their protocol / answer parser, repeats, seed, limit.
- `metrics` (str -> float): per benchmark and subset every aggregated metric (`gsm8k/acc`,
  `gsm8k/main/acc`), its standard error and 95% interval bounds (`gsm8k/acc_ci_low`,
  `gsm8k/acc_ci_high`, `gsm8k/acc_se`), counts and errors; the run's `passed` and `complete` (0/1),
  samples scored/errored, requests, and tokens/cost (`tokens/prompt`, `cost_usd`...).
- `samples`: the samples table, one row per record (`SAMPLE_COLUMNS`: ids, passed, extracted answer,
  target, output, latency, tokens, error kind); the output text shortened to `OUTPUT_CHARS`.
- `perf`: one row per measured perf level (`PERF_COLUMNS`: test, concurrency, rate, throughput,
  latency/TTFT/TPOT percentiles in ms), and `perf_metrics`: the same figures as metric series with the
  level's concurrency (or rate) as the step.

Every string passes `redact.redact` (an API key never reaches a tracker), and metric names use only
characters both trackers accept (letters, digits, `_ - . /`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..redact import redact
from ..results import RunResult, SampleRecord

OUTPUT_CHARS = 500  # per sample: the table of a 100k-sample run stays tens of MB
SAMPLE_COLUMNS = [
    "nodeid",
    "benchmark",
    "subset",
    "id",
    "passed",
    "extracted",
    "target",
    "output",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached",
    "error_kind",
]
PERF_COLUMNS = [
    "test",
    "label",
    "parallel",
    "rate",
    "ok",
    "failed",
    "request_throughput",
    "output_throughput",
    "latency_p50_ms",
    "latency_p99_ms",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_p50_ms",
    "tpot_p99_ms",
]
_NAME = re.compile(r"[^A-Za-z0-9_\-./]+")


def metric_name(*parts: str) -> str:
    """`gsm8k/main/acc`: parts joined by `/`, characters the trackers refuse replaced by `_`."""
    return "/".join(_NAME.sub("_", part) for part in parts if part)


@dataclass
class TrackerPayload:
    run_name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    samples: list[list[Any]] = field(default_factory=list)
    perf: list[list[Any]] = field(default_factory=list)
    perf_metrics: list[tuple[str, float, int]] = field(default_factory=list)  # (name, value, step)
    results: dict[str, Any] = field(default_factory=dict)  # the results JSON, redacted


def sample_row(record: SampleRecord) -> list[Any]:
    usage = record.usage
    output = record.output if record.output is None else redact(record.output)[:OUTPUT_CHARS]
    return [
        record.nodeid,
        record.benchmark,
        record.subset,
        record.id,
        record.passed,
        None if record.extracted is None else redact(str(record.extracted)),
        None if record.target is None else redact(str(record.target)),
        output,
        record.latency_s,
        usage.prompt_tokens if usage else None,
        usage.completion_tokens if usage else None,
        usage.reasoning_tokens if usage else None,
        record.cached,
        record.error_kind,
    ]


def _params(result: RunResult) -> dict[str, str]:
    params = {"model": result.model, "base_url": result.base_url or ""}
    for key, value in sorted(result.generation.items()):
        params[f"gen.{key}"] = str(value)
    params["benchmarks"] = ",".join(sorted(result.benchmarks))
    for name, bench in result.benchmarks.items():
        for attr in ("protocol", "answer_parser", "output_type"):
            value = getattr(bench, attr)
            if value is not None:
                params[f"{name}.{attr}"] = str(value)
        params[f"{name}.subsets"] = ",".join(sorted(bench.subsets))
    return {key: redact(value)[:500] for key, value in params.items()}


def _metrics(result: RunResult) -> dict[str, float]:
    metrics: dict[str, float] = {
        "passed": float(result.passed),
        "complete": float(result.complete),
        "samples_scored": float(result.samples_scored),
        "samples_errored": float(result.samples_errored),
        "requests_sent": float(result.requests.sent),
        "requests_cached": float(result.requests.cached),
        "duration_s": float(result.duration_s),
    }
    for name, bench in result.benchmarks.items():
        groups: list[tuple[tuple[str, ...], Any]] = [((name,), bench)]
        groups += [((name, subset), group) for subset, group in bench.subsets.items()]
        for where, group in groups:
            metrics[metric_name(*where, "count")] = float(group.count)
            metrics[metric_name(*where, "errors")] = float(group.errors)
            for metric, value in group.metrics.items():
                metrics[metric_name(*where, metric)] = float(value)
                uncertainty = group.uncertainty.get(metric)
                if uncertainty is None:
                    continue
                for suffix, bound in (("se", uncertainty.se), ("ci_low", uncertainty.ci_low)):
                    if bound is not None:
                        metrics[metric_name(*where, f"{metric}_{suffix}")] = float(bound)
                if uncertainty.ci_high is not None:
                    metrics[metric_name(*where, f"{metric}_ci_high")] = float(uncertainty.ci_high)
    usage = (result.usage or {}).get("run")
    if usage:
        for key in ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_requests"):
            metrics[metric_name("tokens", key.removesuffix("_tokens"))] = float(usage.get(key) or 0)
        if usage.get("cost_usd") is not None:
            metrics["cost_usd"] = float(usage["cost_usd"])
    return metrics


def _ms(stats: dict[str, Any], key: str) -> float | None:
    value = stats.get(key)
    return None if value is None else round(float(value) * 1000.0, 3)


def _perf(result: RunResult) -> tuple[list[list[Any]], list[tuple[str, float, int]]]:
    rows: list[list[Any]] = []
    series: list[tuple[str, float, int]] = []
    for level in (result.extra.get("perf") or {}).get("runs", []):
        figures = {
            "request_throughput": level.get("request_throughput"),
            "output_throughput": level.get("output_throughput"),
            "latency_p50_ms": _ms(level.get("latency") or {}, "p50"),
            "latency_p99_ms": _ms(level.get("latency") or {}, "p99"),
            "ttft_p50_ms": _ms(level.get("ttft") or {}, "p50"),
            "ttft_p99_ms": _ms(level.get("ttft") or {}, "p99"),
            "tpot_p50_ms": _ms(level.get("tpot") or {}, "p50"),
            "tpot_p99_ms": _ms(level.get("tpot") or {}, "p99"),
        }
        rows.append(
            [
                level.get("test", ""),
                level.get("label", ""),
                level.get("parallel"),
                level.get("rate"),
                level.get("ok"),
                level.get("failed"),
                *figures.values(),
            ]
        )
        step = level.get("parallel") or int(level.get("rate") or 0)
        test = str(level.get("test", "")).rpartition("::")[2] or "perf"
        for key, value in figures.items():
            if value is not None:
                series.append((metric_name("perf", test, key), float(value), int(step)))
    return rows, series


def build_payload(result: RunResult, samples: list[list[Any]], run_name: str | None = None) -> TrackerPayload:
    """The payload of a finished run (`samples`: `sample_row` of each record, in the order they arrived)."""
    perf_rows, perf_series = _perf(result)
    name = run_name or f"{result.model} {result.started}"
    return TrackerPayload(
        run_name=redact(name),
        params=_params(result),
        metrics=_metrics(result),
        tags={"llmeval.passed": str(result.passed).lower(), "llmeval.complete": str(result.complete).lower()},
        samples=samples,
        perf=perf_rows,
        perf_metrics=perf_series,
        results=_redacted(result.model_dump(mode="json")),
    )


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value
