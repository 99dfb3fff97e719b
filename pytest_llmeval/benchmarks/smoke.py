"""smoke: 20 easy questions shipped with the plugin, for a first run and for deployment checks.

Needs no download: `pytest --llm-model smollm2-135m -m smoke` works offline. Subset `math` has ten
one-step word problems (numeric answer, scored like GSM8K); subset `mcq` has ten general-knowledge
multiple-choice questions (letter answer, the shared MCQ extractor). A capable model scores 1.0; a
failing deployment (broken chat template, truncated outputs) shows up at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..scoring.choice import choice_letters, find_choice, format_choices
from ..scoring.numeric import find_final_number, numbers_equal
from .base import Benchmark, RecordLoader, Sample, Score
from .loading import read_path
from .registry import register_benchmark

DATA = Path(__file__).parent / "data" / "smoke.jsonl"
MATH_PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
MCQ_PROMPT = (
    "Answer the following multiple-choice question. Finish with a line of the form 'Answer: X' where X is "
    "the letter of the correct option.\n\n{question}\n\n{choices}"
)


@register_benchmark
class Smoke(Benchmark):
    name = "smoke"
    description = "20 easy built-in questions (math, mcq): a first run and a deployment check, no download."
    subsets = ("math", "mcq")
    tags = ("builtin_data",)
    metrics = ("acc",)
    task_type = "smoke"

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        if loader.override(self.name, subset) is not None:
            yield from super().load(subset, loader)
            return
        index = 0
        for record, where in read_path(DATA):
            if record["subset"] == subset:
                yield loader.to_sample(self, record, index, subset, where)
                index += 1

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        question = str(record["question"])
        sample_id = str(record.get("id") or f"{index:04d}")
        if subset == "mcq":
            choices = [str(c) for c in record["choices"]]
            text = MCQ_PROMPT.format(question=question, choices=format_choices(choices))
            return Sample(
                id=sample_id,
                subset=subset,
                input=text,
                target=str(record["answer"]),
                choices=choices,
                metadata={"question": question},
            )
        return Sample(
            id=sample_id,
            subset=subset,
            input=MATH_PROMPT.format(question=question),
            target=str(record["answer"]),
            metadata={"question": question},
        )

    def score(self, sample: Sample, output: str) -> Score:
        if sample.choices:
            answer = find_choice(output, choice_letters(len(sample.choices)), sample.choices)
            extracted, explicit = answer.letter, answer.explicit
            passed = extracted == sample.target
        else:
            number = find_final_number(output)
            extracted, explicit = number.value, number.explicit
            passed = extracted is not None and numbers_equal(extracted, str(sample.target))
        return Score(passed=passed, metrics={"acc": float(passed)}, extracted=extracted, explicit=explicit)
