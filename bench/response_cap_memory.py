"""Peak memory of a run whose server streams without end, with and without `--llm-max-response-bytes`.

    python bench/response_cap_memory.py            # 4 samples; the uncapped run is stopped by a 5 s timeout
    python bench/response_cap_memory.py --uncapped-timeout 10

Prints, all measured in this one run on this machine, the peak RSS (ru_maxrss of the pytest process)
of: a healthy run of the same samples (baseline); endless SSE with the default cap (16 MiB); with a
1 MiB cap; and with the cap lifted (1 TB), where only `--llm-timeout` ends each request. Target: the
capped runs stay within a small multiple of the baseline (the body never exceeds the cap), while the
uncapped run grows with whatever the server sends.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _common import run_reading  # type: ignore[import-not-found]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The same hostile loopback server the response-cap tests use: "endless_sse" streams valid chunks forever.
from tests.core.loopback import LoopbackChatServer


def peak_rss_mb(port: int, data: Path, cwd: Path, *args: str) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--llm-model",
        "m",
        "--llm-base-url",
        f"http://127.0.0.1:{port}/v1",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-m",
        "gsm8k",
        "--llm-dataset",
        f"gsm8k={data}",
        "--llm-stream",
        "--llm-retries",
        "0",
        "--llm-no-cache",
        "-q",
        *args,
    ]
    out, _, peak = run_reading(command, cwd=cwd)
    return peak, out.strip().splitlines()[-1] if out.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--uncapped-timeout", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        data = cwd / "g.jsonl"
        data.write_text(
            "".join(json.dumps({"question": f"q{i}", "answer": "#### 1"}) + "\n" for i in range(args.samples))
        )
        figures = {}
        for label, mode, extra in [
            ("healthy run (baseline)", "reply", ()),
            ("endless stream, default cap 16 MiB", "endless_sse", ()),
            ("endless stream, cap 1 MiB", "endless_sse", ("--llm-max-response-bytes", str(2**20))),
            (
                f"endless stream, no cap ({args.uncapped_timeout:g} s timeout)",
                "endless_sse",
                (
                    "--llm-max-response-bytes",
                    str(10**12),
                    "--llm-timeout",
                    str(args.uncapped_timeout),
                    "--llm-concurrency",
                    "1",
                ),
            ),
        ]:
            with LoopbackChatServer(mode=mode, reply="\\boxed{1}") as server:
                figures[label], summary = peak_rss_mb(server.port, data, cwd, *extra)
            print(f"{label:<45} peak RSS {figures[label]:8.0f} MB  ({summary})")
        base = figures["healthy run (baseline)"]
        for label, value in figures.items():
            print(f"{label:<45} {value / base:6.2f}x baseline")


if __name__ == "__main__":
    main()
