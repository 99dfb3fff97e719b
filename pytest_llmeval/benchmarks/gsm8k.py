"""GSM8K: grade-school math word problems (openai/gsm8k, config `main`, 1,319 test problems).

Zero-shot by default: the model is asked to reason step by step and put the final answer in
`\\boxed{}`. The target is the number after `####` in the answer field. The prediction is read by
`scoring.numeric.find_final_number`: GSM8K's own `#### N` marker and the last boxed answer are
explicit cues (the later wins), else the number after an explicit "answer is", else the last number
in the output. The answer ends at the first `#### N` line, and where the model starts inventing a new
`Question:` after an explicit cue, so `#### 18\\n\\nQuestion: … #### 7` gives 18. `1,000` equals
`1000`, `18.00` equals `18`, `−3` (U+2212) is -3 (see `scoring.normalize`). An output cut off at
max_tokens with no explicit cue scores as no answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..scoring.numeric import extract_gsm8k_target, find_final_number, numbers_equal
from .base import Benchmark, DatasetSource, Sample, Score
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, QUESTION_FIELDS, first_field, required_text

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:/\d+)?")

PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."


@register_benchmark
class GSM8K(Benchmark):
    name = "gsm8k"
    description = "Grade-school math word problems; exact numeric answer."
    source = DatasetSource(path="openai/gsm8k", config="main", split="test", modelscope="AI-ModelScope/gsm8k")
    subsets = ("main",)
    tags = ("math", "reasoning")
    metrics = ("acc",)
    task_type = "math"

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        # field aliases of real copies: `question`/`problem`/`Problem`, `answer`/`Answer`
        answer = required_text(record, ANSWER_FIELDS)
        target = extract_gsm8k_target(answer) if "####" in answer else answer
        if not _NUMBER.fullmatch(target.replace(",", "")):
            raise ValueError(f"the gold answer {target[-80:]!r} is not a number (GSM8K answers end with '#### <number>')")
        question = str(first_field(record, QUESTION_FIELDS))
        return Sample(
            id=str(record.get("id", f"{index:04d}")),
            subset=subset,
            input=PROMPT.format(question=question.strip()),
            target=target,
            metadata={"question": question},
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
