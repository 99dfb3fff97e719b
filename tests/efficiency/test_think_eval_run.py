"""`--llm-think-eval` end to end: a reasoning model on loopback streams `reasoning_content`, the run
scores MATH-500 rows and reports the efficiency figures per level in the terminal and the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import data
from tests.conftest import write_jsonl
from tests.efficiency.word_tokenizer import word_tokenizer
from tests.runs import llm_args

# Level 2: right after one thought, then two more thoughts of checking.
POLAR = (
    "The point is on the positive y axis. So r = 3 and theta = pi/2, the answer is (3, \\frac{\\pi}{2}).\n\n"
    "But wait, let me verify the angle once more. Alternatively use atan. It holds."
)
# Level 2: wrong first, corrected in the second thought.
SQUARES = "513^2 - 487^2 = 25000.\n\nHmm, that is off. Difference of squares: 26 * 1000 = 26000.\n\nDone."
# Level 3: a wrong final answer.
DIVISORS = "6! = 720 = 2^4 3^2 5, so it has 5 * 3 * 2 = 30 divisors. Wait, I will say 24."


def run(pytester: pytest.Pytester, server: Any, tmp_path: Path, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    rows = [row for row in data.MATH500_ROWS if "sqrt{8}" not in row["problem"]]
    # inside the project, so each test has its own rootdir and response cache
    path = write_jsonl(pytester.path / "math500.jsonl", rows)
    results = tmp_path / "results.json"
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="thinker"),
        "--llm-stream",
        "-m",
        "math_500",
        "--llm-bench-arg",
        "math_500.subset_list=level2,level3",
        "--llm-dataset",
        f"math_500={path}",
        "--llm-results",
        str(results),
        "--llm-samples",
        str(tmp_path / "samples.jsonl"),
        "--llm-think-eval",
        *args,
    )
    return outcome, json.loads(results.read_text())


@pytest.fixture
def thinker(start_server: Any) -> Any:
    return start_server(
        rules=[
            {"contains": "polar coordinates", "reasoning": POLAR, "reply": "\\boxed{(3, \\frac{\\pi}{2})}"},
            {"contains": "513^2", "reasoning": SQUARES, "reply": "\\boxed{26000}"},
            {"contains": "divisors", "reasoning": DIVISORS, "reply": "\\boxed{24}"},
        ]
    )


def test_streamed_reasoning_gives_figures_per_level(pytester: pytest.Pytester, thinker: Any, tmp_path: Path):
    outcome, result = run(pytester, thinker, tmp_path, "--llm-tokenizer", str(word_tokenizer(tmp_path)))
    outcome.assert_outcomes(passed=2, failed=1)
    thinking = result["thinking"]
    assert thinking["token_sources"] == ["tokenizer"]
    levels = thinking["benchmarks"]["math_500"]["levels"]
    assert set(levels) == {"2", "3"}
    level2 = levels["2"]
    polar_t, squares_t = len(POLAR.split()), len(SQUARES.split())
    assert level2["count"] == 2 and level2["accuracy"] == 1.0
    assert level2["reasoning_tokens"] == pytest.approx((polar_t + squares_t) / 2)
    polar_hat = len(POLAR.split("\n\n")[0].split())
    squares_hat = len(SQUARES.split("\n\n")[0].split()) + len(SQUARES.split("\n\n")[1].split())
    assert level2["first_correct_tokens"] == pytest.approx((polar_hat + squares_hat) / 2)
    assert level2["token_efficiency"] == pytest.approx((polar_hat / polar_t + squares_hat / squares_t) / 2)
    assert level2["thought_count"] == pytest.approx((3 + 2) / 2)
    level3 = levels["3"]
    assert level3["accuracy"] == 0.0 and level3["excluded_wrong"] == 1
    assert level3["first_correct_tokens"] is None and level3["token_efficiency"] is None
    assert level3["thought_count"] == 2
    outcome.stdout.fnmatch_lines(["*llmeval reasoning efficiency*", "math_500*2 *2 *1.000*", "*tokens from tokenizer*"])
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert all(len(sample["thinking"]) == 1 for sample in samples)


def test_without_tokenizer_counts_come_from_the_servers_usage(pytester: pytest.Pytester, thinker: Any, tmp_path: Path):
    outcome, result = run(pytester, thinker, tmp_path)
    outcome.assert_outcomes(passed=2, failed=1)
    thinking = result["thinking"]
    assert thinking["token_sources"] == ["usage.completion_tokens split by characters"]
    level2 = thinking["benchmarks"]["math_500"]["levels"]["2"]
    assert 0 < level2["first_correct_tokens"] < level2["reasoning_tokens"]
    assert 0 < level2["token_efficiency"] < 1


def test_inline_think_tags_are_analysed_like_reasoning_content(
    pytester: pytest.Pytester, start_server: Any, tmp_path: Path
):
    server = start_server(
        rules=[
            {"contains": "polar coordinates", "reply": f"<think>{POLAR}</think>\\boxed{{(3, \\frac{{\\pi}}{{2}})}}"},
            {"contains": "513^2", "reply": f"<think>{SQUARES}</think>\\boxed{{26000}}"},
            {"contains": "divisors", "reply": "<think>" + DIVISORS + " and I stop here without closing"},
        ]
    )
    outcome, result = run(pytester, server, tmp_path, "--llm-tokenizer", str(word_tokenizer(tmp_path)))
    outcome.assert_outcomes(passed=2, failed=1)
    level2 = result["thinking"]["benchmarks"]["math_500"]["levels"]["2"]
    assert level2["thought_count"] == pytest.approx(2.5)
    level3 = result["thinking"]["benchmarks"]["math_500"]["levels"]["3"]
    assert level3["reasoning_tokens"] == len(DIVISORS.split()) + 6  # no </think>: all of it is reasoning


def test_off_by_default(pytester: pytest.Pytester, thinker: Any, tmp_path: Path):
    rows = write_jsonl(pytester.path / "m.jsonl", data.MATH500_ROWS[:1])
    results = tmp_path / "r.json"
    outcome = pytester.runpytest_subprocess(
        *llm_args(thinker.base_url, model="thinker"),
        "-m",
        "math_500 and level2",
        "--llm-dataset",
        f"math_500={rows}",
        "--llm-results",
        str(results),
    )
    outcome.assert_outcomes(passed=1)
    assert json.loads(results.read_text())["thinking"] is None
    assert "reasoning efficiency" not in outcome.stdout.str()


JUDGED_CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark
register_benchmark(file_benchmark("capitals", "capitals.jsonl", kind="qa", judge=True))
"""


