"""Load tests of /v1/embeddings and /v1/rerank against the real embedded embedding model (all-MiniLM-L6-v2
on llama.cpp, started by the plugin): the perf marker's fixtures and the `--llm-perf` sweep, with batch
size and input length as sweep dimensions. Marked ``e2e``; nothing here depends on the machine's speed
(only that every figure exists and is consistent)."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.endpoint.embedding_model import MINILM
from tests.e2e.test_embedding_server import need_model

pytestmark = pytest.mark.e2e


def test_llm_perf_sweeps_batch_size_and_input_length_against_the_embedded_model(pytester: pytest.Pytester) -> None:
    need_model()
    pytester.makepyfile(
        test_load="""
        def test_embeddings(llm_perf):
            sweep = llm_perf.sweep(api="embeddings", parallel=[1, 2], number=[4, 6], batch_size=[1, 8],
                                   input_tokens=[16, 64])
            assert len(sweep) == 8
            big = sweep.result(parallel=2, batch_size=8, input_tokens=64)
            assert big.failed == 0 and big.ok == 6 and big.inputs == 48
            assert big.inputs_throughput > 0 and big.inputs_throughput == big.inputs / big.duration_s
            assert big.token_source == "usage" and big.input_tokens >= 48 * 64  # [CLS] and [SEP] added
            assert 0 < big.latency.p50 <= big.latency.p99 <= big.latency.max
            assert big.ttft.count == 0 and big.output_tokens == 0
            small = sweep.result(parallel=2, batch_size=1, input_tokens=16)
            assert small.inputs == 6 and small.input_tokens < big.input_tokens
            print(sweep.table())
        """
    )
    result = pytester.runpytest_subprocess("--llm-model", MINILM, "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "Inputs/s" in out and "Batch" in out and "2 b8 n64" in out


def test_llm_perf_sweep_of_rerank_writes_inputs_per_second_to_the_results(pytester: pytest.Pytester) -> None:
    need_model()
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "--llm-model",
        MINILM,
        "--llm-perf",
        *"api=rerank parallel=1,2 number=3,4 batch_size=4,16 input_tokens=24".split(),
        "--llm-results",
        str(results),
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    runs = json.loads(results.read_text())["extra"]["perf"]["runs"]
    assert [(r["parallel"], r["batch_size"]) for r in runs] == [(1, 4), (1, 16), (2, 4), (2, 16)]
    for run in runs:
        assert run["api"] == "rerank" and run["failed"] == 0 and run["input_length"] == 24
        assert run["inputs"] == run["ok"] * run["batch_size"] and run["inputs_throughput"] > 0
        assert run["latency"]["p90"] is not None and run["request_throughput"] > 0
    assert "llmeval perf" in result.stdout.str()
