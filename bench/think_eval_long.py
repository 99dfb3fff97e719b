"""`--llm-think-eval` on very long reasoning: time and peak memory for 250 KB and 1 MB of it, and the
ratio time(1 MB) / time(250 KB), which is about 4 when the analysis is linear (16 if quadratic).

    python bench/think_eval_long.py [--sizes 250000,1000000] [--limit-mb 1024]

Each measurement runs in a child process under RLIMIT_AS (`--limit-mb`, default 1 GiB), so a
regression fails with a MemoryError instead of eating the machine; the peak RSS is the child's
ru_maxrss, its time the analysis alone (imports excluded). The traces are the attacks that used to
be quadratic: one paragraph of short sentences whose last one states the answer, read by GSM8K's
default extractor (the piece itself, scored by the benchmark) and by MATH-500's (`\\boxed{}` or a
stated answer); thousands of "the answer is" without a full stop; `\\boxed{` that never close.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

from _common import run_reading  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pytest_llmeval.benchmarks.registry import get_benchmark
from pytest_llmeval.endpoint.models import ChatResponse, Choice, Usage
from pytest_llmeval.efficiency import EfficiencyAnalyser

kind, size = sys.argv[1], int(sys.argv[2])
bench_name, unit, closing = {
    "gsm8k-sentences": ("gsm8k", "x is 7. ", "so the answer is 42."),
    "math-sentences": ("math_500", "x = 7. ", "so the answer is 42."),
    "math-open-cues": ("math_500", "the answer is 1, ", "the answer is 42."),
    "math-open-boxes": ("math_500", "\\boxed{1 ", "\\boxed{42}"),
}[kind]
bench = get_benchmark(bench_name)()
record = {"question": "q", "problem": "p", "answer": "#### 42" if bench_name == "gsm8k" else "42",
          "solution": "\\boxed{42}", "unique_id": "u", "level": 1, "subject": "s"}
sample = bench.record_to_sample(record, 0, bench.subsets[0])
reasoning = unit * (size // len(unit)) + closing
answer = "The answer is \\boxed{42}."
response = ChatResponse(choices=[Choice(text=answer, reasoning=reasoning)], usage=Usage(completion_tokens=size // 4))
analyser = EfficiencyAnalyser()
started = time.perf_counter()
figures = analyser.analyse(bench, sample, response, [(answer, reasoning)])[0]
print(json.dumps({"seconds": time.perf_counter() - started, "efficiency": figures["efficiency"]}))
"""


def measure(kind: str, size: int, limit_mb: int) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, efficiency or the failure) of one analysis in a bounded child."""

    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out, code, peak = run_reading([sys.executable, "-c", CHILD, kind, str(size)], preexec_fn=bound, env=env)
    if code != 0:
        return float("nan"), peak, f"failed: {out[-200:].strip()}"
    answer = json.loads(out.strip().splitlines()[-1])
    return answer["seconds"], peak, f"efficiency {answer['efficiency']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000", help="reasoning sizes in characters, comma separated")
    parser.add_argument("--limit-mb", type=int, default=1024, help="RLIMIT_AS of each child (default 1024)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for kind in ("gsm8k-sentences", "math-sentences", "math-open-cues", "math-open-boxes"):
        times = []
        for size in sizes:
            seconds, peak, note = measure(kind, size, args.limit_mb)
            times.append(seconds)
            print(f"{kind:<16} {size / 1e6:5.2f} MB of reasoning: {seconds:6.2f} s, peak RSS {peak:5.0f} MB ({note})")
        if len(times) >= 2 and times[0] > 0:
            print(
                f"{kind:<16} time({sizes[-1] / 1e6:g} MB) / time({sizes[0] / 1e6:g} MB) = {times[-1] / times[0]:.1f} "
                f"(linear: {sizes[-1] / sizes[0]:.0f}, quadratic: {(sizes[-1] / sizes[0]) ** 2:.0f})"
            )


if __name__ == "__main__":
    main()
