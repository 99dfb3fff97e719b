"""The HTML report builder: view models in Python, markup in Jinja2 templates (autoescape on).

`render_overview(result)` and `render_samples(table)` return the two sections that the pytest run
puts into pytest-html's page (through `pytest_html_results_summary`) and that the rebuild CLI
(`python -m pytest_llmeval.report`) wraps in a standalone page with `render_page`. Each section is
delimited by HTML comments (`<!-- llmeval:overview -->` ... `<!-- /llmeval:overview -->`) so tools
(and our tests) can cut them out and compare. `render_compare(runs)` is the side-by-side page of
several runs (`python -m pytest_llmeval.report a.json b.json -o compare.html`).

Templates live in `templates/` (package data). The overview is a list of sections, each a function
here that returns its context (or None to leave the section out) and a template
`templates/sections/<name>.html.j2` that draws it; `OVERVIEW_SECTIONS` gives their order. To add a
section (confidence intervals, a collection table, thinking-efficiency charts ...): write the
template, write the builder, add both to `OVERVIEW_SECTIONS`. Charts are drawn by the `chart` macro
of `templates/charts.svg.j2` from the geometry computed in `charts.py`.

Safety: autoescaping is on for every template, so every string that reaches the page is escaped
unless it is explicitly `Markup` (only our own CSS and script, and JSON made inert by
`script_json`). report.js sets untrusted text with `textContent` only. The page loads nothing from
the network: styles, script and SVG charts are inline. The endpoint URL is shown without user name,
password or query string, and the API key is never part of a `RunResult`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..errors import ThresholdError
from ..gating.thresholds import ThresholdRule, parse_threshold
from ..redact import redact
from ..results import RunResult, SampleRecord
from .charts import Bar, bar_chart
from .compare import Comparison, read_comparison
from .efficiency_view import efficiency_view
from .payload import KEYS, KEYS_PLACEHOLDER
from .perf_view import PerfView, perf_view
from .sample_table import SampleTable
from .scores import ALL, format_delta, format_score, score_rows
from .terminal import selection_notes, truncation_notes
from .text import as_text, public_url

OVERVIEW_START, OVERVIEW_END = "<!-- llmeval:overview -->", "<!-- /llmeval:overview -->"
SAMPLES_START, SAMPLES_END = "<!-- llmeval:samples -->", "<!-- /llmeval:samples -->"
MAX_SUBSET_CHART_METRICS = 3


@cache
def asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")


@cache
def script_text() -> str:
    """report.js with the payload's key table (`payload.KEYS`) written in: the script inlined in
    every page, and what the standalone page's policy allows by hash."""
    source = asset("report.js")
    if source.count(KEYS_PLACEHOLDER) != 1:
        raise RuntimeError(f"report.js must hold {KEYS_PLACEHOLDER} once: the payload key table goes there")
    return source.replace(KEYS_PLACEHOLDER, json.dumps(KEYS, separators=(",", ":")))


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the report: autoescape on for every template."""
    env = Environment(
        loader=PackageLoader("pytest_llmeval.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals.update(css=lambda: Markup(asset("report.css")), script=lambda: Markup(script_text()), ALL=ALL)
    env.filters.update(score=format_score)
    return env


def render(template: str, **context: Any) -> str:
    return redact(environment().get_template(template).render(**context))


def content_security_policy() -> Markup:
    """The standalone page's policy: only our own inline script (by hash) runs, nothing is loaded.
    Defence in depth: even if some text escaped escaping, it could neither run nor call out.
    (Markup: a constant of ours whose only variable part is base64, so it has no '"' or '<'.)"""
    digest = base64.b64encode(hashlib.sha256(script_text().encode("utf-8")).digest()).decode("ascii")
    return Markup(
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; media-src data:"
    )


def fmt_duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:04.1f} s"
    if minutes:
        return f"{minutes} min {secs:04.1f} s"
    return f"{secs:.1f} s"


# -- the overview's sections ------------------------------------------------------------------


@dataclass
class Page:
    """What every overview section builder sees."""

    result: RunResult
    comparison: Comparison | None
    perf: PerfView | None
    rules: list[tuple[ThresholdRule, bool]] = field(default_factory=list)


def _rules(result: RunResult) -> list[tuple[ThresholdRule, bool]]:
    rules = []
    for outcome in result.thresholds:
        try:
            rules.append((parse_threshold(outcome.expression), outcome.passed))
        except ThresholdError:
            continue  # a results file written by another version: the thresholds table still shows it
    return rules


def meta_section(page: Page) -> dict[str, Any]:
    result, comparison = page.result, page.comparison
    req = result.requests
    requests = f"{req.sent} sent, {req.cached} from cache"
    if page.perf is not None and page.perf.requests:
        requests += f"; perf: {page.perf.requests} sent ({page.perf.failed} failed) by {len(page.perf.tests)} test(s)"
    items: list[tuple[str, str]] = [
        ("model", result.model),
        ("endpoint", public_url(result.base_url)),
        ("started", result.started),
        ("duration", fmt_duration(result.duration_s)),
        ("requests", requests),
        ("tokens", f"{req.prompt_tokens} prompt, {req.completion_tokens} completion"),
    ]
    if result.generation:
        items.append(("generation", ", ".join(f"{k}={as_text(v, none='null')}" for k, v in result.generation.items())))
    errors = sum(b.errors for b in result.benchmarks.values())
    items.append(("errors", f"{errors} sample(s) without an answer" if errors else "none"))
    if result.samples_deselected:
        items.append(("selection", "; ".join(selection_notes(result))))
    if any(bench.truncated for bench in result.benchmarks.values()):
        items.append(("truncated", "; ".join(truncation_notes(result))))
    gated = bool(result.thresholds) or (comparison is not None and comparison.max_drop is not None)
    if not result.complete or result.interrupted:
        # an incomplete run is never passed, whatever its scores (fields of the results, see docs/results.md)
        done = result.samples_scored + result.samples_errored
        planned = result.samples_planned
        why = "interrupted" if result.interrupted else (result.stopped_by or "samples without a result")
        verdict, tone, note = (
            "INCOMPLETE",
            "lle-fail",
            f"{why}: {done} of {'?' if planned is None else planned} samples finished",
        )
    elif not result.passed:
        verdict, tone, note = "FAILED", "lle-fail", ""
    elif gated:
        verdict, tone, note = "PASSED", "lle-pass", ""
    else:
        # Without gates the items decide: each wrong answer is a failed test.
        verdict, tone, note = (
            "NO GATES",
            "lle-none",
            "no --llm-threshold or --llm-max-drop: each wrong answer fails its test",
        )
    return {"items": items, "verdict": verdict, "tone": tone, "note": note}


def scores_section(page: Page) -> dict[str, Any] | None:
    if not page.result.benchmarks:
        return None
    rules = [(rule.benchmark, rule.subset, rule.metric, (ok, rule.op, rule.value)) for rule, ok in page.rules]
    rows = score_rows(page.result, page.comparison, rules)
    return {"rows": rows, "compared": page.comparison is not None, "with_ci": any(r.interval for r in rows)}


def thresholds_section(page: Page) -> dict[str, Any] | None:
    if not page.result.thresholds:
        return None
    return {"outcomes": page.result.thresholds}


def comparison_section(page: Page) -> dict[str, Any] | None:
    comparison = page.comparison
    if comparison is None:
        return None
    base = comparison.baseline
    how = (
        f" Samples paired by id with {base.samples_path}: each delta has a paired 95% interval and p-value"
        " (hover the delta)."
        if comparison.paired
        else " Unpaired: the old run's samples were not available, so intervals and p-values are unpaired."
    )
    return {
        "text": f"Compared with {base.path or 'an earlier run'} (model {base.model}, started {base.started})." + how,
        "comparison": comparison,
        "drops": [(r.label, format_score(r.old), format_score(r.new), format_delta(r)) for r in comparison.dropped],
    }


def charts_section(page: Page) -> dict[str, Any] | None:
    result, comparison = page.result, page.comparison
    failed = {(r.benchmark, r.subset, r.metric) for r, ok in page.rules if not ok}
    passed = {(r.benchmark, r.subset, r.metric) for r, ok in page.rules if ok}
    dropped = {(r.benchmark, r.subset, r.metric) for r in comparison.dropped} if comparison else set()

    def bar(label: str, key: tuple[str, str | None, str], value: float) -> Bar:
        old = comparison.find(*key) if comparison else None
        tone = "bad" if key in failed or key in dropped else ("good" if key in passed else "neutral")
        return Bar(label, value, reference=old.old if old else None, tone=tone)

    overall = [
        bar(f"{name} {metric}", (name, None, metric), value)
        for name, b in result.benchmarks.items()
        for metric, value in b.metrics.items()
    ]
    charts = [bar_chart("Scores" + (" (black mark: old run)" if comparison else ""), overall)] if overall else []
    for name, bench in result.benchmarks.items():
        if len(bench.subsets) < 2:
            continue
        for metric in list(bench.metrics)[:MAX_SUBSET_CHART_METRICS]:
            bars = [
                bar(subset, (name, subset, metric), group.metrics[metric])
                for subset, group in bench.subsets.items()
                if metric in group.metrics
            ]
            charts.append(bar_chart(f"{name} {metric} by subset", bars))
    return {"charts": charts} if charts else None


def collection_section(page: Page) -> dict[str, Any] | None:
    """The collection tables (`--llm-collection`, see collection/results.py)."""
    if not page.result.collection:
        return None
    from ..collection.results import CollectionResult

    return {"collection": CollectionResult.model_validate(page.result.collection)}


def thinking_section(page: Page) -> dict[str, Any] | None:
    view = efficiency_view([(page.result.model, page.result.thinking)])
    return {"thinking": view} if view is not None else None


def perf_section(page: Page) -> dict[str, Any] | None:
    return {"perf": page.perf} if page.perf is not None else None


def usage_section(page: Page) -> dict[str, Any] | None:
    """Tokens and cost per benchmark, group, model and run, the cached answers and the budget (docs/cost.md)."""
    from ..spend.text import usage_table

    table = usage_table(page.result.usage)
    return {"usage": table} if table is not None else None


def throttling_section(page: Page) -> dict[str, Any] | None:
    """What adaptive concurrency did (`extra.throttling`, endpoint/adaptive.py; docs/rate-limits.md):
    the terminal's line, the counts, and each decrease of the in-flight limit."""
    from pydantic import ValidationError

    from ..endpoint.adaptive import ThrottleSummary

    raw = page.result.extra.get("throttling")
    if not raw:
        return None
    try:
        summary = ThrottleSummary.model_validate(raw)
    except ValidationError:
        return None  # a results file of another version: the rest of the page still shows
    facts = [
        ("adaptive concurrency", "on (AIMD)" if summary.adaptive else "off (--llm-fixed-concurrency)"),
        ("ceiling (--llm-concurrency)", str(summary.ceiling)),
        ("429/503 answers", str(summary.overload_answers)),
        ("decreases", str(summary.decreases)),
        ("lowest limit", str(summary.lowest_limit)),
        ("final limit", str(summary.final_limit)),
    ]
    events = [
        (
            f"{e.at_s:.3f}",
            str(e.status),
            f"{e.limit_before} -> {e.limit_after}",
            "-" if e.retry_after_s is None else f"{e.retry_after_s:g}",
        )
        for e in summary.events
    ]
    omitted = max(0, summary.decreases - len(events)) if summary.adaptive else 0
    return {"line": summary.describe(), "facts": facts, "events": events, "omitted": omitted}


