"""Peak memory of one shard of a 100,000-sample run split 8 ways (`--llm-shard 1/8`) versus the
unsharded run (goal: <= 1/4).

    python bench/shard_memory.py [--n 100000] [--shards 8]

Both are real `pytest` processes against a loopback server answering at once; peak RSS from wait4.
"""

from __future__ import annotations

import argparse

from _common import QUIET, gsm8k_args, run_pytest, work_folder, write_gsm8k  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    with work_folder() as work, FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        data = write_gsm8k(work / "gsm8k.jsonl", args.n)
        base = [*gsm8k_args(server.base_url, data), "--llm-concurrency", "64", *QUIET]
        _, _, whole = run_pytest(base, work)
        _, _, shard = run_pytest(
            [*base, "--llm-shard", f"1/{args.shards}", "--llm-results", "s.json", "--llm-samples", "s.jsonl"], work
        )
    print(f"N={args.n} samples: unsharded peak RSS {whole} MB; shard 1/{args.shards} peak RSS {shard} MB")
    print(f"  ratio {shard / whole:.3f} (goal <= 0.25)")


if __name__ == "__main__":
    main()