def test_judge_decides_each_step_for_judge_graded_benchmarks(pytester: pytest.Pytester, start_server: Any):
    """Rules cannot read "the capital" from free text: with a judge, each reasoning step is graded
    by it, the requests issued ahead through the judge's pipeline (so they overlap), and cached."""
    pytester.makeconftest(JUDGED_CONFTEST)
    rows = [{"id": f"c{i}", "question": f"What is the capital of country {i}?", "answer": "Paris"} for i in range(4)]
    pytester.path.joinpath("capitals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    reasoning = "I recall it is Lyon.\n\nBut wait, the government sits in Paris.\n\nSo I will answer that."
    model = start_server(fixed_reply="Paris", reasoning=reasoning)
    judge = start_server(
        model="judge",
        latency_s=0.2,
        keep_chat_bodies=50,
        rules=[
            {"contains": "Candidate answer:\nBut wait, the government sits in Paris", "reply": "Same city.\nCORRECT"},
            {"contains": "Candidate answer:\nParis", "reply": "Same city.\nCORRECT"},
            {"contains": "Candidate answer:", "reply": "Different.\nINCORRECT"},
        ],
    )
    results = pytester.path / "results.json"
    outcome = pytester.runpytest_subprocess(
        *llm_args(model.base_url, model="m"),
        "--llm-judge-model",
        "judge",
        "--llm-judge-base-url",
        judge.base_url,
        "-m",
        "capitals",
        "--llm-think-eval",
        "--llm-results",
        str(results),
    )
    outcome.assert_outcomes(passed=4)
    overall = json.loads(results.read_text())["thinking"]["benchmarks"]["capitals"]["overall"]
    assert 0 < overall["first_correct_tokens"] < overall["reasoning_tokens"]
    assert overall["thought_count"] == 2
    stats = judge.stats()
    # per sample: the final answer and the three steps, each asked once, issued ahead of the items
    assert stats["chat_requests"] == 4 * 4
    assert stats["max_in_flight"] >= 2


@pytest.mark.parametrize("content", ["name: not a tokenizer\n", '{"version": 1}'])
def test_a_tokenizer_file_that_cannot_be_read_is_one_usage_error_before_anything_is_sent(
    pytester: pytest.Pytester, thinker: Any, tmp_path: Path, content: str
):
    # it used to be read on the first answer: every sample became an error, after all requests were sent
    wrong = tmp_path / ("schema.yaml" if content.startswith("name") else "tokenizer.json")
    wrong.write_text(content)
    path = write_jsonl(pytester.path / "math500.jsonl", data.MATH500_ROWS)
    outcome = pytester.runpytest_subprocess(
        *llm_args(thinker.base_url, model="thinker"),
        "-m",
        "math_500",
        "--llm-dataset",
        f"math_500={path}",
        "--llm-think-eval",
        "--llm-tokenizer",
        str(wrong),
    )
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    outcome.stderr.fnmatch_lines([f"ERROR: *tokenizer '{wrong}'*"])
    assert "Traceback" not in outcome.stderr.str() + outcome.stdout.str()
    assert thinker.stats()["total_requests"] == 0
