"""In-process throughput of the embedded all-MiniLM-L6-v2 (llama.cpp), before and after the tuning.

    python bench/embed_throughput.py [--rounds 3] [--threads N]

Compares two ``EmbeddingEngine`` settings on the same inputs, alternating them round by round so that
a shared machine's load hits both alike:

* ``before``: 512-token batches, plain attention (the first version of ``embed_serve.py``);
* ``after``: 256-token batches (the model's own maximum input), flash attention (the default now).

Inputs: short sentences (about 19 tokens with [CLS]/[SEP]) and 256-token documents (cut at the model's
256), embedded one per call (batch 1) and 64 per call (batch 64). Prints, per case and setting, the
median documents per wall-clock second and per CPU-second of this process (``time.process_time``: on a
busy machine the wall-clock rate mostly measures the other jobs, the CPU rate the work), and the
after/before ratio. Needs the converted model (``./install.sh local``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmeval.endpoint.embed_serve import EmbeddingEngine
from pytest_llmeval.endpoint.embedding_model import gguf_path
from pytest_llmeval.endpoint.local_models import default_cache_dir

SHORT = [f"The quick brown fox number {i} jumps over the lazy dog near the river bank today." for i in range(64)]
LONG = [" ".join(f"word{i} token{j} alpha beta" for j in range(80)) for i in range(64)]
SETTINGS = {"before": {"batch_tokens": 512, "flash_attn": False}, "after": {"batch_tokens": 256, "flash_attn": True}}


def measure(engine: EmbeddingEngine, texts: list[str], batch: int) -> tuple[float, float]:
    """(docs per wall second, docs per CPU second) embedding ``texts`` ``batch`` at a time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        engine.embed(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - wall), len(texts) / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    path = str(gguf_path(default_cache_dir()))
    engines = {name: EmbeddingEngine(path, threads=args.threads, **kw) for name, kw in SETTINGS.items()}
    cases = {
        "short, batch 1": (SHORT[:16], 1),
        "short, batch 64": (SHORT, 64),
        "256 tokens, batch 1": (LONG[:4], 1),
        "256 tokens, batch 64": (LONG[:16], 16 * 4),
    }
    for engine in engines.values():
        engine.embed(SHORT[:2])  # warm-up
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for case, (texts, batch) in cases.items():
            for name, engine in engines.items():
                results.setdefault((case, name), []).append(measure(engine, texts, batch))
    print(f"threads={args.threads}, rounds={args.rounds}, load average {os.getloadavg()[0]:.1f}")
    print("| case | before docs/s | after docs/s | before docs/CPU-s | after docs/CPU-s | after/before (CPU) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case in cases:
        before = [statistics.median(x) for x in zip(*results[(case, "before")], strict=True)]
        after = [statistics.median(x) for x in zip(*results[(case, "after")], strict=True)]
        print(
            f"| {case} | {before[0]:.1f} | {after[0]:.1f} | {before[1]:.1f} | {after[1]:.1f} "
            f"| {after[1] / before[1]:.2f}x |"
        )


if __name__ == "__main__":
    main()
