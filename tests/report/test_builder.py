"""The report builder, comparison, charts, perf view, JUnit properties and rebuild CLI, without pytest runs."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.report.__main__ import main as rebuild_main
from pytest_llmeval.report.charts import Bar, bar_chart, line_chart
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
    environment,
    render_overview,
    render_page,
    render_samples,
)
from pytest_llmeval.report.junit import junit_properties
from pytest_llmeval.report.perf_view import perf_view, read_perf
from pytest_llmeval.report.sample_table import SampleTable
from pytest_llmeval.report.text import script_json
from pytest_llmeval.results import (
    BenchmarkResult,
    GroupResult,
    RunResult,
    SampleRecord,
    ThresholdOutcome,
)


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
    return RunResult(
        model="m",
        base_url="http://localhost:8000/v1",
        started="2026-01-01T00:00:00+00:00",
        duration_s=12.5,
        benchmarks=benchmarks,
    )


def record(i: int, **fields: Any) -> SampleRecord:
    values: dict[str, Any] = {
        "nodeid": f"b/s::{i:04d}",
        "benchmark": "b",
        "subset": "s",
        "id": f"{i:04d}",
        "passed": True,
        "metrics": {"acc": 1.0},
        "messages": [{"role": "user", "content": f"question {i}"}],
        "output": f"answer {i}",
        "extracted": str(i),
        "target": str(i),
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


def test_an_incomplete_baseline_is_said_in_the_comparison():
    """A baseline cut short by Ctrl-C scored a few samples; compared silently, its scores read as the
    benchmark's and a drop gate passed against them."""
    old = run_result(g=0.9).model_copy(
        update={
            "complete": False,
            "interrupted": True,
            "samples_planned": 20,
            "samples_scored": 3,
            "samples_errored": 1,
        }
    )
    comparison = compare_results(old, run_result(g=0.5), old_path="old.json")
    assert comparison.baseline.incomplete == "interrupted: 4 of 20 samples finished"
    assert (
        "the old run is INCOMPLETE (interrupted: 4 of 20 samples finished): its scores describe those samples "
        "only, not the benchmark; compare with a complete run"
    ) in comparison_lines(comparison)
    assert read_comparison({"compare": comparison.model_dump(mode="json")}) == comparison
    complete = compare_results(run_result(g=0.9), run_result(g=0.5))
    assert complete.baseline.incomplete is None and not any("INCOMPLETE" in line for line in comparison_lines(complete))


def test_load_baseline_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        load_baseline(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="is not a pytest-llmbench results JSON"):
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
    assert (
        'data-subset="(all)" data-metric="acc"><td>g</td><td>(all)</td><td>acc</td>'
        '<td class="lle-num lle-score">0.7500</td>'
    ) in html
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


def test_overview_says_what_was_deselected_and_truncated_escaped():
    result = run_result(g=0.5)
    result.benchmarks["g"].truncated = 3
    result.benchmarks["<b>x</b>"] = BenchmarkResult(count=2, errors=1, metrics={"acc": 1.0})
    result.samples_deselected = {"<b>x</b>": 7}
    html = render_overview(result)
    assert "g: 3 of 10 outputs stopped at max_tokens" in html
    assert "&lt;b&gt;x&lt;/b&gt;: 3 of 10 samples ran, 7 deselected" in html and "<b>x</b>" not in html
    plain = render_overview(run_result(g=0.5))
    assert "deselected" not in plain and "max_tokens" not in plain


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
    html = render_samples(table)
    ids = [html.index(f">{i:04d}<") for i in (2, 9, 10)]
    assert ids == sorted(ids)  # natural order of ids
    assert "&lt;/td&gt;&lt;td&gt;" in html
    assert "x" * 200 not in html.split('id="llmeval-samples-data"')[0]  # table cell truncated ...
    assert (
        "x" * 500 in json.loads(html.split('id="llmeval-samples-data">')[1].split("</script>")[0])["samples"][2]["xf"]
    )  # ... full text kept
    assert 'data-verdict="error"' in html and "error: timeout" in html
    assert "1 passed, 1 failed, 1 error" in html and "errors by kind: timeout 1" in html


