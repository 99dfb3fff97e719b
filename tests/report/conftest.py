"""A tiny project whose model answers contain HTML injections, run for real against the fake server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer

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
    {"contains": "inject script",
     "reply": "Sure <script>window.__pwned = 1</script>\nAnswer: <script>window.__pwned = 2; alert('pwned')</script>"},
    {"contains": "inject img", "reply": "Answer: <img src=x onerror=\"window.__pwned = 3; alert('img')\"></td></tr></table>"},
    {"contains": "two plus", "reply": "Answer: 4", "reasoning": "2 + 2 = 4, <think>trivially</think>"},
    {"contains": "three plus", "reply": "Answer: 6"},
]

PROJECT_CONFTEST = '''
import os
from pytest_llmeval import file_benchmark, register_benchmark

register_benchmark(file_benchmark("xss", "xss.jsonl", kind="qa", subsets=("alpha", "beta")))


def pytest_llmeval_results(result, config):
    if os.environ.get("XSS_PERF"):  # stands in for the perf module's section
        result.extra["perf"] = [
            {"parallel": p, "number": 8 * p, "request_throughput": 0.9 * p, "output_throughput": 100.0 * p,
             "latency": {"p50": 1 + p / 10, "p90": 1.5 + p / 10, "p99": 2 + p / 10}, "ttft_p50": 0.05 * p}
            for p in (1, 4, 16)
        ]
'''


@pytest.fixture
def xss_server(start_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return start_server(rules=XSS_RULES)


@pytest.fixture
def xss_project(pytester: pytest.Pytester) -> Path:
    pytester.makeconftest(PROJECT_CONFTEST)
    (pytester.path / "xss.jsonl").write_text("".join(json.dumps(r) + "\n" for r in XSS_ROWS), encoding="utf-8")
    return pytester.path


def run_eval(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "-p", "no:randomly", "-m", "xss", *args
    )
