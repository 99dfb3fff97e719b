"""A benchmark's name, subsets and tags become marks; none may become one pytest acts on. A custom
benchmark tagged `xfail` would otherwise turn its wrong answers into exit status 0."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.engine.selection import PYTEST_MARKS, mark_name
from tests.runs import llm_args

CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("quiz", "quiz.jsonl", kind="qa", tags=["xfail", "skipif"]))
"""


def test_a_benchmark_tagged_xfail_still_fails_on_wrong_answers(pytester: pytest.Pytester, start_server):
    pytester.makeconftest(CONFTEST)
    rows = [{"id": f"q{i}", "question": f"question {i}", "answer": "yes"} for i in range(3)]
    (pytester.path / "quiz.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    server = start_server(rules=[{"contains": "question", "reply": "Answer: no"}])
    outcome = pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="m"),
        "-m",
        "llm_xfail",
        "--strict-markers",
        "--llm-no-cache",
    )
    outcome.assert_outcomes(failed=3)
    assert outcome.ret == 1


def test_every_reserved_name_gets_the_prefix():
    assert {mark_name(name) for name in PYTEST_MARKS} == {f"llm_{name}" for name in PYTEST_MARKS}
    assert mark_name("llm_skip") == "llm_skip" and mark_name("Math&Science") == "Math_Science"
    assert mark_name("quarantine", {"quarantine", "llm_quarantine"}) == "llm_llm_quarantine"