def test_shared_prompt_paragraphs_are_stored_once():
    shots = "\n\n".join(f"Example {i}: " + "y" * 2000 for i in range(5))  # 10 KB of few-shot examples
    table = SampleTable()
    for i in range(200):
        table.add(
            record(
                i,
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": f"{shots}\n\nQuestion {i}?"},
                ],
            )
        )
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


def svg(chart) -> ET.Element:
    """A chart drawn by the template, parsed as XML (fails on malformed or unescaped markup)."""
    text = environment().get_template("charts.svg.j2").module.chart(chart)
    return ET.fromstring(str(text))


def test_charts_escape_labels_and_survive_odd_values():
    bars = bar_chart("<t>", [Bar("<script>x</script>", math.nan), Bar("ok", 1.7, reference=-1.0)])
    root = svg(bars)
    text = ET.tostring(root, encoding="unicode")
    assert "<script>" not in text and "&lt;script&gt;" in text and "n/a" in text
    assert root.find(".//{*}title").text == "<t>"  # the title is text, not markup
    line = line_chart("tp", [1, 8], {"s": [None, 5.0]})
    drawn = svg(line)
    assert len(drawn.findall(".//{*}circle")) == 1 and not drawn.findall(".//{*}polyline")  # one point: no line


def _x_of(chart, series: int = 0) -> list[float]:
    return [p.x for p in chart.series[series].points]


def test_line_chart_x_axis_is_numeric_not_categorical():
    linear = line_chart("t", [1, 2, 4, 8], {"y": [1.0, 2.0, 3.0, 4.0]}, x_label="concurrency")
    xs = _x_of(linear)
    # equal value steps are equal pixel steps; 4 -> 8 is four times 1 -> 2
    assert xs[3] - xs[2] == pytest.approx(4 * (xs[1] - xs[0]), abs=0.2)
    assert not linear.log_x and [t.text for t in linear.x_ticks][:2] == ["0", "2"]
    wide = line_chart("t", [1, 8, 64, 256], {"y": [1.0, 2.0, 3.0, 4.0]}, x_label="concurrency")
    xs = _x_of(wide)
    assert wide.log_x and "log scale" in wide.x_label
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.2)  # 1 -> 8 and 8 -> 64 are both x8
    assert xs[3] - xs[2] == pytest.approx((xs[1] - xs[0]) * 2 / 3, abs=0.2)  # 64 -> 256 is x4
    # y ticks are round numbers (no 0.00625)
    assert [t.text for t in line_chart("t", [1, 2], {"y": [0.021, 0.01]}).y_ticks] == [
        "0",
        "0.005",
        "0.01",
        "0.015",
        "0.02",
        "0.025",
    ]
    unsorted = line_chart("t", [8, 1, 4], {"y": [3.0, 1.0, 2.0]})
    assert unsorted.series[0].segments[0].split(" ")[0].startswith(f"{_x_of(unsorted)[0]:.1f}")  # joined in x order


