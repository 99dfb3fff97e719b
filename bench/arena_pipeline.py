"""An arena at full concurrency: answers and judgements pipelined.

    python bench/arena_pipeline.py [--n 500] [--concurrency 64] [--latency 0.2]

N prompts, two candidates and a baseline, each played by its own loopback server with fixed latency
L, and a judge (a fourth server) that answers `[[A>B]]`. Every pair needs its two answers, then two
judge requests; each model and the judge have their own `--llm-concurrency` C. The judge carries the
most work (2 * 2 * N requests), so the ideal wall time is one answer's latency (before the first
verdict can be asked) plus the judge's work at C in flight: L + 4*N*L/C. Prints the session time (the
results JSON's `duration_s`) against it (target <= 1.3x). Answers first and verdicts after, without
overlap, would take about ceil(N/C)*L + 4*N*L/C.

Also printed, as what explains a ratio: the load average before the run (the machine is shared), the
pytest process's CPU seconds (user + system; a process that needs about as much CPU as the wall time
is CPU-bound, and a loaded machine stretches it), and per server the requests in flight when each
request arrived (median and mean; the judge is kept busy when it stays near C).

Measured on the shared 2-core test machine (2026-12-06), before -> after the arena's single event loop,
the import-free records and the one-pass judge template (arena/runtime.py, docs/arena.md):
  load 1-2:    session 8.20 s, 1.27x (before only; the machine did not get that quiet again)
  load 7.5-8:  two interleaved rounds: session 7.12 / 7.59 s (1.10x / 1.18x) -> 7.15 / 7.55 s (1.11x /
               1.17x), pytest CPU 5.8 / 6.1 s -> 4.3 / 4.7 s; bench/judge_pipeline.py 0.63x / 0.65x
  load 23-29:  pytest CPU 7.8-8.6 s -> 6.2-7.3 s with one loop and no scipy (judge in flight at arrival,
               median 16-19 -> 21-25 of 64); then with the one-pass template 6.2-7.9 s -> 4.0-4.7 s,
               ratio 15.4x / 22.7x -> 9.8x / 11.9x, while bench/judge_pipeline.py gave 4.9x
The run needs about 4 s of CPU for 6.45 s of ideal wall time, so on a loaded machine its ratio grows
with the load much faster than the judge bench's (800 requests, far less CPU per second).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics

from _common import QUIET, run_pytest, work_folder  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds of the figures at the end")
    args = parser.parse_args()
    n, c, latency = args.n, args.concurrency, args.latency
    with work_folder() as work:
        prompts = work / "questions.jsonl"
        prompts.write_text("".join(json.dumps({"uid": f"q{i}", "prompt": f"Question {i}?"}) + "\n" for i in range(n)))
        names = ("base", "alpha", "beta")
        servers = {  # distinct answers, so that every judge request is a request of its own
            name: FakeOpenAIServer(FakeServerConfig(latency_s=latency, model=name, fixed_reply=f"{name} answers."))
            for name in names
        }
        servers["judge"] = FakeOpenAIServer(FakeServerConfig(latency_s=latency, fixed_reply="A reads better.\n[[A>B]]"))
        for server in servers.values():
            server.start()
        try:
            results = work / "results.json"
            load = os.getloadavg()[0]
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, code, rss = run_pytest(
                [
                    *(arg for name in names for arg in ("--llm-arena-model", f"{name}={servers[name].base_url}")),
                    "--llm-arena-judge",
                    f"judge={servers['judge'].base_url}",
                    "--llm-arena-prompts",
                    str(prompts),
                    "--llm-concurrency",
                    str(c),
                    "--llm-arena-bootstrap",
                    str(args.bootstrap),
                    "--llm-no-cache",
                    "--llm-results",
                    str(results),
                    *QUIET,
                ],
                work,
            )
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pytest process, reaped; servers still run
            cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
            stats = {name: server.stats() for name, server in servers.items()}
            sent = {name: stat["chat_requests"] for name, stat in stats.items()}
        finally:
            for server in servers.values():
                server.stop()
        session = json.loads(results.read_text())["duration_s"]
    ideal = latency + 4 * n * latency / c
    serial = math.ceil(n / c) * latency + 4 * n * latency / c
    print(
        f"arena: N={n} prompts x 2 candidates + baseline, C={c}, L={latency * 1000:.0f} ms, "
        f"exit {code}, peak RSS {rss} MB"
    )
    print(f"   requests             {sent}")
    print(f"   load average (1 min) {load:8.2f}      before the run, {os.cpu_count()} CPUs")
    print(f"   pytest CPU           {cpu:8.2f} s   user + system")
    for name, stat in stats.items():
        arrivals = stat["arrival_in_flight"] or [0]
        print(
            f"   in flight at arrival {name:6s} median {statistics.median(arrivals):4.0f}  "
            f"mean {statistics.fmean(arrivals):5.1f}  (C={c})"
        )
    print(f"   ideal L + 4*N*L/C    {ideal:8.2f} s")
    print(f"   answers then judge   {serial:8.2f} s   (no overlap)")
    print(f"   session (results)    {session:8.2f} s   ratio {session / ideal:5.2f}x  (target <= 1.3x)")
    print(f"   whole process        {wall:8.2f} s")


if __name__ == "__main__":
    main()
