"""How many requests per second the perf load generator sustains, and what each costs in client CPU.

    python bench/perf_capacity.py                      # ours (3 transports), and EvalScope if installed
    python bench/perf_capacity.py --evalscope /path/to/venv/bin/evalscope --rounds 3

Against our zero-latency loopback server streaming 16 tokens per request, at parallel 64:
  1. our rate with each transport (native = our asyncio-Protocol client, the default; aiohttp;
     httpx + aiohttp transport; stock httpx) and client CPU per request (the worker process's CPU time
     during the level / requests);
  2. when `evalscope` is found (on PATH, or --evalscope), `evalscope perf` on the same server with
     the same prompts, same parallel and number, its rate, and the ratio ours / EvalScope
     (target >= 2.5x). Rounds alternate the two tools; the best round of each is compared (the
     machine is shared, the best round is the least disturbed one), the median is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.metrics import PerfResult
from pytest_llmeval.perf.runner import PerfJob, run
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

PARALLEL = 64
TOKENS = 16


def write_prompts(path: Path, count: int) -> Path:
    path.write_text(
        "".join(f"question number {i}: what is the answer to this small question please\n" for i in range(count))
    )
    return path


def ours(server: FakeOpenAIServer, prompts: Path, number: int, transport: str) -> PerfResult:
    spec = make_spec(
        {
            "parallel": PARALLEL,
            "number": number,
            "dataset": "line_by_line",
            "dataset_path": str(prompts),
            "output_tokens": TOKENS,
            "transport": transport,
            "warmup": PARALLEL * 2,
        }
    )
    job = PerfJob(
        spec=spec,
        model="fake-model",
        chat_url=server.base_url + "/chat/completions",
        models_url=server.base_url + "/models",
    )
    result = run(job, "process")[0]
    assert result.ok == number, result.errors
    return result


def evalscope(binary: str, server: FakeOpenAIServer, prompts: Path, number: int, work: Path) -> dict[str, float]:
    out = work / f"evalscope-{time.monotonic_ns()}"
    cmd = [
        binary,
        "perf",
        "--model",
        "fake-model",
        "--url",
        server.base_url + "/chat/completions",
        "--api",
        "openai",
        "--parallel",
        str(PARALLEL),
        "--number",
        str(number),
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts),
        "--max-tokens",
        str(TOKENS),
        "--stream",
        "--outputs-dir",
        str(out),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    summaries = list(out.rglob("benchmark_summary.json"))
    if process.returncode != 0 or not summaries:
        raise RuntimeError(f"evalscope perf failed ({process.returncode}): {stderr.decode()[-1500:]}")
    summary = json.loads(summaries[0].read_text())
    return {"rate": summary["Req Throughput (req/s)"], "ok": summary["Success Requests"], "wall": wall}


def find_evalscope(given: str | None) -> str | None:
    if given:
        return given if Path(given).exists() else shutil.which(given)
    return os.environ.get("EVALSCOPE") or shutil.which("evalscope")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=4000, help="requests per round (default 4000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--evalscope", help="evalscope executable (default: $EVALSCOPE or evalscope on PATH)")
    parser.add_argument("--skip-transports", action="store_true", help="only the default transport")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="perf-capacity-"))
    prompts = write_prompts(work / "prompts.txt", args.number + PARALLEL * 2)
    binary = find_evalscope(args.evalscope)
    config = FakeServerConfig(output_tokens=TOKENS, use_uvloop=True)  # a faster server when uvloop is installed
    print(
        f"zero-latency loopback server, {TOKENS} streamed tokens per request, parallel {PARALLEL}, "
        f"{args.number} requests per round, {os.cpu_count()} CPUs"
    )
    with FakeOpenAIServer(config) as server:
        if not args.skip_transports:
            print("1. transports (one round each; stock httpx with fewer requests: it is slow)")
            for transport in ("native", "aiohttp", "httpx-aiohttp", "httpx"):
                number = args.number if transport != "httpx" else max(PARALLEL * 4, args.number // 10)
                r = ours(server, prompts, number, transport)
                assert r.client_cpu_s is not None
                print(
                    f"   {transport:14s} {r.request_throughput:8.0f} req/s"
                    f"   client CPU {r.client_cpu_s / r.number * 1e6:6.0f} us/request"
                    f"   ({number} requests)"
                )
        print(
            f"2. ours (native, the default) vs EvalScope, {args.rounds} alternating rounds"
            + ("" if binary else ": evalscope not found (pip install 'evalscope[perf]' or pass --evalscope), ours only")
        )
        our_rates: list[float] = []
        our_cpu: list[float] = []
        their: list[dict[str, float]] = []
        for round_no in range(1, args.rounds + 1):
            r = ours(server, prompts, args.number, "native")
            assert r.client_cpu_s is not None
            our_rates.append(r.request_throughput)
            our_cpu.append(r.client_cpu_s / r.number)
            cpu_us = r.client_cpu_s / r.number * 1e6
            line = f"   round {round_no}: ours {r.request_throughput:7.0f} req/s ({cpu_us:.0f} us CPU/request)"
            if binary:
                e = evalscope(binary, server, prompts, args.number, work)
                their.append(e)
                line += f"   evalscope {e['rate']:7.0f} req/s ({int(e['ok'])} ok, {e['wall']:.1f} s wall with start-up)"
            print(line)
        best = max(our_rates)
        print(
            f"   ours:      best {best:7.0f} req/s, median {statistics.median(our_rates):7.0f} req/s, "
            f"client CPU {min(our_cpu) * 1e6:.0f} us/request"
        )
        if their:
            their_best = max(e["rate"] for e in their)
            their_median = statistics.median(e["rate"] for e in their)
            print(f"   evalscope: best {their_best:7.0f} req/s, median {their_median:7.0f} req/s")
            ratio = best / their_best
            print(
                f"   ratio ours / evalscope: {ratio:.2f}x best-to-best, "
                f"{statistics.median(our_rates) / their_median:.2f}x median-to-median (target >= 2.5x) "
                f"{'PASS' if ratio >= 2.5 else 'FAIL'}"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
