"""GPQA Diamond: 198 graduate-level science questions written to defeat web search
(Idavidrein/gpqa, configuration `gpqa_diamond`, its only split `train`; gated: accept the terms on
the hub and log in, or pass a local copy with `--llm-dataset gpqa_diamond=PATH`).

Rows have `Question`, `Correct Answer`, `Incorrect Answer 1`..`3`, `Record ID`, `High-level domain`
and `Subdomain`. The dataset stores the right answer first, so the options must be shuffled. Here
the gold option of row i goes to position `(i + seed) % 4` and the three wrong ones fill the other
places in an order drawn from `random.Random("<seed>:<Record ID>")`. So the arrangement is fixed for
a given file and seed (runs are comparable and cacheable), and the gold letters are exactly
balanced: over the 198 rows, A/B/C/D are gold 50/50/49/49 times, so a model that always answers "A"
scores 25%, not 100%. `--llm-bench-arg gpqa_diamond.seed=N` gives another arrangement.
That is the `native` protocol's order. Under `evalscope` (the default) the options are arranged as
EvalScope 1.14.1 does, so the prompts are its own: the three wrong answers then the right one,
shuffled by `random.Random` seeded with the first 8 bytes (big-endian) of the SHA-256 of the stripped
question (fixed per question, but the gold letters are not balanced). Zero-shot chain-of-thought; acc.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

from ..scoring.choice import choice_letters
from .base import DatasetSource
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark
from .reference_prompts import MC_SINGLE_COT, mc_protocol
from .registry import register_benchmark


def arrange_options(correct: str, incorrect: list[str], index: int, seed: int, key: str) -> tuple[list[str], str]:
    """(options in prompt order, gold letter) for row `index`; see the module docstring."""
    wrong = list(incorrect)
    random.Random(f"{seed}:{key}").shuffle(wrong)
    position = (index + seed) % (len(wrong) + 1)
    options = [*wrong[:position], correct, *wrong[position:]]
    return options, choice_letters(len(options))[position]


def question_hash_order(question: str, correct: str, incorrect: list[str]) -> tuple[list[str], str]:
    """(options, gold letter) in the reference system's order; see the module docstring."""
    options = [*incorrect, correct]
    seed = int.from_bytes(hashlib.sha256(question.strip().encode("utf-8")).digest()[:8], "big")
    random.Random(seed).shuffle(options)
    return options, choice_letters(len(options))[options.index(correct)]


@register_benchmark
class GPQADiamond(MultipleChoiceBenchmark):
    name = "gpqa_diamond"
    description = "198 expert science MCQ, options shuffled with a fixed seed (gold letters balanced); acc."
    source = DatasetSource(
        path="Idavidrein/gpqa", config="gpqa_diamond", split="train", modelscope="AI-ModelScope/gpqa_diamond"
    )
    subsets = ("diamond",)
    tags = ("knowledge", "reasoning", "science", "mcq")
    default_args = {"seed": "0"}
    protocols = {
        "evalscope": mc_protocol(MC_SINGLE_COT, extra={"option_order": "question_hash"}),
        "native": NATIVE["en"],
    }

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        self.seed = self.int_arg("seed")

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        correct = str(record["Correct Answer"]).strip()
        incorrect = [str(record[f"Incorrect Answer {n}"]).strip() for n in (1, 2, 3)]
        key = str(record.get("Record ID") or index)
        if self.protocol is not None and self.protocol.extra.get("option_order") == "question_hash":
            options, gold = question_hash_order(str(record["Question"]), correct, incorrect)
        else:
            options, gold = arrange_options(correct, incorrect, index, self.seed, key)
        return MCQRow(
            question=str(record["Question"]),
            choices=options,
            answer=gold,
            id=record.get("Record ID"),
            metadata={"domain": record.get("High-level domain"), "subdomain": record.get("Subdomain")},
        )