SectionBuilder = Callable[[Page], "dict[str, Any] | None"]
# (name, builder): drawn in this order by templates/sections/<name>.html.j2
OVERVIEW_SECTIONS: list[tuple[str, SectionBuilder]] = [
    ("meta", meta_section),
    ("scores", scores_section),
    ("thresholds", thresholds_section),
    ("collection", collection_section),
    ("comparison", comparison_section),
    ("charts", charts_section),
    ("thinking", thinking_section),
    ("perf", perf_section),
    ("usage", usage_section),
    ("throttling", throttling_section),
]


def overview_sections(result: RunResult) -> list[tuple[str, dict[str, Any]]]:
    page = Page(result, read_comparison(result.extra), perf_view(result.extra), _rules(result))
    sections = []
    for name, builder in OVERVIEW_SECTIONS:
        context = builder(page)
        if context is not None:
            sections.append((f"sections/{name}.html.j2", context))
    return sections


def render_overview(result: RunResult) -> str:
    """The summary section: run facts, scores with thresholds and deltas, charts, perf."""
    return render(
        "overview.html.j2", sections=overview_sections(result), start=Markup(OVERVIEW_START), end=Markup(OVERVIEW_END)
    )


def render_samples(table: SampleTable) -> str:
    """The per-sample section with its search/filter/sort/expand script (empty table: a short note)."""
    return render(
        "samples.html.j2",
        table=table.view() if len(table) else None,
        start=Markup(SAMPLES_START),
        end=Markup(SAMPLES_END),
    )


