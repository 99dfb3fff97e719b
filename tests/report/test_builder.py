"""The report builder, comparison, charts, perf view, JUnit properties and rebuild CLI, without pytest runs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.report.__main__ import main as rebuild_main
from pytest_llmeval.report.charts import Bar, bar_chart, grouped_bar_chart, line_chart
from pytest_llmeval.report.compare import (
    compare_results,
    comparison_lines,
    load_baseline,
    read_comparison,
)
from pytest_llmeval.report.html import (
    OVERVIEW_END,
    OVERVIEW_START,
    SAMPLES_END,
    SAMPLES_START,
    cut_section,
    render_overview,
    render_page,
)
from pytest_llmeval.report.junit import junit_properties
from pytest_llmeval.results import (
    BenchmarkResult,
    GroupResult,
    RunResult,
    SampleRecord,
    ThresholdOutcome,
)
from pytest_llmeval.report.perf_view import perf_runs, render_perf
from pytest_llmeval.report.sample_table import SampleTable, script_json


def run_result(**scores: float) -> RunResult:
    """scores: bench=value or bench__subset=value (metric acc)."""
    benchmarks: dict[str, BenchmarkResult] = {}
    for key, value in scores.items():
        bench, _, subset = key.partition("__")
        entry = benchmarks.setdefault(bench, BenchmarkResult(count=10))
        if subset:
            entry.subsets[subset] = GroupResult(count=5, metrics={"acc": value})
        else:
            entry.metrics["acc"] = value
    return RunResult(model="m", base_url="http://localhost:8000/v1", started="2026-01-01T00:00:00+00:00",
                     duration_s=12.5, benchmarks=benchmarks)


def record(i: int, **fields: Any) -> SampleRecord:
    values: dict[str, Any] = {
        "nodeid": f"b/s::{i:04d}", "benchmark": "b", "subset": "s", "id": f"{i:04d}", "passed": True,
        "metrics": {"acc": 1.0}, "messages": [{"role": "user", "content": f"question {i}"}],
        "output": f"answer {i}", "extracted": str(i), "target": str(i),
    }
    values.update(fields)
    return SampleRecord(**values)


# -- comparison ------------------------------------------------------------------------------

def test_compare_statuses_and_drops():
    old = run_result(g=0.80, g__x=0.9, g__y=0.7, gone=0.5)
    new = run_result(g=0.78, g__x=0.95, g__y=0.5, fresh=0.1)
    comparison = compare_results(old, new, max_drop=0.02, old_path="old.json")
    by_label = {row.label: row for row in comparison.rows}
    assert by_label["g.acc"].status == "down" and not by_label["g.acc"].dropped  # exactly max_drop: allowed
    assert by_label["g.acc"].delta == pytest.approx(-0.02)
    assert by_label["g.x.acc"].status == "up"
    assert by_label["g.y.acc"].dropped and by_label["g.y.acc"].delta == pytest.approx(-0.2)
    assert by_label["gone.acc"].status == "missing" and not by_label["gone.acc"].dropped
    assert by_label["fresh.acc"].status == "new" and not by_label["fresh.acc"].dropped
    assert [r.label for r in comparison.dropped] == ["g.y.acc"]
    assert not comparison.passed
    # whole benchmark before its subsets, benchmarks by name
    assert [r.label for r in comparison.rows] == ["fresh.acc", "g.acc", "g.x.acc", "g.y.acc", "gone.acc"]


def test_float_noise_is_no_change_and_no_max_drop_never_fails():
    old, new = run_result(g=0.7), run_result(g=0.1 + 0.6)  # 0.7 vs 0.7000000000000001
    row = compare_results(old, new, max_drop=0.0).rows[0]
    assert row.status == "same" and row.delta == 0.0 and not row.dropped
    assert compare_results(run_result(g=0.9), run_result(g=0.1)).passed  # no max_drop: report only


def test_comparison_lines_and_round_trip_through_extra():
    comparison = compare_results(run_result(g=0.9), run_result(g=0.5), max_drop=0.1, old_path="old.json")
    lines = comparison_lines(comparison)
    assert lines[0] == "compared with old.json (model m, started 2026-01-01T00:00:00+00:00)"
    assert "FAIL  g.acc dropped 0.9000 -> 0.5000 (-0.4000, more than --llm-max-drop 0.1)" in lines
    restored = read_comparison({"compare": comparison.model_dump(mode="json")})
    assert restored == comparison
    assert read_comparison({"compare": {"something": "else"}}) is None


def test_load_baseline_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        load_baseline(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="is not a pytest-llmeval results JSON"):
        load_baseline(tmp_path / "list.json")
    good = tmp_path / "good.json"
    good.write_text(run_result(g=0.5).model_dump_json())
    assert load_baseline(good).benchmarks["g"].metrics["acc"] == 0.5


# -- overview --------------------------------------------------------------------------------

def test_overview_scores_thresholds_and_hidden_credentials():
    result = run_result(g=0.75, g__x=0.5, g__y=1.0)
    result.base_url = "https://user:sk-secret@api.example.com:8443/v1?api-key=sk-other"
    result.thresholds = [ThresholdOutcome(expression="g.acc>=0.8", value=0.75, passed=False)]
    result.passed = False
    html = render_overview(result)
    assert "sk-secret" not in html and "sk-other" not in html and "user" not in html
    assert "https://api.example.com:8443/v1" in html
    assert 'data-subset="(all)" data-metric="acc"><td>g</td><td>(all)</td><td>acc</td><td class="lle-num lle-score">0.7500</td>' in html
    assert 'data-subset="y" data-metric="acc"' in html
    assert '<span class="lle-fail-text">FAIL</span> &gt;= 0.8' in html
    assert ">FAILED</span>" in html


def test_overview_without_gates_says_so():
    html = render_overview(run_result(g=0.5))
    assert ">NO GATES</span>" in html


def test_overview_escapes_names_from_results():
    result = run_result()
    result.model = "<img src=x onerror=alert(1)>"
    result.benchmarks["<b>bench</b>"] = BenchmarkResult(count=1, metrics={"<i>m</i>": 1.0})
    result.generation = {"stop": ["</script>"]}
    html = render_overview(result)
    assert "<img src=x" not in html and "<b>bench" not in html and "<i>m" not in html and '["</script>"]' not in html
    assert "&lt;b&gt;bench&lt;/b&gt;" in html


# -- samples ---------------------------------------------------------------------------------

def test_sample_json_cannot_close_its_script_block():
    payload = script_json({"o": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in payload and ">" not in payload and "&" not in payload
    assert json.loads(payload) == {"o": "</script><script>alert(1)</script> & <!--"}


def test_sample_rows_sorted_escaped_and_truncated():
    table = SampleTable()
    long_output = "x" * 500
    table.add(record(10, extracted=long_output, output="<script>alert(1)</script>"))
    table.add(record(9, passed=False, extracted="</td><td>"))
    table.add(record(2, passed=None, error="timed out after 600 s", error_kind="timeout", metrics={}))
    html = table.render()
    ids = [html.index(f">{i:04d}<") for i in (2, 9, 10)]
    assert ids == sorted(ids)  # natural order of ids
    assert "&lt;/td&gt;&lt;td&gt;" in html
    assert "x" * 200 not in html.split('id="llmeval-samples-data"')[0]  # table cell truncated ...
    assert "x" * 500 in json.loads(html.split('id="llmeval-samples-data">')[1].split("</script>")[0])["samples"][2]["xf"]  # ... full text kept
    assert 'data-verdict="error"' in html and "error: timeout" in html
    assert "1 passed, 1 failed, 1 error" in html and "errors by kind: timeout 1" in html


def test_shared_prompt_paragraphs_are_stored_once():
    shots = "\n\n".join(f"Example {i}: " + "y" * 2000 for i in range(5))  # 10 KB of few-shot examples
    table = SampleTable()
    for i in range(200):
        table.add(record(i, messages=[{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": f"{shots}\n\nQuestion {i}?"}]))
    page = render_page(run_result(b=1.0), table)
    assert len(page) < 200 * 10_000 / 10  # 2 MB of prompts became far less
    data = json.loads(page.split('id="llmeval-samples-data">')[1].split("</script>")[0])
    chunks = data["chunks"]
    assert "".join(chunks[i] for i in data["samples"][7]["m"][1][1]) == f"{shots}\n\nQuestion 7?"


def test_standalone_page_has_both_sections_and_a_strict_policy():
    page = render_page(run_result(b=1.0), [record(1)])
    assert cut_section(page, OVERVIEW_START, OVERVIEW_END) and cut_section(page, SAMPLES_START, SAMPLES_END)
    assert "default-src 'none'; script-src 'sha256-" in page
    assert "http://" not in page.replace("http://localhost:8000/v1", "").replace("http://www.w3.org/2000/svg", "")


def test_empty_samples_section_explains_itself():
    page = render_page(run_result(b=1.0), [])
    assert "rebuild with the samples JSONL" in page


# -- charts and perf ---------------------------------------------------------------------------

def test_charts_escape_labels_and_survive_odd_values():
    svg = bar_chart("<t>", [Bar("<script>x</script>", math.nan), Bar("ok", 1.7, reference=-1.0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "n/a" in svg
    grouped = grouped_bar_chart("lat", ["c=1", "c=2"], ["p50", "p99"], [[1.0, None], [math.inf, 2.0]])
    assert grouped.count("<rect") >= 2
    line = line_chart("tp", [1, 8], {"s": [None, 5.0]})
    assert "<circle" in line and "<polyline" not in line  # one point: no line to draw


@pytest.mark.parametrize(
    "raw",
    [
        [{"parallel": 4, "output_throughput": 200.0, "latency": {"p50": 1.0, "P99": 3.0, "mean": 1.2}}],
        {"runs": [{"parallel": 4, "output_throughput": 200.0, "latency_p50": 1.0, "latency_p99_s": 3.0}]},
        {"concurrency": 4, "output_throughput": 200.0, "p50_latency": 1.0, "latency": {"99": 3.0}},
    ],
)
def test_perf_view_reads_several_shapes(raw):
    runs = perf_runs(raw)
    assert len(runs) == 1 and runs[0].level == 4
    assert runs[0].scalars["output_throughput"] == 200.0
    assert runs[0].stats["latency"]["p50"] == 1.0 and runs[0].stats["latency"]["p99"] == 3.0
    html = render_perf(runs)
    assert "latency percentiles" in html and "output tokens/s vs concurrency" in html


def test_perf_view_ignores_garbage():
    assert perf_runs("nope") == [] and perf_runs([1, None, "x"]) == []
    assert render_perf(perf_runs([{"parallel": "many", "note": "<b>", "nan": math.nan}])).count("<b>") == 0


# -- junit -------------------------------------------------------------------------------------

def test_junit_properties_from_a_record():
    props = dict(junit_properties(record(3, metrics={"acc": 1.0, "passed": 0.5}, latency_s=0.1234,
                                         usage={"prompt_tokens": 5, "completion_tokens": 7}).model_dump(mode="json")))
    assert props["llmeval.passed"] == "true" and props["llmeval.acc"] == "1"
    assert props["llmeval.metric.passed"] == "0.5"  # a metric named like a fixed property keeps its own name
    assert props["llmeval.latency_s"] == "0.123" and props["llmeval.completion_tokens"] == "7"
    error = dict(junit_properties(record(4, passed=None, error="boom", error_kind="timeout", metrics={}).model_dump()))
    assert error["llmeval.passed"] == "error" and error["llmeval.error_kind"] == "timeout"
    assert len(dict(junit_properties(record(5, extracted="z" * 999).model_dump()))["llmeval.extracted"]) == 200


# -- rebuild CLI errors --------------------------------------------------------------------------

def test_rebuild_cli_errors_name_the_file(tmp_path: Path, capsys):
    assert rebuild_main([str(tmp_path / "none.json"), "-o", str(tmp_path / "r.html")]) == 2
    assert "none.json: no such file; pass the results JSON written with --llm-results PATH" in capsys.readouterr().err
    results = tmp_path / "results.json"
    results.write_text(run_result(b=1.0).model_dump_json())
    samples = tmp_path / "samples.jsonl"
    samples.write_text(record(1).model_dump_json() + "\n\n{\"id\": 1}\n")
    assert rebuild_main([str(results), str(samples), "-o", str(tmp_path / "r.html")]) == 2
    assert f"{samples}:3: not a sample record" in capsys.readouterr().err
    samples.write_text(record(1).model_dump_json() + "\n")
    assert rebuild_main([str(results), str(samples), "-o", str(tmp_path / "out" / "r.html")]) == 0
    assert "1 samples" in capsys.readouterr().out and (tmp_path / "out" / "r.html").is_file()
