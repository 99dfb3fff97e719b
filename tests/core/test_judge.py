"""LLM-as-judge: a second endpoint grades free-form answers; its calls are cached like the model's."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.endpoint.judge import parse_verdict
from tests.runs import llm_args

ROWS = [
    {"id": "q1", "question": "Why is the sky blue?", "answer": "Rayleigh scattering of sunlight"},
    {"id": "q2", "question": "Who wrote Hamlet?", "answer": "William Shakespeare"},
    {"id": "q3", "question": "What is H2O?", "answer": "water"},
]
CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark
register_benchmark(file_benchmark("essay", "essay.jsonl", kind="qa", judge=True))
"""
MODEL_RULES = [
    {"contains": "sky blue", "reply": "Because air molecules scatter short wavelengths more."},
    {"contains": "Hamlet", "reply": "It was Christopher Marlowe."},
    {"contains": "H2O", "reply": "Answer: water"},
]
JUDGE_RULES = [
    {"contains": "Candidate answer:\nBecause air", "reply": "Same physics, different words.\nCORRECT"},
    {
        "contains": "Candidate answer:\nIt was Christopher",
        "reply": "Marlowe is not Shakespeare; the correct author differs.\nINCORRECT",
    },
    {"contains": "Candidate answer:\nAnswer: water", "reply": "I cannot decide."},
]


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("CORRECT", True),
        ("INCORRECT", False),
        ("It is correct.\nINCORRECT", False),
        ("The answer is incorrect... no wait.\nCORRECT", True),
        ("maybe", None),
        ("**CORRECT**", True),
    ],
)
def test_verdict_parsing(reply, verdict):
    assert parse_verdict(reply) is verdict


def project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.path.joinpath("essay.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


def test_judge_grades_free_form_answers_and_is_cached(pytester, start_server):
    project(pytester)
    model, judge = start_server(rules=MODEL_RULES), start_server(rules=JUDGE_RULES, model="judge-model")
    # inside the project: an existing file outside it, named on the command line, would move
    # pytest's rootdir (and with it the default cache folder) on the second run
    samples = pytester.path / "s.jsonl"
    args = (
        *llm_args(model.base_url),
        "--llm-judge-model",
        "judge-model",
        "--llm-judge-base-url",
        judge.base_url,
        "-m",
        "essay",
        "--llm-samples",
        str(samples),
    )
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*why:      judge: Marlowe is not Shakespeare*",
            "*llmeval error: the judge 'judge-model' answered neither CORRECT nor INCORRECT*",
        ]
    )
    by_id = {line["id"]: line for line in map(json.loads, samples.read_text().splitlines())}
    assert by_id["q1"]["passed"] is True and by_id["q2"]["passed"] is False
    assert by_id["q3"]["error_kind"] == "judge"  # an unreadable verdict is not a wrong answer
    assert judge.stats()["chat_requests"] == 3
    pytester.runpytest_subprocess(*args)
    assert judge.stats()["chat_requests"] == 3 and model.stats()["chat_requests"] == 3


def test_judge_benchmark_without_judge_is_a_usage_error(pytester, model_server):
    project(pytester)
    result = pytester.runpytest_subprocess(*llm_args(model_server.base_url), "-m", "essay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pass --llm-judge-model" in result.stderr.str()


def test_judge_requests_ride_the_prefetch_pipeline(pytester, start_server):
    """The judge is asked as soon as each answer arrives, several at once, not one per item in
    turn: with a slow judge, its server sees overlapping requests, and each is sent once."""
    rows = [{"id": f"q{i}", "question": f"Question number {i}?", "answer": f"answer {i}"} for i in range(12)]
    pytester.makeconftest(CONFTEST)
    pytester.path.joinpath("essay.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = start_server(responder="fixed", fixed_reply="my answer")
    judge = start_server(responder="fixed", fixed_reply="Fine.\nCORRECT", model="judge-model", latency_s=0.3)
    result = pytester.runpytest_subprocess(
        *llm_args(model.base_url),
        "--llm-judge-model",
        "judge-model",
        "--llm-judge-base-url",
        judge.base_url,
        "-m",
        "essay",
        "--llm-concurrency",
        "6",
    )
    result.assert_outcomes(passed=12)
    stats = judge.stats()
    assert stats["chat_requests"] == 12
    assert stats["max_in_flight"] >= 3  # a synchronous judge call per item never overlaps
