"""MATH-500: the 500-problem MATH test subset of "Let's Verify Step by Step"
(HuggingFaceH4/MATH-500, test split).

Rows have `problem`, `solution`, `answer` (the reference final answer, LaTeX), `subject`, `level`
(1-5) and `unique_id` (`test/precalculus/807.json`, used as the sample id `test_precalculus_807`).
Subsets are the levels, `level1`..`level5` (`-m level5`). The subject is in the sample's metadata;
marks are per subset, so `-m algebra` is not possible, but each sample also reports
`acc_<subject>` (`acc_algebra`, `acc_counting_and_probability`, `acc_geometry`,
`acc_intermediate_algebra`, `acc_number_theory`, `acc_prealgebra`, `acc_precalculus`), averaged over
that subject's samples, so results carry per-subject accuracy (see `breakdown.py`).
Scoring: last `\\boxed{}` of the output, `math_equal` against `answer` (see `mathqa.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import DatasetSource, RecordLoader, Sample
from .breakdown import breakdown_names
from .mathqa import MATH_PROMPT, BoxedMathBenchmark, breakdown_label
from .protocols import Protocol
from .reference_prompts import BOXED_SUFFIX, SOURCE
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, QUESTION_FIELDS, first_field, records_for_label, required_text, safe_sample_id

MATH_SUBJECTS = (
    "Algebra",
    "Counting & Probability",
    "Geometry",
    "Intermediate Algebra",
    "Number Theory",
    "Prealgebra",
    "Precalculus",
)


@register_benchmark
class Math500(BoxedMathBenchmark):
    name = "math_500"
    description = "500 MATH competition problems, subsets by level 1-5; boxed answer, math_equal; acc (+ per subject)."
    source = DatasetSource(
        path="HuggingFaceH4/MATH-500",
        split="test",
        subset_mode="field",
        subset_field="level",
        modelscope="AI-ModelScope/MATH-500",
    )
    subsets = tuple(f"level{n}" for n in range(1, 6))
    tags = ("math", "reasoning")
    metrics = ("acc", *breakdown_names("acc", (breakdown_label(s) for s in MATH_SUBJECTS)))
    protocols = {
        "evalscope": Protocol(name="evalscope", template=BOXED_SUFFIX, source=SOURCE),
        "native": Protocol(name="native", template=MATH_PROMPT, source="pytest-llmbench"),
    }

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        label = subset.removeprefix("level")  # the dataset's level field holds 1..5
        for index, (record, where) in enumerate(records_for_label(self, subset, label, loader)):
            yield loader.to_sample(self, record, index, subset, where)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        subject = str(record.get("subject") or "").strip()
        answer = required_text(record, ANSWER_FIELDS)
        problem = str(first_field(record, QUESTION_FIELDS))
        return Sample(
            id=safe_sample_id(record.get("unique_id"), index),
            subset=subset,
            input=self.protocol.render({"question": problem, "problem": problem.strip()}),  # type: ignore[union-attr]
            target=answer,
            metadata={
                "question": problem,
                "subject": subject,
                "level": record.get("level"),
                "breakdown": [breakdown_label(subject)] if subject else [],
            },
        )
