"""A tiny project whose model answers contain HTML injections, run for real against the fake server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig
from tests.runs import llm_args, perf_job

# Five samples in two subsets; the model is right on a1, b2 and b3 and "answers" a2 and b1 with
# markup: acc is 0.6 overall, 0.5 on alpha, 0.6667 on beta.
XSS_ROWS = [
    {"id": "a1", "subset": "alpha", "question": "What is the capital of France?", "answer": "Paris"},
    {"id": "a2", "subset": "alpha", "question": "inject script", "answer": "safe"},
    {"id": "b1", "subset": "beta", "question": "inject img", "answer": "</td><b id='pwned-bold'>bold</b>"},
    {"id": "b2", "subset": "beta", "question": "two plus two", "answer": "4"},
    {"id": "b3", "subset": "beta", "question": "three plus three", "answer": "6"},
]
XSS_RULES = [
    {"contains": "France", "reply": "Answer: Paris"},
    {
        "contains": "inject script",
        "reply": "Sure <script>window.__pwned = 1</script>\n"
        "Answer: <script>window.__pwned = 2; alert('pwned')</script>",
    },
    {
        "contains": "inject img",
        "reply": "Answer: <img src=x onerror=\"window.__pwned = 3; alert('img')\"></td></tr></table>",
    },
    {"contains": "two plus", "reply": "Answer: 4", "reasoning": "2 + 2 = 4, <think>trivially</think>"},
    {"contains": "three plus", "reply": "Answer: 6"},
]

PROJECT_CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("xss", "xss.jsonl", kind="qa", subsets=("alpha", "beta")))

"""


# Two real perf tests, run by the perf plugin against the same loopback server: a closed-loop sweep
# over concurrency and an open-loop sweep over the arrival rate (their results land in the results
# JSON exactly as a user's would).
PERF_TESTS = """
import pytest


@pytest.mark.perf(parallel=[1, 2, 8], number=[2, 4, 8], prompt_tokens=8, output_tokens=6)
def test_closed_loop(perf):
    assert perf.result(parallel=8).ok == 8


@pytest.mark.perf(rate=[20, 40], number=4, arrival="constant", prompt_tokens=8, output_tokens=6)
def test_open_loop(perf):
    assert [r.rate for r in perf.results] == [20, 40]
"""


def add_perf_tests(project: Path) -> None:
    (project / "test_perf_xss.py").write_text(PERF_TESTS, encoding="utf-8")


@pytest.fixture
def xss_server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=XSS_RULES, ttft_s=0.002, itl_s=0.0005)


@pytest.fixture
def xss_project(pytester: pytest.Pytester) -> Path:
    pytester.makeconftest(PROJECT_CONFTEST)
    (pytester.path / "xss.jsonl").write_text("".join(json.dumps(r) + "\n" for r in XSS_ROWS), encoding="utf-8")
    return pytester.path


def run_eval(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str, marks: str = "xss") -> pytest.RunResult:
    return pytester.runpytest_subprocess(*llm_args(server.base_url), "-m", marks, *args)


def _perf_job(server: FakeOpenAIServer, **load: Any) -> Any:
    load.setdefault("prompt_tokens", 8)
    load.setdefault("output_tokens", 6)
    return perf_job(server, **load)


@pytest.fixture(scope="module")
def perf_extra() -> dict[str, Any]:
    """`result.extra["perf"]` of two real perf runs against the loopback server (the perf runner,
    in a thread), stored the way the perf plugin stores them: a closed-loop sweep over concurrency
    1, 2, 8 by test_closed and an open-loop sweep over 20 and 40 requests/s by test_open."""
    from pytest_llmeval.perf.runner import run

    server = FakeOpenAIServer(FakeServerConfig(ttft_s=0.004, itl_s=0.001, output_tokens=6)).start()
    try:
        closed = run(_perf_job(server, parallel=[1, 2, 8], number=[2, 4, 8]), "thread")
        opened = run(_perf_job(server, rate=[20, 40], number=4, arrival="constant"), "thread")
    finally:
        server.stop()
    runs = [{"test": "tests/perf/test_x.py::test_closed", **r.model_dump(mode="json")} for r in closed]
    runs += [{"test": "tests/perf/test_x.py::test_open", **r.model_dump(mode="json")} for r in opened]
    return {"runs": runs}
