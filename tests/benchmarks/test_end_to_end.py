"""End-to-end: pytest with the plugin runs built-in benchmarks of each family (MCQ, math, IFEval, code)
from real-schema local files against the fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import data
from tests.benchmarks.test_ifeval_benchmark import CAPS_NO_SECTIONS, POEM
from tests.conftest import write_jsonl
from tests.runs import dataset, llm_args


def run(pytester: pytest.Pytester, server: Any, results: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *llm_args(server.base_url),
        "--llm-results",
        str(results),
        *args,
    )


def test_ceval_group_metrics_and_group_thresholds(pytester: pytest.Pytester, start_server, tmp_path: Path):
    for subject, rows in data.CEVAL_ROWS.items():
        write_jsonl(tmp_path / "ceval" / f"{subject}.jsonl", rows)
    server = start_server(
        rules=[
            {"contains": "位填充", "reply": "需要在连续五个1之后插入0，共3处。\n答案：C"},
            {"contains": "TCP协议", "reply": "TCP属于网络层。\n答案：A"},
            {"contains": "根本大法", "reply": "宪法是根本大法。\n答案：C"},
            {"contains": "正常心率", "reply": "正常为60-100次。\n答案：B"},
        ]
    )
    results = tmp_path / "results.json"
    subsets = "--llm-bench-arg", "ceval.subset_list=computer_network,law,physician"
    outcome = run(
        pytester,
        server,
        results,
        *dataset("ceval", tmp_path / "ceval"),
        *subsets,
        "--llm-threshold",
        "ceval.acc_humanities>=1.0",
        "--llm-threshold",
        "ceval.acc_stem>=0.6",
    )
    outcome.assert_outcomes(passed=3, failed=1)
    ceval = json.loads(results.read_text())["benchmarks"]["ceval"]
    assert ceval["count"] == 4
    assert ceval["metrics"] == {"acc": 0.75, "acc_stem": 0.5, "acc_humanities": 1.0, "acc_other": 1.0}
    assert ceval["subsets"]["computer_network"]["metrics"]["acc"] == 0.5
    outcome.stdout.fnmatch_lines(["*PASS  ceval.acc_humanities>=1.0*", "*FAIL  ceval.acc_stem>=0.6  (actual 0.5000)*"])
    outcome.stdout.fnmatch_lines(["*wrong answer: expected 'B', extracted 'A'*"])


def test_mmlu_pro_subset_mark_and_ten_options(pytester: pytest.Pytester, start_server, tmp_path: Path):
    path = write_jsonl(tmp_path / "mmlu_pro.jsonl", data.MMLU_PRO_ROWS)
    server = start_server(
        rules=[
            {"contains": "stack-based", "reply": "Stacks are last-in first-out.\nAnswer: B"},
            {"contains": "binary search", "reply": "Halving each step gives O(log n).\n\nAnswer: J"},
        ]
    )
    results = tmp_path / "results.json"
    outcome = run(
        pytester, server, results, "-m", "mmlu_pro and computer_science", "-v", "--llm-dataset", f"mmlu_pro={path}"
    )
    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(
        ["*mmlu_pro/computer_science::10356 PASSED*", "*mmlu_pro/computer_science::11 FAILED*"]
    )
    result = json.loads(results.read_text())["benchmarks"]["mmlu_pro"]
    assert set(result["subsets"]) == {"computer_science"} and result["metrics"] == {"acc": 0.5}


def test_math500_level_subset_with_per_subject_metrics(pytester: pytest.Pytester, start_server, tmp_path: Path):
    path = write_jsonl(tmp_path / "math500.jsonl", data.MATH500_ROWS)
    server = start_server(
        rules=[
            {"contains": "polar coordinates", "reply": "r=3, theta=pi/2.\n\\boxed{(3, \\frac{\\pi}{2})}"},
            {"contains": "513^2", "reply": "Difference of squares: 26 * 1000 = \\boxed{26000}"},
            {"contains": "sqrt{8}", "reply": "\\boxed{4}"},
        ]
    )
    results = tmp_path / "results.json"
    outcome = run(pytester, server, results, "-m", "level2", "--llm-dataset", f"math_500={path}")
    outcome.assert_outcomes(passed=2, failed=1)
    math500 = json.loads(results.read_text())["benchmarks"]["math_500"]
    assert set(math500["subsets"]) == {"level2"}
    assert math500["metrics"] == pytest.approx(
        {"acc": 2 / 3, "acc_precalculus": 1.0, "acc_algebra": 1.0, "acc_prealgebra": 0.0}
    )


def test_ifeval_reports_the_four_metrics_without_helper_counts(pytester: pytest.Pytester, start_server, tmp_path: Path):
    path = write_jsonl(tmp_path / "ifeval.jsonl", data.IFEVAL_ROWS)
    server = start_server(
        rules=[
            {"contains": "critique", "reply": CAPS_NO_SECTIONS},
            {"contains": "poem about the sea", "reply": POEM},
        ]
    )
    results, samples = tmp_path / "results.json", tmp_path / "samples.jsonl"
    outcome = run(
        pytester,
        server,
        results,
        *dataset("ifeval", path),
        "--llm-samples",
        str(samples),
        "--llm-threshold",
        "ifeval.inst_level_strict>=0.6",
    )
    outcome.assert_outcomes(passed=1, failed=1)
    metrics = json.loads(results.read_text())["benchmarks"]["ifeval"]["metrics"]
    assert metrics == pytest.approx(
        {"prompt_level_strict": 0.5, "inst_level_strict": 2 / 3, "prompt_level_loose": 0.5, "inst_level_loose": 2 / 3}
    )
    records = {r["id"]: r for r in map(json.loads, samples.read_text().splitlines())}
    assert records["1000"]["metrics"]["_inst_count"] == 2.0 and records["1000"]["passed"] is False
    outcome.stdout.fnmatch_lines(["*PASS  ifeval.inst_level_strict>=0.6*"])


def test_live_code_bench_version_and_date_window_in_the_sandbox(
    pytester: pytest.Pytester, start_server, tmp_path: Path
):
    folder = tmp_path / "code_generation_lite"
    write_jsonl(
        folder / "test5.jsonl",
        [
            data.lcb_row("abc380_a", "2024-11-16T00:00:00", functional=False),
            data.lcb_row("3600", "2025-01-04T00:00:00", functional=True, difficulty="hard"),
            data.lcb_row("abc390_a", "2025-01-25T00:00:00", functional=False, difficulty="medium"),
        ],
    )
    server = start_server(
        rules=[
            {"contains": "two numbers such that they add up", "reply": data.LCB_FUNCTIONAL_RIGHT},
            {"contains": "Print A + B", "reply": data.LCB_STDIN_WRONG},
        ]
    )
    results = tmp_path / "results.json"
    outcome = run(
        pytester,
        server,
        results,
        "-m",
        "live_code_bench",
        "-v",
        "--llm-dataset",
        f"live_code_bench={folder}",
        "--llm-bench-arg",
        "live_code_bench.subset_list=v5",
        "--llm-bench-arg",
        "live_code_bench.start_date=2025-01-01",
    )
    outcome.assert_outcomes(passed=1, failed=1)  # abc380_a is before the window
    outcome.stdout.fnmatch_lines(["*live_code_bench/v5::3600 PASSED*", "*live_code_bench/v5::abc390_a FAILED*"])
    lcb = json.loads(results.read_text())["benchmarks"]["live_code_bench"]
    assert lcb["metrics"] == {"pass_at_1": 0.5, "pass_at_1_hard": 1.0, "pass_at_1_medium": 0.0}
    outcome.stdout.fnmatch_lines(["*test 1/3 wrong_answer*"])


def test_humaneval_in_the_sandbox(pytester: pytest.Pytester, start_server, tmp_path: Path):
    path = write_jsonl(tmp_path / "humaneval.jsonl", data.HUMANEVAL_ROWS)
    server = start_server(
        rules=[
            {"contains": "has_close_elements", "reply": data.HUMANEVAL_RIGHT},
            {"contains": "truncate_number", "reply": data.HUMANEVAL_WRONG},
        ]
    )
    results = tmp_path / "results.json"
    outcome = run(
        pytester,
        server,
        results,
        *dataset("humaneval", path),
        "--llm-threshold",
        "humaneval.pass_at_1>=0.5",
    )
    outcome.assert_outcomes(passed=1, failed=1)
    assert json.loads(results.read_text())["benchmarks"]["humaneval"]["metrics"] == {"pass_at_1": 0.5}
    outcome.stdout.fnmatch_lines(["*PASS  humaneval.pass_at_1>=0.5*"])
