"""`--llm-repeats` against the real llama.cpp server (llama-cpp-python, `[local]` extra), which
ignores `n` (issue 12 item 4): K separate requests per sample give K distinct generations and
pass@1 / pass@K; `n` on that server is an error of each sample naming `--llm-repeats`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_jsonl
from tests.e2e.test_embedded_evaluation import GSM8K, need

pytestmark = pytest.mark.e2e


def evaluate(pytester, data, *extra):
    results, samples = pytester.path / "results.json", pytester.path / "samples.jsonl"
    outcome = pytester.runpytest_subprocess(
        "--llm-model",
        "smollm2-135m",
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={data}",
        "--llm-gen",
        "max_tokens=24",
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
        "--llm-timeout",
        "300",
        *extra,
    )
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    return outcome, json.loads(results.read_text()), lines


def test_repeats_give_distinct_generations_and_pass_at_k(pytester, tmp_path):
    need("smollm2-135m")
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K[:2])
    _outcome, results, samples = evaluate(pytester, data, "--llm-repeats", "8", "--llm-gen", "temperature=1.0")
    assert len(samples) == 2 and all(line["error"] is None for line in samples)
    assert results["requests"]["sent"] == 16  # one request per repeat, each sent
    for line in samples:
        assert len(line["outputs"]) == 8 and line["requests"] == 8
        assert line["usage"]["completion_tokens"] > 8
    # Separate samplings, not one copied: a 135M model at temperature 1 can say the same short
    # thing twice (a load run saw "10 - 4 = ?" two times in four, so "all distinct" was a flaky
    # test), but eight times for both questions only if one reply had nearly all the probability.
    assert any(len(set(line["outputs"])) > 1 for line in samples), [line["outputs"] for line in samples]
    gsm = results["benchmarks"]["gsm8k"]
    assert gsm["count"] == 2 and gsm["errors"] == 0
    assert {"acc", "pass_at_1", "pass_at_2", "pass_at_4", "pass_at_8"} <= set(gsm["metrics"])
    assert 0.0 <= gsm["metrics"]["pass_at_1"] <= gsm["metrics"]["pass_at_4"] <= gsm["metrics"]["pass_at_8"] <= 1.0
    assert gsm["metrics"]["pass_at_1"] == pytest.approx(gsm["metrics"]["acc"])


def test_n_on_a_server_that_ignores_it_errors_with_the_fix(pytester, tmp_path):
    need("smollm2-135m")
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K[:2])
    outcome, results, samples = evaluate(pytester, data, "--llm-gen", "n=3", "--llm-gen", "temperature=1.0")
    assert outcome.ret != 0
    assert [line["error_kind"] for line in samples] == ["missing_choices", "missing_choices"]
    assert "--llm-repeats 3" in samples[0]["error"]
    assert results["benchmarks"]["gsm8k"]["count"] == 0
