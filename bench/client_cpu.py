"""CPU time per request of the eval client (`endpoint/client.py` ChatClient), the figure issue 31
profiled (httpx over aiohttp: 448 µs; the perf path's native client: 141 µs).

    python bench/client_cpu.py                  # 4,000 requests, concurrency 64, non-streamed
    python bench/client_cpu.py --stream

The fake server runs in a child process, so the CPU time measured (this process's user + system
time, `resource.getrusage`) is the client's alone: request building, HTTP, parsing, the
ChatResponse. CPU time, unlike wall time, is little affected by other load on the machine.
Run it with another checkout first on PYTHONPATH to compare two versions of the client.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import time
from typing import Any

from pytest_llmeval.endpoint.client import ChatClient
from pytest_llmeval.settings import EndpointSettings


def serve(queue: Any, stop: Any) -> None:
    from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

    with FakeOpenAIServer(FakeServerConfig(fixed_reply="The answer is \\boxed{42}.")) as server:
        queue.put(server.base_url)
        stop.wait()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(base_url: str, count: int, concurrency: int, stream: bool) -> tuple[float, float]:
    settings = EndpointSettings(model="fake-model", base_url=base_url, concurrency=concurrency, retries=0)
    client = ChatClient(settings)
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            body: dict[str, Any] = {
                "model": "fake-model",
                "messages": [{"role": "user", "content": f"What is {i} + 1?"}],
            }
            if stream:
                body["stream"] = True
            await client.chat(body)

    await asyncio.gather(*(one(i) for i in range(200)))  # warm-up: connections, imports
    cpu_before, wall_before = cpu(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    used, wall = cpu() - cpu_before, time.perf_counter() - wall_before
    await client.aclose()
    return used, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(queue, stop), daemon=True)
    server.start()
    try:
        base_url = queue.get(timeout=60)
        used, wall = asyncio.run(run(base_url, args.n, args.concurrency, args.stream))
    finally:
        stop.set()
        server.join(timeout=10)
    kind = "streamed" if args.stream else "non-streamed"
    print(
        f"{args.n} {kind} requests at concurrency {args.concurrency}: client CPU {used / args.n * 1e6:.0f} us/request, "
        f"wall {wall:.2f} s ({args.n / wall:.0f} req/s)"
    )


if __name__ == "__main__":
    main()
