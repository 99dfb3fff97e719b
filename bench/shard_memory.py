"""Peak memory of one shard of a 100,000-sample run split 8 ways (`--llm-shard 1/8`) versus the
unsharded run (goal: <= 1/4).

    python bench/shard_memory.py [--n 100000] [--shards 8]

Both are real `pytest` processes against a loopback server answering at once; peak RSS from wait4.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def peak_rss_mb(args: list[str], cwd: Path) -> int:
    process = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=cwd, stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        data = work / "gsm8k.jsonl"
        data.write_text(
            "".join(
                json.dumps({"question": f"What is {i} + 1?", "answer": f"#### {i + 1}"}) + "\n" for i in range(args.n)
            )
        )
        base = [
            "--llm-model", "fake-model", "--llm-base-url", server.base_url, "-m", "gsm8k",
            "--llm-dataset", f"gsm8k={data}", "--llm-no-cache", "--llm-concurrency", "64",
            "-q", "-p", "no:cacheprovider",
        ]  # fmt: skip
        whole = peak_rss_mb(base, work)
        shard = peak_rss_mb(
            [*base, "--llm-shard", f"1/{args.shards}", "--llm-results", "s.json", "--llm-samples", "s.jsonl"], work
        )
    print(f"N={args.n} samples: unsharded peak RSS {whole} MB; shard 1/{args.shards} peak RSS {shard} MB")
    print(f"  ratio {shard / whole:.3f} (goal <= 0.25)")


if __name__ == "__main__":
    main()
