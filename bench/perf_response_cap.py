"""The perf load generator against a server that streams forever: RSS over time, with the response cap
(`--llm-max-response-bytes`, shared with the eval client) and with it lifted.

    python bench/perf_response_cap.py [--requests 64] [--limit-mb 1024]

Each run is a child process (`perf.runner.run_blocking`, the worker's own code path) under RLIMIT_AS
`--limit-mb`, so the uncapped run ends in a MemoryError instead of eating the machine. Its RSS is
sampled every 0.1 s from /proc. Target: with the cap the peak stays within a small multiple of
parallel x cap above the interpreter, and the RSS at the end is no higher than at half time (each
request frees what it read); without the cap the RSS grows until the limit.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.core.loopback import LoopbackChatServer  # noqa: E402 - the hostile server the tests use

CHILD = r"""
import json, sys
from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.runner import PerfJob, run_blocking

port, requests, parallel, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
spec = make_spec({"parallel": parallel, "number": requests, "prompt_tokens": 8, "stream": True})
job = PerfJob(spec=spec, model="m", chat_url=f"http://127.0.0.1:{port}/v1/chat/completions",
              models_url=f"http://127.0.0.1:{port}/v1/models", timeout=15.0, max_response_bytes=cap)
result = run_blocking(job)[0]
print(json.dumps({"errors": result.errors, "seconds": result.duration_s}))
"""


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(port: int, requests: int, parallel: int, cap: int, limit_mb: int) -> tuple[list[float], float, str]:
    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))

    command = [sys.executable, "-c", CHILD, str(port), str(requests), str(parallel), str(cap)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=bound)
    samples = []
    while process.poll() is None:
        samples.append(rss_mb(process.pid))
        time.sleep(0.1)
    out = process.stdout.read().decode()  # type: ignore[union-attr]
    last = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        summary = json.loads(last)
        note = f"errors {summary['errors']}"
    except ValueError:
        note = f"child failed: {last[:120]}"
    return [s for s in samples if s], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--limit-mb", type=int, default=1024)
    args = parser.parse_args()
    print(
        f"up to {args.requests} streamed requests per run (a level stops once its first wave all failed), "
        f"each child under RLIMIT_AS {args.limit_mb} MB"
    )
    with LoopbackChatServer(mode="endless_sse") as server:
        for cap, parallel in [(16 * 2**20, 1), (16 * 2**20, 4), (16 * 2**20, 16), (2**20, 16), (10**12, 4)]:
            label = (
                f"cap {cap / 2**20:g} MiB, {parallel:2} in flight"
                if cap < 10**12
                else f"no cap,    {parallel:2} in flight"
            )
            started = time.perf_counter()
            samples, _, note = run(server.port, args.requests, parallel, cap, args.limit_mb)
            elapsed = time.perf_counter() - started
            if not samples:
                print(f"{label:<26} no RSS sample ({note})")
                continue
            half = len(samples) // 2
            bound = f"parallel x cap = {parallel * cap / 2**20:5.0f} MB" if cap < 10**12 else "unbounded"
            print(
                f"{label:<26} RSS at half time {samples[half]:6.0f} MB, at the end {samples[-1]:6.0f} MB, "
                f"peak {max(samples):6.0f} MB ({bound}) over {elapsed:5.1f} s; {note}"
            )


if __name__ == "__main__":
    main()
