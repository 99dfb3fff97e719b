"""Old run versus new run: score deltas (`--llm-compare OLD.json`) and regression gating (`--llm-max-drop X`).

Every metric of every benchmark is compared twice: over the whole benchmark (subset `None`, shown as
"(all)") and per subset. Edge cases users ask about:

- A metric present in only one of the runs is reported with status `new` or `missing`, never as a
  drop: a benchmark you stopped running (or started running) does not fail the gate.
- A metric *drops* when `old - new > max_drop` (strictly more; a drop equal to `max_drop` passes).
  Subset metrics are gated too: a small subset can move a lot when one sample flips, so pick
  `max_drop` with your subset sizes in mind, or compare on benchmarks with one subset.
- Scores are compared as stored; the two runs are not checked for using the same model, samples,
  `--llm-limit` or generation parameters (the header shows both models so a mix-up is visible).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..errors import ConfigError
from .models import GroupResult, RunResult
from .terminal import format_table

ALL = "(all)"
# Differences below this are float noise from aggregation, not score changes.
EPSILON = 1e-9

Status = Literal["up", "down", "same", "new", "missing"]


class ComparisonRow(BaseModel):
    benchmark: str
    subset: str | None = None  # None: over the whole benchmark
    metric: str
    old: float | None = None
    new: float | None = None
    delta: float | None = None  # new - old, when both exist
    status: Status
    dropped: bool = False  # delta below -max_drop

    @property
    def label(self) -> str:
        """`gsm8k.acc` or `iquiz.EQ.acc`: the same spelling as --llm-threshold."""
        middle = f".{self.subset}" if self.subset is not None else ""
        return f"{self.benchmark}{middle}.{self.metric}"


class Baseline(BaseModel):
    path: str
    model: str
    started: str


class Comparison(BaseModel):
    """What `result.extra["compare"]` holds (as JSON)."""

    baseline: Baseline
    max_drop: float | None = None
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


def load_baseline(path: Path) -> RunResult:
    """Read an earlier `--llm-results` file; any problem is a ConfigError naming the file and the fix."""
    if not path.is_file():
        raise ConfigError(
            f"--llm-compare {path}: no such file; pass the results JSON of an earlier run (written with --llm-results PATH)"
        )
    try:
        return RunResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        kind = "is not valid JSON" if first["type"] == "json_invalid" else f"is not a pytest-llmeval results JSON ({where}: {first['msg']})"
        raise ConfigError(f"--llm-compare {path} {kind}; pass a file written with --llm-results PATH") from None


def _groups(result: RunResult) -> dict[tuple[str, str | None], GroupResult]:
    groups: dict[tuple[str, str | None], GroupResult] = {}
    for name, bench in result.benchmarks.items():
        groups[(name, None)] = bench
        for subset, group in bench.subsets.items():
            groups[(name, subset)] = group
    return groups


def compare_results(old: RunResult, new: RunResult, *, max_drop: float | None = None, old_path: str = "") -> Comparison:
    """Pair every (benchmark, subset, metric) of both runs, in a stable order: benchmarks and
    subsets sorted by name, the whole benchmark before its subsets."""
    old_groups, new_groups = _groups(old), _groups(new)
    keys = sorted(set(old_groups) | set(new_groups), key=lambda k: (k[0], k[1] is not None, k[1] or ""))
    rows: list[ComparisonRow] = []
    for key in keys:
        old_metrics = old_groups[key].metrics if key in old_groups else {}
        new_metrics = new_groups[key].metrics if key in new_groups else {}
        for metric in [*new_metrics, *(m for m in old_metrics if m not in new_metrics)]:
            rows.append(_row(key, metric, old_metrics.get(metric), new_metrics.get(metric), max_drop))
    return Comparison(
        baseline=Baseline(path=old_path, model=old.model, started=old.started), max_drop=max_drop, rows=rows
    )


def _row(key: tuple[str, str | None], metric: str, old: float | None, new: float | None, max_drop: float | None) -> ComparisonRow:
    benchmark, subset = key
    if old is None or new is None:
        status: Status = "new" if old is None else "missing"
        return ComparisonRow(benchmark=benchmark, subset=subset, metric=metric, old=old, new=new, status=status)
    delta = new - old
    status = "same" if abs(delta) <= EPSILON else ("up" if delta > 0 else "down")
    dropped = max_drop is not None and -delta > max_drop + EPSILON
    return ComparisonRow(
        benchmark=benchmark, subset=subset, metric=metric, old=old, new=new,
        delta=0.0 if status == "same" else delta, status=status, dropped=dropped,
    )


def format_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def format_delta(row: ComparisonRow) -> str:
    if row.status == "new":
        return "new"
    if row.status == "missing":
        return "missing"
    assert row.delta is not None
    return f"{row.delta:+.4f}"


def comparison_lines(comparison: Comparison) -> list[str]:
    """The terminal section: a table of old vs new and, under it, one line per dropped metric."""
    base = comparison.baseline
    lines = [f"compared with {base.path or 'earlier run'} (model {base.model}, started {base.started})"]
    rows = [
        [row.benchmark, row.subset or ALL, row.metric, format_score(row.old), format_score(row.new),
         format_delta(row) + ("  DROP" if row.dropped else "")]
        for row in comparison.rows
    ]
    lines += format_table(["benchmark", "subset", "metric", "old", "new", "delta"], rows)
    if comparison.max_drop is not None:
        lines.append("")
        if comparison.dropped:
            for row in comparison.dropped:
                lines.append(
                    f"FAIL  {row.label} dropped {format_score(row.old)} -> {format_score(row.new)} "
                    f"({format_delta(row)}, more than --llm-max-drop {comparison.max_drop:g})"
                )
        else:
            lines.append(f"PASS  no metric dropped more than --llm-max-drop {comparison.max_drop:g}")
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

