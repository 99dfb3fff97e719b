"""AIME 2025: the 30 problems of AIME 2025 (opencompass/AIME2025, the id EvalScope uses on ModelScope
and the hub; configurations `AIME2025-I` and `AIME2025-II`, 15 problems each, split `test`).

The two papers are the subsets `aime2025_i` and `aime2025_ii` (`-m aime25` runs both). Rows have
`question` and `answer` (an integer 0-999). Same prompt and integer scoring as `aime24`; acc.
Chosen over single-file mirrors such as yentinglin/aime_2025 because its two configurations keep
the papers apart and it is the id EvalScope results refer to.
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import DatasetSource, RecordLoader, Sample
from .mathqa import AIMEBenchmark
from .registry import register_benchmark
from .rows import records_for_label

CONFIGS = {"aime2025_i": "AIME2025-I", "aime2025_ii": "AIME2025-II"}


@register_benchmark
class AIME25(AIMEBenchmark):
    name = "aime25"
    description = "AIME 2025 I and II (30 problems), integer answers 0-999; acc."
    source = DatasetSource(
        path="opencompass/AIME2025", split="test", subset_mode="config", modelscope="opencompass/AIME2025"
    )
    subsets = tuple(CONFIGS)
    subset_labels = CONFIGS

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        for index, (record, where) in enumerate(records_for_label(self, subset, CONFIGS.get(subset, subset), loader)):
            yield loader.to_sample(self, record, index, subset, where)
