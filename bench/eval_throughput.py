"""How close an evaluation run comes to the ideal wall time, what the plugin costs per sample, and
how much memory a very large benchmark takes.

    python bench/eval_throughput.py                 # N=1319, C=64, L=200 ms; overhead at N=5000; 100k memory
    python bench/eval_throughput.py --skip-memory   # faster

Prints, all measured in this one run on this machine:
  1. wall time of `pytest -m gsm8k` against a loopback server with fixed latency L, next to the
     ideal N*L/C (target <= 1.15x), both for the whole process and for the session (results JSON);
  2. with zero latency: seconds per sample for our run vs a bare pytest run of N trivial
     parametrized items, with answers over HTTP (the client in its child process, the default on
     2 cores or more, then in pytest's process) and with every answer from the response cache
     (issue 31's goals: <= 1.3x and <= 1.2x bare);
  3. peak RSS of a 100k-sample run (target < 1 GB).
Runs 1 and 2 use a fake model that answers every question right; run 3 one that is almost always
wrong (every item fails with its short message: the terminal's worst case).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from _common import QUIET, gsm8k_args, run_pytest, work_folder, write_gsm8k  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def eval_args(server: FakeOpenAIServer, data: Path, concurrency: int, results: Path) -> list[str]:
    return [
        *gsm8k_args(server.base_url, data),
        *("--llm-concurrency", str(concurrency), "--llm-results", str(results)),
        *QUIET,
    ]


def right_answers(count: int) -> list[dict[str, str]]:
    """Rules that make the fake model answer every question right (a run without failures)."""
    return [{"contains": f"What is {i} + 1?", "reply": f"{i} + 1 = {i + 1}. \\boxed{{{i + 1}}}"} for i in range(count)]


def latency_bound(work: Path, count: int, concurrency: int, latency: float) -> None:
    data = write_gsm8k(work / "latency.jsonl", count)
    results = work / "latency.json"
    with FakeOpenAIServer(FakeServerConfig(latency_s=latency, rules=right_answers(count))) as server:
        wall, code, _ = run_pytest(eval_args(server, data, concurrency, results), work)
        sent = server.stats()["chat_requests"]
    session = json.loads(results.read_text())["duration_s"]
    ideal = count * latency / concurrency
    print(f"1. latency-bound run: N={count} C={concurrency} L={latency * 1000:.0f} ms, {sent} requests, exit {code}")
    print(f"   ideal N*L/C          {ideal:8.2f} s")
    print(f"   session (results)    {session:8.2f} s   ratio {session / ideal:5.2f}x  (issue 31 goal <= 1.1x)")
    print(f"   whole process        {wall:8.2f} s   ratio {wall / ideal:5.2f}x  (includes interpreter start)")


def overhead(work: Path, count: int, concurrency: int) -> None:
    data = write_gsm8k(work / "overhead.jsonl", count)
    bare_file = work / "test_bare.py"
    bare_file.write_text(
        f"import pytest\n\n@pytest.mark.parametrize('i', range({count}))\ndef test_item(i):\n    assert i >= 0\n"
    )
    run_pytest([str(bare_file), *QUIET], work)  # warm-up: bytecode caches
    bare, _, _ = run_pytest([str(bare_file), *QUIET], work)
    with FakeOpenAIServer(FakeServerConfig(rules=right_answers(count))) as server:
        args = eval_args(server, data, concurrency, work / "overhead.json")
        ours, code, _ = run_pytest(args, work)
        # the same with the HTTP client on the dispatcher's thread (no child process)
        in_process, _, _ = run_pytest([*args, "--llm-client-process", "off"], work)
        # every answer from the response cache: the first run fills it (its time is not used)
        cached_args = [arg for arg in args if arg != "--llm-no-cache"] + ["--llm-cache-dir", str(work / "cache")]
        run_pytest(cached_args, work)
        cached, cached_code, _ = run_pytest(cached_args, work)
        sent = server.stats()["chat_requests"]
    print(f"2. zero-latency overhead: N={count}, exit {code} / {cached_code}, {sent} requests (expected {3 * count})")
    print(f"   bare pytest, trivial items  {bare:7.2f} s  {bare / count * 1e6:8.0f} us/item")
    print(
        f"   answers over HTTP            {ours:7.2f} s  {ours / count * 1e6:8.0f} us/sample"
        f"   ratio {ours / bare:4.2f}x (issue 31 goal <= 1.3x)"
    )
    print(
        f"   ... client in this process   {in_process:7.2f} s  {in_process / count * 1e6:8.0f} us/sample"
        f"   ratio {in_process / bare:4.2f}x (--llm-client-process off)"
    )
    print(
        f"   every answer cached          {cached:7.2f} s  {cached / count * 1e6:8.0f} us/sample"
        f"   ratio {cached / bare:4.2f}x (issue 31 goal <= 1.2x)"
    )


def memory(work: Path, count: int, concurrency: int) -> None:
    data = write_gsm8k(work / "memory.jsonl", count)
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        wall, code, rss = run_pytest(eval_args(server, data, concurrency, work / "memory.json"), work)
    print(f"3. memory: N={count} samples, exit {code}, {wall:.1f} s, peak RSS {rss} MB (target < 1024 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1319)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--overhead-n", type=int, default=5000)
    parser.add_argument("--memory-n", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    print(f"load average (1, 5 min) at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    with work_folder() as work:
        latency_bound(work, args.n, args.concurrency, args.latency)
        overhead(work, args.overhead_n, args.concurrency)
        if not args.skip_memory:
            memory(work, args.memory_n, args.concurrency)
    print(f"load average (1, 5 min) at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
