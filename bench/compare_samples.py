"""Paired comparison of two log-likelihood runs on the rows they share, from their samples files.

    python bench/compare_samples.py A.jsonl B.jsonl [--metric acc_norm] [--by subset]

Each file is a `--llm-samples` output of a multiple-choice (log-likelihood) run, e.g. those
`bench/reproduce_smollm2.py --work DIR` leaves in DIR. Rows are matched on (benchmark, subset, id);
for each matched row the metric is 0 or 1 in each run. Prints, in points: the metric of A and of B
on the shared rows, the paired difference B - A with its 95% normal interval (the standard error of
the mean of per-row differences, which is smaller than that of two independent samples because the
rows are the same), and how many rows flip each way. `--by subset` adds one line per subset (MMLU:
per subject). Used by docs/reproducing.md for the effect of the chat template and of MMLU's subject
line on the same rows.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path


def read(path: Path, metric: str) -> dict[tuple[str, str, str], float]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        value = (record.get("metrics") or {}).get(metric)
        if value is not None and not record.get("error"):
            out[(record["benchmark"], record["subset"], str(record["id"]))] = float(value)
    return out


def paired(a: list[float], b: list[float]) -> str:
    n = len(a)
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    half = 1.96 * math.sqrt(var / n)
    up, down = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return (
        f"{n} rows | A {100 * sum(a) / n:.1f} | B {100 * sum(b) / n:.1f} | B-A {100 * mean:+.1f} "
        f"[{100 * (mean - half):+.1f}, {100 * (mean + half):+.1f}] | flips: {up} to right, {down} to wrong"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--metric", default="acc_norm")
    parser.add_argument("--by", choices=("subset",), help="also one line per subset")
    args = parser.parse_args()
    a, b = read(args.a, args.metric), read(args.b, args.metric)
    shared = sorted(set(a) & set(b))
    if not shared:
        raise SystemExit(f"no shared rows with {args.metric!r} in {args.a} and {args.b}")
    print(f"all | {paired([a[k] for k in shared], [b[k] for k in shared])}")
    if args.by:
        groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for key in shared:
            groups[key[1]].append(key)
        for name, keys in sorted(groups.items()):
            print(f"{name} | {paired([a[k] for k in keys], [b[k] for k in keys])}")


if __name__ == "__main__":
    main()
