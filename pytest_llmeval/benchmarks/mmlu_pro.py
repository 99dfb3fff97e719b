"""MMLU-Pro: 12,032 harder ten-option questions in 14 categories (TIGER-Lab/MMLU-Pro, test split).

Rows have `question_id`, `question`, `options` (up to 10 texts; some questions have fewer),
`answer` (gold letter), `answer_index`, `cot_content`, `category` and `src`. The category field
makes the subsets; their names are made mark-friendly, the only change being
`computer science` -> `computer_science` (`-m computer_science`). A local file keeps the real
category values; a folder of per-subset files may use either name (`computer_science.jsonl`).

Under the `evalscope` protocol (the default) the prompt is EvalScope 1.14.1's: the category's 5 rows of
the `validation` split with their worked solutions (`cot_content`, "The answer is (X)" as "ANSWER: X"),
then the question. Under `native`: zero-shot chain-of-thought, asking for `Answer: X` with X among as
many letters as the question has options; `few_shot_num=5` adds the worked examples in its own format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .protocols import Protocol
from .reference_prompts import MMLU_PRO_EXAMPLE, MMLU_PRO_EXAMPLES, MMLU_PRO_USER, SOURCE, mmlu_pro_cot
from .registry import register_benchmark

# subset (mark name) -> the dataset's category value
CATEGORIES: dict[str, str] = {
    "biology": "biology",
    "business": "business",
    "chemistry": "chemistry",
    "computer_science": "computer science",
    "economics": "economics",
    "engineering": "engineering",
    "health": "health",
    "history": "history",
    "law": "law",
    "math": "math",
    "other": "other",
    "philosophy": "philosophy",
    "physics": "physics",
    "psychology": "psychology",
}

_COT_PREFIX = re.compile(r"^\s*A:\s*")
_COT_ANSWER = re.compile(r"\s*The answer is \(?[A-J]\)?\.?\s*$")


@register_benchmark
class MMLUPro(MultipleChoiceBenchmark):
    name = "mmlu_pro"
    description = "14-category MCQ with up to 10 options (A-J), 0-shot CoT; acc."
    source = DatasetSource(
        path="TIGER-Lab/MMLU-Pro",
        split="test",
        few_shot_split="validation",
        subset_mode="field",
        subset_field="category",
        modelscope="TIGER-Lab/MMLU-Pro",
    )
    subsets = tuple(CATEGORIES)
    subset_labels = CATEGORIES
    tags = ("knowledge", "reasoning", "mcq")
    default_args = {"few_shot_num": "0"}  # the protocol's count unless given (evalscope: 5)
    max_few_shot = 5
    protocols = {
        "evalscope": Protocol(
            name="evalscope",
            template=MMLU_PRO_USER,
            source=SOURCE,
            few_shot_num=5,
            few_shot_template=MMLU_PRO_EXAMPLES + "\n" + MMLU_PRO_USER,
            example_template=MMLU_PRO_EXAMPLE,
            example_choice_template="{letter} {text}",
        ),
        "native": NATIVE["en"],
    }

    def subset_label(self, subset: str) -> str:
        return CATEGORIES.get(subset, subset)

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        options = [str(o) for o in record["options"]]
        answer = record.get("answer")
        if answer in (None, "") and record.get("answer_index") is not None:
            answer = int(record["answer_index"])
        cot = str(record.get("cot_content") or "")
        reasoning = _COT_ANSWER.sub("", _COT_PREFIX.sub("", cot)).strip() or None
        return MCQRow(
            question=str(record["question"]),
            choices=options,
            answer=answer_letter(answer, len(options)),
            id=record.get("question_id"),
            reasoning=reasoning,
            metadata={"category": record.get("category"), "src": record.get("src"), "cot_content": cot},
        )

    def prompt_fields(self, row: MCQRow, subset: str) -> dict[str, Any]:
        """Adds `subject` (the category in lower case) and `cot` (the worked solution, reference style)."""
        subject = str(row.metadata.get("category") or self.subset_label(subset)).lower()
        return {
            **super().prompt_fields(row, subset),
            "subject": subject,
            "cot": mmlu_pro_cot(str(row.metadata.get("cot_content") or "")),
        }
