"""The load generator against our loopback server: schedules, timing accuracy, faults.

Tolerances are loose on purpose (shared CI machines); bench/perf_accuracy.py has the tight figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.metrics import PerfResult
from pytest_llmeval.perf.runner import PerfJob, PerfRunError, check_results, run
from pytest_llmeval.testing import FakeOpenAIServer
from tests.runs import perf_job


def job_for(server: FakeOpenAIServer, tokenizer: Path | None = None, **load: Any) -> PerfJob:
    load.setdefault("prompt_tokens", 16)
    return perf_job(server, tokenizer, **load)


def run_one(server: FakeOpenAIServer, isolation: str = "thread", **load: Any) -> PerfResult:
    results = run(job_for(server, **load), isolation)
    assert len(results) == 1
    return results[0]


def test_closed_loop_keeps_exactly_parallel_in_flight(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(latency_s=0.02, ttft_s=0.02, itl_s=0.002, output_tokens=8)
    result = run_one(server, parallel=4, number=20, output_tokens=8)
    stats = server.stats()
    assert stats["max_in_flight"] == 4
    assert stats["chat_requests"] == 20
    assert (result.ok, result.failed, result.number) == (20, 0, 20)
    assert result.output_tokens == 160 and result.input_tokens == 20 * 16
    assert result.token_source == "usage"


def test_warmup_requests_are_sent_but_not_measured(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(output_tokens=4)
    result = run_one(server, parallel=2, number=6, warmup=3)
    assert server.stats()["chat_requests"] == 9
    assert result.number == 6 and result.ok == 6 and result.warmup == 3


def test_sweep_runs_levels_in_order_in_a_worker_process(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(ttft_s=0.01, itl_s=0.002, output_tokens=4)
    results = run(job_for(server, parallel=[1, 3], number=[3, 9]), "process")
    assert [(r.parallel, r.ok) for r in results] == [(1, 3), (3, 9)]
    assert server.stats()["chat_requests"] == 12
    assert all(r.client_cpu_s is not None and r.client_cpu_s > 0 for r in results)


def test_open_loop_constant_rate_paces_arrivals(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(output_tokens=2)
    started = time.perf_counter()
    result = run_one(server, rate=20, arrival="constant", number=11)
    elapsed = time.perf_counter() - started
    # 11 arrivals 50 ms apart: the last leaves at 0.5 s
    assert 0.45 <= result.duration_s <= 1.5, result.duration_s
    assert elapsed >= 0.5
    assert result.ok == 11 and result.rate == 20 and result.arrival == "constant"
    assert result.send_lag_max_s is not None and result.send_lag_max_s < 0.2


def test_open_loop_does_not_wait_for_responses(start_server: Callable[..., FakeOpenAIServer]) -> None:
    # 1 s responses arriving every 20 ms: an open loop has ~all of them in flight at once
    server = start_server(latency_s=1.0, ttft_s=1.0, output_tokens=1)
    result = run_one(server, rate=50, arrival="constant", number=20, stream=False)
    assert server.stats()["max_in_flight"] >= 15
    assert result.duration_s < 1.9
    capped = run_one(server, rate=50, arrival="constant", number=6, parallel=2, stream=False)
    assert capped.ok == 6
    assert capped.duration_s >= 2.9  # 3 waves of 2 at 1 s each


def test_open_loop_duration_and_poisson(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(output_tokens=2)
    result = run_one(server, rate=100, duration=0.5, arrival="poisson", seed=7)
    assert 25 <= result.number <= 90  # ~50 arrivals expected
    assert result.ok == result.number


@pytest.mark.xdist_group("timing")
def test_timings_match_injected_ttft_and_itl(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(ttft_s=0.05, itl_s=0.01, output_tokens=10)
    result = run_one(server, parallel=2, number=10, output_tokens=10)
    # generous: the suite runs on a busy machine; bench/perf_accuracy.py measures the precision
    assert 0.047 <= result.ttft.p50 <= 0.05 + 0.1
    assert 0.005 <= result.itl.p50 <= 0.03
    assert 0.005 <= result.tpot.mean <= 0.03
    assert 0.05 + 9 * 0.01 - 0.005 <= result.latency.p50 <= 0.05 + 9 * 0.01 + 0.15
    assert result.itl.count == 10 * 9


@pytest.mark.xdist_group("timing")
def test_non_streaming_has_latency_only(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(latency_s=0.05, output_tokens=5)
    result = run_one(server, parallel=2, number=4, stream=False)
    assert result.ok == 4 and not result.stream
    assert 0.045 <= result.latency.p50 <= 0.05 + 0.1  # never early; late only by a loaded machine
    assert result.ttft.count == 0 and result.ttft.p99 is None
    assert result.output_tokens == 20 and result.token_source == "usage"


def test_extra_body_passes_through(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(fixed_reply="short")
    result = run_one(server, parallel=1, number=2, output_tokens=12, extra_body={"ignore_eos": True})
    assert result.output_tokens == 24  # ignore_eos pads the one-word reply up to max_tokens
    result = run_one(server, parallel=1, number=2, extra_body={"min_tokens": 7})
    assert result.output_tokens == 14


def test_without_usage_counts_fall_back(
    start_server: Callable[..., FakeOpenAIServer], wordlevel_tokenizer: Path
) -> None:
    server = start_server(output_tokens=6, itl_s=0.001)
    no_usage = {"stream_options": {"include_usage": False}}
    approximate = run_one(server, parallel=1, number=2, extra_body=no_usage)
    assert approximate.token_source == "approximate"
    assert approximate.output_tokens == 12  # one content chunk per token
    assert any("no usage" in note for note in approximate.notes)
    assert any("approximate" in note for note in approximate.notes)
    job = job_for(server, tokenizer=wordlevel_tokenizer, parallel=1, number=2, extra_body=no_usage)
    counted = run(job, "thread")[0]
    assert counted.token_source == "tokenizer"
    assert counted.input_tokens == 2 * 16  # exact prompt lengths under the tokenizer


def test_server_errors_are_counted_and_classified(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(fail_every_k=4, fail_status=503, output_tokens=3)
    result = run_one(server, parallel=2, number=20)
    assert result.failed == 5 and result.ok == 15
    assert result.errors == {"http_503": 5}
    assert (
        result.first_error is not None and "HTTP 503" in result.first_error and "injected failure" in result.first_error
    )
    assert result.request_throughput > 0


def test_dropped_connections_and_hangs(start_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("fine one\nplease DROP me\nfine two\nplease HANG now\n", encoding="utf-8")
    server = start_server(drop_connection=["DROP"], hang=["HANG"], output_tokens=3)
    result = run_one(server, parallel=2, number=8, dataset="line_by_line", dataset_path=str(prompts), timeout=0.5)
    assert result.ok == 4
    assert result.errors == {"connection_reset": 2, "timeout": 2}
    assert result.latency.max is not None and result.latency.max < 0.5


def test_truncated_and_malformed_streams(start_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("CUT this\nBAD json\nfine\n", encoding="utf-8")
    server = start_server(truncate=["CUT"], malformed=["BAD"], output_tokens=6, itl_s=0.001)
    result = run_one(server, parallel=1, number=3, dataset="line_by_line", dataset_path=str(prompts))
    assert result.ok == 1
    assert set(result.errors) <= {"connection_reset", "incomplete_stream", "bad_response"}
    assert result.errors.get("bad_response") == 1


def test_all_failing_run_stops_early_with_the_first_error(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server(fail_first_n=10_000, fail_status=500)
    results = run(job_for(server, parallel=[2, 4], number=[200, 200]), "thread")
    assert len(results) == 1  # the sweep stopped at the first dead level
    assert results[0].ok == 0
    assert server.stats()["chat_requests"] < 20  # stopped after the first failures, not 200
    with pytest.raises(PerfRunError, match=r"all \d+ requests failed.*first error: HTTP 500: injected failure"):
        check_results(results)


def test_unreachable_server_is_a_connection_error() -> None:
    job = PerfJob(
        spec=make_spec({"parallel": 1, "number": 3, "prompt_tokens": 4}),
        model="m",
        chat_url="http://127.0.0.1:9/v1/chat/completions",
        models_url="http://127.0.0.1:9/v1/models",
    )
    results = run(job, "process")
    assert results[0].errors == {"connection_error": 3}
    with pytest.raises(PerfRunError, match="cannot connect"):
        check_results(results)


def test_exact_lengths_without_tokenizer_is_a_usage_error(start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server()
    with pytest.raises(ConfigError, match="needs a tokenizer"):
        run(job_for(server, parallel=1, number=1, exact_lengths=True), "process")
    assert server.stats()["chat_requests"] == 0


@pytest.mark.xdist_group("timing")
@pytest.mark.parametrize("transport", ["aiohttp", "httpx-aiohttp", "httpx"])
def test_other_transports_give_the_same_figures(start_server: Callable[..., FakeOpenAIServer], transport: str) -> None:
    server = start_server(ttft_s=0.03, itl_s=0.005, output_tokens=5, fail_every_k=5)
    result = run_one(server, parallel=2, number=10, transport=transport)
    assert (result.ok, result.errors) == (8, {"http_500": 2})
    assert 0.027 <= result.ttft.p50 <= 0.03 + 0.1  # same figures: never early, late only by load
    assert result.output_tokens == 40
