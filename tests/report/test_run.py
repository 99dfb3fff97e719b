"""End-to-end: real pytest runs against the fake server write the HTML report, JUnit properties,
comparisons and gates; the rebuild CLI reproduces the report sections from the run's files."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_llmeval.report.html import (
    OVERVIEW_END,
    OVERVIEW_START,
    SAMPLES_END,
    SAMPLES_START,
    cut_section,
)
from tests.runs import output_args

from .conftest import XSS_RULES, add_perf_tests, run_eval


def outputs(path: Path) -> tuple[Path, Path, Path]:
    return path / "results.json", path / "samples.jsonl", path / "report.html"


def test_html_report_has_our_sections_with_everything_escaped(pytester, xss_project, xss_server):
    results, samples, report = outputs(xss_project)
    result = run_eval(pytester, xss_server, *output_args(results=results, samples=samples, html=report))
    result.assert_outcomes(passed=3, failed=2)
    page = report.read_text(encoding="utf-8")
    overview = cut_section(page, OVERVIEW_START, OVERVIEW_END)
    section = cut_section(page, SAMPLES_START, SAMPLES_END)
    assert overview and section
    assert "LLM evaluation: fake-model" in page  # the pytest-html title hook
    assert xss_server.base_url in overview
    # No model text survives unescaped anywhere in the page (our sections or pytest-html's own).
    for raw in ("<script>window.__pwned", "<img src=x onerror", "<b id='pwned-bold'>", "</td></tr></table>"):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned = 2" in section
    assert "&lt;img src=x onerror=" in section
    # pytest-html's table gets a column linking each item to its sample row.
    assert "<th>sample</th>" in page


def test_rebuild_cli_gives_the_same_sections_as_the_run(pytester, xss_project, xss_server, tmp_path: Path):
    add_perf_tests(xss_project)
    results, samples, report = outputs(xss_project)
    run_eval(
        pytester,
        xss_server,
        *output_args(results=results, samples=samples, html=report),
        marks="xss or perf",
    )
    rebuilt = tmp_path / "rebuilt.html"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.report", str(results), str(samples), "-o", str(rebuilt)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "5 samples" in done.stdout
    in_run, standalone = report.read_text(encoding="utf-8"), rebuilt.read_text(encoding="utf-8")
    for start, end in [(OVERVIEW_START, OVERVIEW_END), (SAMPLES_START, SAMPLES_END)]:
        assert cut_section(in_run, start, end) == cut_section(standalone, start, end)
    assert "Performance" in standalone and "test_perf_xss.py::test_closed_loop: Latency percentiles (s)" in standalone
    assert "test_perf_xss.py::test_open_loop (open loop): TTFT percentiles (ms)" in standalone


def test_junit_xml_carries_per_item_scores(pytester, xss_project, xss_server):
    junit = xss_project / "junit.xml"
    run_eval(pytester, xss_server, f"--junitxml={junit}")
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    props = {name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()}
    assert props["a1"]["llmeval.passed"] == "true"
    assert props["a1"]["llmeval.acc"] == "1"
    assert props["a1"]["llmeval.extracted"] == "Paris" and props["a1"]["llmeval.target"] == "Paris"
    assert props["a2"]["llmeval.passed"] == "false" and props["a2"]["llmeval.acc"] == "0"
    assert props["a2"]["llmeval.extracted"].startswith("<script>")  # XML-escaped in the file, intact once parsed
    assert props["b2"]["llmeval.subset"] == "beta"
    assert float(props["b2"]["llmeval.latency_s"]) >= 0


def test_junit_properties_under_xdist(pytester, xss_project, xss_server):
    junit = xss_project / "junit.xml"
    run_eval(pytester, xss_server, "-n", "2", f"--junitxml={junit}")
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == 5
    for case in cases:
        names = {p.get("name") for p in case.iter("property")}
        assert {"llmeval.passed", "llmeval.acc", "llmeval.benchmark"} <= names, case.get("name")


def _baseline(path: Path, results: Path, **changes: float) -> Path:
    """An 'old run': this run's results with some scores changed ('xss' / 'xss.beta' -> acc)."""
    data = json.loads(results.read_text())
    data["model"] = "old-model"
    for where, value in changes.items():
        bench, _, subset = where.partition("__")
        group = data["benchmarks"][bench] if not subset else data["benchmarks"][bench]["subsets"][subset]
        group["metrics"]["acc"] = value
    data["benchmarks"]["retired"] = {"count": 2, "errors": 0, "metrics": {"acc": 0.9}, "subsets": {}}
    path.write_text(json.dumps(data))
    return path


