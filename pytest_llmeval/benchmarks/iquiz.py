"""IQuiz: IQ and EQ multiple-choice questions in Chinese (ModelScope `AI-ModelScope/IQuiz`).

Rows have `question`, `choices` (list of option texts), `answer` (the gold letter) and `level`.
Subsets `IQ` and `EQ` are dataset configurations. Under the `evalscope` protocol (the default) the
prompt is EvalScope 1.14.1's Chinese chain-of-thought template (options `A) text`, a last line
`答案：[LETTER]`); under `native` it asks for step-by-step analysis and a final line `答案是：X`. The
letter is read with the shared multiple-choice extractor (or the reference parser, see
`scoring.reference_choice`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..scoring.choice import choice_letters, find_choice, format_choices
from ..scoring.reference_choice import reference_choice
from .base import Benchmark, DatasetSource, Sample, Score
from .protocols import Fields, Protocol
from .reference_prompts import zh_protocol
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, required_text


def _native(fields: Fields, examples: Sequence[Fields]) -> str:
    return PROMPT.format(question=str(fields["question"]).strip(), choices=format_choices(fields["options"]))


PROMPT = (
    "回答下面的单项选择题。请先一步一步地分析，然后在最后一行按照“答案是：X”的格式给出答案，"
    "其中 X 是正确选项的字母。\n\n{question}\n\n{choices}"
)


@register_benchmark
class IQuiz(Benchmark):
    name = "iquiz"
    description = "Chinese IQ and EQ multiple-choice questions, chain-of-thought prompt."
    source = DatasetSource(
        path="AI-ModelScope/IQuiz",
        split="test",
        subset_mode="config",
        modelscope="AI-ModelScope/IQuiz",
        home="modelscope",
    )
    subsets = ("IQ", "EQ")
    tags = ("knowledge", "chinese", "mcq")
    metrics = ("acc",)
    task_type = "mcq"
    protocols = {
        "evalscope": zh_protocol(),
        "native": Protocol(name="native", renderer=_native, source="pytest-llmbench"),
    }

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
            input=self.protocol.render({"question": str(record["question"]), "options": choices}),  # type: ignore[union-attr]
            target=answer,
            choices=choices,
            metadata={"level": record.get("level"), "question": str(record["question"])},
        )

    def score(self, sample: Sample, output: str) -> Score:
        letters = choice_letters(len(sample.choices or []))
        if self.answer_parser == "evalscope":  # the reference parser, for reproducing its numbers
            picked = "".join(sorted(reference_choice(output, letters, chinese=True))) or None
            passed = picked == sample.target
            return Score(
                passed=passed,
                metrics={"acc": float(passed)},
                extracted=picked,
                explanation=None if picked else f"no option letter ({', '.join(letters)}) found in the output",
            )
        answer = find_choice(output, letters, sample.choices)
        passed = answer.letter == sample.target
        return Score(
            passed=passed,
            metrics={"acc": float(passed)},
            extracted=answer.letter,
            explanation=None if answer.letter else f"no option letter ({', '.join(letters)}) found in the output",
            explicit=answer.explicit,
        )
