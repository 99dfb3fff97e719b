"""Judge-graded benchmarks at full concurrency: judge requests ride the prefetch pipeline.

    python bench/judge_pipeline.py [--n 400] [--concurrency 32] [--latency 0.2]

A file benchmark graded by `--llm-judge-model` runs against one loopback server with fixed
latency L that plays both the model and the judge. Every sample needs two calls in sequence
(answer, then grade), so the ideal wall time is 2*N*L/C. Prints the session time (results JSON)
against it (target <= 1.3x); a judge called synchronously inside each item would take about
N*L/C + N*L.
"""

from __future__ import annotations

import argparse
import json

from _common import QUIET, run_pytest, work_folder  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

CONFTEST = """
from pytest_llmeval import file_benchmark, register_benchmark
register_benchmark(file_benchmark("essay", "essay.jsonl", kind="qa", judge=True))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with work_folder() as work:
        (work / "conftest.py").write_text(CONFTEST)
        with (work / "essay.jsonl").open("w") as handle:
            for i in range(args.n):
                handle.write(json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": f"answer {i}"}) + "\n")
        rules = [{"contains": "Candidate answer:", "reply": "Same meaning.\nCORRECT"}]
        config = FakeServerConfig(latency_s=args.latency, rules=rules, default_reply="an answer")
        with FakeOpenAIServer(config) as server:
            results = work / "results.json"
            wall, code, _ = run_pytest(
                [
                    "--llm-model",
                    "fake-model",
                    "--llm-base-url",
                    server.base_url,
                    "--llm-judge-model",
                    "fake-model",
                    "-m",
                    "essay",
                    "--llm-concurrency",
                    str(args.concurrency),
                    "--llm-no-cache",
                    "--llm-results",
                    str(results),
                    *QUIET,
                ],
                work,
            )
            sent = server.stats()["chat_requests"]
        session = json.loads(results.read_text())["duration_s"]
    ideal = 2 * args.n * args.latency / args.concurrency
    print(
        f"judge-graded run: N={args.n} C={args.concurrency} L={args.latency * 1000:.0f} ms, "
        f"{sent} requests, exit {code}"
    )
    print(f"   ideal 2*N*L/C        {ideal:8.2f} s")
    print(f"   session (results)    {session:8.2f} s   ratio {session / ideal:5.2f}x  (target <= 1.3x)")
    print(f"   whole process        {wall:8.2f} s")


if __name__ == "__main__":
    main()
