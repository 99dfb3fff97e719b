"""Requests saved by `--llm-early-stop` on a GSM8K-shaped gate (1,319 samples, threshold acc >= 0.80).

    python bench/early_stop.py              # true accuracy 0.70, 0.80, 0.90
    python bench/early_stop.py --count 400  # smaller and faster

For each true accuracy, the loopback test server answers a fixed, seeded share of the questions
right; `pytest -m gsm8k --llm-threshold gsm8k.acc>=0.8 --llm-early-stop` runs against it and the
script prints the fraction of the samples the server was actually asked for (`chat_requests / N`),
the run's verdict and how it was decided. Near the threshold (0.80) the test needs (almost) every
sample, far from it only a fraction: that is the figure to watch, not wall time.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from _common import QUIET, gsm8k_args, run_pytest, write_gsm8k  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def rules(count: int, accuracy: float, seed: int) -> list[dict[str, str]]:
    """Right on round(accuracy * count) questions chosen at random, wrong on the rest."""
    right = set(random.Random(seed).sample(range(count), round(accuracy * count)))
    return [
        {"contains": f"What is {i} + 1?", "reply": f"\\boxed{{{i + 1 if i in right else i + 2}}}"} for i in range(count)
    ]


def run(count: int, accuracy: float, concurrency: int, workdir: Path) -> dict[str, object]:
    data = write_gsm8k(workdir / "gsm8k.jsonl", count)
    results = workdir / f"results-{accuracy}.json"
    with FakeOpenAIServer(FakeServerConfig(rules=rules(count, accuracy, seed=int(accuracy * 1000)))) as server:
        _, code, _ = run_pytest(
            [
                *("-p", "no:randomly", *QUIET),
                *gsm8k_args(server.base_url, data),
                *("--llm-concurrency", str(concurrency), "--llm-threshold", "gsm8k.acc>=0.8", "--llm-early-stop"),
                *("--llm-results", str(results)),
            ],
            workdir,
        )
        sent = server.stats()["chat_requests"]
    data_out = json.loads(results.read_text()) if results.exists() else {}
    outcome = (data_out.get("thresholds") or [{}])[0]
    return {
        "accuracy": accuracy,
        "exit": code,
        "sent": sent,
        "fraction": sent / count,
        # a benchmark that ran every sample keeps the ordinary point verdict, which carries no status/mode
        "status": outcome.get("status") or ("pass" if outcome.get("passed") else "fail"),
        "mode": outcome.get("mode") or "all samples",
        "score": outcome.get("value"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1319)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accuracies", type=float, nargs="+", default=[0.70, 0.80, 0.90])
    args = parser.parse_args()
    print(f"early stop on a {args.count}-sample gate, threshold acc >= 0.80, concurrency {args.concurrency}")
    print(f"{'true acc':>8}  {'requests sent':>13}  {'fraction':>8}  verdict")
    for accuracy in args.accuracies:
        with tempfile.TemporaryDirectory() as tmp:
            row = run(args.count, accuracy, args.concurrency, Path(tmp))
        print(
            f"{row['accuracy']:>8.2f}  {row['sent']:>13}  {row['fraction']:>8.1%}  "
            f"{row['status']} by {row['mode']} (exit {row['exit']}, score on the samples run {row['score']})"
        )


if __name__ == "__main__":
    main()
