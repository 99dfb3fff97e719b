"""IQuiz: IQ and EQ multiple-choice questions in Chinese (ModelScope `AI-ModelScope/IQuiz`).

Rows have `question`, `choices` (list of option texts), `answer` (the gold letter) and `level`.
Subsets `IQ` and `EQ` are dataset configurations. The prompt asks for step-by-step analysis and a
final line `答案是：X`; the letter is read with the shared multiple-choice extractor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scoring.choice import choice_letters, find_choice, format_choices
from .base import Benchmark, DatasetSource, Sample, Score
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, required_text

PROMPT = (
    "回答下面的单项选择题。请先一步一步地分析，然后在最后一行按照“答案是：X”的格式给出答案，"
    "其中 X 是正确选项的字母。\n\n{question}\n\n{choices}"
)


@register_benchmark
class IQuiz(Benchmark):
    name = "iquiz"
    description = "Chinese IQ and EQ multiple-choice questions, chain-of-thought prompt."
    source = DatasetSource(
        path="AI-ModelScope/IQuiz", split="test", subset_mode="config", modelscope="AI-ModelScope/IQuiz",
        home="modelscope",
    )
    subsets = ("IQ", "EQ")
    tags = ("knowledge", "chinese", "mcq")
    metrics = ("acc",)
    task_type = "mcq"

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        choices = [str(c) for c in record["choices"]]
        if not 2 <= len(choices) <= 10:
            raise ValueError(f"expected 2-10 choices, got {len(choices)}")
        answer = required_text(record, ANSWER_FIELDS).upper()
        if answer not in choice_letters(len(choices)):
            raise ValueError(f"answer {answer!r} is not one of the {len(choices)} choice letters")
        return Sample(
            id=str(record.get("id", f"{index:04d}")),
            subset=subset,
            input=PROMPT.format(question=str(record["question"]).strip(), choices=format_choices(choices)),
            target=answer,
            choices=choices,
            metadata={"level": record.get("level"), "question": str(record["question"])},
        )

    def score(self, sample: Sample, output: str) -> Score:
        letters = choice_letters(len(sample.choices or []))
        answer = find_choice(output, letters, sample.choices)
        passed = answer.letter == sample.target
        return Score(
            passed=passed,
            metrics={"acc": float(passed)},
            extracted=answer.letter,
            explanation=None if answer.letter else f"no option letter ({', '.join(letters)}) found in the output",
            explicit=answer.explicit,
        )
