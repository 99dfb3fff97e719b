"""End-to-end: the runnable projects in `conftest_examples/` keep working against a loopback server.

Each test copies one example folder into the pytester directory and runs pytest on it in a
subprocess, exactly as a user would after `cd conftest_examples/<folder>`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.runs import run

EXAMPLES = Path(__file__).resolve().parents[2] / "conftest_examples"

POLITE = "We are very sorry for the delay. Your order ships today with express delivery."
RUDE = "Not our problem. Read the terms and stop shouting at us."

# capitals: France and Australia right, Japan wrong; policy: p1 right, p2 wrong;
# tone: polite and short for the late order, rude for the double charge.
CUSTOM_RULES: list[dict[str, Any]] = [
    {"contains": "capital of France", "reply": "Paris is the capital.\nAnswer: Paris"},
    {"contains": "capital of Japan", "reply": "Answer: Kyoto"},
    {"contains": "capital of Australia", "reply": "Many think Sydney. The answer is Canberra."},
    {"contains": "passwords", "reply": "Passwords are never emailed.\nAnswer: C"},
    {"contains": "refund", "reply": "Anyone can do it.\nAnswer: A"},
    {"contains": "three weeks late", "reply": POLITE},
    {"contains": "charged me twice", "reply": RUDE},
]

HAND_WRITTEN_RULES: list[dict[str, Any]] = [
    {"contains": "capitale de la France", "reply": "La capitale de la France est Paris."},
    {"contains": "capital of Japan", "reply": "Tokyo is the capital of Japan."},
    {"contains": "capital of Australia", "reply": "Canberra."},
]


def copy_example(pytester: pytest.Pytester, name: str) -> Path:
    shutil.copytree(EXAMPLES / name, pytester.path, dirs_exist_ok=True)
    return pytester.path


ALL_THREE = ("-m", "capitals or policy or tone")  # the example's three benchmarks


@pytest.fixture
def custom_server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=CUSTOM_RULES)


def test_custom_benchmarks_example_scores_each_benchmark(pytester, custom_server, tmp_path):
    copy_example(pytester, "custom_benchmarks")
    results = tmp_path / "results.json"
    result = run(pytester, custom_server, *ALL_THREE, "--llm-results", str(results), "-v", "--strict-markers")
    result.assert_outcomes(passed=4, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*capitals/default::fr PASSED*",
            "*capitals/default::jp FAILED*",
            "*capitals/default::au PASSED*",
            "*policy/default::p1 PASSED*",
            "*policy/default::p2 FAILED*",
            "*tone/default::00 PASSED*",
            "*tone/default::01 FAILED*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no threshold: wrong answers fail the run
    assert custom_server.stats()["chat_requests"] == 7

    data = json.loads(results.read_text())
    benchmarks = data["benchmarks"]
    assert set(benchmarks) == {"capitals", "policy", "tone"}
    assert benchmarks["capitals"]["count"] == 3 and benchmarks["capitals"]["errors"] == 0
    assert benchmarks["capitals"]["metrics"]["acc"] == pytest.approx(2 / 3)
    assert benchmarks["policy"]["count"] == 2
    assert benchmarks["policy"]["metrics"]["acc"] == pytest.approx(0.5)
    tone = benchmarks["tone"]
    assert tone["count"] == 2
    assert tone["metrics"]["acc"] == pytest.approx(0.5)
    assert tone["metrics"]["words"] == pytest.approx((len(POLITE.split()) + len(RUDE.split())) / 2)
    assert tone["subsets"]["default"]["metrics"]["words"] == pytest.approx(tone["metrics"]["words"])


def test_custom_benchmarks_example_explains_a_wrong_answer(pytester, custom_server):
    copy_example(pytester, "custom_benchmarks")
    result = run(pytester, custom_server, "-m", "tone")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"*polite=False, {len(RUDE.split())} words*"])
    assert "Traceback" not in result.stdout.str()


def test_custom_benchmarks_tags_select_benchmarks(pytester, custom_server):
    copy_example(pytester, "custom_benchmarks")
    result = run(pytester, custom_server, "-m", "compliance", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*policy/default::p1 PASSED*"])
    assert custom_server.stats()["chat_requests"] == 2


@pytest.mark.parametrize(("threshold", "exit_code"), [("policy.acc>=0.5", 0), ("policy.acc>=0.9", 1)])
def test_custom_benchmarks_threshold_gates_the_exit_status(pytester, custom_server, tmp_path, threshold, exit_code):
    copy_example(pytester, "custom_benchmarks")
    results = tmp_path / "results.json"
    result = run(pytester, custom_server, *ALL_THREE, "--llm-threshold", threshold, "--llm-results", str(results))
    result.assert_outcomes(passed=4, failed=3)
    assert result.ret == exit_code
    data = json.loads(results.read_text())
    assert data["thresholds"] == [{"expression": threshold, "value": pytest.approx(0.5), "passed": exit_code == 0}]
    assert data["passed"] is (exit_code == 0)


def test_hand_written_tests_example_passes_with_right_answers(pytester, start_server):
    copy_example(pytester, "hand_written_tests")
    server = start_server(rules=HAND_WRITTEN_RULES)
    result = run(pytester, server, "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*test_model_answers_in_french_when_asked PASSED*",
            "*test_two_questions_concurrently PASSED*",
            "*test_endpoint_settings_are_visible PASSED*",
        ]
    )
    assert server.stats()["chat_requests"] == 3


def test_hand_written_tests_example_fails_on_wrong_answers(pytester, start_server):
    copy_example(pytester, "hand_written_tests")
    server = start_server(fixed_reply="I am not sure, maybe Lyon or Osaka.")
    result = run(pytester, server)
    # real assertion failures in the test bodies, not fixture errors or skips
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*assert 'paris' in *",
            "*assert ('tokyo' in *",
            "FAILED test_chat.py::test_model_answers_in_french_when_asked*",
            "FAILED test_chat.py::test_two_questions_concurrently*",
        ]
    )
    assert server.stats()["chat_requests"] == 3


def test_hand_written_tests_example_skips_without_a_model(pytester):
    copy_example(pytester, "hand_written_tests")
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-rs")
    result.assert_outcomes(skipped=3)
    assert result.ret == pytest.ExitCode.OK


def test_examples_run_from_the_parent_directory(pytester, start_server, custom_server, tmp_path):
    # the docstrings show `pytest ... conftest_examples/hand_written_tests`, run from the repository root
    shutil.copytree(EXAMPLES, pytester.path / "conftest_examples")
    server = start_server(rules=HAND_WRITTEN_RULES)
    result = run(pytester, server, "conftest_examples/hand_written_tests")
    result.assert_outcomes(passed=3)

    # data paths in file_benchmark resolve against the conftest's folder, not the working directory
    results = tmp_path / "results.json"
    result = run(
        pytester,
        custom_server,
        "conftest_examples/custom_benchmarks",
        "-m",
        "capitals or policy",
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(passed=3, failed=2)
    benchmarks = json.loads(results.read_text())["benchmarks"]
    assert {name: bench["count"] for name, bench in benchmarks.items()} == {"capitals": 3, "policy": 2}


def test_custom_benchmarks_example_under_xdist(pytester, custom_server, tmp_path):
    copy_example(pytester, "custom_benchmarks")
    results = tmp_path / "results.json"
    result = run(
        pytester,
        custom_server,
        "-p",
        "xdist",
        "-n",
        "2",
        "-m",
        "capitals or policy or tone",
        "--llm-results",
        str(results),
    )
    result.assert_outcomes(passed=4, failed=3)
    benchmarks = json.loads(results.read_text())["benchmarks"]
    assert {name: bench["count"] for name, bench in benchmarks.items()} == {"capitals": 3, "policy": 2, "tone": 2}
    assert benchmarks["tone"]["metrics"]["words"] == pytest.approx((len(POLITE.split()) + len(RUDE.split())) / 2)
    assert custom_server.stats()["chat_requests"] == 7


def test_hand_written_tests_example_under_xdist(pytester, start_server):
    copy_example(pytester, "hand_written_tests")
    server = start_server(rules=HAND_WRITTEN_RULES)
    result = run(pytester, server, "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=3)


@pytest.mark.xdist_group("timing")
def test_serving_capacity_example_finds_the_capacity_of_a_fast_server(pytester, start_server):
    # TTFT 20 ms + 20 ms per request in flight: p90 TTFT <= 500 ms holds beyond the search limit of 16
    server = start_server(ttft_s=0.02, delay_per_in_flight_s=0.02, itl_s=0.001, output_tokens=16)
    copy_example(pytester, "serving_capacity")
    result = run(pytester, server, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*max concurrency 16 meets p90_ttft<=500ms,mean_tpot<=100ms*at least that*"])
