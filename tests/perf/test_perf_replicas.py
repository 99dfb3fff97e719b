"""Perf levels over replicas (`--llm-base-url` twice): the load is spread, each replica has its row.

Two loopback test servers stand in for two replicas; their own request counters say where the load
went, and the per-replica figures of the results JSON must agree with them exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pytest_llmeval.testing import FakeOpenAIServer

SWEEP = ("--llm-perf", "parallel=1,4", "number=6,40", "prompt_tokens=8", "output_tokens=4", "warmup=2")


def run_sweep(pytester: pytest.Pytester, urls: list[str], *extra: str) -> tuple[Any, dict[str, Any]]:
    bases = [a for url in urls for a in ("--llm-base-url", url)]
    result = pytester.runpytest_subprocess(
        "--llm-model", "fake-model", *bases, "-p", "no:cacheprovider", "--llm-results", "out.json", *SWEEP, *extra
    )
    out = pytester.path / "out.json"
    return result, (json.loads(out.read_text()) if out.exists() else {})


def chat_requests(server: FakeOpenAIServer) -> int:
    return int(server.stats()["endpoints"].get("POST /v1/chat/completions", 0))


def test_a_perf_sweep_spreads_each_level_over_the_replicas(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    first, second = (start_server(ttft_s=0.01, itl_s=0.001, output_tokens=4) for _ in range(2))
    result, data = run_sweep(pytester, [first.base_url, second.base_url])
    assert result.ret == 0, result.stdout.str()
    levels = data["extra"]["perf"]["runs"]
    assert [(r["parallel"], r["ok"], r["failed"]) for r in levels] == [(1, 6, 0), (4, 40, 0)]
    for level in levels:
        parts = level["replicas"]
        assert [p["url"] for p in parts] == [first.base_url, second.base_url]
        # the replicas' shares add up to the level's totals, on the level's clock
        assert sum(p["number"] for p in parts) == level["number"]
        assert sum(p["ok"] for p in parts) == level["ok"]
        assert sum(p["request_throughput"] for p in parts) == pytest.approx(level["request_throughput"])
        assert all(p["latency"]["count"] == p["ok"] for p in parts)
    # closed loop at 4 in flight over 2 replicas: both carry the level (the first 4 go 2 + 2)
    assert all(p["number"] >= 2 for p in levels[1]["replicas"])
    # each server saw exactly its rows' requests, plus its share of the warm-up (2 per level)
    sent = [sum(level["replicas"][i]["number"] for level in levels) for i in (0, 1)]
    assert chat_requests(first) + chat_requests(second) == sum(sent) + 2 * 2
    assert sent[0] <= chat_requests(first) <= sent[0] + 4 and sent[1] <= chat_requests(second) <= sent[1] + 4
    result.stdout.fnmatch_lines(["Conc.*Replica*Num*OK*Fail*RPS*", f"4 *{first.base_url}*", f"*{second.base_url}*"])


def test_a_replica_that_refuses_connections_is_one_clear_error_before_any_load(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    live = start_server(ttft_s=0.01, itl_s=0.001, output_tokens=4)
    dead = start_server()
    dead_url = dead.base_url
    dead.stop()  # its port now refuses connections
    result, _ = run_sweep(pytester, [live.base_url, dead_url], "-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*llmeval-perf::sweep FAILED*",
            f"*perf: replica {dead_url} does not accept connections*start that replica or leave its "
            "--llm-base-url out of this run*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert chat_requests(live) == 0  # checked before the first level: no half-measured sweep
