"""A baseline results file whose standard errors no run could have written (negative, NaN) must not
let a drop of 0.85 pass `--llm-compare --llm-max-drop --llm-significance`: it is refused with one
usage error naming the field. A baseline without standard errors keeps failing the gate (no evidence
is never a pass). Real runs against the loopback server; the baseline is a real run's file, edited."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.runs import llm_args

CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("quiz", "quiz.jsonl", kind="qa"))
"""


def write_quiz(pytester: pytest.Pytester, right: int, wrong: int) -> None:
    rows = [
        {"id": f"q{i}", "question": f"question {i} is {'right' if i < right else 'wrong'}", "answer": "yes"}
        for i in range(right + wrong)
    ]
    (pytester.path / "quiz.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def run(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *llm_args(server.base_url, model="m"),
        "-m",
        "quiz",
        "-q",
        "--llm-no-cache",
        *args,
    )


def edit_errors(node: Any, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to every uncertainty entry of a results JSON (whole benchmark and subsets)."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key == "uncertainty" and isinstance(value, dict):
                for entry in value.values():
                    change(entry)
            else:
                edit_errors(value, change)


def test_a_baseline_with_impossible_standard_errors_cannot_hide_a_drop(pytester: pytest.Pytester, start_server):
    pytester.makeconftest(CONFTEST)
    server = start_server(
        rules=[{"contains": "right", "reply": "Answer: yes"}, {"contains": "wrong", "reply": "Answer: no"}]
    )
    write_quiz(pytester, right=19, wrong=1)  # acc 0.95
    run(pytester, server, "--llm-results", "old.json")
    genuine = json.loads((pytester.path / "old.json").read_text())
    write_quiz(pytester, right=2, wrong=18)  # acc 0.10: a drop of 0.85
    gate = ("--llm-compare", "edited.json", "--llm-max-drop", "0.05", "--llm-significance", "0.05")
    for label, change in [("se", lambda u: u.update(se=-1.0)), ("se", lambda u: u.update(se=float("nan")))]:
        edited = json.loads(json.dumps(genuine))
        edit_errors(edited, change)
        (pytester.path / "edited.json").write_text(json.dumps(edited), encoding="utf-8")  # NaN as JSON's NaN
        outcome = run(pytester, server, *gate)
        assert outcome.ret == 4, outcome.stdout.str()
        assert (
            f"uncertainty.acc.{label} is" in outcome.stderr.str()
            and "a standard error is a finite number >= 0" in outcome.stderr.str()
        )
        assert "Traceback" not in outcome.stderr.str()
        assert server.stats()["chat_requests"] == 20  # refused before any request (20: the baseline run)
    missing = json.loads(json.dumps(genuine))
    edit_errors(missing, lambda u: u.update(se=None, ci_low=None, ci_high=None))
    (pytester.path / "edited.json").write_text(json.dumps(missing), encoding="utf-8")
    outcome = run(pytester, server, *gate)
    assert outcome.ret == 1  # no standard error: the drop counts
    assert "significance unknown" in outcome.stdout.str()
