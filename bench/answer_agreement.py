"""Replay recorded model outputs to this plugin's parsers and to EvalScope's, and print per-benchmark agreement.

Each line of the input (JSONL, or the JSON list of `tests/scoring/data/reference_choice_cases.json`) is
one recorded multiple-choice output: `{"benchmark": "mmlu", "n": 4, "output": "...", "chinese": false,
"multiple": false, "target": "B"}` (`benchmark` and `target` optional). For every output it prints, per
benchmark, how often two readers pick the same letters:

* `strict~evalscope`: this plugin's default parser (`scoring.choice.find_choice`, then the option text)
  against EvalScope's;
* `reference~evalscope`: `--llm-answer-parser evalscope` (`scoring/reference_choice.py`) against
  EvalScope's — 100% is the point of that option;

and, where `target` is given, the accuracy each reader gives. EvalScope's verdicts come from the
`evalscope` field of the input when present (as recorded by `tools/record_evalscope_prompts.py`), or
from running EvalScope's parser in another interpreter (`--evalscope-python /tmp/evs-venv/bin/python`,
a venv with `pip install evalscope==1.14.1`); EvalScope is never imported here.

    python bench/answer_agreement.py tests/scoring/data/reference_choice_cases.json
    python bench/answer_agreement.py outputs.jsonl --evalscope-python /tmp/evs-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_llmeval.scoring.choice import choice_letters, find_choice, match_choice_text
from pytest_llmeval.scoring.reference_choice import reference_choice

# run in the EvalScope interpreter: its parser's letters for each record read from stdin
EVALSCOPE_PARSE = """
import json, sys
from evalscope.api.evaluator import Choices
from evalscope.utils.multi_choices import parse_answers, parse_answers_zh
class State:
    def __init__(self, n): self.choices = Choices([str(i) for i in range(n)])
out = []
for case in json.load(sys.stdin):
    parse = parse_answers_zh if case.get("chinese") else parse_answers
    out.append("".join(sorted(parse(State(case["n"]), multiple_correct=case.get("multiple", False),
                                    completion=case["output"]))))
print(json.dumps(out))
"""


def read_records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def evalscope_letters(records: list[dict[str, Any]], python: str | None) -> list[str]:
    if all("evalscope" in r for r in records):
        return [str(r["evalscope"]) for r in records]
    if not python:
        raise SystemExit("the input has no recorded `evalscope` verdicts: pass --evalscope-python PATH")
    done = subprocess.run(
        [python, "-c", EVALSCOPE_PARSE],
        input=json.dumps(records),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def strict_letters(record: dict[str, Any]) -> str:
    letters = choice_letters(record["n"])
    found = find_choice(record["output"], letters).letter
    if found is None and record.get("choices"):
        found = match_choice_text(record["output"], record["choices"], letters)
    return found or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--evalscope-python", help="an interpreter with evalscope==1.14.1 installed")
    args = parser.parse_args()
    records = read_records(args.path)
    theirs = evalscope_letters(records, args.evalscope_python)
    rows: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)
    for record, evs in zip(records, theirs, strict=True):
        letters = choice_letters(record["n"])
        ref = "".join(
            sorted(
                reference_choice(
                    record["output"],
                    letters,
                    chinese=record.get("chinese", False),
                    multiple=record.get("multiple", False),
                )
            )
        )
        rows[record.get("benchmark", "all")].append((strict_letters(record), ref, evs, record.get("target")))
    print(
        f"{'benchmark':<14}{'outputs':>8}{'strict~evalscope':>18}{'reference~evalscope':>21}"
        f"{'acc strict':>12}{'acc evalscope':>15}"
    )
    for name, items in sorted(rows.items()):
        count = len(items)
        strict_agree = sum(s == e for s, _, e, _ in items) / count
        ref_agree = sum(r == e for _, r, e, _ in items) / count
        graded = [(s, e, t) for s, _, e, t in items if t]
        n_graded = len(graded) or 1
        ours, reference = sum(s == t for s, _, t in graded) / n_graded, sum(e == t for _, e, t in graded) / n_graded
        acc = f"{ours:>12.3f}{reference:>15.3f}" if graded else f"{'-':>12}{'-':>15}"
        print(f"{name:<14}{count:>8}{strict_agree:>18.3f}{ref_agree:>21.3f}{acc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
