"""What endpoint errors cost a run beyond the failed requests themselves.

    python bench/error_overhead.py                   # 100 samples, 22 answered 500
    python bench/error_overhead.py --samples 1000 --failing 220

A gsm8k-shaped file of `--samples` rows goes to the loopback test server, which answers 500 to the
first `--failing` rows (a fail rule) and a fixed reply to the others; `--llm-retries 0` so no backoff
is waited, cache off. The same file with no failing row is the baseline. Each run is repeated
`--repeat` times, alternating, and the best in-session time (pytest's own "in X s") is compared.
Target: errored / clean <= 1.5 (before the fix: ~14x, each errored sample's traceback was rendered).
Prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import QUIET, gsm8k_args  # type: ignore[import-not-found]

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def session_seconds(folder: Path, base_url: str, samples: int, failing: int) -> float:
    rows = [
        {"question": f"Q{i} {'BOOM' if i < failing else 'fine'}: how many?", "answer": f"#### {i}"}
        for i in range(samples)
    ]
    data = folder / f"g{failing}.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", *QUIET, "--rootdir", str(folder)]
    command += [*gsm8k_args(base_url, data), "--llm-retries", "0"]
    out = subprocess.run(command, cwd=folder, capture_output=True, text=True).stdout
    found = re.search(r" in ([0-9.]+)s", out.splitlines()[-1] if out else "")
    if not found:
        raise SystemExit(f"unexpected pytest output:\n{out[-2000:]}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--failing", type=int, default=22)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = FakeServerConfig(fixed_reply="The answer is 1", fail_rules=[{"contains": "BOOM", "status": 500}])
    server = FakeOpenAIServer(config).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            clean, errored = [], []
            for _ in range(args.repeat):
                clean.append(session_seconds(Path(tmp), server.base_url, args.samples, 0))
                errored.append(session_seconds(Path(tmp), server.base_url, args.samples, args.failing))
    finally:
        server.stop()
    print(f"clean:   best {min(clean):.2f} s  ({args.samples} samples)")
    print(f"errored: best {min(errored):.2f} s  ({args.failing} of {args.samples} answered 500)")
    print(f"ratio errored/clean: {min(errored) / min(clean):.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
