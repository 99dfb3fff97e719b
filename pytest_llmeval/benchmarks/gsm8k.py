"""GSM8K: grade-school math word problems (openai/gsm8k, config `main`, 1,319 test problems).

Prompt (see `protocols.py`): under `evalscope` (the default) the question, 4 solved examples from the
`train` split before it (`few_shot_num` changes the count) and the request to reason step by step
with the final answer in `\\boxed{}`, as EvalScope 1.14.1 sends it; under `native` the same request,
zero-shot. The target is the number after `####` in the answer field. The prediction is read by
`scoring.numeric.find_final_number`: GSM8K's own `#### N` marker and the last boxed answer are
explicit cues (the later wins), else the number after an explicit "answer is", else the last number
in the output. The answer ends at the first `#### N` line, and where the model starts inventing a new
`Question:` after an explicit cue, so `#### 18\\n\\nQuestion: … #### 7` gives 18. `1,000` equals
`1000`, `18.00` equals `18`, `−3` (U+2212) is -3 (see `scoring.normalize`). An output cut off at
max_tokens with no explicit cue scores as no answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..scoring.numeric import extract_gsm8k_target, find_final_number, numbers_equal
from .base import Benchmark, DatasetSource, RecordLoader, Sample, Score
from .fewshot import few_shot_num, few_shot_records
from .protocols import Protocol
from .reference_prompts import BOXED_SUFFIX, GSM8K_EXAMPLE, MATH_FEW_SHOT, SOURCE
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, QUESTION_FIELDS, first_field, required_text

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:/\d+)?")

PROMPT = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
PROTOCOLS = {
    "evalscope": Protocol(
        name="evalscope",
        template=BOXED_SUFFIX,
        source=SOURCE,
        few_shot_num=4,
        few_shot_template=MATH_FEW_SHOT + BOXED_SUFFIX,
        example_template=GSM8K_EXAMPLE,
    ),
    "native": Protocol(name="native", template=PROMPT, source="pytest-llmbench"),
}


def prompt_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """A row's template fields: `question` as given, `problem` stripped, and for a solved example
    `reasoning` (the answer text before `####`) and `answer` (the number after it)."""
    question = str(first_field(record, QUESTION_FIELDS))
    answer = str(first_field(record, ANSWER_FIELDS) or "")
    reasoning, _, final = answer.rpartition("####")
    return {"question": question, "problem": question.strip(), "reasoning": reasoning.strip(), "answer": final.strip()}


@register_benchmark
class GSM8K(Benchmark):
    name = "gsm8k"
    description = "Grade-school math word problems; exact numeric answer."
    source = DatasetSource(
        path="openai/gsm8k", config="main", split="test", few_shot_split="train", modelscope="AI-ModelScope/gsm8k"
    )
    subsets = ("main",)
    tags = ("math", "reasoning")
    metrics = ("acc",)
    task_type = "math"
    default_args = {"few_shot_num": "0"}  # the protocol's count unless given (evalscope: 4)
    protocols = PROTOCOLS

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        few_shot_num(self)  # a bad value is a usage error before any data is read
        self._examples: dict[str, list[dict[str, str]]] = {}

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        rows = few_shot_records(self, subset, loader, few_shot_num(self))
        self._examples[subset] = [prompt_fields(row) for row in rows]
        yield from super().load(subset, loader)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        # field aliases of real copies: `question`/`problem`/`Problem`, `answer`/`Answer`
        answer = required_text(record, ANSWER_FIELDS)
        target = extract_gsm8k_target(answer) if "####" in answer else answer
        if not _NUMBER.fullmatch(target.replace(",", "")):
            raise ValueError(
                f"the gold answer {target[-80:]!r} is not a number (GSM8K answers end with '#### <number>')"
            )
        fields = prompt_fields(record)
        examples = self._examples.get(subset, [])
        metadata: dict[str, Any] = {"question": fields["question"]}
        if examples:
            metadata["few_shot"] = len(examples)
        return Sample(
            id=str(record.get("id", f"{index:04d}")),
            subset=subset,
            input=self.protocol.render(fields, examples),  # type: ignore[union-attr]
            target=target,
            metadata=metadata,
        )

    def score(self, sample: Sample, output: str) -> Score:
        answer = find_final_number(output)
        extracted = answer.value
        passed = extracted is not None and numbers_equal(extracted, str(sample.target))
        return Score(
            passed=passed,
            metrics={"acc": float(passed)},
            extracted=extracted,
            explanation=None if extracted is not None else "no number found in the output",
            explicit=answer.explicit,
        )
