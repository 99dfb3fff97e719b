"""The shared shape of the math benchmarks: a step-by-step prompt with a `\\boxed{}` final answer.

* `BoxedMathBenchmark` (MATH-500, competition_math): the prediction is the content of the LAST
  `\\boxed{}` (or `\\fbox{}`) of the model's answer (a new `Problem:` turn the model invents after
  a box is ignored, `scoring.cues`); without a box, what follows the last "the answer is" / "Final
  answer:", else the last `$...$` expression, as the reference system reads it
  (`scoring.math_equiv.final_math_answer`; that last fallback is not explicit, so it does not count
  on an output cut off at max_tokens). An output with none of them fails ("no answer").
  Equality is `execution.symbolic.math_equal`: exact numbers (`1/2` = `0.5`), then symbolic
  equivalence through math-verify (`\\sqrt{8}` = `2\\sqrt{2}`, set order ignored, interval ends
  kept), at most 2 s per comparison (a timeout is a `scorer_timeout` error, never wrong).
* `AIMEBenchmark` (AIME 2024/2025): the answer is an integer 0-999, read by
  `scoring.math_equiv.aime_answer` (the last box if any, else the number after "answer is", else
  the last number); `\\boxed{033}` equals 33.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..execution.symbolic import math_equal
from ..scoring.boxed import last_boxed
from ..scoring.cues import final_boxed
from ..scoring.efficiency import stated_answer
from ..scoring.math_equiv import aime_answer, final_math_answer
from ..scoring.numeric import find_final_number
from .base import Benchmark, Sample, Score
from .breakdown import mean_over_carriers, with_breakdown
from .protocols import Protocol
from .reference_prompts import AIME, SOURCE
from .rows import ANSWER_FIELDS, QUESTION_FIELDS, first_field, required_text, safe_sample_id

MATH_PROMPT = (
    "Solve the following math problem. Work through it step by step, then write the final answer "
    "inside \\boxed{{}}.\n\n{problem}"
)
AIME_PROTOCOLS = {
    "evalscope": Protocol(name="evalscope", template=AIME, source=SOURCE),
    "native": Protocol(name="native", template=MATH_PROMPT, source="pytest-llmbench"),
}


def breakdown_label(text: str) -> str:
    """`Counting & Probability` -> `counting_and_probability`, `Level 3` -> `level3`."""
    words = text.replace("&", " and ").lower().split()
    if len(words) == 2 and words[0] == "level":
        return f"level{words[1]}"
    return "_".join(words)


class BoxedMathBenchmark(Benchmark):
    task_type = "math"

    def score(self, sample: Sample, output: str) -> Score:
        extracted, cue = final_math_answer(output)
        if extracted is None:
            return Score(
                passed=False,
                metrics=with_breakdown({"acc": 0.0}, sample),
                extracted=None,
                explanation='no answer in the output (no \\boxed{}, no "the answer is", no $...$ expression)',
            )
        passed = math_equal(extracted, str(sample.target))
        return Score(
            passed=passed,
            metrics=with_breakdown({"acc": float(passed)}, sample),
            extracted=extracted,
            explicit=cue != "last expression",
        )

    def reasoning_answer(self, sample: Sample, text: str) -> str | None:
        """Thinking traces rarely box intermediate answers: the last `\\boxed{}` of the text, else
        the last answer it states ("the answer is X", "= X." — `scoring.efficiency.stated_answer`)."""
        return last_boxed(text) or stated_answer(text)

    def reasoning_answer_correct(self, sample: Sample, answer: str) -> bool:
        return math_equal(answer, str(sample.target))

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        return mean_over_carriers(per_sample)


def aime_target(value: object) -> str:
    """The gold AIME answer as a canonical integer string (`"033"` -> `"33"`); ValueError otherwise."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = -1.0
    if not number.is_integer() or not 0 <= number <= 999:
        raise ValueError(f"AIME answers are integers 0-999, got {value!r}")
    return str(int(number))


class AIMEBenchmark(Benchmark):
    task_type = "math"
    tags = ("math", "reasoning", "competition")
    protocols = AIME_PROTOCOLS
    # row fields kept in each sample's metadata beside the question (AIME 2024's `url`)
    row_fields: ClassVar[tuple[str, ...]] = ()

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        raw = str(first_field(record, QUESTION_FIELDS))  # mirrors use question/problem/Problem
        problem = raw.strip()
        return Sample(
            id=safe_sample_id(record.get("id", record.get("ID")), index),
            subset=subset,
            input=self.protocol.render({"question": raw, "problem": problem}),  # type: ignore[union-attr]
            target=aime_target(required_text(record, ANSWER_FIELDS)),
            metadata={"question": problem, **{name: record.get(name) for name in self.row_fields}},
        )

    def score(self, sample: Sample, output: str) -> Score:
        value = aime_answer(output)
        passed = value is not None and str(value) == str(sample.target)
        return Score(
            passed=passed,
            metrics={"acc": float(passed)},
            extracted=None if value is None else str(value),
            explanation=None if value is not None else "no integer answer 0-999 found (expected it in \\boxed{})",
            explicit=final_boxed(output) is not None or find_final_number(output).explicit,
        )

    def reasoning_answer(self, sample: Sample, text: str) -> str | None:
        """Only an answer the text boxes or states counts: the scorer's last-number fallback would
        find the gold number among intermediate results."""
        return last_boxed(text) or stated_answer(text)

    def reasoning_answer_correct(self, sample: Sample, answer: str) -> bool:
        value = aime_answer(f"\\boxed{{{answer}}}")
        return value is not None and str(value) == str(sample.target)
