"""llama.cpp text generation on a machine whose CPUs are already busy, with OpenMP's default
wait policy and with ``OMP_WAIT_POLICY=PASSIVE``.

    python bench/llama_oversubscription.py [--copies 2] [--hogs 1] [--tokens 64] [--rounds 3]

Each round starts ``--copies`` generation processes at once (SmolLM2-135M Q4_1, ``n_threads`` = the
CPUs available, as the managed server uses) next to ``--hogs`` busy-looping processes (standing in
for pytest workers and other jobs), and prints each policy's median text-generation tokens/s per
copy, and the ratio. llama-cpp-python's wheel is built with OpenMP (``OPENMP = 1`` in its system
info): a thread that reaches a barrier spins (libgomp's default) while the thread it waits for may
not be running at all, so oversubscribed cores can lose most of their time to spinning.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, sys, time
import llama_cpp
model_path, tokens = sys.argv[1], int(sys.argv[2])
threads = len(os.sched_getaffinity(0))
llm = llama_cpp.Llama(model_path=model_path, n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
prompt = llm.tokenize(b"Write a long story about a cat.")
print("ready", flush=True)
sys.stdin.readline()
generated, t0 = 0, time.perf_counter()
for token in llm.generate(prompt, temp=0.0, reset=True):
    generated += 1
    if generated >= tokens:
        break
print(json.dumps({"tg": generated / (time.perf_counter() - t0)}), flush=True)
"""

HOG = "while True: pass"


def round_of(model: str, copies: int, hogs: int, tokens: int, passive: bool) -> list[float]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, model, str(tokens)],
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(copies)
    ]
    for child in children:  # load the model first: only generation is timed
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    busy = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    try:
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        return [
            float(json.loads(child.communicate(timeout=900)[0].strip().splitlines()[-1])["tg"]) for child in children
        ]
    finally:
        for hog in busy:
            hog.kill()
            hog.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--hogs", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from pytest_llmeval.endpoint.local_models import resolve_local_model

    model = str(resolve_local_model("smollm2-135m").path)
    figures: dict[str, list[float]] = {"default": [], "PASSIVE": []}
    for _ in range(args.rounds):
        figures["default"] += round_of(model, args.copies, args.hogs, args.tokens, passive=False)
        figures["PASSIVE"] += round_of(model, args.copies, args.hogs, args.tokens, passive=True)
    print(
        f"{args.copies} generation copies x {len(os.sched_getaffinity(0))} threads, {args.hogs} busy loops, "
        f"{os.cpu_count()} CPUs, {args.tokens} tokens, {args.rounds} rounds"
    )
    for policy, values in figures.items():
        print(
            f"OMP_WAIT_POLICY {policy:8} tg per copy: median {statistics.median(values):7.2f} tok/s "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )
    print(f"PASSIVE/default: {statistics.median(figures['PASSIVE']) / statistics.median(figures['default']):.2f}x")


if __name__ == "__main__":
    main()
