"""What running a collection costs over running the same records as plain benchmarks.

    python bench/collection_overhead.py                 # 10 benchmarks x 1,000 rows, 10,000 records
    python bench/collection_overhead.py --rows 200      # quicker

Ten file benchmarks (`b0`..`b9`, 1,000 rows each) are registered by a conftest; a collection of all
their 10,000 samples (ten leaves in two groups) is built with the builder's Python API. Both runs go
to the same loopback test server (fixed latency, every answer right) with the cache off:

  plain:      pytest -m "b0 or ... or b9"
  collection: pytest --llm-collection suite.jsonl

Each is run `--repeat` times, alternating, and the best wall time of each is compared. Target:
collection / plain <= 1.2. Prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import QUIET, run_pytest  # type: ignore[import-not-found]

from pytest_llmeval.benchmarks import file_benchmark, register_benchmark
from pytest_llmeval.collection import Collection, Dataset, build_collection, write_collection
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig

BENCHMARKS = [f"b{i}" for i in range(10)]
CONFTEST = """
from pathlib import Path
from pytest_llmeval.benchmarks import file_benchmark, register_benchmark

for i in range(10):
    register_benchmark(file_benchmark(f"b{i}", Path(__file__).parent / f"b{i}.jsonl", kind="qa"))
"""


def write_data(work: Path, rows: int) -> None:
    for name in BENCHMARKS:
        with (work / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for i in range(rows):
                handle.write(
                    json.dumps(
                        {"id": f"{i:05d}", "question": f"{name}: what is {i} times zero plus one?", "answer": "1"}
                    )
                    + "\n"
                )
    (work / "conftest.py").write_text(CONFTEST, encoding="utf-8")


def build_suite(work: Path, rows: int) -> Path:
    for name in BENCHMARKS:
        register_benchmark(file_benchmark(name, work / f"{name}.jsonl", kind="qa"))
    schema = Collection(
        name="bench",
        children=[
            Collection(name="first", children=[Dataset(name=n, task_type="qa", tags=["en"]) for n in BENCHMARKS[:5]]),
            Collection(name="second", children=[Dataset(name=n, task_type="qa", tags=["zh"]) for n in BENCHMARKS[5:]]),
        ],
    )
    records, counts = build_collection(schema, 10 * rows, seed=42)
    assert sum(c.taken for c in counts) == 10 * rows
    suite = work / "suite.jsonl"
    write_collection(records, suite)
    return suite


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000, help="rows per benchmark (10 benchmarks)")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_data(work, options.rows)
        suite = build_suite(work, options.rows)
        config = FakeServerConfig(
            latency_s=options.latency, fixed_reply="Zero times anything is zero, plus one.\nAnswer: 1"
        )
        with FakeOpenAIServer(config) as server:
            common = [
                "--llm-model",
                "fake-model",
                "--llm-base-url",
                server.base_url,
                "--llm-no-cache",
                *QUIET,
                "-p",
                "no:randomly",
                "--llm-concurrency",
                str(options.concurrency),
            ]
            plain_args = [*common, "-m", " or ".join(BENCHMARKS), "--llm-results", str(work / "plain.json")]
            coll_args = [*common, "--llm-collection", str(suite), "--llm-results", str(work / "coll.json")]
            plain_times, coll_times = [], []
            for _ in range(options.repeat):
                wall, code, _ = run_pytest(plain_args, work)
                assert code == 0, f"plain run exit {code}"
                plain_times.append(wall)
                wall, code, _ = run_pytest(coll_args, work)
                assert code == 0, f"collection run exit {code}"
                coll_times.append(wall)
            sent = server.stats()["chat_requests"]
        plain = json.loads((work / "plain.json").read_text())
        coll = json.loads((work / "coll.json").read_text())
    records = 10 * options.rows
    assert sum(b["count"] for b in plain["benchmarks"].values()) == records
    assert coll["collection"]["records"] == records
    ideal = records * options.latency / options.concurrency
    best_plain, best_coll = min(plain_times), min(coll_times)
    print(
        f"10 benchmarks, {records} records, L={options.latency * 1000:.0f} ms, C={options.concurrency}, "
        f"{sent} requests in {2 * options.repeat} runs; ideal N*L/C = {ideal:.2f} s"
    )
    print(f"plain benchmarks  best {best_plain:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain_times)})")
    print(f"collection        best {best_coll:7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in coll_times)})")
    print(f"ratio collection / plain = {best_coll / best_plain:.3f}x  (target <= 1.2x)")


if __name__ == "__main__":
    main()
