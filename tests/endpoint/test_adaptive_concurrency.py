"""Adaptive concurrency (endpoint/adaptive.py): the AIMD rule, the gate, and a real run against a
server that answers 429 above a hidden concurrency limit."""

from __future__ import annotations

import asyncio
import json
import math
import time

import pytest

from pytest_llmeval.endpoint.adaptive import AimdController, ConcurrencyLimiter, ThrottleSummary, merge_summaries
from tests.conftest import write_jsonl
from tests.runs import dataset, llm_args


def test_an_overload_halves_the_limit_once_per_window() -> None:
    aimd = AimdController(16)
    window = aimd.window
    event = aimd.on_overload(window, 429, at_s=1.0, retry_after_s=0.5)
    assert event is not None and (event.limit_before, event.limit_after) == (16, 8)
    # eleven more rejections of requests sent before the decrease: one signal, not eleven halvings
    for _ in range(11):
        assert aimd.on_overload(window, 429, at_s=1.0) is None
    assert aimd.allowed == 8 and aimd.overload_answers == 12 and aimd.decreases == 1
    assert aimd.on_overload(aimd.window, 503, at_s=2.0) is not None
    assert aimd.allowed == 4


def test_successes_add_one_request_per_window_up_to_the_ceiling() -> None:
    aimd = AimdController(8)
    aimd.on_overload(aimd.window, 429, at_s=0.0)
    assert aimd.allowed == 4
    # +1/limit per success: about one more request per window of `limit` successes
    assert sum(aimd.on_success() for _ in range(4)) == 0 and aimd.allowed == 4
    assert aimd.on_success() and aimd.allowed == 5
    for _ in range(1000):
        aimd.on_success()
    assert aimd.allowed == 8  # never above --llm-concurrency


def test_the_limit_never_goes_below_the_floor() -> None:
    aimd = AimdController(4)
    for _ in range(10):
        aimd.on_overload(aimd.window, 429, at_s=0.0)
    assert aimd.allowed == 1 and aimd.summary().lowest_limit == 1


def test_with_adaptation_off_the_limit_never_moves() -> None:
    aimd = AimdController(16, adaptive=False)
    assert aimd.on_overload(aimd.window, 429, at_s=0.0) is None
    assert not aimd.on_success()
    summary = aimd.summary()
    assert aimd.allowed == 16 and summary.overload_answers == 1 and summary.decreases == 0
    assert "off" in summary.describe()


def test_summaries_of_several_processes_add_up() -> None:
    a = AimdController(8)
    b = AimdController(8)
    a.on_overload(a.window, 429, at_s=1.0)
    b.on_overload(b.window, 429, at_s=0.5)
    merged = merge_summaries([a.summary(), b.summary()])
    assert isinstance(merged, ThrottleSummary)
    assert (merged.ceiling, merged.decreases, merged.final_limit) == (16, 2, 8)
    assert [e.at_s for e in merged.events] == [0.5, 1.0]


def test_the_gate_admits_the_lowered_limit_and_holds_new_requests_for_retry_after() -> None:
    async def go() -> None:
        gate = ConcurrencyLimiter(AimdController(4))
        permits = [await gate.acquire() for _ in range(4)]
        assert gate.in_flight == 4
        permits[0].overloaded(429, retry_after_s=0.3)  # limit 4 -> 2, new requests held 0.3 s
        for permit in permits:
            permit.release()
        began = time.monotonic()
        first = await gate.acquire()
        assert time.monotonic() - began >= 0.25
        second = await gate.acquire()
        third = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0.05)
        assert not third.done() and gate.in_flight == 2  # the third waits for a slot
        first.release()
        await asyncio.wait_for(third, 5)
        second.release()
        (await third).release()
        assert gate.in_flight == 0

    asyncio.run(go())


def test_a_paused_retry_gives_its_slot_back_while_it_waits() -> None:
    async def go() -> None:
        gate = ConcurrencyLimiter(AimdController(1))
        permit = await gate.acquire()
        pausing = asyncio.ensure_future(permit.pause(0.2))
        await asyncio.sleep(0.05)
        other = await asyncio.wait_for(gate.acquire(), 1)  # the slot is free during the backoff
        other.release()
        await pausing
        assert permit.held and gate.in_flight == 1
        permit.release()
        permit.release()  # idempotent: the dispatcher releases whatever the client did
        assert gate.in_flight == 0

    asyncio.run(go())


HIDDEN_LIMIT = 4


