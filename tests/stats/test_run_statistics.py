"""Error bars, CI thresholds, paired comparison and early stopping in real runs against the loopback server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.runs import llm_args

CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("quiz", "quiz.jsonl", kind="qa"))
"""
RULES = [{"contains": "right", "reply": "Answer: yes"}, {"contains": "wrong", "reply": "Answer: no"}]


def write_quiz(path: Path, right: int, wrong: int, flip: set[int] = frozenset()) -> None:
    """right + wrong questions whose gold answer is yes; question i is answered yes when it says
    right. `flip` turns question ids into the other kind (for a second run of the same ids)."""
    rows = []
    for i in range(right + wrong):
        kind = "right" if (i < right) != (i in flip) else "wrong"
        rows.append({"id": f"q{i:04d}", "question": f"question {i} is {kind}", "answer": "yes"})
    (path / "quiz.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=RULES)


def run(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*llm_args(server.base_url, model="m"), "-m", "quiz", "-q", *args)


def test_error_bars_in_json_terminal_and_junit(pytester: pytest.Pytester, server: FakeOpenAIServer):
    pytester.makeconftest(CONFTEST)
    write_quiz(pytester.path, right=16, wrong=4)
    result = run(pytester, server, "--llm-results", "r.json", "--junitxml", "j.xml", "--llm-threshold", "quiz.acc>=0.7")
    data = json.loads((pytester.path / "r.json").read_text())
    u = data["benchmarks"]["quiz"]["uncertainty"]["acc"]
    assert u["method"] == "wilson" and u["n"] == 20
    assert u["ci_low"] == pytest.approx(0.5840, abs=1e-3) and u["ci_high"] == pytest.approx(0.9193, abs=1e-3)
    assert u["se"] == pytest.approx((0.8 * 0.2 / 20) ** 0.5)
    assert "se [95% CI]" in result.stdout.str() and "[0.5840, 0.9193]" in result.stdout.str()
    props = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "j.xml").getroot().iter("property")}
    assert props["llmeval.quiz.acc"] == "0.8" and props["llmeval.quiz.acc.ci_method"] == "wilson"
    assert float(props["llmeval.quiz.acc.ci_low"]) == pytest.approx(0.584, abs=1e-3)
    assert props["llmeval.threshold.quiz.acc>=0.7"] == "pass"


def test_threshold_mode_ci_undecided_fails_with_reason(pytester: pytest.Pytester, server: FakeOpenAIServer):
    pytester.makeconftest(CONFTEST)
    write_quiz(pytester.path, right=16, wrong=4)
    point = run(pytester, server, "--llm-threshold", "quiz.acc>=0.7", "--llm-results", "p.json")
    assert point.ret == 0  # 0.8 >= 0.7 by the point estimate
    ci = run(
        pytester, server, "--llm-threshold", "quiz.acc>=0.7", "--llm-threshold-mode", "ci", "--llm-results", "c.json"
    )
    assert ci.ret == 1
    outcome = json.loads((pytester.path / "c.json").read_text())["thresholds"][0]
    assert outcome["status"] == "undecided" and outcome["mode"] == "ci" and "contains 0.7" in outcome["reason"]
    assert "UNDECIDED  quiz.acc>=0.7" in ci.stdout.str()
    low = run(pytester, server, "--llm-threshold", "quiz.acc>=0.5", "--llm-threshold-mode", "ci")
    assert low.ret == 0  # lower bound 0.584 >= 0.5
    high = run(
        pytester, server, "--llm-threshold", "quiz.acc>=0.95", "--llm-threshold-mode", "ci", "--llm-results", "h.json"
    )
    assert high.ret == 1
    assert json.loads((pytester.path / "h.json").read_text())["thresholds"][0]["status"] == "fail"
    bad = run(pytester, server, "--llm-threshold", "quiz.acc>=0.5", "--llm-threshold-mode", "interval")
    assert bad.ret == 4 and "--llm-threshold-mode must be 'point' or 'ci'" in bad.stderr.str()


