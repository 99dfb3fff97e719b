"""Several runs side by side: scores and per-sample verdicts (drawn by `templates/compare.html.j2`).

`python -m pytest_llmeval.report a.json [a.jsonl] b.json [b.jsonl] ... -o compare.html` reads each
run's results JSON and, optionally, its samples JSONL (the `.jsonl` file after a results file
belongs to it). The first run is the reference: deltas are each run's score minus the first run's.

Samples are matched by benchmark, subset and sample id (not by node id, which carries the test
file's path). A sample missing from a run shows "missing" there. A row is marked *differs* when the
runs that have the sample do not all give the same verdict; the "agreement" filter lists those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .compare import ALL, format_score
from .models import GroupResult, RunResult, SampleRecord
from .sample_table import as_text, natural_key, script_json, shorten, verdict_of
from .thinking_view import ThinkingView, thinking_view

PROMPT_CHARS = 20_000


@dataclass
class LoadedRun:
    """One run as given on the command line."""

    path: Path
    result: RunResult
    records: list[SampleRecord] | None = None
    label: str = ""


def label_runs(runs: Sequence[LoadedRun]) -> None:
    """Label each run by its model; runs of the same model also get their file name."""
    models = [r.result.model for r in runs]
    for run in runs:
        run.label = run.result.model if models.count(run.result.model) == 1 else f"{run.result.model} ({run.path.name})"
    labels = [r.label for r in runs]
    for index, run in enumerate(runs):
        if labels.count(run.label) > 1:
            run.label = f"{run.label} #{index + 1}"


@dataclass
class ScoreLine:
    benchmark: str
    subset: str
    metric: str
    values: list[tuple[str, float | None]]  # (text, sort key) per run
    deltas: list[tuple[str, str]]  # (text, tone) per run after the first


@dataclass
class SampleLine:
    index: int
    benchmark: str
    subset: str
    id: str
    expected: str
    cells: list[tuple[str, str, str]]  # (verdict, shown verdict, extracted) per run
    differs: bool


@dataclass
class CompareView:
    runs: list[LoadedRun]
    scores: list[ScoreLine]
    samples: list[SampleLine] = field(default_factory=list)
    with_samples: bool = False
    filters: list[tuple[str, list[str]]] = field(default_factory=list)
    counts: str = ""
    payload: Markup = field(default_factory=lambda: Markup("{}"))
    thinking: ThinkingView | None = None  # reasoning-efficiency charts, one line per run


def _groups(result: RunResult) -> dict[tuple[str, str], GroupResult]:
    groups: dict[tuple[str, str], GroupResult] = {}
    for name, bench in result.benchmarks.items():
        groups[(name, ALL)] = bench
        if len(bench.subsets) > 1:
            for subset, group in bench.subsets.items():
                groups[(name, subset)] = group
    return groups


def _score_lines(runs: Sequence[LoadedRun]) -> list[ScoreLine]:
    per_run = [_groups(r.result) for r in runs]
    keys: list[tuple[str, str, str]] = []
    for groups in per_run:
        for (bench, subset), group in groups.items():
            for metric in group.metrics:
                if (bench, subset, metric) not in keys:
                    keys.append((bench, subset, metric))
    keys.sort(key=lambda k: (k[0], k[1] != ALL, k[1]))
    lines = []
    for bench, subset, metric in keys:
        values = [g[(bench, subset)].metrics.get(metric) if (bench, subset) in g else None for g in per_run]
        deltas = []
        for value in values[1:]:
            if value is None or values[0] is None:
                deltas.append(("-", ""))
            else:
                delta = value - values[0]
                deltas.append((f"{delta:+.4f}", "lle-up" if delta > 1e-9 else ("lle-down" if delta < -1e-9 else "")))
        lines.append(ScoreLine(bench, subset, metric, [(format_score(v), v) for v in values], deltas))
    return lines


def _prompt(record: SampleRecord) -> str:
    text = "\n\n".join(f"[{m.get('role', '')}] {as_text(m.get('content'))}" for m in record.messages)
    return text if len(text) <= PROMPT_CHARS else text[: PROMPT_CHARS - 1] + "\u2026"


def compare_view(runs: Sequence[LoadedRun]) -> CompareView:
    runs = list(runs)
    view = CompareView(runs=runs, scores=_score_lines(runs),
                       thinking=thinking_view([(r.label, r.result.thinking) for r in runs]))
    with_records = [r for r in runs if r.records is not None]
    if not with_records:
        return view
    view.with_samples = True
    table: dict[tuple[str, str, str], list[SampleRecord | None]] = {}
    for index, run in enumerate(runs):
        for record in run.records or []:
            slot = table.setdefault((record.benchmark, record.subset, record.id), [None] * len(runs))
            slot[index] = record
    details: list[dict[str, Any]] = []
    differing = 0
    for index, key in enumerate(sorted(table, key=lambda k: (k[0], k[1], natural_key(k[2])))):
        records = table[key]
        present = [r for r in records if r is not None]
        cells = []
        for run, cell in zip(runs, records, strict=True):
            if cell is None:
                cells.append(("missing", "missing" if run.records is not None else "no samples file", ""))
            else:
                verdict = verdict_of(cell)
                shown = f"error: {cell.error_kind}" if verdict == "error" and cell.error_kind else verdict
                cells.append((verdict, shown, shorten(as_text(cell.extracted), 80)))
        differs = len({verdict_of(r) for r in present}) > 1
        differing += differs
        first = present[0]
        view.samples.append(SampleLine(index, key[0], key[1], key[2], shorten(as_text(first.target), 80), cells, differs))
        details.append({
            "n": first.nodeid,
            "p": _prompt(first),
            "tf": as_text(first.target),
            "ro": [r.output if r is not None else None for r in records],
            "rr": [r.reasoning if r is not None else None for r in records],
            "re": [r.error if r is not None else None for r in records],
            "rx": [r.explanation if r is not None else None for r in records],
        })
    view.filters = [
        ("benchmark", sorted({s.benchmark for s in view.samples})),
        ("subset", sorted({s.subset for s in view.samples})),
        ("agreement", ["differs", "same"]),
    ]
    view.counts = f"{len(view.samples)} samples, {differing} with verdicts that differ between runs."
    view.payload = script_json({"runs": [r.label for r in runs], "chunks": [], "samples": details})
    return view
