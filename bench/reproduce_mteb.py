"""Our nDCG@10 of the embedded all-MiniLM-L6-v2 on a BEIR folder, beside the published MTEB figure.

    python bench/reproduce_mteb.py DIR [--task scifact] [--published 0.xxxx] [--limit N] [-n 2]

DIR is a BEIR-layout folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``; docs/embeddings.md,
"Reproducing MTEB", says where to get SciFact). The script runs
``pytest --llm-model all-minilm-l6-v2 -m TASK --llm-dataset TASK=DIR`` in a temporary folder (the
plugin starts the embedded model), reads ``ndcg_at_10`` and its 95% interval from the results JSON and
prints it beside ``--published`` (MTEB's figure for the same task and model; no default: the figure
and its source are in docs/embeddings.md, and one we could not verify is not printed as if it were).
Nothing is downloaded; with no folder there is nothing to reproduce.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    parser.add_argument("--task", default="scifact", help="the benchmark name to run it as (scifact or beir)")
    parser.add_argument("--published", type=float, help="MTEB's nDCG@10 for this task (0-1), printed beside ours")
    parser.add_argument("--limit", type=int, help="only the first N queries (a quick check, not a reproduction)")
    parser.add_argument("-n", dest="workers", default="0", help="pytest-xdist workers")
    args = parser.parse_args()
    folder = args.folder.resolve()
    missing = [p for p in ("corpus.jsonl", "queries.jsonl") if not (folder / p).is_file()]
    if missing or not list(folder.glob("qrels/*.tsv")):
        print(
            f"{folder} is not a BEIR folder: it needs corpus.jsonl, queries.jsonl and qrels/test.tsv", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="reproduce-mteb-") as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            "--llm-model", "all-minilm-l6-v2", "-m", args.task,
            "--llm-dataset", f"{args.task}={folder}", "--llm-results", str(results), "-n", args.workers,
        ]  # fmt: skip
        if args.limit:
            command += ["--llm-limit", str(args.limit)]
        run = subprocess.run(command, cwd=tmp, check=False)
        if not results.is_file():
            print(f"the run wrote no results (exit status {run.returncode})", file=sys.stderr)
            return 1
        bench = json.loads(results.read_text())["benchmarks"][args.task]
    ours, u = bench["metrics"]["ndcg_at_10"], bench["uncertainty"].get("ndcg_at_10", {})
    interval = f" [{u['ci_low']:.4f}, {u['ci_high']:.4f}]" if u.get("ci_low") is not None else ""
    print(f"{args.task}: nDCG@10 ours {ours:.4f}{interval} over {bench['count']} queries", end="")
    if args.published is not None:
        print(f", published (MTEB) {args.published:.4f}, difference {ours - args.published:+.4f}")
    else:
        print(" (pass --published to print MTEB's figure beside it)")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