def test_compare_shows_deltas_and_max_drop_fails_the_run(pytester, xss_project, xss_server):
    results, _, report = outputs(xss_project)
    run_eval(pytester, xss_server, "--llm-results", str(results))
    old = _baseline(xss_project / "old.json", results, xss=0.75, xss__beta=0.5)  # new: 0.6 overall, 0.6667 beta

    result = run_eval(
        pytester,
        xss_server,
        "--llm-compare",
        str(old),
        "--llm-max-drop",
        "0.02",
        "--llm-results",
        str(results),
        f"--html={report}",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*llmeval compare*",
            "*retired*(all)*acc*0.9000*-*missing*",
            "*xss*(all)*acc*0.7500*0.6000*-0.1500  DROP*",
            "*xss*alpha*acc*0.5000*0.5000*+0.0000*",
            "*xss*beta*acc*0.5000*0.6667*+0.1667*",
            "FAIL  xss.acc dropped 0.7500 -> 0.6000 (-0.1500, more than --llm-max-drop 0.02)",
        ]
    )
    assert "retired.acc dropped" not in result.stdout.str()  # gone metrics are not drops
    data = json.loads(results.read_text())
    assert data["passed"] is False
    rows = {(r["benchmark"], r["subset"]): r for r in data["extra"]["compare"]["rows"]}
    assert rows[("xss", None)]["dropped"] is True and rows[("xss", None)]["delta"] == pytest.approx(-0.15)
    assert rows[("retired", None)]["status"] == "missing" and rows[("retired", None)]["dropped"] is False
    overview = cut_section(report.read_text(encoding="utf-8"), OVERVIEW_START, OVERVIEW_END)
    assert overview is not None and "-0.1500 DROP" in overview and "missing in this run" in overview


def test_max_drop_gate_passes_when_nothing_dropped_even_with_wrong_answers(pytester, xss_project, xss_server):
    results = xss_project / "results.json"
    run_eval(pytester, xss_server, "--llm-results", str(results))
    old = _baseline(xss_project / "old.json", results, xss=0.62)  # a drop of exactly 0.02 is allowed
    result = run_eval(pytester, xss_server, "--llm-compare", str(old), "--llm-max-drop", "0.02")
    result.assert_outcomes(passed=3, failed=2)
    assert result.ret == 0  # the gate decides, as with --llm-threshold
    result.stdout.fnmatch_lines(["PASS  no metric dropped more than --llm-max-drop 0.02"])


def test_compare_without_max_drop_only_reports(pytester, xss_project, xss_server):
    results = xss_project / "results.json"
    run_eval(pytester, xss_server, "--llm-results", str(results), "--llm-threshold", "xss.acc>=0.5")
    old = _baseline(xss_project / "old.json", results, xss=0.9)
    result = run_eval(pytester, xss_server, "--llm-compare", str(old), "--llm-threshold", "xss.acc>=0.5")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*xss*(all)*acc*0.9000*0.6000*-0.3000*"])
    assert "DROP" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--llm-compare", "nope.json"],
            "--llm-compare nope.json: no such file; pass the results JSON of an earlier run*",
        ),
        (
            ["--llm-compare", "broken.json"],
            "--llm-compare broken.json is not valid JSON (*); pass a file written with --llm-results PATH",
        ),
        (
            ["--llm-compare", "other.json"],
            "--llm-compare other.json is not a pytest-llmbench results JSON (model: Field required)*",
        ),
        (["--llm-max-drop", "0.1"], "*--llm-max-drop needs --llm-compare OLD_RESULTS.json*"),
        (
            ["--llm-compare", "other.json", "--llm-max-drop", "-1"],
            "*--llm-max-drop (ini llm_max_drop) must be 0 or more*",
        ),
        (
            ["--llm-compare", "other.json", "--llm-max-drop", "lots"],
            "*--llm-max-drop (ini llm_max_drop) expects a number, got 'lots'*",
        ),
    ],
)
def test_bad_compare_options_are_usage_errors_before_any_request(pytester, xss_project, xss_server, args, message):
    (xss_project / "broken.json").write_text("{not json")
    (xss_project / "other.json").write_text('{"started": "x", "duration_s": 1}')
    result = run_eval(pytester, xss_server, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])
    assert xss_server.stats()["chat_requests"] == 0


def test_request_time_excludes_the_wait_for_a_free_slot(pytester, xss_project, start_server):
    """With one request in flight and a server that takes 0.2 s, later samples wait for the slot:
    that wait is recorded apart (queued_s) and shown in its own column, not added to request time."""
    server = start_server(rules=XSS_RULES, latency_s=0.2)
    _results, samples, report = outputs(xss_project)
    run_eval(
        pytester,
        server,
        "--llm-concurrency",
        "1",
        "--llm-samples",
        str(samples),
        f"--html={report}",
        "--self-contained-html",
    )
    records = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5
    assert all(r["latency_s"] >= 0.2 for r in records)  # the server's own time is in the request time
    assert all(r["queued_s"] is not None and r["queued_s"] >= 0 for r in records)
    assert max(r["queued_s"] for r in records) >= 0.1  # somebody waited for the one slot ...
    page = report.read_text(encoding="utf-8")
    assert ">queued s</th>" in page and ">request s</th>" in page  # ... and the wait has its own column
