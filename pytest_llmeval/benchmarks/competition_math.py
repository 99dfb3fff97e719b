"""MATH (competition_math): 5,000 competition problems in 7 subjects (EleutherAI/hendrycks_math,
test split; each subject is a configuration; the original hendrycks/competition_math is no longer
downloadable).

Rows have `problem`, `level` (`Level 1`..`Level 5`, a few `Level ?`), `type` (the subject, e.g.
`Counting & Probability`) and `solution`; the reference answer is the last `\\boxed{}` of the
solution. Subsets are the subjects (`algebra`, `counting_and_probability`, `geometry`,
`intermediate_algebra`, `number_theory`, `prealgebra`, `precalculus`); each sample also reports
`acc_level1`..`acc_level5` for its level, so results carry per-level accuracy. A single local file
of all subjects (the original dataset's layout) is split on its `type` field.
Scoring: last `\\boxed{}` of the output, `math_equal` (see `mathqa.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..scoring.math_equiv import last_boxed
from .base import DatasetSource, RecordLoader, Sample
from .breakdown import breakdown_names
from .loading import read_path
from .math_500 import MATH_SUBJECTS
from .mathqa import MATH_PROMPT, BoxedMathBenchmark, breakdown_label
from .protocols import Protocol
from .reference_prompts import COMPETITION_MATH, SOURCE
from .registry import register_benchmark
from .rows import QUESTION_FIELDS, first_field, split_of


@register_benchmark
class CompetitionMath(BoxedMathBenchmark):
    name = "competition_math"
    description = "MATH test set (5,000), subsets by subject; boxed answer, math_equal; acc (+ per level)."
    source = DatasetSource(
        path="EleutherAI/hendrycks_math",
        split="test",
        subset_mode="config",
        subset_field="type",
        modelscope="evalscope/competition_math",
    )
    subsets = tuple(breakdown_label(s) for s in MATH_SUBJECTS)
    tags = ("math", "reasoning")
    metrics = ("acc", *breakdown_names("acc", (f"level{n}" for n in range(1, 6))))
    # evalscope: its zero-shot template (its default adds 4 solved train rows of the same level)
    protocols = {
        "evalscope": Protocol(name="evalscope", template=COMPETITION_MATH, source=SOURCE),
        "native": Protocol(name="native", template=MATH_PROMPT, source="pytest-llmbench"),
    }

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        local = loader.override(self.name, subset)
        rows: Iterator[tuple[Mapping[str, Any], str]]
        if local is not None and not local.per_subset and (path := local.path).is_file():
            # one file of every subject: its `type` field holds the display name ("Number Theory")
            rows = loader.filter_subset(self, subset, read_path(path, split=split_of(self)))
        else:
            rows = loader.records(self, subset)
        for index, (record, where) in enumerate(rows):
            yield loader.to_sample(self, record, index, subset, where)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        solution = str(first_field(record, ("solution", "Solution")))
        answer = last_boxed(solution) or (str(record.get("answer") or "").strip() or None)
        if not answer:
            raise ValueError("the solution has no \\boxed{} answer")
        level = breakdown_label(str(record.get("level") or ""))
        question = str(first_field(record, QUESTION_FIELDS))
        return Sample(
            id=f"{index:04d}",
            subset=subset,
            input=self.protocol.render({"question": question, "problem": question.strip()}),  # type: ignore[union-attr]
            target=answer,
            metadata={
                "question": str(first_field(record, QUESTION_FIELDS)),
                "level": record.get("level"),
                "subject": record.get("type"),
                "breakdown": [level] if level in {f"level{n}" for n in range(1, 6)} else [],
            },
        )
