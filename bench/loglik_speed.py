"""Log-likelihood scoring speed: this plugin beside lm-evaluation-harness's `local-completions`, same server, same rows.

    python bench/loglik_speed.py --data ../shared/data [-n 100] [--concurrency 4] [--rounds 2]
                                 [--model smollm2-135m] [--lm-eval-venv ~/.cache/pytest-llmeval/lmeval-venv]

One embedded llama.cpp server (the plugin's launcher, `endpoint/llama_serve.py`) is started once and
both tools score the first N rows of ARC-Easy (`arc_easy_test.jsonl`, 4 choices: 4 completion
requests per sample) against it, alternately, `--rounds` times each (the machine is shared: the
alternation spreads load changes over both). Each run is a fresh process with its cache off, timed
from start to exit; samples/s = N / wall seconds. Printed: each run, the best of each tool, the ratio
(ours / lm-eval, higher is faster) and both tools' acc / acc_norm on the rows (they should agree: same
server, same prompts).

lm-eval runs from its own venv (`--lm-eval-venv`, made by `python -m venv` + `pip install
"lm-eval[api]==0.4.13" transformers gguf sentencepiece`), with a task file written here that is its
`arc_easy` task reading the local jsonl, `--model local-completions` with `tokenized_requests=False`,
and the model's tokenizer rebuilt from the GGUF's vocabulary and merges with `tokenizers` (SmolLM2's
byte-level BPE with single digits; transformers' own GGUF reader needs torch): lm-eval counts the
context's tokens with it to find the continuation (`token_logprobs[ctxlen:-1]`). SmolLM2 only (Gemma's
tokenizer is SentencePiece). The same `num_concurrent` as our `--llm-concurrency`.
Tests never run this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASK = """task: arc_easy_local
dataset_path: json
dataset_kwargs:
  data_files:
    test: {path}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{choices.label.index(answerKey)}}}}"
doc_to_choice: "{{{{choices.text}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""