def render_page(result: RunResult, records: Iterable[SampleRecord] | SampleTable, sections: Sequence[str] = ()) -> str:
    """A standalone, self-contained page with both sections (what the rebuild CLI writes); `sections`:
    rendered (escaped) sections a feature adds between them, as in the run's report (the arena's)."""
    table = records if isinstance(records, SampleTable) else SampleTable.of(records)
    return render(
        "page.html.j2",
        title=f"pytest-llmbench report: {result.model}",
        csp=content_security_policy(),
        body=[Markup(render_overview(result)), *(Markup(s) for s in sections), Markup(render_samples(table))],
    )


def render_compare(runs: Sequence[Any]) -> str:
    """The side-by-side page of several runs (see `report/side_by_side.py`)."""
    from .side_by_side import compare_view

    return render(
        "page.html.j2",
        title="pytest-llmbench: " + " vs ".join(r.label for r in runs),
        csp=content_security_policy(),
        body=[Markup(render("compare.html.j2", view=compare_view(runs)))],
    )


def cut_section(page: str, start: str, end: str) -> str | None:
    """The text between a section's markers, markers included (None when absent)."""
    begin = page.find(start)
    stop = page.find(end, begin)
    if begin < 0 or stop < 0:
        return None
    return page[begin : stop + len(end)]
