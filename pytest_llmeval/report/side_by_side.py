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

from markupsafe import Markup

from ..results import RunResult, SampleRecord
from .efficiency_view import EfficiencyView, efficiency_view
from .payload import CompareDetail, compare_payload
from .sample_table import content_text, natural_key, verdict_of
from .scores import ALL, format_score, score_rows
from .text import as_text, shorten

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
    thinking: EfficiencyView | None = None  # reasoning-efficiency charts, one line per run


def _score_lines(runs: Sequence[LoadedRun]) -> list[ScoreLine]:
    """The score table's rows (`report/scores.py`) of every run, matched by benchmark, subset and
    metric; rows without a metric are left out (a run without a score shows `-` in its column)."""
    per_run = [
        {(r.benchmark, r.subset_label, r.metric): r.value for r in score_rows(run.result) if r.metric is not None}
        for run in runs
    ]
    keys = list(dict.fromkeys(key for values in per_run for key in values))
    keys.sort(key=lambda k: (k[0], k[1] != ALL, k[1]))
    lines = []
    for bench, subset, metric in keys:
        values = [scores.get((bench, subset, metric)) for scores in per_run]
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
    text = "\n\n".join(f"[{m.get('role', '')}] {content_text(m.get('content'))}" for m in record.messages)
    return shorten(text, PROMPT_CHARS)


def compare_view(runs: Sequence[LoadedRun]) -> CompareView:
    runs = list(runs)
    view = CompareView(
        runs=runs, scores=_score_lines(runs), thinking=efficiency_view([(r.label, r.result.thinking) for r in runs])
    )
    with_records = [r for r in runs if r.records is not None]
    if not with_records:
        return view
    view.with_samples = True
    table: dict[tuple[str, str, str], list[SampleRecord | None]] = {}
    for index, run in enumerate(runs):
        for record in run.records or []:
            slot = table.setdefault((record.benchmark, record.subset, record.id), [None] * len(runs))
            slot[index] = record
    details: list[CompareDetail] = []
    differing = 0
    for index, key in enumerate(sorted(table, key=lambda k: (k[0], k[1], natural_key(k[2])))):
        records = table[key]
        present = [r for r in records if r is not None]
        cells = []
        for run, found in zip(runs, records, strict=False):
            if found is None:
                cells.append(("missing", "missing" if run.records is not None else "no samples file", ""))
            else:
                verdict = verdict_of(found)
                shown = f"error: {found.error_kind}" if verdict == "error" and found.error_kind else verdict
                cells.append((verdict, shown, shorten(as_text(found.extracted), 80)))
        differs = len({verdict_of(r) for r in present}) > 1
        differing += differs
        first = present[0]
        view.samples.append(
            SampleLine(index, key[0], key[1], key[2], shorten(as_text(first.target), 80), cells, differs)
        )
        details.append(
            CompareDetail(
                nodeid=first.nodeid,
                prompt=_prompt(first),
                target_full=as_text(first.target),
                run_outputs=[r.output if r is not None else None for r in records],
                run_reasonings=[r.reasoning if r is not None else None for r in records],
                run_errors=[r.error if r is not None else None for r in records],
                run_explanations=[r.explanation if r is not None else None for r in records],
            )
        )
    view.filters = [
        ("benchmark", sorted({s.benchmark for s in view.samples})),
        ("subset", sorted({s.subset for s in view.samples})),
        ("agreement", ["differs", "same"]),
    ]
    view.counts = f"{len(view.samples)} samples, {differing} with verdicts that differ between runs."
    view.payload = compare_payload([r.label for r in runs], details)
    return view
