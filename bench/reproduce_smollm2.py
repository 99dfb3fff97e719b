"""Reproduce SmolLM2-135M-Instruct's model card (log-likelihood rows) with the embedded llama.cpp server.

    python bench/reproduce_smollm2.py --data ../shared/data -n 150 [--seed 1] [--chat-template on|off|both]
                                      [--hellaswag PATH/hellaswag_val.jsonl]

Reads the public release files (paths as arguments; docs/reproducing.md says where to get them):
ARC-Easy/Challenge test jsonl, PIQA `valid.jsonl` + `valid-labels.lst`, an MMLU test jsonl
(`question`, `choices`, `answer`, subject in `subject` or `type`), and HellaSwag's `hellaswag_val.jsonl`
when given. Draws a seeded random subset of N rows per benchmark/subset, writes them as the same
release layouts into a temporary folder, and runs the plugin once per chat-template setting:
`pytest -m "arc or piqa or mmlu [or hellaswag]" --llm-model smollm2-135m --llm-output-type multiple_choice`
(the plugin serves the shipped Q4_1 GGUF itself). Prints published vs ours with 95% intervals
(Wilson per benchmark; for the ARC mean of two independent subsets, the normal interval of the mean).

Published numbers: the model card of HuggingFaceTB/SmolLM2-135M-Instruct (lighteval, zero-shot):
HellaSwag 40.9, ARC (mean of easy and challenge) 37.3, PIQA 66.3, MMLU cloze 29.3.
Tests never run this; it needs the `[local]` extra and minutes of CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PUBLISHED = {
    # HuggingFaceTB/SmolLM2-135M-Instruct's card (lighteval, zero-shot, chat template)
    "smollm2-135m": {"hellaswag": 40.9, "arc": 37.3, "piqa": 66.3, "mmlu": 29.3},
    # google/gemma-3-270m's card (pre-trained model; HellaSwag there is 10-shot, not run here)
    "gemma3-270m": {"piqa": 67.7, "arc_easy": 57.7},
}
# which metric the card's lighteval tasks report (normalised log-likelihood for all four rows)
METRIC = "acc_norm"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8",
    )


def sample(rows: list[Any], n: int, rng: random.Random) -> list[Any]:
    return rng.sample(rows, min(n, len(rows)))


def prepare(data: Path, work: Path, n: int, seed: int, hellaswag: Path | None) -> tuple[list[str], list[str]]:
    """Subset files in `work`; returns (--llm-dataset args, --llm-bench-arg args)."""
    rng = random.Random(seed)
    datasets: list[str] = []
    bench_args: list[str] = []
    for subset in ("arc_easy", "arc_challenge"):
        write_jsonl(
            work / f"{subset}.jsonl",
            sample(read_jsonl(data / f"{subset}_test.jsonl"), n, rng),
        )
        datasets.append(f"arc.{subset}={work / f'{subset}.jsonl'}")
    # PIQA as released: rows and labels in two files, line by line
    rows = read_jsonl(data / "piqa_valid.jsonl")
    labels = (data / "piqa_valid-labels.lst").read_text(encoding="utf-8").split()
    picked = sample(list(zip(rows, labels, strict=False)), n, rng)
    write_jsonl(work / "piqa" / "valid.jsonl", [r for r, _ in picked])
    (work / "piqa" / "valid-labels.lst").write_text("".join(f"{label}\n" for _, label in picked), encoding="utf-8")
    datasets.append(f"piqa={work / 'piqa'}")
    mmlu = [{**r, "subject": r.get("subject") or r.get("type")} for r in read_jsonl(data / "mmlu_stem_test.jsonl")]
    picked_mmlu = sample(mmlu, n, rng)
    write_jsonl(work / "mmlu.jsonl", picked_mmlu)
    datasets.append(f"mmlu={work / 'mmlu.jsonl'}")
    bench_args.append("mmlu.subset_list=" + ",".join(sorted({r["subject"] for r in picked_mmlu})))
    if hellaswag is not None:
        write_jsonl(work / "hellaswag.jsonl", sample(read_jsonl(hellaswag), n, rng))
        datasets.append(f"hellaswag={work / 'hellaswag.jsonl'}")
    return datasets, bench_args


def run(
    work: Path,
    datasets: list[str],
    bench_args: list[str],
    marks: str,
    chat_template: bool,
    model: str,
) -> dict[str, Any]:
    results = work / f"results-{model}-{'chat' if chat_template else 'plain'}.json"
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-q",
               "--rootdir", str(work), "--llm-model", model, "--llm-output-type", "multiple_choice",
               "--llm-no-cache", "--llm-results", str(results), "-m", marks, "--llm-show-failures", "0"]  # fmt: skip
    for item in datasets:
        command += ["--llm-dataset", item]
    for item in bench_args:
        command += ["--llm-bench-arg", item]
    if chat_template:
        for bench in marks.split(" or "):
            command += ["--llm-bench-arg", f"{bench}.chat_template=on"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    if not results.exists():
        raise SystemExit(f"the run failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(results.read_text())
    data["_seconds"] = time.perf_counter() - started
    return data


def row(name: str, bench: dict[str, Any]) -> tuple[float, float, float, int]:
    value = bench["metrics"][METRIC] * 100
    u = bench["uncertainty"][METRIC]
    return value, u["ci_low"] * 100, u["ci_high"] * 100, bench["count"]


def arc_mean(bench: dict[str, Any]) -> tuple[float, float, float, int]:
    subsets = [bench["subsets"][s] for s in ("arc_easy", "arc_challenge")]
    values = [s["metrics"][METRIC] for s in subsets]
    ses = [math.sqrt(v * (1 - v) / s["count"]) for v, s in zip(values, subsets, strict=False)]
    mean, se = sum(values) / 2, math.sqrt(ses[0] ** 2 + ses[1] ** 2) / 2
    return (
        mean * 100,
        (mean - 1.96 * se) * 100,
        (mean + 1.96 * se) * 100,
        sum(s["count"] for s in subsets),
    )


def table(label: str, data: dict[str, Any], published: dict[str, float]) -> list[str]:
    lines = [f"{label} ({data['_seconds']:.0f} s)",
             f"| benchmark | published | ours ({METRIC}) | 95% interval | rows | inside or within 2 points |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    benches = data["benchmarks"]
    for name in ("hellaswag", "arc", "arc_easy", "piqa", "mmlu"):
        if name not in published:
            continue
        if name == "arc_easy" and "arc" in benches:
            value, low, high, count = row(name, benches["arc"]["subsets"]["arc_easy"])
        elif name in benches:
            value, low, high, count = arc_mean(benches[name]) if name == "arc" else row(name, benches[name])
        else:
            continue
        number = published[name]
        ok = "yes" if low <= number <= high or abs(value - number) <= 2 else "no"
        lines.append(f"| {name} | {number:.1f} | {value:.1f} | [{low:.1f}, {high:.1f}] | {count} | {ok} |")
    for name in ("arc",):
        if name in benches:
            for subset, group in benches[name]["subsets"].items():
                v = group["metrics"]
                lines.append(
                    f"|   {subset} | | {v[METRIC] * 100:.1f} (acc {v['acc'] * 100:.1f}) | | {group['count']} | |"
                )
    for name in ("piqa", "mmlu", "hellaswag"):
        if name in benches:
            lines.append(f"|   {name} acc | | {benches[name]['metrics']['acc'] * 100:.1f} | | | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder of the release files (see docs/reproducing.md)",
    )
    parser.add_argument(
        "-n",
        type=int,
        default=150,
        help="rows per benchmark subset (seeded random sample)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hellaswag", type=Path, help="hellaswag_val.jsonl (not in ../shared/data)")
    parser.add_argument("--chat-template", choices=("on", "off", "both"), default="both")
    parser.add_argument("--model", choices=tuple(PUBLISHED), default="smollm2-135m")
    args = parser.parse_args()
    wanted = ["arc", "piqa", "mmlu"] if args.model == "smollm2-135m" else ["arc", "piqa"]
    marks = " or ".join(wanted + (["hellaswag"] if args.hellaswag else []))
    with tempfile.TemporaryDirectory(prefix="smollm2-repro-") as tmp:
        work = Path(tmp)
        datasets, bench_args = prepare(args.data, work, args.n, args.seed, args.hellaswag)
        settings = {"on": [True], "off": [False], "both": [True, False]}[args.chat_template]
        for chat in settings:
            data = run(work, datasets, bench_args, marks, chat, args.model)
            label = f"{args.model}, chat template {'on' if chat else 'off'}, n={args.n}, seed={args.seed}"
            print("\n".join(table(label, data, PUBLISHED[args.model])), flush=True)
            print(flush=True)


if __name__ == "__main__":
    main()