def test_perf_section_from_real_perf_runs(perf_extra):
    section = read_perf({"perf": perf_extra})
    assert not isinstance(section, str) and section is not None
    assert [(r.test.rsplit("::", 1)[1], r.parallel, r.rate) for r in section.runs] == [
        ("test_closed", 1, None),
        ("test_closed", 2, None),
        ("test_closed", 8, None),
        ("test_open", None, 20.0),
        ("test_open", None, 40.0),
    ]
    view = perf_view({"perf": perf_extra})
    assert view is not None and view.requests == 2 + 4 + 8 + 4 + 4 and view.failed == 0
    assert view.groups == ["Latency (s)", "TTFT (ms)", "TPOT (ms)", "ITL (ms)"]
    closed, opened = view.tests
    # one set of charts per test, the open loop against the rate, the closed loop against concurrency
    ((closed_heading, closed_charts),) = closed.charts
    ((open_heading, open_charts),) = opened.charts
    assert closed_heading == "test_x.py::test_closed" and open_heading == "test_x.py::test_open \u2014 open loop"
    assert {c.x_label for c in closed_charts} == {"concurrency"}
    assert {c.x_label for c in open_charts} == {"rate (requests/s)"}
    assert [c.label for c in closed_charts][:2] == [
        "test_x.py::test_closed: Latency percentiles (s)",
        "test_x.py::test_closed: TTFT percentiles (ms)",
    ]
    html = render_overview(RunResult(model="m", base_url=None, started="s", duration_s=1.0, extra={"perf": perf_extra}))
    assert html.count('<tr data-test="tests/perf/test_x.py::test_closed">') == 3
    assert 'colspan="3" class="lle-group">TTFT (ms)</th>' in html
    assert "perf: 22 sent (0 failed) by 2 test(s)" in html
    # TTFT in ms as in the terminal: the server waits 4 ms before the first token
    ttft_p50 = section.runs[0].ttft.p50
    assert ttft_p50 is not None and f">{ttft_p50 * 1000:,.1f}</td>" in html
    for chart in closed_charts + open_charts:
        svg(chart)


def test_perf_results_of_another_shape_are_named_not_guessed():
    view = perf_view({"perf": [{"parallel": 4, "latency": {"p50": 1.0}}]})
    assert view is not None and view.error and "not the perf module's" in view.error
    html = render_overview(
        RunResult(
            model="m",
            base_url=None,
            started="s",
            duration_s=1.0,
            extra={"perf": {"runs": [{"test": "<b>x</b>", "parallel": "many"}]}},
        )
    )
    assert 'id="llmeval-perf-error"' in html and "runs.0.parallel" in html and "<b>x" not in html
    assert perf_view({}) is None


def test_no_fstring_html_or_manual_escape_left_in_the_builders():
    """HTML comes from templates with autoescape: the builders hold no markup and call no escape()."""
    root = Path(__file__).resolve().parents[2] / "pytest_llmeval" / "report"
    for name in ("html.py", "sample_table.py", "perf_view.py", "charts.py", "plugin.py", "side_by_side.py"):
        source = (root / name).read_text(encoding="utf-8")
        assert "escape(" not in source, name
        assert not re.search(r"""f["'][^"'\n]*<(td|tr|th|div|span|svg|rect|text|table|p|h\d)\b""", source), name
    env = environment()
    assert env.autoescape is True
    templates = set(env.list_templates())
    assert {"charts.svg.j2", "compare.html.j2", "overview.html.j2", "page.html.j2", "samples.html.j2"} <= templates
    # every template ships in the wheel: pyproject's package data covers it
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["pytest_llmeval"]
    for name in templates:
        assert any(PurePosixPath("report/templates", name).match(p) for p in patterns), name


# -- junit -------------------------------------------------------------------------------------


def test_junit_properties_from_a_record():
    props = dict(
        junit_properties(
            record(
                3,
                metrics={"acc": 1.0, "passed": 0.5},
                latency_s=0.1234,
                usage={"prompt_tokens": 5, "completion_tokens": 7},
            ).model_dump(mode="json")
        )
    )
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
    samples.write_text(record(1).model_dump_json() + '\n\n{"id": 1}\n')
    assert rebuild_main([str(results), str(samples), "-o", str(tmp_path / "r.html")]) == 2
    assert f"{samples}:3: not a sample record" in capsys.readouterr().err
    samples.write_text(record(1).model_dump_json() + "\n")
    assert rebuild_main([str(results), str(samples), "-o", str(tmp_path / "out" / "r.html")]) == 0
    assert "1 samples" in capsys.readouterr().out and (tmp_path / "out" / "r.html").is_file()


# -- several runs side by side -------------------------------------------------------------------


