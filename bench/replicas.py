"""Throughput over replicas: 16 loopback replicas with 200 ms latency at C=256 versus one replica at
C=16 (goal: >= 12x the requests per second).

    python bench/replicas.py [--n 2048] [--replicas 16] [--latency 0.2] [--pytest]

Each replica is a `pytest_llmeval.testing` server process. The figure is taken where replicas act:
N distinct chat requests submitted to the run's `Dispatcher` (the in-flight bound, the replica
choice, the HTTP client), timed from the first submit to the last answer, after one round of
`C` warm-up requests has opened the keep-alive connections (a long run opens them once). `--pytest` also times
two whole `pytest` runs with `--llm-base-url` repeated; on a busy machine those are bound by the
per-item cost of pytest itself (about 1 ms of CPU per sample), not by the endpoints.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import QUIET, gsm8k_args, work_folder, write_gsm8k  # type: ignore[import-not-found]

from pytest_llmeval.endpoint.dispatcher import Dispatcher
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def dispatcher_seconds(urls: list[str], concurrency: int, count: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) for `count` requests."""
    settings = EndpointSettings(
        model="fake-model",
        base_url=urls[0],
        concurrency=concurrency,
        replicas=tuple(EndpointSettings(model="m", base_url=url).url_parts for url in urls) if len(urls) > 1 else (),
    )
    dispatcher = Dispatcher(settings, cache=None)
    try:
        # open the keep-alive connections first, as a long run has them after its first requests
        warm = [
            dispatcher.submit({"messages": [{"role": "user", "content": f"warm {i}"}]}, use_cache=False)
            for i in range(concurrency)
        ]
        for future in warm:
            future.result()
        started, cpu = time.perf_counter(), time.process_time()
        futures = [
            dispatcher.submit({"messages": [{"role": "user", "content": f"q{i}"}]}, use_cache=False)
            for i in range(count)
        ]
        for future in futures:
            future.result()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        dispatcher.close()


def pytest_seconds(work: Path, data: Path, urls: list[str], concurrency: int, name: str) -> float:
    results = work / f"{name}.json"
    args = [sys.executable, "-m", "pytest", *gsm8k_args(urls, data)]
    args += ["--llm-concurrency", str(concurrency), "--llm-results", str(results), *QUIET]
    subprocess.run(args, cwd=work, stdout=subprocess.DEVNULL, check=False)
    return float(json.loads(results.read_text())["duration_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--replicas", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--pytest", action="store_true", help="also time whole pytest runs")
    args = parser.parse_args()
    config = FakeServerConfig(latency_s=args.latency, fixed_reply="\\boxed{1}")
    servers = [FakeOpenAIServer(config).start() for _ in range(args.replicas)]
    urls = [server.base_url for server in servers]
    try:
        one, one_cpu = dispatcher_seconds(urls[:1], 16, args.n)
        many, many_cpu = dispatcher_seconds(urls, 16 * args.replicas, args.n)
        ideal_one, ideal_many = args.n * args.latency / 16, args.n * args.latency / (16 * args.replicas)
        print(f"dispatcher: N={args.n} requests, latency {args.latency * 1000:.0f} ms")
        for label, wall, cpu, ideal in (
            ("1 replica,  C=16 ", one, one_cpu, ideal_one),
            (f"{args.replicas} replicas, C={16 * args.replicas}", many, many_cpu, ideal_many),
        ):
            print(
                f"  {label}: {wall:7.2f} s  {args.n / wall:8.1f} req/s  (ideal {ideal:.2f} s); "
                f"client CPU {cpu / args.n * 1e6:.0f} us/request"
            )
        print(f"  ratio {one / many:.1f}x (goal >= 12x; ideal {args.replicas}x)")
        # the client's CPU bounds the throughput one core can drive: the ratio on an idle core
        bound = min(args.n / ideal_many, 1 / (many_cpu / args.n)) if many_cpu else args.n / ideal_many
        print(f"  client-bound ratio {bound / (args.n / one):.1f}x (requests/s one core can drive at C=256 vs C=16)")
        if args.pytest:
            with work_folder() as work:
                data = write_gsm8k(work / "gsm8k.jsonl", args.n)
                one = pytest_seconds(work, data, urls[:1], 16, "one")
                many = pytest_seconds(work, data, urls, 16 * args.replicas, "many")
            print(f"pytest runs (session time): 1 replica C=16 {one:.2f} s, {args.replicas} replicas {many:.2f} s")
            print(f"  ratio {one / many:.1f}x")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
