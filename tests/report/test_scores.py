"""One score table for every output: the terminal, the HTML overview and the side-by-side page list
the same rows (report/scores.py), and the shared text helpers (report/text.py) cut and show text
the same way everywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pytest_llmeval.report.html import render_compare, render_overview
from pytest_llmeval.report.junit import junit_properties
from pytest_llmeval.report.scores import score_rows
from pytest_llmeval.report.side_by_side import LoadedRun, label_runs
from pytest_llmeval.report.terminal import score_lines
from pytest_llmeval.report.text import public_url, shorten
from pytest_llmeval.results import BenchmarkResult, GroupResult, RunResult

REPORT = Path(__file__).resolve().parents[2] / "pytest_llmeval" / "report"


def result_with_a_failed_subset() -> RunResult:
    """iquiz: EQ scored, IQ scored, ZZ every sample an endpoint error; dead: no sample scored."""
    return RunResult(
        model="m",
        base_url="http://localhost:8000/v1",
        started="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        benchmarks={
            "iquiz": BenchmarkResult(
                count=8,
                errors=2,
                metrics={"acc": 0.5},
                subsets={
                    "EQ": GroupResult(count=4, metrics={"acc": 0.25}),
                    "IQ": GroupResult(count=4, metrics={"acc": 0.75}),
                    "ZZ": GroupResult(count=0, errors=2),
                },
            ),
            "dead": BenchmarkResult(count=0, errors=3),
        },
    )


def html_rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'<tr data-benchmark="([^"]*)" data-subset="([^"]*)" data-metric="([^"]*)">',
        html,
    )


def test_terminal_and_html_list_the_same_rows_including_a_subset_without_scores():
    # The terminal used to leave out a subset none of whose samples was scored (its errors were
    # invisible there) while the HTML showed it with `-`: both now show it.
    result = result_with_a_failed_subset()
    expected = [
        ("iquiz", "(all)", "acc"),
        ("iquiz", "EQ", "acc"),
        ("iquiz", "IQ", "acc"),
        ("iquiz", "ZZ", "-"),
        ("dead", "(all)", "-"),
    ]
    assert [(r.benchmark, r.subset_label, r.metric_label) for r in score_rows(result)] == expected
    assert html_rows(render_overview(result)) == expected
    table = [line.split() for line in score_lines(result)[2:]]
    assert [(cells[1], cells[2], cells[3]) for cells in table] == expected
    assert table[3][-2:] == ["0", "2"]  # ZZ: no sample scored, two errors


def test_side_by_side_scores_are_the_score_table_rows_of_each_run():
    one, two = result_with_a_failed_subset(), result_with_a_failed_subset()
    two.benchmarks["iquiz"].subsets["EQ"].metrics["acc"] = 0.5
    runs = [LoadedRun(Path("a.json"), one), LoadedRun(Path("b.json"), two)]
    label_runs(runs)
    html = render_compare(runs)
    # rows without a metric are left out here: every run's column would only say `-`
    assert html_rows(html) == [
        ("iquiz", "(all)", "acc"),
        ("iquiz", "EQ", "acc"),
        ("iquiz", "IQ", "acc"),
    ]
    assert '<td class="lle-num lle-delta lle-up">+0.2500</td>' in html


def test_one_score_row_class_and_one_shortener_in_the_report():
    classes, cutters = [], []
    for path in sorted(REPORT.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes += [path.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "ScoreRow"]
        if "\\u2026" in path.read_text(encoding="utf-8") or "\u2026" in path.read_text(encoding="utf-8"):
            cutters.append(path.name)
    assert classes == ["scores.py"]
    assert cutters == ["text.py"]


def test_shorten_keeps_the_limit_and_shows_the_cut():
    assert shorten("abc", 3) == "abc"
    assert shorten("abcd", 3) == "ab\u2026" and len(shorten("x" * 500, 200)) == 200
    props = dict(
        junit_properties(
            {
                "benchmark": "b",
                "subset": "s",
                "id": "1",
                "passed": True,
                "extracted": "y" * 300,
            }
        )
    )
    assert props["llmeval.extracted"] == "y" * 199 + "\u2026"


def test_endpoint_is_shown_without_secrets_and_with_its_ipv6_brackets():
    # The report's own URL helper dropped the brackets of an IPv6 host (`http://::1:8000/v1/`, not
    # a URL); it now shows the form the settings store and print.
    assert public_url("http://user:sk-key@[::1]:8000/v1/?api-key=s") == "http://[::1]:8000/v1"
    assert public_url("https://user:sk-key@api.example.com:8443/v1?api-key=s") == "https://api.example.com:8443/v1"
    assert public_url(None) == "-" and public_url("") == "-"
    masked = public_url("ftp://user:sk-key@host/x?api-key=s")  # no http(s) URL: masked, never an error
    assert "sk-key" not in masked and "api-key=s" not in masked and "host/x" in masked
    result = result_with_a_failed_subset()
    result.base_url = "http://user:sk-key@[::1]:8000/v1?api-key=s"
    html = render_overview(result)
    assert "<dd>http://[::1]:8000/v1</dd>" in html and "sk-key" not in html


def test_no_import_circle_inside_report():
    """html.py imports the view builders (sample_table, side_by_side), never the reverse: an import
    inside a function counts too (it was how html <-> sample_table <-> side_by_side closed a circle)."""
    edges: dict[str, set[str]] = {}
    for path in REPORT.glob("*.py"):
        module = path.stem
        targets = edges.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                targets.update(name.split(".")[0] for name in names if (REPORT / f"{name.split('.')[0]}.py").exists())

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for target in edges.get(start, ()):
            if target == goal or (target not in seen and not seen.add(target) and reaches(target, goal, seen)):
                return True
        return False

    circles = sorted(module for module in edges if reaches(module, module, set()))
    assert circles == [], f"modules of report/ on an import circle: {circles}"


def test_side_by_side_prompt_shows_message_content_as_the_samples_table_does():
    # The side-by-side page printed a multimodal message's content parts as raw JSON; it now reads
    # them as the samples table does: the text, and a short marker per image or audio.
    import json

    from pytest_llmeval.results import SampleRecord

    content = [
        {"type": "text", "text": "What is shown?"},
        {"type": "image_url", "image_url": {"sha256": "abcdef1234567890", "format": "png", "bytes": 10}},
    ]
    record = SampleRecord(
        nodeid="b/main::1",
        benchmark="b",
        subset="main",
        id="1",
        output="a cat",
        passed=True,
        metrics={"acc": 1.0},
        messages=[{"role": "user", "content": content}],
    )
    runs = [
        LoadedRun(Path("a.json"), result_with_a_failed_subset(), [record]),
        LoadedRun(Path("b.json"), result_with_a_failed_subset(), [record]),
    ]
    label_runs(runs)
    html = render_compare(runs)
    prompt = json.loads(html.split('id="llmeval-compare-data">')[1].split("</script>")[0])["samples"][0]["p"]
    assert prompt == "[user] What is shown?\n[image abcdef123456]"
