"""Reproduce a model card's log-likelihood rows (SmolLM2-135M-Instruct, Gemma 3 270M) with the embedded server.

    python bench/reproduce_smollm2.py --data ../shared/data [-n 150 | -n 0] [--seed 1]
        [--model smollm2-135m|gemma3-270m] [--chat-template on|off|both]
        [--benchmarks arc_easy,arc_challenge,piqa,winogrande,mmlu] [--hellaswag PATH/hellaswag_val.jsonl]
        [--bench-arg BENCH.KEY=VALUE ...] [--gguf PATH] [--threads 1] [--work DIR]

Reads the public release files (paths as arguments; docs/reproducing.md says where to get them):
ARC-Easy/Challenge test jsonl, PIQA `valid.jsonl` + `valid-labels.lst`, Winogrande `dev.jsonl`, an MMLU
test jsonl (`question`, `choices`, `answer`, subject in `subject` or `type`), and HellaSwag's
`hellaswag_val.jsonl` when given. Draws a seeded sample of N rows per benchmark (`-n 0`: the whole
split): the first N of one seeded permutation, except MMLU, stratified by subject (`stratified`).
Writes it in the same release layout and runs the plugin once per benchmark and chat-template
setting: `pytest -m BENCH --llm-model MODEL --llm-output-type multiple_choice --llm-base-url URL`,
against one embedded llama.cpp server (the plugin's own launcher and GGUF) that this script starts
with `--threads` threads (default 1: `serve` says why) and keeps for the whole run.

Options beyond the rows: `--chat-template on` wraps each context in the model's chat template (the
SmolLM2 card's setting), `both` runs each benchmark twice; `--bench-arg` is passed on as
`--llm-bench-arg` (e.g. `mmlu.cloze_subject=on`, SmolLM's subject line) and names the output files;
`--gguf PATH` serves another file of the same model (another quantisation; the card stays `--model`'s);
`--work DIR` keeps subsets, response cache, results and samples files in DIR. Rows run in
permutation order and every response is cached there, so an interrupted run resumes, and a rerun
with a smaller `-n` (the rows finished) is answered from the cache. `bench/compare_samples.py`
compares two samples files of DIR row by row (paired).

Prints published vs ours with 95% intervals: Wilson per benchmark (the plugin's own), and for ARC's
mean of two independent subsets the normal interval of the mean; beside it `acc`, acc_norm with the
leading space counted, acc_norm per token (recomputed from the samples file), rows and samples/s.

Published numbers: HuggingFaceTB/SmolLM2-135M-Instruct's card (lighteval, zero-shot, chat template on):
HellaSwag 40.9, ARC (mean of easy and challenge) 37.3, PIQA 66.3, MMLU cloze 29.3; google/gemma-3-270m's
card (pre-trained): PIQA 67.7 and ARC-e 57.7 zero-shot, HellaSwag 40.9 10-shot (needs the HellaSwag
release file and its train split for the shots). Winogrande has no zero-shot figure on either card
(Gemma's is 5-shot); it is measured for the record.
Tests never run this; it needs the `[local]` extra and minutes to hours of CPU.
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
    # google/gemma-3-270m's card (pre-trained model, zero-shot rows)
    "gemma3-270m": {"piqa": 67.7, "arc_easy": 57.7},
}
DEFAULT_BENCHMARKS = {
    "smollm2-135m": ("arc_easy", "arc_challenge", "piqa", "winogrande", "mmlu"),
    "gemma3-270m": ("arc_easy", "piqa"),
}
# which metric the cards report: normalised log-likelihood (lighteval's and lm-eval's acc_norm);
# Winogrande's partial scoring has one continuation, so acc_norm equals acc there
METRIC = "acc_norm"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def sample(rows: list[Any], n: int, rng: random.Random) -> list[Any]:
    """A seeded sample of n rows (n <= 0 or past the length: every row): the first n of one seeded
    permutation, in that order. A larger n keeps the rows of a smaller one, and the rows run in
    permutation order (the whole split too), so the answers an interrupted run cached are those of a
    smaller n's rows: a rerun with that n is answered from the cache."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    return [rows[i] for i in order[: n if 0 < n < len(rows) else len(rows)]]


