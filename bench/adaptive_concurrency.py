"""Adaptive concurrency against a rate-limited server: wall time and wasted requests, AIMD vs fixed.

    python bench/adaptive_concurrency.py                       # N=400, hidden limit 8, latency 100 ms, C=64
    python bench/adaptive_concurrency.py --samples 800 --limit 4 --concurrency 32

The loopback server admits `--limit` generation requests at once and answers 429 with
`Retry-After` (0.1 s; also as `retry-after-ms`) above it. The same evaluation runs three times:

  1. adaptive (the default) at `--llm-concurrency C`;
  2. fixed at C (`--llm-fixed-concurrency`; `--llm-retries 50` so that 429s do not turn into errors);
  3. fixed at the server's limit: the ideal a user who knew the limit would pick.

Printed per run: wall time of the session (results JSON `duration_s`), requests sent per sample
(1.0 = no 429 at all), 429 answers, endpoint errors, and the wall time as a ratio to the ideal run.
Target: adaptive within 1.3x of the ideal, and fewer requests per sample than fixed at C.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import QUIET, bytecode_env, gsm8k_args, write_gsm8k  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def run(server: FakeOpenAIServer, data: Path, work: Path, name: str, *extra: str) -> dict[str, float]:
    server.reset()
    results = work / f"{name}.json"
    args = [*gsm8k_args(server.base_url, data), "--llm-results", str(results), *QUIET, *extra]
    subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=work, env=bytecode_env(), capture_output=True, check=False
    )
    report = json.loads(results.read_text())
    stats = server.stats()
    samples = report["samples_scored"] + report["samples_errored"]
    return {
        "wall_s": report["duration_s"],
        "per_sample": stats["chat_requests"] / max(samples, 1),
        "overloads": stats["faults"].get("overload", 0),
        "errors": report["samples_errored"],
        "max_in_flight": max(stats["arrival_in_flight"] or [0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--limit", type=int, default=8, help="requests the server admits at once")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=64, help="--llm-concurrency of runs 1 and 2")
    args = parser.parse_args()
    config = FakeServerConfig(max_concurrency=args.limit, retry_after_s=0.1, latency_s=args.latency)
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(config) as server:
        work = Path(tmp)
        data = write_gsm8k(work / "gsm8k.jsonl", args.samples)
        c = str(args.concurrency)
        runs = {
            f"adaptive, C={c}": run(server, data, work, "adaptive", "--llm-concurrency", c),
            f"fixed, C={c}": run(
                server, data, work, "fixed", "--llm-concurrency", c, "--llm-fixed-concurrency", "--llm-retries", "50"
            ),
            f"fixed, C={args.limit} (ideal)": run(server, data, work, "ideal", "--llm-concurrency", str(args.limit)),
        }
    ideal = list(runs.values())[-1]["wall_s"]
    print(
        f"{args.samples} samples, server admits {args.limit} at once ({args.latency * 1000:.0f} ms each, "
        f"429 + Retry-After 0.1 s above); ideal wall time N*L/limit = {args.samples * args.latency / args.limit:.2f} s"
    )
    print(
        f"{'run':<22} {'wall s':>7} {'x ideal':>8} {'req/sample':>11} {'429s':>6} {'errors':>7} {'max in flight':>14}"
    )
    for name, r in runs.items():
        print(
            f"{name:<22} {r['wall_s']:>7.2f} {r['wall_s'] / ideal:>8.2f} {r['per_sample']:>11.2f} "
            f"{r['overloads']:>6.0f} {r['errors']:>7.0f} {r['max_in_flight']:>14.0f}"
        )


if __name__ == "__main__":
    main()
