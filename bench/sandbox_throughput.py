"""Sandbox throughput: programs per second, isolated (bubblewrap) against rlimits only, at 1 and 2 workers.

    python bench/sandbox_throughput.py [--programs 200] [--workers 1 2] [--rounds 2]

Three kinds: a trivial program (``print(i * 2)``: the fixed cost of one sandboxed run: two interpreter
start-ups, the watchdog and, when isolated, bubblewrap's namespaces and mounts); HumanEval canonical
solutions with their tests as one program (HumanEval's reference harness; the two rows of
tests/benchmarks/data.py, cycled); and ``judged``: the same solutions through ``check_humaneval``, the way the
humaneval benchmark scores them (a checker process beside the program, see docs/security.md). Modes alternate
within each round, so machine load hits both alike; printed: programs/s per mode and the ratio
isolated/rlimits (issue 13's target: at least 0.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmeval.execution.code import check_humaneval
from pytest_llmeval.execution.sandbox import (
    SANDBOX_ENV,
    UnisolatedCodeWarning,
    bwrap_problem,
    run_many,
    run_python,
)
from pytest_llmeval.scoring.code import build_humaneval_program
from tests.benchmarks.data import HUMANEVAL_ROWS


def programs(kind: str, count: int) -> list[tuple[str, str]]:
    if kind == "trivial":
        return [(f"print({i} * 2)", "") for i in range(count)]
    rows = [
        build_humaneval_program(row["canonical_solution"], row["prompt"], row["test"], row["entry_point"])
        for row in HUMANEVAL_ROWS
    ]
    return [(rows[i % len(rows)], "") for i in range(count)]


def judged(count: int, workers: int, mode: str) -> float:
    """HumanEval solutions per second through check_humaneval (the benchmark's scoring path)."""
    rows = [HUMANEVAL_ROWS[i % len(HUMANEVAL_ROWS)] for i in range(count)]
    os.environ[SANDBOX_ENV] = mode
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        verdicts = list(
            pool.map(lambda r: check_humaneval(r["canonical_solution"], r["prompt"], r["test"], r["entry_point"]), rows)
        )
    elapsed = time.perf_counter() - started
    if not all(v.passed for v in verdicts):
        raise SystemExit(f"a canonical solution failed under {mode}: {verdicts[0]}")
    return count / elapsed


def measure(jobs: list[tuple[str, str]], workers: int, mode: str) -> float:
    """Programs per second."""
    started = time.perf_counter()
    results = run_many(jobs, workers=workers, isolation=mode)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    bad = [r for r in results if r.status != "ok"]
    if bad:
        raise SystemExit(f"{len(bad)} programs did not end ok under {mode}, first: {bad[0]}")
    return len(jobs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UnisolatedCodeWarning)
    problem = bwrap_problem()
    modes = ["rlimits"] if problem else ["rlimits", "bwrap"]
    if problem:
        print(f"bubblewrap unavailable ({problem}): measuring rlimits only")
    for mode in modes:
        run_python("pass", isolation=mode)  # type: ignore[arg-type]  # warm the page cache
    print(f"cores: {os.cpu_count()}, programs per setting: {args.programs}, rounds: {args.rounds} (median)")
    for kind in ("trivial", "humaneval", "judged"):
        jobs = programs(kind, args.programs) if kind != "judged" else []
        for workers in args.workers:
            rates: dict[str, list[float]] = {mode: [] for mode in modes}
            for _ in range(args.rounds):
                for mode in modes:
                    rate = judged(args.programs, workers, mode) if kind == "judged" else measure(jobs, workers, mode)
                    rates[mode].append(rate)
            medians = {mode: statistics.median(values) for mode, values in rates.items()}
            line = "   ".join(f"{mode} {rate:6.1f}/s" for mode, rate in medians.items())
            ratio = f"   isolated/rlimits {medians['bwrap'] / medians['rlimits']:.2f}x" if "bwrap" in medians else ""
            print(f"{kind:9} workers={workers}: {line}{ratio}")


if __name__ == "__main__":
    main()
