"""Several --llm-base-url: requests spread over replicas by fewest outstanding, a replica that dies
mid-run is ejected and the run goes on with the others (real loopback servers, one really killed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import write_jsonl
from tests.scale.test_shards_merge import gsm8k_rows

COUNT = 150


def right_rules(count: int) -> list[dict[str, str]]:
    return [{"contains": f"What is {i} + 1?", "reply": f"\\boxed{{{i + 1}}}"} for i in range(count)]


def eval_args(pytester: pytest.Pytester, servers: list[str], data: Path) -> list[str]:
    urls = [arg for url in servers for arg in ("--llm-base-url", url)]
    return [
        "--llm-model", "fake-model", *urls, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-no-cache",
        "--llm-concurrency", "6", "--llm-results", str(pytester.path / "results.json"), "-p", "no:randomly", "-q",
    ]  # fmt: skip


@pytest.mark.xdist_group("timing")
def test_requests_spread_over_three_replicas(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    data = write_jsonl(pytester.path / "gsm8k.jsonl", gsm8k_rows(COUNT))
    servers = [start_server(rules=right_rules(COUNT), latency_s=0.02) for _ in range(3)]
    outcome = pytester.runpytest_subprocess(*eval_args(pytester, [s.base_url for s in servers], data))
    assert outcome.ret == 0, outcome.stdout.str()[-2000:]
    served = [server.stats()["chat_requests"] for server in servers]
    assert sum(served) == COUNT and min(served) >= COUNT // 6, served  # each carries a share
    result = json.loads((pytester.path / "results.json").read_text())
    rows = result["extra"]["replicas"]
    assert [row["url"] for row in rows] == [server.base_url for server in servers]
    assert [row["requests"] for row in rows] == served and all(row["latency_mean_s"] > 0 for row in rows)
    outcome.stdout.fnmatch_lines([f"replica {servers[0].base_url}: * requests, 0 errors, mean latency *"])


@pytest.mark.xdist_group("timing")
def test_a_replica_killed_mid_run_is_ejected_and_no_sample_is_lost(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    data = write_jsonl(pytester.path / "gsm8k.jsonl", gsm8k_rows(COUNT))
    servers = [start_server(rules=right_rules(COUNT), latency_s=0.05) for _ in range(3)]
    urls = [server.base_url for server in servers]
    run = pytester.popen(
        [*pytester._getpytestargs(), *eval_args(pytester, urls, data)],
        stdout=(pytester.path / "out.txt").open("wb"),
        stderr=(pytester.path / "err.txt").open("wb"),
    )
    victim = servers[1]
    deadline = time.monotonic() + 120
    while victim.stats()["chat_requests"] < 10 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.01)
    victim.stop()  # killed while requests are in flight to it
    assert run.wait(timeout=300) == 0, (pytester.path / "out.txt").read_text()[-3000:]
    result = json.loads((pytester.path / "results.json").read_text())
    assert result["samples_scored"] == COUNT and result["samples_errored"] == 0  # no sample lost, no error item
    rows = {row["url"]: row for row in result["extra"]["replicas"]}
    assert rows[urls[1]]["ejections"] >= 1 and not rows[urls[1]]["healthy"]
    assert rows[urls[0]]["errors"] == rows[urls[2]]["errors"] == 0
    answered = sum(row["requests"] - row["errors"] for row in rows.values())
    assert answered == COUNT


def test_one_replica_left_standing_is_enough_and_none_is_an_error(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    data = write_jsonl(pytester.path / "gsm8k.jsonl", gsm8k_rows(12))
    alive, dead, dead2 = start_server(rules=right_rules(12)), start_server(), start_server()
    gone = [dead.base_url, dead2.base_url]
    dead.stop()
    dead2.stop()
    outcome = pytester.runpytest_subprocess(*eval_args(pytester, [gone[0], alive.base_url], data))
    assert outcome.ret == 0, outcome.stdout.str()[-2000:]
    outcome = pytester.runpytest_subprocess(*eval_args(pytester, gone, data))
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    outcome.stderr.fnmatch_lines(["*cannot reach*"])