def test_paired_compare_and_significance(pytester: pytest.Pytester, server: FakeOpenAIServer):
    pytester.makeconftest(CONFTEST)
    write_quiz(pytester.path, right=30, wrong=10)
    assert run(pytester, server, "--llm-results", "old.json", "--llm-samples", "old.jsonl").ret == 1
    # the new run loses 3 questions and gains none: acc 0.75 -> 0.675, McNemar b=3, c=0, p = 0.25
    write_quiz(pytester.path, right=30, wrong=10, flip={0, 1, 2})
    common = ("--llm-compare", "old.json", "--llm-results", "new.json", "--llm-max-drop", "0.05")
    strict = run(pytester, server, *common)
    assert strict.ret == 1  # a 0.075 drop, more than 0.05
    lenient = run(pytester, server, *common, "--llm-significance", "0.05")
    assert lenient.ret == 0, lenient.stdout.str()  # ... but not significant
    out = lenient.stdout.str()
    assert "paired by sample id" in out and "(McNemar)" in out and "not counted as a drop" in out
    row = next(
        r
        for r in json.loads((pytester.path / "new.json").read_text())["extra"]["compare"]["rows"]
        if r["subset"] is None and r["metric"] == "acc"
    )
    assert row["paired"] and row["test"] == "mcnemar-exact" and row["discordant"] == [3, 0]
    assert row["p_value"] == pytest.approx(0.25) and row["n"] == 40
    # without the old samples file the comparison is unpaired and says so
    (pytester.path / "old.jsonl").unlink()
    unpaired = run(pytester, server, *common, "--llm-significance", "0.05")
    assert "unpaired" in unpaired.stdout.str() and "(unpaired z)" in unpaired.stdout.str()
    lonely = run(pytester, server, "--llm-compare", "old.json", "--llm-significance", "0.05")
    assert lonely.ret == 4 and "--llm-significance needs --llm-max-drop" in lonely.stderr.str()


# early stop with two requests in flight, uncached, the results in r.json
EARLY_STOP_TO_R_JSON = ("--llm-early-stop", "--llm-concurrency", "2", "--llm-results", "r.json", "--llm-no-cache")


def test_early_stop_skips_unsent_requests(pytester: pytest.Pytester, server: FakeOpenAIServer):
    pytester.makeconftest(CONFTEST)
    write_quiz(pytester.path, right=285, wrong=15)  # true acc 0.95, threshold 0.5: a clear pass
    result = run(pytester, server, "--llm-threshold", "quiz.acc>=0.5", *EARLY_STOP_TO_R_JSON)
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "r.json").read_text())
    skipped = data["requests"]["skipped_early_stop"]
    bench = data["benchmarks"]["quiz"]
    assert skipped > 100 and bench["skipped"] == skipped and bench["count"] + skipped == 300
    assert server.stats()["chat_requests"] == 300 - skipped  # skipped samples were never requested
    outcome = data["thresholds"][0]
    assert outcome["passed"] and outcome["mode"] == "early-stop" and "anytime-valid" in outcome["reason"]
    assert "samples not requested" in result.stdout.str()
    assert run(pytester, server, "--llm-early-stop").ret == 4  # needs a threshold


def test_early_stop_never_decides_a_breakdown_rule(pytester: pytest.Pytester, start_server):
    """A breakdown (`math_500.acc_algebra`) is carried by some samples only, so its test's population
    is not the benchmark's: the rule runs to the end, even when (as here) every sample happens to
    carry it and the verdict is clear. Before, it stopped the benchmark after a handful of samples."""
    rows = [
        {
            "problem": f"Compute {i} + 1 for algebra.",
            "answer": str(i + 1),
            "level": 1,
            "subject": "Algebra",
            "unique_id": f"test/algebra/{i}.json",
        }
        for i in range(60)
    ]
    (pytester.path / "math.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    server = start_server(rules=[{"contains": f"Compute {i} + 1", "reply": f"\\boxed{{{i + 1}}}"} for i in range(60)])
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="m"),
        "-m",
        "math_500 and level1",
        "-q",
        "--llm-dataset",
        "math_500=math.jsonl",
        "--llm-threshold",
        "math_500.acc_algebra>=0.5",
        *EARLY_STOP_TO_R_JSON,
    )
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["requests"]["skipped_early_stop"] == 0 and data["benchmarks"]["math_500"]["count"] == 60
    assert server.stats()["chat_requests"] == 60
    assert data["thresholds"][0]["passed"] and data["thresholds"][0]["value"] == 1.0


def test_which_metrics_only_some_samples_carry():
    from pytest_llmeval.benchmarks import all_benchmarks

    benchmarks = all_benchmarks()
    partial = {
        ("math_500", "acc_algebra"),
        ("ceval", "acc_stem"),
        ("live_code_bench", "pass_at_1_hard"),
        ("math_vista", "acc_geometry_problem_solving"),
        ("omni_bench", "acc_audio_music"),
        ("truthfulqa", "mc1"),
    }
    whole = {("gsm8k", "acc"), ("math_500", "acc"), ("ifeval", "prompt_level_strict"), ("humaneval", "pass_at_1")}
    assert all(benchmarks[name].is_partial_metric(metric) for name, metric in partial)
    assert not any(benchmarks[name].is_partial_metric(metric) for name, metric in whole)
