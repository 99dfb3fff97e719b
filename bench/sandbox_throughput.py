"""Sandbox throughput: trivial programs per second through run_many at 1 and 2 workers (or --workers ...).

    python bench/sandbox_throughput.py [--programs 200] [--workers 1 2]

A trivial program measures the fixed cost of one sandboxed run (two interpreter start-ups: the bootstrap and the
program, plus the temp directory and watchdog), which bounds how fast stdin-style benchmarks can be judged.
"""

from __future__ import annotations

import argparse
import os
import time

from pytest_llmeval.scoring.sandbox import run_many, run_python


def measure(programs: int, workers: int) -> tuple[float, float]:
    """Programs per second and mean wall time per run (ms) for ``programs`` trivial runs."""
    jobs = [(f"print({i} * 2)", "") for i in range(programs)]
    started = time.perf_counter()
    results = run_many(jobs, workers=workers)
    elapsed = time.perf_counter() - started
    bad = [r for r in results if r.status != "ok"]
    if bad:
        raise SystemExit(f"{len(bad)} trivial programs did not end ok, first: {bad[0]}")
    return programs / elapsed, 1000 * sum(r.wall_time_s for r in results) / programs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    run_python("pass")  # warm the page cache for the interpreter and stdlib
    print(f"cores: {os.cpu_count()}, programs per setting: {args.programs}")
    for workers in args.workers:
        rate, per_run_ms = measure(args.programs, workers)
        print(f"workers={workers}: {rate:7.1f} programs/s   mean wall per run {per_run_ms:6.1f} ms")


if __name__ == "__main__":
    main()
