"""The HTML report builder: one builder, two entry points.

`render_overview(result)` and `render_samples(table)` return the two sections that the pytest run
puts into pytest-html's page (through `pytest_html_results_summary`) and that the rebuild CLI
(`python -m pytest_llmeval.report`) wraps in a standalone page with `render_page`. Each section is
delimited by HTML comments (`<!-- llmeval:overview -->` ... `<!-- /llmeval:overview -->`) so tools
(and our tests) can cut them out and compare.

Safety: every string that reaches the page is escaped with `html.escape` here or set through
`textContent` in report.js; JSON embedded in the page has '<', '>' and '&' escaped. The page loads
nothing from the network: styles, script and SVG charts are inline. The endpoint URL is shown
without user name, password or query string, and the API key is never part of a `RunResult`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ThresholdError
from ..gating.thresholds import ThresholdRule, parse_threshold
from .charts import Bar, bar_chart
from .compare import (
    ALL,
    Comparison,
    ComparisonRow,
    format_delta,
    format_score,
    read_comparison,
)
from .models import RunResult, SampleRecord
from .perf_view import perf_runs, render_perf
from ..collection.html import render_collection
from .sample_table import SampleTable

OVERVIEW_START, OVERVIEW_END = "<!-- llmeval:overview -->", "<!-- /llmeval:overview -->"
SAMPLES_START, SAMPLES_END = "<!-- llmeval:samples -->", "<!-- /llmeval:samples -->"
MAX_SUBSET_CHART_METRICS = 3


@cache
def asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def content_security_policy() -> str:
    """The standalone page's policy: only our own inline script (by hash) runs, nothing is loaded.
    Defence in depth: even if some text escaped escaping, it could neither run nor call out."""
    digest = base64.b64encode(hashlib.sha256(asset("report.js").encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:"


def public_url(url: str | None) -> str:
    """The endpoint as it may be shown: no user info (`user:key@`), no query (`?api-key=...`)."""
    if not url:
        return "-"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _fmt_duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:04.1f} s"
    if minutes:
        return f"{minutes} min {secs:04.1f} s"
    return f"{secs:.1f} s"


def _meta(result: RunResult, comparison: Comparison | None) -> str:
    req = result.requests
    items: list[tuple[str, str]] = [
        ("model", result.model),
        ("endpoint", public_url(result.base_url)),
        ("started", result.started),
        ("duration", _fmt_duration(result.duration_s)),
        ("requests", f"{req.sent} sent, {req.cached} from cache"),
        ("tokens", f"{req.prompt_tokens} prompt, {req.completion_tokens} completion"),
    ]
    if result.generation:
        items.append(("generation", ", ".join(f"{k}={_compact(v)}" for k, v in result.generation.items())))
    errors = sum(b.errors for b in result.benchmarks.values())
    items.append(("errors", f"{errors} sample(s) without an answer" if errors else "none"))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    gated = bool(result.thresholds) or (comparison is not None and comparison.max_drop is not None)
    if not result.passed:
        verdict, tone, note = "FAILED", "lle-fail", ""
    elif gated:
        verdict, tone, note = "PASSED", "lle-pass", ""
    else:
        # Without gates the items decide: each wrong answer is a failed test.
        verdict, tone, note = "NO GATES", "lle-none", "no --llm-threshold or --llm-max-drop: each wrong answer fails its test"
    note_html = f' <span class="lle-muted">{escape(note)}</span>' if note else ""
    return (
        f'<h2>LLM evaluation <span class="lle-verdict {tone}" id="llmeval-verdict">{verdict}</span>{note_html}</h2>'
        f'<dl class="lle-meta">{body}</dl>'
    )


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _rules(result: RunResult) -> list[tuple[ThresholdRule, bool]]:
    rules = []
    for outcome in result.thresholds:
        try:
            rules.append((parse_threshold(outcome.expression), outcome.passed))
        except ThresholdError:
            continue  # a results file written by another version: the thresholds table still shows it
    return rules


def _score_rows(result: RunResult, comparison: Comparison | None) -> list[tuple[str, str | None, str, float | None, str, str]]:
    """(benchmark, subset, metric, value, count, errors); subsets only when a benchmark has several,
    like the terminal table. Metrics only the old run had are appended with value None."""
    rows: list[tuple[str, str | None, str, float | None, str, str]] = []
    for name, bench in result.benchmarks.items():
        for metric, value in bench.metrics.items():
            rows.append((name, None, metric, value, str(bench.count), str(bench.errors)))
        if not bench.metrics:
            rows.append((name, None, "-", None, str(bench.count), str(bench.errors)))
        if len(bench.subsets) > 1:
            for subset, group in bench.subsets.items():
                for metric, value in group.metrics.items():
                    rows.append((name, subset, metric, value, str(group.count), str(group.errors)))
                if not group.metrics:
                    rows.append((name, subset, "-", None, str(group.count), str(group.errors)))
    if comparison is not None:
        for row in comparison.rows:
            if row.status == "missing" and (row.subset is None or _shown_subset(result, row)):
                rows.append((row.benchmark, row.subset, row.metric, None, "", ""))
    return rows


def _shown_subset(result: RunResult, row: ComparisonRow) -> bool:
    bench = result.benchmarks.get(row.benchmark)
    return bench is None or len(bench.subsets) > 1


def _score_table(result: RunResult, comparison: Comparison | None) -> str:
    rules = _rules(result)
    head = ["benchmark", "subset", "metric", "score", "count", "errors", "threshold"]
    if comparison is not None:
        head += ["old", "delta"]
    cells_head = "".join(f'<th class="{"lle-num" if h in ("score", "count", "errors", "old", "delta") else ""}">{h}</th>' for h in head)
    body: list[str] = []
    for bench, subset, metric, value, count, errors in _score_rows(result, comparison):
        gates = [
            f'<span class="{"lle-pass-text" if ok else "lle-fail-text"}">{"PASS" if ok else "FAIL"}</span> {escape(rule.op)} {rule.value:g}'
            for rule, ok in rules if (rule.benchmark, rule.subset, rule.metric) == (bench, subset, metric)
        ]
        cells = [
            f"<td>{escape(bench)}</td>", f"<td>{escape(subset or ALL)}</td>", f"<td>{escape(metric)}</td>",
            f'<td class="lle-num lle-score">{format_score(value)}</td>', f'<td class="lle-num">{count}</td>',
            f'<td class="lle-num lle-errors">{errors}</td>', f'<td class="lle-gate">{"<br>".join(gates)}</td>',
        ]
        if comparison is not None:
            cells += _compare_cells(comparison.find(bench, subset, metric))
        body.append(
            f'<tr data-benchmark="{escape(bench)}" data-subset="{escape(subset or ALL)}" data-metric="{escape(metric)}">'
            + "".join(cells) + "</tr>"
        )
    return f'<table class="lle-table lle-scores" id="llmeval-scores"><thead><tr>{cells_head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _compare_cells(row: ComparisonRow | None) -> list[str]:
    if row is None:
        return ['<td class="lle-num lle-old"></td>', '<td class="lle-num lle-delta"></td>']
    tone = f"lle-{row.status}" + (" lle-dropped" if row.dropped else "")
    text = {"new": "new (not in old run)", "missing": "missing in this run"}.get(row.status, format_delta(row))
    mark = " DROP" if row.dropped else ""
    return [f'<td class="lle-num lle-old">{format_score(row.old)}</td>', f'<td class="lle-num lle-delta {tone}">{escape(text)}{mark}</td>']


def _thresholds(result: RunResult) -> str:
    if not result.thresholds:
        return ""
    rows = "".join(
        f'<tr><td>{escape(o.expression)}</td><td class="lle-num">{format_score(o.value)}</td>'
        f'<td class="{"lle-pass-text" if o.passed else "lle-fail-text"}">{"PASS" if o.passed else "FAIL"}</td></tr>'
        for o in result.thresholds
    )
    return (
        '<h3>Thresholds</h3><table class="lle-table lle-thresholds" id="llmeval-thresholds">'
        f'<thead><tr><th>threshold</th><th class="lle-num">actual</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _comparison(comparison: Comparison | None) -> str:
    if comparison is None:
        return ""
    base = comparison.baseline
    text = f"Compared with {base.path or 'an earlier run'} (model {base.model}, started {base.started})."
    parts = [f'<h3>Comparison</h3><p>{escape(text)}</p>']
    if comparison.max_drop is not None:
        if comparison.dropped:
            items = "".join(
                f"<li>{escape(r.label)}: {format_score(r.old)} \u2192 {format_score(r.new)} ({escape(format_delta(r))})</li>"
                for r in comparison.dropped
            )
            parts.append(
                f'<p class="lle-fail-text" id="llmeval-drops">FAIL: {len(comparison.dropped)} metric(s) dropped more than '
                f"--llm-max-drop {comparison.max_drop:g}:</p><ul>{items}</ul>"
            )
        else:
            parts.append(f'<p class="lle-pass-text" id="llmeval-drops">PASS: no metric dropped more than --llm-max-drop {comparison.max_drop:g}.</p>')
    parts.append('<p class="lle-muted">Metrics present in only one run are shown as new or missing, never as drops.</p>')
    return "".join(parts)


def _charts(result: RunResult, comparison: Comparison | None) -> str:
    failed = {(r.benchmark, r.subset, r.metric) for r, ok in _rules(result) if not ok}
    passed = {(r.benchmark, r.subset, r.metric) for r, ok in _rules(result) if ok}
    dropped = {(r.benchmark, r.subset, r.metric) for r in comparison.dropped} if comparison else set()

    def bar(label: str, key: tuple[str, str | None, str], value: float) -> Bar:
        old = comparison.find(*key) if comparison else None
        tone = "bad" if key in failed or key in dropped else ("good" if key in passed else "neutral")
        return Bar(label, value, reference=old.old if old else None, tone=tone)

    overall = [bar(f"{name} {metric}", (name, None, metric), value)
               for name, b in result.benchmarks.items() for metric, value in b.metrics.items()]
    charts = [bar_chart("Scores" + (" (black mark: old run)" if comparison else ""), overall)] if overall else []
    for name, bench in result.benchmarks.items():
        if len(bench.subsets) < 2:
            continue
        for metric in list(bench.metrics)[:MAX_SUBSET_CHART_METRICS]:
            bars = [bar(subset, (name, subset, metric), group.metrics[metric])
                    for subset, group in bench.subsets.items() if metric in group.metrics]
            charts.append(bar_chart(f"{name} {metric} by subset", bars))
    return f'<div class="lle-charts">{"".join(charts)}</div>' if charts else ""


def render_overview(result: RunResult) -> str:
    """The summary section: run facts, scores with thresholds and deltas, charts, perf."""
    comparison = read_comparison(result.extra)
    perf = render_perf(perf_runs(result.extra.get("perf"))) if "perf" in result.extra else ""
    return "".join([
        OVERVIEW_START,
        f"<style>{asset('report.css')}</style>",
        '<section class="lle" id="llmeval-overview">',
        _meta(result, comparison),
        "<h3>Scores</h3>" if result.benchmarks else "",
        _score_table(result, comparison) if result.benchmarks else "",
        _thresholds(result),
        render_collection(result.collection),
        _comparison(comparison),
        _charts(result, comparison),
        perf,
        "</section>",
        OVERVIEW_END,
    ])


def render_samples(table: SampleTable) -> str:
    """The per-sample section with its filter/expand script (empty table: a short note)."""
    if not len(table):
        inner = "<h2>Samples</h2><p>No per-sample records (rebuild with the samples JSONL written by --llm-samples to list them).</p>"
    else:
        inner = table.render() + f"<script>{asset('report.js')}</script>"
    return f'{SAMPLES_START}<section class="lle" id="llmeval-samples">{inner}</section>{SAMPLES_END}'


def render_page(result: RunResult, records: Iterable[SampleRecord] | SampleTable) -> str:
    """A standalone, self-contained page with both sections (what the rebuild CLI writes)."""
    table = records if isinstance(records, SampleTable) else _table(records)
    title = f"pytest-llmeval report: {result.model}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        '<style>body{margin:16px 24px;background:#fff}</style></head><body>\n'
        f"{render_overview(result)}\n{render_samples(table)}\n</body></html>\n"
    )


def _table(records: Iterable[SampleRecord]) -> SampleTable:
    table = SampleTable()
    for record in records:
        table.add(record)
    return table


def cut_section(page: str, start: str, end: str) -> str | None:
    """The text between a section's markers, markers included (None when absent)."""
    begin = page.find(start)
    stop = page.find(end, begin)
    if begin < 0 or stop < 0:
        return None
    return page[begin : stop + len(end)]