def stratified(rows: list[dict[str, Any]], key: str, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """A seeded sample of n rows stratified by `key` (MMLU's subject): each stratum gets its share of
    n (largest remainder), drawn as the first rows of its own seeded permutation. MMLU needs it where
    the other benchmarks take a plain permutation prefix: the plugin runs MMLU subject by subject, so
    a prefix of an interrupted run would be the first subjects, not a sample of all."""
    if n <= 0 or n >= len(rows):
        return list(rows)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    names = sorted(groups)
    exact = {g: n * len(groups[g]) / len(rows) for g in names}
    quota = {g: int(exact[g]) for g in names}
    for g in sorted(names, key=lambda g: (quota[g] - exact[g], g))[: n - sum(quota.values())]:
        quota[g] += 1
    picked: list[dict[str, Any]] = []
    for g in names:
        picked += sample(groups[g], quota[g], rng) if quota[g] else []
    return picked


def prepare(name: str, data: Path, work: Path, n: int, seed: int, hellaswag: Path | None) -> tuple[str, list[str]]:
    """The release-layout subset of one benchmark in `work`: (-m mark, --llm-dataset / --llm-bench-arg args)."""
    rng = random.Random(f"{seed}:{name}")  # one stream per benchmark: adding one leaves the others' rows
    folder = work / name
    if name in ("arc_easy", "arc_challenge"):
        write_jsonl(folder / "test.jsonl", sample(read_jsonl(data / f"{name}_test.jsonl"), n, rng))
        return "arc", [
            "--llm-dataset",
            f"arc.{name}={folder / 'test.jsonl'}",
            "--llm-bench-arg",
            f"arc.subset_list={name}",
        ]
    if name == "piqa":  # as released: rows and labels in two files, line by line
        rows = read_jsonl(data / "piqa_valid.jsonl")
        labels = (data / "piqa_valid-labels.lst").read_text(encoding="utf-8").split()
        picked = sample(list(zip(rows, labels, strict=True)), n, rng)
        write_jsonl(folder / "valid.jsonl", [r for r, _ in picked])
        (folder / "valid-labels.lst").write_text("".join(f"{label}\n" for _, label in picked), encoding="utf-8")
        return "piqa", ["--llm-dataset", f"piqa={folder}"]
    if name == "winogrande":
        write_jsonl(folder / "dev.jsonl", sample(read_jsonl(data / "winogrande_dev.jsonl"), n, rng))
        return "winogrande", ["--llm-dataset", f"winogrande={folder / 'dev.jsonl'}"]
    if name == "mmlu":
        rows = [{**r, "subject": r.get("subject") or r.get("type")} for r in read_jsonl(data / "mmlu_stem_test.jsonl")]
        picked = stratified(rows, "subject", n, rng)
        write_jsonl(folder / "test.jsonl", picked)
        subjects = ",".join(sorted({r["subject"] for r in picked}))
        return "mmlu", [
            "--llm-dataset",
            f"mmlu={folder / 'test.jsonl'}",
            "--llm-bench-arg",
            f"mmlu.subset_list={subjects}",
        ]
    if name == "hellaswag":
        if hellaswag is None:
            raise SystemExit("hellaswag needs --hellaswag PATH/hellaswag_val.jsonl (the release file)")
        write_jsonl(folder / "hellaswag_val.jsonl", sample(read_jsonl(hellaswag), n, rng))
        return "hellaswag", ["--llm-dataset", f"hellaswag={folder / 'hellaswag_val.jsonl'}"]
    raise SystemExit(f"unknown benchmark {name!r}")


def serve(model: str, threads: int) -> Any:
    """Start the plugin's embedded llama.cpp server for `model` once, with `threads` threads (0: every
    CPU, the plugin's default), for every benchmark of this run; the caller stops it.

    Why not let each pytest run start it: the thread count. On a shared, oversubscribed CPU llama.cpp's
    threads wait for each other at every operation, so two threads were 7x slower than one (measured:
    ARC prompts, 2 cores, load average 26: 18.5 s wall and 3.6 s CPU per request with 2 threads, 2.5 s
    and 0.5 s with 1). The scores do not depend on it (the model and prompts are the same)."""
    from pytest_llmeval.endpoint.local_models import llama_server_command, resolve_local_model
    from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec, free_port

    local = resolve_local_model(model)
    command = llama_server_command(local, n_threads=threads or None)  # a {port} placeholder, filled at start
    spec = ServerSpec(command=command, model=local.served_name, port=free_port(), ready_timeout_s=600)
    return ManagedServer(spec).start()


def label_of(model: str, name: str, chat_template: bool, extra: list[str]) -> str:
    """The name of a run's results and samples files: model, benchmark, template, and any extra
    `--bench-arg` of that benchmark (so runs that differ only in one keep their own files)."""
    return "-".join([model, name, "chat" if chat_template else "plain", *(a.split(".", 1)[1] for a in extra)])


def run(
    work: Path, name: str, mark: str, args: list[str], chat_template: bool, model: str, label: str
) -> dict[str, Any]:
    results = work / f"results-{label}.json"
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-q",
               "--rootdir", str(work), "--llm-model", model, "--llm-output-type", "multiple_choice",
               "--llm-cache-dir", str(work / "cache"), "--llm-results", str(results),
               "--llm-samples", str(work / f"samples-{label}.jsonl"), "-m", mark,
               "--llm-show-failures", "0", *args]  # fmt: skip
    if chat_template:
        command += ["--llm-bench-arg", f"{mark}.chat_template=on"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    if not results.exists():
        raise SystemExit(f"the run failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(results.read_text())
    data["_seconds"] = time.perf_counter() - started
    return data


def lighteval_norm(samples: Path, subset: str | None, per: str = "char") -> float | None:
    """acc_norm as lighteval counts it, recomputed from the samples file's per-choice sums, in points:
    `per="char"`: `LogProbCharNorm()` (the choice's leading space included; ours and lm-eval's leave it
    out); `per="token"`: `LogProbTokenNorm()` (divided by the continuation's token count). SmolLM's
    evaluation tasks report both."""
    if not samples.exists():
        return None
    hits = total = 0
    for line in samples.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        choices = record.get("choice_logprobs")
        if not choices or (subset and record.get("subset") != subset) or not isinstance(record.get("target"), str):
            continue
        sizes = [len(c["continuation"]) if per == "char" else c["tokens"] for c in choices]
        scores = [c["logprob"] / max(size, 1) for c, size in zip(choices, sizes, strict=True)]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        hits += best == ord(record["target"]) - ord("A")
        total += 1
    return 100 * hits / total if total else None


def figures(group: dict[str, Any]) -> tuple[float, float, float, int]:
    """(value, 95% low, high, rows) of METRIC, in points (Wilson, from the plugin)."""
    u = group["uncertainty"][METRIC]
    return group["metrics"][METRIC] * 100, u["ci_low"] * 100, u["ci_high"] * 100, group["count"]


def mean_of_two(groups: list[dict[str, Any]]) -> tuple[float, float, float, int]:
    """ARC's published row: the mean of Easy and Challenge, normal interval of the mean."""
    values = [g["metrics"][METRIC] for g in groups]
    ses = [math.sqrt(v * (1 - v) / g["count"]) for v, g in zip(values, groups, strict=True)]
    mean, se = sum(values) / 2, math.sqrt(ses[0] ** 2 + ses[1] ** 2) / 2
    return mean * 100, (mean - 1.96 * se) * 100, (mean + 1.96 * se) * 100, sum(g["count"] for g in groups)


def line(name: str, published: float | None, value: tuple[float, float, float, int],
         others: tuple[float | None, ...], seconds: float | None) -> str:  # fmt: skip
    v, low, high, count = value
    ok = "" if published is None else ("yes" if low <= published <= high or abs(v - published) <= 2 else "no")
    speed = f"{count / seconds:.2f}" if seconds else ""
    shown = "" if published is None else f"{published:.1f}"
    texts = " | ".join("" if x is None else f"{x:.1f}" for x in others)
    return f"| {name} | {shown} | {v:.1f} | [{low:.1f}, {high:.1f}] | {texts} | {count} | {ok} | {speed} |"


HEADER = [
    f"| row | published | ours ({METRIC}) | 95% interval | acc | acc_norm, space counted (lighteval) "
    "| acc_norm per token (lighteval) | rows | inside or within 2 points | samples/s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the release files (docs/reproducing.md)")
    parser.add_argument("-n", type=int, default=150, help="rows per benchmark (seeded random sample; 0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hellaswag", type=Path, help="hellaswag_val.jsonl (not in ../shared/data)")
    parser.add_argument("--chat-template", choices=("on", "off", "both"), default="off")
    parser.add_argument("--model", choices=tuple(PUBLISHED), default="smollm2-135m")
    parser.add_argument("--benchmarks", help="comma-separated (default: the model's card rows)")
    parser.add_argument("--work", type=Path, help="keep subsets, cache, results and samples here (resumable)")
    parser.add_argument("--gguf", type=Path, help="serve this GGUF instead of the model's shipped one (same card)")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads of the server (0: every CPU)")
    parser.add_argument("--bench-arg", action="append", default=[], metavar="BENCH.KEY=VALUE",
                        help="passed on as --llm-bench-arg (e.g. mmlu.cloze_subject=on); repeatable")  # fmt: skip
    args = parser.parse_args()
    names = args.benchmarks.split(",") if args.benchmarks else list(DEFAULT_BENCHMARKS[args.model])
    if args.hellaswag is not None and "hellaswag" not in names:
        names.append("hellaswag")
    published = PUBLISHED[args.model]
    served = str(args.gguf.resolve()) if args.gguf else args.model  # --llm-model: an alias or a .gguf path
    tag = args.gguf.stem if args.gguf else args.model
    server = serve(served, args.threads)
    with tempfile.TemporaryDirectory(prefix="repro-") as tmp, server:
        work = (args.work or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        for chat in {"on": [True], "off": [False], "both": [False, True]}[args.chat_template]:
            print(f"{tag}, chat template {'on' if chat else 'off'}, n={args.n or 'all'}, seed={args.seed}")
            print("\n".join(HEADER), flush=True)
            arc: dict[str, dict[str, Any]] = {}
            for name in names:
                mark, run_args = prepare(name, args.data, work, args.n, args.seed, args.hellaswag)
                mine = [a for a in args.bench_arg if a.startswith(f"{mark}.")]
                label = label_of(tag, name, chat, mine)
                run_args += [x for a in mine for x in ("--llm-bench-arg", a)]
                data = run(work, name, mark, [*run_args, "--llm-base-url", server.base_url], chat, served, label)
                bench = data["benchmarks"][mark]
                group = bench["subsets"][name] if mark == "arc" else bench
                if mark == "arc":
                    arc[name] = group
                samples = work / f"samples-{label}.jsonl"
                subset = name if mark == "arc" else None
                acc = group["metrics"].get("acc")
                others = (None if acc is None else acc * 100, lighteval_norm(samples, subset),
                          lighteval_norm(samples, subset, "token"))  # fmt: skip
                print(line(name, published.get(name), figures(group), others, data["_seconds"]), flush=True)
                if mark == "arc" and len(arc) == 2 and "arc" in published:
                    mean = mean_of_two(list(arc.values()))
                    print(line("arc (mean)", published["arc"], mean, (None, None, None), None), flush=True)
            print(flush=True)


if __name__ == "__main__":
    main()
