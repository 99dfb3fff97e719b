"""AIME 2024: the 30 problems of AIME I and II 2024 (HuggingFaceH4/aime_2024, its only split `train`).

Rows have `id`, `problem`, `solution`, `answer` (an integer 0-999, stored as text or number) and
`url`. The prompt asks for step-by-step work and the answer in `\\boxed{}`; the answer is read as
an integer 0-999 (`\\boxed{033}` = 33; see `mathqa.AIMEBenchmark`). Zero-shot; acc. With so few
problems, run several generations (`--llm-gen n=8 --llm-gen temperature=0.6`): acc is then the mean
over generations (AveragePass@1).
"""

from __future__ import annotations

from .base import DatasetSource
from .mathqa import AIMEBenchmark
from .registry import register_benchmark


@register_benchmark
class AIME24(AIMEBenchmark):
    name = "aime24"
    description = "AIME 2024 (30 problems), integer answers 0-999; acc."
    source = DatasetSource(path="HuggingFaceH4/aime_2024", split="train", modelscope="HuggingFaceH4/aime_2024")
    subsets = ("default",)
    row_fields = ("url",)
