"""AIME 2024: the 30 problems of AIME I and II 2024 (HuggingFaceH4/aime_2024, its only split `train`).

Rows have `id`, `problem`, `solution`, `answer` (an integer 0-999, stored as text or number) and
`url`. The prompt asks for step-by-step work and the answer in `\\boxed{}`; the answer is read as
an integer 0-999 (`\\boxed{033}` = 33; see `mathqa.AIMEBenchmark`). Zero-shot; acc. With so few
problems, run several generations (`--llm-gen n=8 --llm-gen temperature=0.6`): acc is then the mean
over generations (AveragePass@1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import DatasetSource, Sample
from .mathqa import AIMEBenchmark, aime_target
from .registry import register_benchmark
from .rows import ANSWER_FIELDS, QUESTION_FIELDS, first_field, required_text, safe_sample_id


@register_benchmark
class AIME24(AIMEBenchmark):
    name = "aime24"
    description = "AIME 2024 (30 problems), integer answers 0-999; acc."
    source = DatasetSource(path="HuggingFaceH4/aime_2024", split="train", modelscope="HuggingFaceH4/aime_2024")
    subsets = ("default",)

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        raw = str(first_field(record, QUESTION_FIELDS))  # mirrors use question/problem/Problem
        problem = raw.strip()
        return Sample(
            id=safe_sample_id(record.get("id", record.get("ID")), index),
            subset=subset,
            input=self.protocol.render({"question": raw, "problem": problem}),  # type: ignore[union-attr]
            target=aime_target(required_text(record, ANSWER_FIELDS)),
            metadata={"question": problem, "url": record.get("url")},
        )
