"""Shards that get no sample, or are stopped before their first one, still leave what the merge needs.

A run of 3 samples on a 4-shard CI matrix deals no sample to one shard (`floor(G/N)` is 0): that
shard ran completely, so it exits 0 and writes its results JSON and an (empty) samples JSONL; the
merge of the four then equals the one-machine run. A shard interrupted before any sample finished
leaves an empty samples JSONL too, so the merge reports the run incomplete (not a lost file).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.scale.test_shards_merge import comparable, gsm8k_rows, gsm8k_rules, merge, run, write_jsonl


def test_a_shard_dealt_no_sample_exits_0_and_the_merge_equals_one_machine(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    data = write_jsonl(pytester.path / "gsm8k.jsonl", gsm8k_rows(3))
    server = start_server(rules=gsm8k_rules(3))
    args = ["-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-threshold", "gsm8k.acc>=0.5"]
    whole = run(pytester, server, *args, "--llm-results", "one.json")
    assert whole.ret == 0
    paths, statuses = [], []
    for index in range(1, 5):
        folder = pytester.path / f"shard-{index}"
        outcome = run(
            pytester, server, *args, "--llm-shard", f"{index}/4",
            "--llm-results", str(folder / "results.json"), "--llm-samples", str(folder / "samples.jsonl"),
        )  # fmt: skip
        statuses.append(outcome.ret)
        paths.append(folder / "results.json")
    sizes = [json.loads(p.read_text())["samples_planned"] for p in paths]
    assert sorted(sizes) == [0, 1, 1, 1]
    assert statuses == [0, 0, 0, 0]  # the empty shard ran completely: not exit 5 "no tests ran"
    empty = paths[sizes.index(0)].parent / "samples.jsonl"
    assert empty.is_file() and empty.read_text() == ""
    assert merge(paths, pytester.path / "merged.json", "--gate") == 0
    assert comparable(pytester.path / "merged.json") == comparable(pytester.path / "one.json")


def test_a_shard_interrupted_before_its_first_sample_makes_the_merge_incomplete(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(pytester.path / "gsm8k.jsonl", gsm8k_rows(8))
    fast = start_server(rules=gsm8k_rules(8))
    args = ["-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-threshold", "gsm8k.acc>=0.5"]
    paths = []
    for index in (2,):
        folder = pytester.path / f"shard-{index}"
        outcome = run(
            pytester, fast, *args, "--llm-shard", f"{index}/2",
            "--llm-results", str(folder / "results.json"), "--llm-samples", str(folder / "samples.jsonl"),
        )  # fmt: skip
        assert outcome.ret == 0
        paths.append(folder / "results.json")
    # shard 1 against a server that never answers: Ctrl-C once its first request is in flight
    hanging = start_server(hang=["What is"])
    folder = pytester.path / "shard-1"
    command = [
        sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "--llm-no-cache",
        "--llm-model", "fake-model", "--llm-base-url", hanging.base_url, *args, "--llm-shard", "1/2",
        "--llm-results", str(folder / "results.json"), "--llm-samples", str(folder / "samples.jsonl"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:  # the header is printed once the requests are under way
        if b"samples from gsm8k" in line:
            break
    while hanging.stats()["chat_requests"] == 0:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode == pytest.ExitCode.INTERRUPTED
    result = json.loads((folder / "results.json").read_text())
    assert result["interrupted"] and result["samples_scored"] + result["samples_errored"] == 0
    assert (folder / "samples.jsonl").read_text() == ""
    paths.insert(0, folder / "results.json")
    status = merge(paths, pytester.path / "merged.json", "--gate")
    out = capsys.readouterr().out
    assert status == 1 and "incomplete" in out
    assert json.loads((pytester.path / "merged.json").read_text())["complete"] is False