TOKENIZER = """
import sys
from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

reader = GGUFReader(sys.argv[1])
def strings(key):
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
tokens = strings("tokenizer.ggml.tokens")
merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
bpe = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
bpe.pre_tokenizer = pre_tokenizers.Sequence(
    [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
)
bpe.decoder = decoders.ByteLevel()
PreTrainedTokenizerFast(tokenizer_object=bpe).save_pretrained(sys.argv[2])
"""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ours(work: Path, url: str, model: str, rows: Path, concurrency: int, label: str) -> tuple[float, dict[str, float]]:
    results = work / f"ours-{label}.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
               "--rootdir", str(work), "--llm-model", model, "--llm-base-url", url, "-m", "arc",
               "--llm-output-type", "multiple_choice", "--llm-dataset", f"arc.arc_easy={rows}",
               "--llm-bench-arg", "arc.subset_list=arc_easy", "--llm-no-cache", "--llm-concurrency", str(concurrency),
               "--llm-results", str(results), "--llm-show-failures", "0",
               "--llm-samples", str(work / f"ours-{label}.jsonl")]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if not results.exists():
        raise SystemExit(f"our run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    metrics = json.loads(results.read_text())["benchmarks"]["arc"]["metrics"]
    return wall, {"acc": metrics["acc"], "acc_norm": metrics["acc_norm"]}


def our_sums(path: Path) -> dict[str, list[float]]:
    """Row id -> each choice's summed log-probability, from our samples file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out[str(record["id"])] = [c["logprob"] for c in record["choice_logprobs"]]
    return out


def lm_eval_sums(folder: Path) -> dict[str, list[float]]:
    """Row id -> each choice's log-likelihood, from lm-eval's --log_samples file."""
    out = {}
    for path in folder.rglob("samples_arc_easy_local_*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out[str(record["doc"]["id"])] = [float(r[0][0]) for r in record["resps"]]
    return out


def lm_eval(work: Path, venv: Path, url: str, model: str, tokenizer: Path, concurrency: int,
            label: str) -> tuple[float, dict[str, float]]:  # fmt: skip
    out = work / f"lm-eval-{label}"
    model_args = (f"model={model},base_url={url}/completions,tokenizer={tokenizer},num_concurrent={concurrency},"
                  "tokenized_requests=False,max_retries=3")  # fmt: skip
    command = [str(venv / "bin" / "lm_eval"), "--model", "local-completions", "--model_args", model_args,
               "--tasks", "arc_easy_local", "--include_path", str(work / "tasks"),
               "--output_path", str(out), "--log_samples"]  # fmt: skip
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - started
    found = sorted(out.rglob("results_*.json"))
    if done.returncode != 0 or not found:
        raise SystemExit(f"lm-eval failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    task = json.loads(found[-1].read_text())["results"]["arc_easy_local"]
    return wall, {"acc": task["acc,none"], "acc_norm": task["acc_norm,none"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding arc_easy_test.jsonl")
    parser.add_argument("-n", type=int, default=100, help="ARC-Easy rows (the first N)")
    parser.add_argument("--concurrency", type=int, default=4, help="--llm-concurrency and lm-eval's num_concurrent")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--work", type=Path, help="keep the rows, task file, samples and results here")
    parser.add_argument("--lm-eval-venv", type=Path, default=Path.home() / ".cache" / "pytest-llmeval" / "lmeval-venv")
    args = parser.parse_args()
    from pytest_llmeval.endpoint.local_models import llama_server_command, resolve_local_model
    from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec

    local = resolve_local_model(args.model)
    with tempfile.TemporaryDirectory(prefix="loglik-speed-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        rows = work / "arc_easy.jsonl"
        rows.write_text(
            "".join(json.dumps(r) + "\n" for r in read_jsonl(args.data / "arc_easy_test.jsonl")[: args.n]),
            encoding="utf-8",
        )
        (work / "tasks").mkdir(exist_ok=True)
        (work / "tasks" / "arc_easy_local.yaml").write_text(TASK.format(path=rows), encoding="utf-8")
        tokenizer = args.lm_eval_venv / f"tokenizer-{local.alias}"
        if not (tokenizer / "tokenizer_config.json").exists():
            python = str(args.lm_eval_venv / "bin" / "python")
            subprocess.run([python, "-c", TOKENIZER, str(local.path), str(tokenizer)], check=True)
        spec = ServerSpec(command=llama_server_command(local), model=local.served_name)
        with ManagedServer(spec) as server:
            url = server.base_url
            figures: dict[str, list[float]] = {"ours": [], "lm-eval": []}
            scores: dict[str, dict[str, float]] = {}
            for round_ in range(args.rounds):
                for tool in ("ours", "lm-eval"):
                    if tool == "ours":
                        wall, scores[tool] = ours(work, url, local.served_name, rows, args.concurrency, str(round_))
                    else:
                        wall, scores[tool] = lm_eval(work, args.lm_eval_venv, url, local.served_name, tokenizer,
                                                     args.concurrency, str(round_))  # fmt: skip
                    figures[tool].append(args.n / wall)
                    print(f"round {round_ + 1} {tool:8s} {wall:7.1f} s  {args.n / wall:6.2f} samples/s", flush=True)
            mine, theirs = our_sums(work / "ours-0.jsonl"), lm_eval_sums(work / "lm-eval-0")
    shared = sorted(set(mine) & set(theirs))
    gaps = [abs(a - b) for key in shared for a, b in zip(mine[key], theirs[key], strict=True)]
    best = {tool: max(values) for tool, values in figures.items()}
    print(f"\n{args.n} ARC-Easy rows ({4 * args.n} requests), concurrency {args.concurrency}, {args.model}")
    for tool in ("ours", "lm-eval"):
        s = scores[tool]
        print(f"{tool:8s} best {best[tool]:6.2f} samples/s   acc {s['acc']:.4f}  acc_norm {s['acc_norm']:.4f}")
    print(f"ratio ours / lm-eval (best of {args.rounds}): {best['ours'] / best['lm-eval']:.2f}x")
    if gaps:
        close = sum(g <= 1e-3 for g in gaps)
        print(f"per-choice sums, same rows: {close} of {len(gaps)} within 1e-3, largest difference {max(gaps):.4f}")


if __name__ == "__main__":
    main()
