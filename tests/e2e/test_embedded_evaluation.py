"""A real evaluation against a model the plugin serves itself with llama.cpp (`[local]` extra).

`pytest --llm-model smollm2-135m -m gsm8k` with no --llm-base-url starts llama-cpp-python's server
on a free port, evaluates, and stops it. The small models answer badly; what is checked is the real
pipeline: real tokens, streaming, usage, scores, results, samples and the cache on a second run.
"""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.endpoint.local_models import LocalModelError, check_llama_server_installed, resolve_local_model
from tests.conftest import write_jsonl
from tests.e2e.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

GSM8K = [
    {"question": q, "answer": f"#### {a}"}
    for q, a in [
        ("What is 2 + 3?", 5),
        ("What is 10 - 4?", 6),
        ("What is 3 * 3?", 9),
        ("What is 8 / 2?", 4),
        ("Tom has 3 cats and gets 2 more. How many cats?", 5),
        ("What is 7 + 6?", 13),
    ]
]
MCQ = [
    {"question": "What color is the sky on a clear day?", "choices": ["Green", "Blue", "Red", "Black"], "answer": "B"},
    {"question": "How many legs does a dog have?", "choices": ["Two", "Three", "Four", "Six"], "answer": "C"},
    {"question": "Which is a fruit?", "choices": ["Apple", "Car", "Stone", "Chair"], "answer": "A"},
    {"question": "What is frozen water called?", "choices": ["Steam", "Sand", "Ice", "Oil"], "answer": "C"},
]


def need(model: str) -> None:
    try:
        check_llama_server_installed()
        resolve_local_model(model)
    except LocalModelError as exc:
        skip_or_fail(str(exc))


def evaluate(pytester, model, data_args, *extra):
    results, samples = pytester.path / "results.json", pytester.path / "samples.jsonl"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        model,
        *data_args,
        "--llm-gen",
        "temperature=0",
        "--llm-gen",
        "max_tokens=48",
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
        "--llm-timeout",
        "300",
        *extra,
    )
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    return result, json.loads(results.read_text()), lines


def test_embedded_smollm2_evaluates_and_second_run_is_cached(pytester, tmp_path):
    need("smollm2-135m")
    gsm = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K)
    mcq_dir = tmp_path / "mcq"
    write_jsonl(mcq_dir / "IQ.jsonl", MCQ[:2])
    write_jsonl(mcq_dir / "EQ.jsonl", MCQ[2:])
    data = ["-m", "gsm8k or iquiz", "--llm-dataset", f"gsm8k={gsm}", "--llm-dataset", f"iquiz={mcq_dir}"]
    result, results, samples = evaluate(pytester, "smollm2-135m", data)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 10 and "errors" not in outcomes
    assert results["requests"]["sent"] == 10 and results["requests"]["completion_tokens"] > 50
    for bench, count in (("gsm8k", 6), ("iquiz", 4)):
        assert results["benchmarks"][bench]["count"] == count
        assert 0.0 <= results["benchmarks"][bench]["metrics"]["acc"] <= 1.0
    assert all(line["output"].strip() and line["usage"]["completion_tokens"] > 0 for line in samples)
    assert not any(line["cached"] for line in samples)

    _, again, samples_again = evaluate(pytester, "smollm2-135m", data)
    assert again["requests"] == {**results["requests"], "sent": 0, "cached": 10}
    assert all(line["cached"] for line in samples_again)
    assert again["benchmarks"] == results["benchmarks"]


def test_embedded_gemma_streams_real_tokens(pytester, tmp_path):
    need("gemma3-270m")
    gsm = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K[:4])
    _result, results, samples = evaluate(
        pytester, "gemma3-270m", ["-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm}"], "--llm-stream", "--llm-no-cache"
    )
    assert results["benchmarks"]["gsm8k"]["count"] == 4 and results["benchmarks"]["gsm8k"]["errors"] == 0
    assert all(line["ttft_s"] is not None and 0 < line["ttft_s"] <= line["latency_s"] for line in samples)
    assert all(line["usage"]["completion_tokens"] > 1 for line in samples)


def test_think_eval_against_the_real_server(pytester, tmp_path):
    """SmolLM2 does not think: the figures come from its output, with token counts from the
    server's usage, and every sample has them."""
    need("smollm2-135m")
    gsm = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K[:4])
    result, results, samples = evaluate(
        pytester, "smollm2-135m", ["-m", "gsm8k", "--llm-dataset", f"gsm8k={gsm}"], "--llm-think-eval"
    )
    thinking = results["thinking"]
    assert thinking["token_sources"] == ["usage.completion_tokens split by characters"]
    overall = thinking["benchmarks"]["gsm8k"]["overall"]
    assert overall["count"] == 4 and overall["reasoning_tokens"] > 0 and overall["thought_count"] >= 1
    assert all(s["thinking"][0]["trace"] == "output" and s["thinking"][0]["reasoning_tokens"] > 0 for s in samples)
    result.stdout.fnmatch_lines(["*llmeval reasoning efficiency*"])


SERVER_ENV_TEST = """
import psutil
import pytest

@pytest.mark.gsm8k  # selected by the same -m as the samples
def test_server_environment():
    servers = [p for p in psutil.Process().children(recursive=True) if "llama_cpp.server" in " ".join(p.cmdline())]
    assert len(servers) == 1
    print("OMP_WAIT_POLICY of the server:", servers[0].environ().get("OMP_WAIT_POLICY"))
"""


@pytest.mark.parametrize(("user_value", "expected"), [(None, "None"), ("PASSIVE", "PASSIVE")])
def test_started_server_inherits_the_users_openmp_wait_policy(pytester, tmp_path, monkeypatch, user_value, expected):
    """docs/serving.md: on busy CPUs, OMP_WAIT_POLICY=PASSIVE in the environment reaches the server."""
    need("smollm2-135m")
    if user_value is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", user_value)
    pytester.makepyfile(test_env=SERVER_ENV_TEST)
    gsm = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K[:1])
    # the path: with no path, `-m gsm8k` collects the benchmark's samples only (docs/options.md)
    result = pytester.runpytest_subprocess(
        "test_env.py",
        "--llm-model",
        "smollm2-135m",
        "-m",
        "gsm8k",
        "-s",
        "--llm-dataset",
        f"gsm8k={gsm}",
        "--llm-gen",
        "max_tokens=8",
    )
    result.stdout.fnmatch_lines([f"*OMP_WAIT_POLICY of the server: {expected}*"])
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 2 and "errors" not in outcomes
