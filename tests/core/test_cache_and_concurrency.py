"""Requests overlap, are cached durably as they arrive, and are sent exactly once across xdist."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import GSM8K_RULES, write_jsonl
from tests.runs import chat_requests, dataset, llm_args, run


def many_rows(count: int) -> list[dict[str, str]]:
    return [{"question": f"What is {i} plus 0? (apples)", "answer": f"#### {i}"} for i in range(count)]


def test_second_run_is_served_from_cache(pytester, model_server, gsm8k_file, tmp_path):
    args = dataset("gsm8k", gsm8k_file)
    run(pytester, model_server, *args)
    assert chat_requests(model_server) == 4
    results = tmp_path / "r.json"
    result = run(pytester, model_server, *args, "--llm-results", str(results))
    result.assert_outcomes(passed=3, failed=1)
    assert chat_requests(model_server) == 4  # nothing new was sent
    assert json.loads(results.read_text())["requests"]["cached"] == 4


def test_rescoring_from_cache_needs_no_server(pytester, start_server, gsm8k_file):
    server = start_server(rules=GSM8K_RULES)
    args = llm_args(server.base_url, *dataset("gsm8k", gsm8k_file))
    pytester.runpytest_subprocess(*args)
    server.stop()
    result = pytester.runpytest_subprocess(*args, "--llm-threshold", "gsm8k.acc>=0.75")
    assert result.ret == 0


@pytest.mark.parametrize("workers", ["0", "2"])
def test_rescoring_from_cache_under_xdist_needs_no_server(pytester, start_server, gsm8k_file, workers):
    server = start_server(rules=GSM8K_RULES)
    args = llm_args(server.base_url, *dataset("gsm8k", gsm8k_file), "-n", workers)
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=3, failed=1)
    server.stop()
    results = pytester.path / "again.json"
    result = pytester.runpytest_subprocess(*args, "--llm-results", str(results))
    result.assert_outcomes(passed=3, failed=1)
    assert json.loads(results.read_text())["requests"]["cached"] == 4


def test_partly_cached_run_with_server_stopped_is_one_usage_error_under_xdist(
    pytester, start_server, gsm8k_file, tmp_path
):
    server = start_server(rules=GSM8K_RULES)
    base = (*llm_args(server.base_url), "-m", "gsm8k", "-n", "2")
    pytester.runpytest_subprocess(*base, "--llm-dataset", f"gsm8k={gsm8k_file}")
    server.stop()
    more = write_jsonl(
        tmp_path / "more.jsonl",
        [json.loads(line) for line in gsm8k_file.read_text().splitlines()]
        + [{"question": "What is 1 + 1? (apples)", "answer": "#### 2"}],
    )
    result = pytester.runpytest_subprocess(*base, "--llm-dataset", f"gsm8k={more}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "cannot reach" in output and "refused" in output
    assert (result.stdout.str() + result.stderr.str()).count(
        "cannot reach"
    ) == 1 and "gsm8k/main::" not in output  # no item ran


def test_no_cache_asks_again(pytester, model_server, gsm8k_file):
    args = (*dataset("gsm8k", gsm8k_file), "--llm-no-cache")
    run(pytester, model_server, *args)
    run(pytester, model_server, *args)
    assert chat_requests(model_server) == 8


def test_requests_overlap_up_to_concurrency(pytester, start_server, tmp_path):
    server = start_server(fixed_reply="\\boxed{0}", latency_s=0.2)
    data = write_jsonl(tmp_path / "g.jsonl", many_rows(40))
    results = tmp_path / "r.json"
    result = run(
        pytester,
        server,
        *dataset("gsm8k", data),
        "--llm-concurrency",
        "20",
        "--llm-results",
        str(results),
    )
    assert result.ret in (0, 1)
    # 20 requests were at the server at once: they overlapped (a wall-time bound would fail on a
    # loaded machine; bench/eval_throughput.py measures the latency-bound ratio)
    assert server.stats()["max_in_flight"] == 20
    assert json.loads(results.read_text())["requests"]["sent"] == 40


def test_killed_run_resumes_without_asking_again(pytester, start_server, tmp_path):
    # 60 x 0.2 s at 2 in flight: 6 s of requests, so the kill lands mid-run even on a slow start
    server = start_server(fixed_reply="\\boxed{1}", latency_s=0.2)
    data = write_jsonl(tmp_path / "g.jsonl", many_rows(60))
    args = [
        sys.executable,
        "-m",
        "pytest",
        *llm_args(server.base_url),
        *dataset("gsm8k", data),
        "--llm-concurrency",
        "2",
        "-q",
    ]
    process = subprocess.Popen(args, cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # start-up on a loaded machine; returns as soon as 20 arrived
    while chat_requests(server) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    sent_before = chat_requests(server)
    assert 20 <= sent_before < 60
    server.reset()
    result = subprocess.run(args, cwd=pytester.path, capture_output=True, text=True)
    assert "60 failed" in result.stdout or "59 failed" in result.stdout  # only sample 1 is right
    resent = chat_requests(server)
    # at most the requests that were in flight when the process died are asked again
    assert resent <= 60 - sent_before + 2
    assert server.stats()["chat_by_body_sha256"] and max(server.stats()["chat_by_body_sha256"].values()) == 1


@pytest.mark.parametrize("workers", ["2"])
def test_xdist_gives_the_same_results_and_sends_each_request_once(pytester, start_server, tmp_path, workers):
    rows = many_rows(30)
    server = start_server(
        rules=[{"contains": f"What is {i} plus", "reply": f"\\boxed{{{i if i % 3 else i + 1}}}"} for i in range(30)]
    )
    data = write_jsonl(tmp_path / "g.jsonl", rows)
    plain, distributed = tmp_path / "plain.json", tmp_path / "xdist.json"
    base = dataset("gsm8k", data)
    run(
        pytester,
        server,
        *base,
        "--llm-results",
        str(distributed),
        "--llm-cache-dir",
        str(tmp_path / "c1"),
        "-n",
        workers,
    )
    by_body = server.stats()["chat_by_body_sha256"]
    assert len(by_body) == 30 and set(by_body.values()) == {1}
    run(pytester, server, *base, "--llm-results", str(plain), "--llm-cache-dir", str(tmp_path / "c2"))
    first, second = json.loads(plain.read_text()), json.loads(distributed.read_text())
    assert first["benchmarks"] == second["benchmarks"]
    assert first["benchmarks"]["gsm8k"]["metrics"]["acc"] == pytest.approx(20 / 30)


def test_llm_fixture_in_hand_written_tests(pytester, model_server):
    pytester.makepyfile(
        test_mine="""
        import pytest

        def test_sync(llm, llm_endpoint):
            reply = llm.chat("How many apples?")
            assert "boxed{5}" in reply.text
            assert reply.usage.completion_tokens > 0 and reply.latency_s > 0
            assert llm_endpoint.model == "fake-model"
            assert "api_key" not in llm_endpoint.public_dict()

        async def test_async(llm):
            reply = await llm.achat([{"role": "user", "content": "pens please"}], max_tokens=50)
            assert "1,000" in reply.text

        def test_sdk(llm):
            client = llm.openai_client()
            reply = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "apples"}])
            assert "boxed{5}" in reply.choices[0].message.content
        """
    )
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    result = run(pytester, model_server)
    result.assert_outcomes(passed=3)


def test_llm_fixture_refuses_a_misspelt_generation_keyword(pytester, model_server):
    """`llm.chat(prompt, max_token=8)`: the server ignores the field and answers at its default
    length; the call raises at once, naming the field meant, and sends nothing."""
    pytester.makepyfile(
        test_mine="""
        import pytest
        from pytest_llmeval.errors import ConfigError

        def test_typo(llm):
            with pytest.raises(ConfigError, match="llm.chat\\(max_token=8\\): 'max_token' is not a request field"):
                llm.chat("How many apples?", max_token=8)
            with pytest.raises(ConfigError, match="max_tokens must be a whole number >= 1, e.g. max_tokens=256"):
                llm.chat("How many apples?", max_tokens="8")
            assert llm.chat("How many apples?", max_tokens=8, my_server_flag=True).text
        """
    )
    result = run(pytester, model_server)
    result.assert_outcomes(passed=1)
    assert chat_requests(model_server) == 1


def test_llm_fixture_skips_without_model(pytester):
    pytester.makepyfile(test_mine="def test_x(llm):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(skipped=1)


def test_a_run_that_may_stop_at_a_failure_prefetches_a_small_window(pytester, start_server, tmp_path):
    """With -x (or --maxfail) the run may end at any item: the prefetch window is 64 ahead, not
    256, so few requests are sent that no item reads (they are cached, not lost)."""
    count, first_wrong = 600, 100
    server = start_server(
        rules=[
            {"contains": f"What is {i} plus", "reply": f"\\boxed{{{-1 if i == first_wrong else i}}}"}
            for i in range(count)
        ]
    )
    data = write_jsonl(tmp_path / "g.jsonl", many_rows(count))
    pytester.makeconftest("import time\n\ndef pytest_runtest_call(item):\n    time.sleep(0.005)\n")
    result = run(pytester, server, *dataset("gsm8k", data), "-x")
    result.assert_outcomes(passed=first_wrong, failed=1)
    assert chat_requests(server) < first_wrong + 1 + 64 + 64  # the window and what was in flight