def test_side_by_side_cli_pairs_files_and_names_mistakes(tmp_path: Path, capsys):
    first, second = run_result(b=0.5, b__x=1.0, b__y=0.0), run_result(b=0.75, b__x=1.0, b__y=0.5)
    second.model = "other <model>"
    (tmp_path / "a.json").write_text(first.model_dump_json())
    (tmp_path / "b.json").write_text(second.model_dump_json())
    (tmp_path / "a.jsonl").write_text("".join(record(i, passed=i % 2 == 0).model_dump_json() + "\n" for i in range(4)))
    (tmp_path / "b-samples.txt").write_text(
        "".join(record(i, passed=True).model_dump_json() + "\n" for i in range(1, 5))
    )
    out = tmp_path / "cmp.html"
    # a samples file is recognised by its name or by its first line, and belongs to the run before it
    assert (
        rebuild_main([str(tmp_path / n) for n in ("a.json", "a.jsonl", "b.json", "b-samples.txt")] + ["-o", str(out)])
        == 0
    )
    assert "2 runs side by side" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "other &lt;model&gt;" in page and "other <model>" not in page
    assert page.count('class="lle-row') == 5  # ids 0..4 over both runs
    assert page.count('data-agreement="differs"') == 2  # 1 and 3 failed in a, passed in b
    assert ">missing</td>" in page  # 0 only in a, 4 only in b
    assert '<td class="lle-num lle-delta lle-up">+0.2500</td>' in page
    for argv, message in [
        (["a.jsonl", "a.json"], "a samples JSONL must follow the results JSON of its run"),
        (["a.json", "a.jsonl", "b-samples.txt"], "already has the samples file"),
        (["a.json", "missing.json"], "missing.json: no such file"),
    ]:
        assert rebuild_main([str(tmp_path / n) for n in argv] + ["-o", str(out)]) == 2
        assert message in capsys.readouterr().err


def test_side_by_side_runs_of_one_model_are_told_apart():
    from pytest_llmeval.report.side_by_side import LoadedRun, label_runs

    runs = [
        LoadedRun(Path("x/a.json"), run_result(b=1.0)),
        LoadedRun(Path("y/a.json"), run_result(b=1.0)),
        LoadedRun(Path("c.json"), run_result(b=1.0).model_copy(update={"model": "n"})),
    ]
    label_runs(runs)
    assert [r.label for r in runs] == ["m (a.json) #1", "m (a.json) #2", "n"]


def test_incomplete_run_is_never_shown_as_passed():
    """The complete/interrupted fields of the results win over scores."""
    result = run_result(g=1.0)
    result.thresholds = [ThresholdOutcome(expression="g.acc>=0.5", value=1.0, passed=True)]
    result = result.model_copy(
        update={"complete": False, "samples_planned": 10, "samples_scored": 4, "samples_errored": 1}
    )
    html = render_overview(result)
    assert ">INCOMPLETE</span>" in html and "samples without a result: 5 of 10 samples finished" in html
    assert ">PASSED</span>" not in html


def _throttled(extra_throttling: object) -> str:
    return render_overview(
        RunResult(model="m", base_url=None, started="s", duration_s=1.0, extra={"throttling": extra_throttling})
    )


def test_the_overview_shows_what_adaptive_concurrency_did() -> None:
    from pytest_llmeval.endpoint.adaptive import AimdController

    aimd = AimdController(16)
    aimd.on_overload(aimd.window, 429, at_s=0.25, retry_after_s=1.5)
    aimd.on_overload(aimd.window, 503, at_s=2.0)
    summary = aimd.summary()
    html = _throttled(summary.model_dump())
    section = html[html.index('id="llmeval-throttling"') :]
    assert summary.describe() in section
    assert "16 -&gt; 8" in section and "8 -&gt; 4" in section  # one row per decrease, escaped
    assert '<td class="lle-num">1.5</td>' in section and '<td class="lle-num">503</td>' in section


def test_a_foreign_throttling_payload_leaves_the_section_out_and_runs_no_markup() -> None:
    html = _throttled({"adaptive": True, "ceiling": "<script>alert(1)</script>", "lowest_limit": 1, "final_limit": 1})
    assert "llmeval-throttling" not in html and "<script>alert" not in html
    assert "llmeval-throttling" not in _throttled({})  # never throttled: no section
