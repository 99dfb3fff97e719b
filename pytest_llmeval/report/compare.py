"""Old run versus new run: score deltas with their uncertainty (`--llm-compare OLD.json`); the
regression gate's vote (`--llm-max-drop X`, `--llm-significance ALPHA`) is `gating.max_drop`.

Every metric of every benchmark is compared twice: over the whole benchmark (subset `None`, shown as
"(all)") and per subset. Edge cases users ask about:

- A metric present in only one of the runs is reported with status `new` or `missing`, never as a
  drop: a benchmark you stopped running (or started running) does not fail the gate.
- Paired or not: when the old results JSON names its samples JSONL (`samples_path`, written by
  `--llm-samples`) and that file is readable, samples are paired by (subset, id) and each metric
  that is a plain mean of per-sample values gets the paired standard error, interval and p-value
  (McNemar's exact test for 0/1 scores, the paired t-test otherwise; `stats.paired`). Otherwise
  the comparison is *unpaired* (a z-test on the two standard errors) and says so.
- `delta` is always new - old of the two aggregates; the paired interval is that of the mean
  difference over the samples present in both runs (the same number when both ran the same samples).
- Scores are compared as stored; the two runs are not checked for using the same model, samples,
  `--llm-limit` or generation parameters (the header shows both models so a mix-up is visible).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from ..errors import ConfigError
from ..files import FileProblem
from ..gating.max_drop import EPSILON, large_but_not_significant, mark_drops
from ..results import Baseline, CompareStatus, Comparison, ComparisonRow, GroupResult, RunResult, SampleRecord
from ..stats import paired_difference, unpaired_difference
from ..texttable import format_table
from .samples import SamplesLineError, iter_lines, read_run_result
from .scores import ALL, format_delta, format_score, score_groups

__all__ = [
    "ALL",
    "Baseline",
    "Comparison",
    "ComparisonRow",
    "PerSample",
    "baseline_samples",
    "compare_results",
    "comparison_lines",
    "format_delta",
    "format_score",
    "load_baseline",
    "read_comparison",
]

Status = CompareStatus
# benchmark -> "subset/id" -> that sample's metrics
PerSample = Mapping[str, Mapping[str, Mapping[str, float]]]


def load_baseline(path: Path) -> RunResult:
    """Read an earlier `--llm-results` file; any problem is a ConfigError naming the file and the fix."""
    try:
        result = read_run_result(path)
    except FileProblem as unread:
        fix = (
            "pass the results JSON of an earlier run (written with --llm-results PATH)"
            if unread.kind in ("missing", "folder")
            else "pass a file written with --llm-results PATH"
        )
        raise ConfigError(f"--llm-compare {unread.after(path)}; {fix}") from None
    problem = baseline_problem(result)
    if problem is not None:
        raise ConfigError(
            f"--llm-compare {path}: {problem}, which no run writes; the file is damaged or was edited: "
            "pass the results JSON of a real run (re-run the baseline with --llm-results PATH)"
        )
    return result


def baseline_problem(result: RunResult) -> str | None:
    """The first number of a baseline that no run can have written, in words (None when all are
    sound): a metric that is not finite, a standard error that is negative, not finite, or that a
    regression gate would read as "no evidence" (a negative or NaN one made every drop look not
    significant), an interval whose bounds are reversed, a negative count."""
    for (name, subset), group in _groups(result).items():
        where = f"benchmarks.{name}" + (f".subsets.{subset}" if subset is not None else "")
        for metric, value in group.metrics.items():
            if not math.isfinite(value):
                return f"{where}.metrics.{metric} is {value!r}"
        for metric, u in group.uncertainty.items():
            for field in ("se", "ci_low", "ci_high"):
                value = getattr(u, field)
                if value is not None and (not math.isfinite(value) or (field == "se" and value < 0)):
                    return (
                        f"{where}.uncertainty.{metric}.{field} is {value!r} (a standard error is a finite number >= 0)"
                    )
            if u.ci_low is not None and u.ci_high is not None and u.ci_low > u.ci_high:
                return f"{where}.uncertainty.{metric} has ci_low {u.ci_low!r} above ci_high {u.ci_high!r}"
            if u.n < 0:
                return f"{where}.uncertainty.{metric}.n is {u.n}"
        if group.count < 0 or group.errors < 0:
            return f"{where} has a negative count"
    return None


def baseline_samples(
    results_path: Path, baseline: RunResult
) -> tuple[Path | None, dict[str, dict[str, dict[str, float]]]]:
    """The old run's per-sample metrics for pairing, from the samples JSONL its results name
    (a relative name is tried beside the results file, then from the working directory).
    Returns (None, {}) when it names none or the file is gone: the comparison is then unpaired.
    A file that is there but broken is a ConfigError naming it."""
    if not baseline.samples_path:
        return None, {}
    named = Path(baseline.samples_path)
    candidates = [named] if named.is_absolute() else [results_path.parent / named, named]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        return None, {}
    per_sample: dict[str, dict[str, dict[str, float]]] = {}
    number = 0
    try:
        for number, line in iter_lines(path):  # noqa: B007 - `number` is read by the except clause
            record = SampleRecord.model_validate_json(line)
            if record.error is None:
                per_sample.setdefault(record.benchmark, {})[f"{record.subset}/{record.id}"] = record.metrics
    except (ValidationError, SamplesLineError, OSError) as exc:
        if isinstance(exc, SamplesLineError):
            problem = str(exc)
        elif isinstance(exc, OSError):
            problem = f"cannot be read ({exc.strerror or exc})"
        else:
            problem = f"line {number} is not a sample record ({exc.errors()[0]['msg']})"
        raise ConfigError(
            f"--llm-compare: the samples file {path} named by {results_path} is damaged: {problem}; "
            "re-run the old run with --llm-samples, or remove samples_path from its results"
        ) from None
    return path, per_sample


def _groups(result: RunResult) -> dict[tuple[str, str | None], GroupResult]:
    return {(name, subset): group for name, subset, group in score_groups(result, every_subset=True)}


def compare_results(
    old: RunResult,
    new: RunResult,
    *,
    max_drop: float | None = None,
    old_path: str = "",
    significance: float | None = None,
    old_samples: PerSample | None = None,
    new_samples: PerSample | None = None,
    old_samples_path: str | None = None,
) -> Comparison:
    """Pair every (benchmark, subset, metric) of both runs, in a stable order: benchmarks and
    subsets sorted by name, the whole benchmark before its subsets. With `old_samples` and
    `new_samples` the differences are paired by sample (see the module docstring)."""
    old_groups, new_groups = _groups(old), _groups(new)
    keys = sorted(set(old_groups) | set(new_groups), key=lambda k: (k[0], k[1] is not None, k[1] or ""))
    paired = bool(old_samples) and new_samples is not None
    rows: list[ComparisonRow] = []
    for key in keys:
        old_group, new_group = old_groups.get(key), new_groups.get(key)
        old_metrics = old_group.metrics if old_group is not None else {}
        new_metrics = new_group.metrics if new_group is not None else {}
        for metric in [*new_metrics, *(m for m in old_metrics if m not in new_metrics)]:
            row = _row(key, metric, old_metrics.get(metric), new_metrics.get(metric))
            if row.delta is not None:
                _add_uncertainty(
                    row, old_group, new_group, old_samples if paired else None, new_samples if paired else None
                )
            rows.append(row)
    comparison = Comparison(
        baseline=Baseline(
            path=old_path,
            model=old.model,
            started=old.started,
            samples_path=old_samples_path,
            incomplete=None if old.complete and not old.interrupted else _finished(old),
        ),
        paired=paired,
        rows=rows,
    )
    return mark_drops(comparison, max_drop, significance)


def _row(key: tuple[str, str | None], metric: str, old: float | None, new: float | None) -> ComparisonRow:
    benchmark, subset = key
    if old is None or new is None:
        status: Status = "new" if old is None else "missing"
        return ComparisonRow(benchmark=benchmark, subset=subset, metric=metric, old=old, new=new, status=status)
    delta = new - old
    status = "same" if abs(delta) <= EPSILON else ("up" if delta > 0 else "down")
    return ComparisonRow(
        benchmark=benchmark,
        subset=subset,
        metric=metric,
        old=old,
        new=new,
        delta=0.0 if status == "same" else delta,
        status=status,
    )


def _pairs(
    row: ComparisonRow, old_samples: PerSample, new_samples: PerSample
) -> tuple[list[float], list[float]] | None:
    """Per-sample (old, new) values of the row's metric, or None when the metric is not a plain
    mean of per-sample values (then pairing would compare something else than the score)."""
    prefix = f"{row.subset}/" if row.subset is not None else ""
    old_bench, new_bench = old_samples.get(row.benchmark, {}), new_samples.get(row.benchmark, {})
    new_values = [m[row.metric] for sid, m in new_bench.items() if sid.startswith(prefix) and row.metric in m]
    if not new_values or row.new is None or abs(sum(new_values) / len(new_values) - row.new) > 1e-9:
        return None
    olds: list[float] = []
    news: list[float] = []
    for sample_id, metrics in new_bench.items():
        before = old_bench.get(sample_id)
        if sample_id.startswith(prefix) and row.metric in metrics and before is not None and row.metric in before:
            olds.append(before[row.metric])
            news.append(metrics[row.metric])
    return (olds, news) if olds else None


def _add_uncertainty(
    row: ComparisonRow,
    old_group: GroupResult | None,
    new_group: GroupResult | None,
    old_samples: PerSample | None,
    new_samples: PerSample | None,
) -> None:
    assert row.old is not None and row.new is not None
    pairs = _pairs(row, old_samples, new_samples) if old_samples is not None and new_samples is not None else None
    if pairs is not None:
        diff = paired_difference(*pairs)
        row.paired = True
    else:
        old_u = old_group.uncertainty.get(row.metric) if old_group is not None else None
        new_u = new_group.uncertainty.get(row.metric) if new_group is not None else None
        diff = unpaired_difference(row.old, old_u.se if old_u else None, row.new, new_u.se if new_u else None)
    row.n, row.se, row.ci_low, row.ci_high = diff.n, diff.se, diff.ci_low, diff.ci_high
    row.p_value, row.test, row.discordant = diff.p_value, diff.test, diff.discordant


def format_interval(row: ComparisonRow) -> str:
    if row.ci_low is None or row.ci_high is None:
        return "-"
    return f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}]"


def format_p(row: ComparisonRow) -> str:
    if row.p_value is None:
        return "-"
    return f"{row.p_value:.3g}" + {
        "mcnemar-exact": " (McNemar)",
        "paired-t": " (paired t)",
        "unpaired-z": " (unpaired z)",
    }.get(row.test or "", "")


def _finished(result: RunResult) -> str:
    done = result.samples_scored + result.samples_errored
    planned = f" of {result.samples_planned}" if result.samples_planned is not None else ""
    return f"{'interrupted' if result.interrupted else 'stopped early'}: {done}{planned} samples finished"


def comparison_lines(comparison: Comparison) -> list[str]:
    """The terminal section: a table of old vs new (with the 95% interval of the difference and
    its p-value) and, under it, one line per dropped metric."""
    base = comparison.baseline
    how = (
        f"paired by sample id with {base.samples_path}"
        if comparison.paired
        else "unpaired (no samples JSONL of the old run: pass --llm-samples to both runs to pair them)"
    )
    lines = [f"compared with {base.path or 'earlier run'} (model {base.model}, started {base.started})", how]
    if base.incomplete:
        lines.append(
            f"the old run is INCOMPLETE ({base.incomplete}): its scores describe those samples only, "
            "not the benchmark; compare with a complete run"
        )
    rows = [
        [
            row.benchmark,
            row.subset or ALL,
            row.metric,
            format_score(row.old),
            format_score(row.new),
            format_delta(row) + ("  DROP" if row.dropped else ""),
            format_interval(row),
            format_p(row),
        ]
        for row in comparison.rows
    ]
    lines += format_table(["benchmark", "subset", "metric", "old", "new", "delta", "95% CI of delta", "p"], rows)
    if comparison.max_drop is not None:
        lines.append("")
        significance = f" at significance {comparison.significance:g}" if comparison.significance is not None else ""
        if comparison.dropped:
            for row in comparison.dropped:
                why = (
                    ""
                    if comparison.significance is None
                    else (
                        f", p={row.p_value:.3g}"
                        if row.p_value is not None
                        else ", significance unknown: the old run has no standard errors"
                    )
                )
                lines.append(
                    f"FAIL  {row.label} dropped {format_score(row.old)} -> {format_score(row.new)} "
                    f"({format_delta(row)}, more than --llm-max-drop {comparison.max_drop:g}{why})"
                )
        else:
            lines.append(f"PASS  no metric dropped more than --llm-max-drop {comparison.max_drop:g}{significance}")
        for row in large_but_not_significant(comparison):
            lines.append(
                f"note  {row.label} fell {format_delta(row)} but p={format_p(row)} "
                f"is not below {comparison.significance:g}: "
                "not counted as a drop"
            )
    return lines


def read_comparison(extra: dict[str, object]) -> Comparison | None:
    """The comparison stored in `result.extra`, or None when absent or not ours (tolerated: an
    older results file must still render)."""
    raw = extra.get("compare")
    if raw is None:
        return None
    try:
        return Comparison.model_validate(raw)
    except ValidationError:
        return None