def numbered_rows(count: int) -> list[dict[str, str]]:
    return [{"question": f"What is {i} plus 0? (apples)", "answer": f"#### {i}"} for i in range(count)]


def test_a_run_converges_to_the_servers_hidden_concurrency_and_loses_no_request(
    pytester: pytest.Pytester, start_server, tmp_path
) -> None:
    samples = 200
    server = start_server(max_concurrency=HIDDEN_LIMIT, retry_after_s=0.05, latency_s=0.05)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", numbered_rows(samples))
    results = tmp_path / "results.json"
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url),
        *dataset("gsm8k", data),
        "--llm-concurrency",
        "16",
        "--llm-results",
        str(results),
    )
    stats = server.stats()
    report = json.loads(results.read_text())
    assert report["samples_errored"] == 0 and report["samples_scored"] == samples, result.stdout.str()
    # every sample answered once: each 429 was retried, never scored
    assert len(stats["chat_by_body_sha256"]) == samples
    assert stats["faults"]["overload"] >= 1
    assert stats["chat_requests"] - stats["faults"]["overload"] == samples
    throttling = report["extra"]["throttling"]
    assert throttling["adaptive"] and throttling["ceiling"] == 16 and throttling["decreases"] >= 2
    # the client's in-flight limit: 16 -> 8 -> 4 at the start, then it never climbs past the hidden
    # limit by more than the one or two requests AIMD probes with before it is cut again
    descent, *after_warm_up = [event["limit_before"] for event in throttling["events"]][1:]
    assert descent <= 8 and max(after_warm_up, default=0) <= HIDDEN_LIMIT + 2, throttling["events"]
    assert throttling["lowest_limit"] <= HIDDEN_LIMIT
    # the server's view: a request arriving with more than HIDDEN_LIMIT in flight was refused. After
    # warm-up few are (at a fixed 16, about 3 in 4 are: test_fixed_concurrency_keeps_sending_what_was_asked)
    arrivals = stats["arrival_in_flight"]
    later = arrivals[len(arrivals) // 2 :]
    assert sum(1 for n in later if n > HIDDEN_LIMIT) / len(later) < 0.3
    assert max(later) >= HIDDEN_LIMIT  # and it does use what the server allows
    assert "llmeval throttling: server answered 429/503" in result.stdout.str()
    assert "requests in flight lowered 16 -> 8" in result.stdout.str()


def eval_args(server, data, results, *extra: str) -> list[str]:
    return [
        *(*llm_args(server.base_url), "-m", "gsm8k"),
        *("--llm-dataset", f"gsm8k={data}", "--llm-results", str(results), "--llm-concurrency", "16", *extra),
    ]


def test_xdist_workers_adapt_each_and_the_summary_adds_them_up(
    pytester: pytest.Pytester, start_server, tmp_path
) -> None:
    samples = 120
    server = start_server(max_concurrency=HIDDEN_LIMIT, retry_after_s=0.05, latency_s=0.05)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", numbered_rows(samples))
    results = tmp_path / "results.json"
    result = pytester.runpytest_subprocess(*eval_args(server, data, results, "-n", "2"))
    report = json.loads(results.read_text())
    assert report["samples_errored"] == 0 and report["samples_scored"] == samples, result.stdout.str()
    stats = server.stats()
    assert len(stats["chat_by_body_sha256"]) == samples
    assert stats["chat_requests"] - stats["faults"]["overload"] == samples
    throttling = report["extra"]["throttling"]
    assert throttling["ceiling"] == 32  # two workers' --llm-concurrency 16, each adapting on its own
    assert throttling["decreases"] >= 2 and throttling["overload_answers"] == stats["faults"]["overload"]


def test_fixed_concurrency_keeps_sending_what_was_asked(pytester: pytest.Pytester, start_server, tmp_path) -> None:
    samples = 48
    server = start_server(max_concurrency=HIDDEN_LIMIT, retry_after_s=0.05, latency_s=0.05)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", numbered_rows(samples))
    results = tmp_path / "results.json"
    pytester.runpytest_subprocess(*eval_args(server, data, results, "--llm-fixed-concurrency", "--llm-retries", "50"))
    report = json.loads(results.read_text())
    assert report["samples_errored"] == 0
    arrivals = server.stats()["arrival_in_flight"]
    later = arrivals[len(arrivals) // 2 :]
    assert sum(1 for n in later if n > HIDDEN_LIMIT) / len(later) > 0.5  # it keeps knocking
    throttling = report["extra"]["throttling"]
    assert not throttling["adaptive"] and throttling["decreases"] == 0 and throttling["overload_answers"] > 0


def test_a_cancelled_waiter_leaves_the_gate_consistent() -> None:
    async def go() -> None:
        gate = ConcurrencyLimiter(AimdController(1))
        held = await gate.acquire()
        waiting = [asyncio.ensure_future(gate.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)
        waiting[0].cancel()
        waiting[1].cancel()
        held.release()  # wakes the queue while the cancelled waiters are still in it
        await asyncio.gather(*waiting[:2], return_exceptions=True)
        last = await asyncio.wait_for(waiting[2], 1)
        assert gate.in_flight == 1
        last.release()
        assert gate.in_flight == 0

    asyncio.run(go())


# One hostile or broken Retry-After never stalls the run: the gate's pause is finite and bounded.


def test_a_huge_retry_after_holds_new_requests_back_up_to_the_cap_only() -> None:
    from pytest_llmeval.endpoint.adaptive import MAX_WAIT_S

    now = [0.0]
    events = []

    async def go() -> None:
        gate = ConcurrencyLimiter(AimdController(4), events.append, clock=lambda: now[0])
        permit = await gate.acquire()
        permit.overloaded(429, retry_after_s=100000.0)
        permit.release()
        now[0] = MAX_WAIT_S - 1.0  # still within the cap (by the gate's clock): honoured
        waiting = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        now[0] = MAX_WAIT_S + 0.5  # past the cap: admitted (the gate's timer looks again within 1 s)
        (await asyncio.wait_for(waiting, 5)).release()
        (await asyncio.wait_for(gate.acquire(), 1)).release()

    asyncio.run(go())
    assert [event.retry_after_s for event in events] == [MAX_WAIT_S]  # what was honoured, not 100000


def test_the_pause_is_no_longer_than_the_gates_bound() -> None:
    """The dispatcher bounds it by --llm-timeout when that is shorter than the cap."""

    async def go() -> float:
        gate = ConcurrencyLimiter(AimdController(4), max_pause_s=0.2)
        permit = await gate.acquire()
        permit.overloaded(429, retry_after_s=100000.0)
        permit.release()
        began = time.monotonic()
        (await asyncio.wait_for(gate.acquire(), 10)).release()
        return time.monotonic() - began

    assert 0.15 <= asyncio.run(go()) < 5


@pytest.mark.parametrize("retry_after", [math.inf, -math.inf, math.nan, -1.0])
def test_a_retry_after_that_is_no_delay_holds_nothing_back(retry_after: float) -> None:
    async def go() -> None:
        gate = ConcurrencyLimiter(AimdController(4))
        permit = await gate.acquire()
        permit.overloaded(429, retry_after_s=retry_after)
        permit.release()
        (await asyncio.wait_for(gate.acquire(), 2)).release()
        again = await gate.acquire()
        await asyncio.wait_for(again.pause(retry_after), 2)  # a backoff that is no delay: none
        again.release()
        assert gate.in_flight == 0

    asyncio.run(go())


def test_a_run_with_one_huge_retry_after_finishes_every_sample(
    pytester: pytest.Pytester, start_server, tmp_path
) -> None:
    """The attack: the server answers its first request 429 with Retry-After 100000 (and
    retry-after-ms 10^8) and every other normally. The run pauses at most --llm-timeout (2 s here)
    and scores every sample; before the bound it stalled until killed."""
    samples = 40
    server = start_server(fail_first_n=1, fail_status=429, retry_after_s=100000.0)
    data = write_jsonl(tmp_path / "gsm8k.jsonl", numbered_rows(samples))
    results = tmp_path / "results.json"
    began = time.monotonic()
    try:
        result = pytester.runpytest_subprocess(
            *eval_args(server, data, results, "--llm-concurrency", "4", "--llm-timeout", "2"), timeout=50
        )
    except pytester.TimeoutExpired:
        sent = server.stats()["chat_requests"]
        pytest.fail(f"the run stalled: not done after {time.monotonic() - began:.0f} s ({sent} requests sent)")
    report = json.loads(results.read_text())
    assert report["samples_errored"] == 0 and report["samples_scored"] == samples, result.stdout.str()
    stats = server.stats()
    assert stats["chat_requests"] == samples + 1  # the refused one retried once, every other sent once
    throttling = report["extra"]["throttling"]
    assert throttling["overload_answers"] == 1 and throttling["decreases"] == 1
    assert [event["retry_after_s"] for event in throttling["events"]] == [2.0]  # min(30 s, --llm-timeout)
