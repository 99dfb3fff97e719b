"""A perf level over replicas versus one replica, on servers whose TTFT grows with their load.

    python bench/perf_replicas.py [--parallel 16] [--number 320] [--replicas 2] [--k 0.01]

Each replica is a `pytest_llmeval.testing` server with ``ttft_s=0.02`` and
``delay_per_in_flight_s=k``: at a steady ``c`` requests in flight its TTFT is ``0.02 + k*c``. The
same closed-loop level (``parallel`` in flight) is run against one replica, then spread over
``--replicas`` (perf/replicas.py: fewest in flight). Spread evenly, each replica holds
``parallel / R``, so the expected TTFT falls from ``0.02 + k*parallel`` to ``0.02 + k*parallel/R``;
the script prints both, measured and expected, the request rates and each replica's share.
"""

from __future__ import annotations

import argparse

from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.metrics import PerfResult
from pytest_llmeval.perf.replicas import ReplicaTarget
from pytest_llmeval.perf.runner import PerfJob, run
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def level(servers: list[FakeOpenAIServer], parallel: int, number: int) -> PerfResult:
    first = servers[0]
    spec = make_spec({"parallel": parallel, "number": number, "prompt_tokens": 8, "output_tokens": 8, "warmup": 0})
    targets = [
        ReplicaTarget(
            url=s.base_url,
            chat_url=s.base_url + "/chat/completions",
            models_url=s.base_url + "/models",
            headers={"Authorization": f"Bearer {s.api_key}"},
        )
        for s in servers
    ]
    job = PerfJob(
        spec=spec,
        model="fake-model",
        chat_url=targets[0].chat_url,
        models_url=targets[0].models_url,
        headers={"Authorization": f"Bearer {first.api_key}"},
        timeout=60.0,
        replicas=targets if len(servers) > 1 else [],
    )
    return run(job, "process")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--number", type=int, default=320)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--k", type=float, default=0.01, help="seconds of TTFT added per request in flight")
    args = parser.parse_args()
    config = FakeServerConfig(ttft_s=0.02, itl_s=0.001, output_tokens=8, delay_per_in_flight_s=args.k)
    servers = [FakeOpenAIServer(config).start() for _ in range(args.replicas)]
    try:
        one = level(servers[:1], args.parallel, args.number)
        spread = level(servers, args.parallel, args.number)
    finally:
        for server in servers:
            server.stop()
    for name, result, holders in (("1 replica", one, 1), (f"{args.replicas} replicas", spread, args.replicas)):
        expected = 0.02 + args.k * args.parallel / holders
        print(
            f"{name:>11}: C={args.parallel} {result.ok} ok, {result.request_throughput:7.1f} req/s, "
            f"TTFT p50 {result.ttft.p50 * 1000:6.1f} ms (expected about {expected * 1000:.0f} ms)"
        )
    for part in spread.replicas:
        print(
            f"    {part.url}: {part.number} requests, {part.request_throughput:.1f} req/s, TTFT p50 "
            f"{(part.ttft.p50 or 0) * 1000:.1f} ms"
        )
    print(f"throughput ratio (spread / one): {spread.request_throughput / one.request_throughput:.2f}x")


if __name__ == "__main__":
    main()
