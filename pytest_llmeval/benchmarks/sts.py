"""Semantic textual similarity (STS): one pytest item per sentence pair, one correlation per task.

Each pair is embedded (both sentences, batched with the other pairs) and its cosine similarity is
the model's score; the task's metrics are MTEB's: ``cosine_spearman`` (main) and
``cosine_pearson``, the correlations between the cosines and the gold scores over every scored
pair (scipy's ``spearmanr`` / ``pearsonr``). A correlation is not a mean over items, so its 95%
interval is Fisher's z interval over the n scored pairs (`method: fisher-z`; Pearson: se_z =
1/sqrt(n-3), Spearman: Bonett & Wright's sqrt((1 + r²/2)/(n-3)); ``stats.intervals.correlation_interval``,
docs/statistics.md), so ``--llm-threshold-mode ci`` and ``--llm-compare`` decide on them; ``cosine``
(the mean similarity, CLT interval) is reported beside it.

Rows: ``sentence1``, ``sentence2``, ``score`` (MTEB's STS copies; gold scores 0-5 on STSBenchmark,
any scale works: correlations ignore it). A local file: ``--llm-dataset NAME=FILE`` (.jsonl/.csv/...).
An item passes when the pair was scored (a pair is never "wrong"; the correlation is the verdict);
a row with an empty sentence or a score that is not a number is a DatasetError naming the row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..scoring.retrieval import pearson, spearman
from ..stats.intervals import correlation_interval
from .base import DatasetSource, Sample
from .embedding_base import EmbeddingTask
from .registry import register_benchmark


class STSTask(EmbeddingTask):
    kind = "sts"
    tags: ClassVar[tuple[str, ...]] = ("sts", "embedding")
    task_type = "sts"
    metrics = ("cosine_spearman", "cosine_pearson", "cosine")

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        first, second = str(record["sentence1"] or "").strip(), str(record["sentence2"] or "").strip()
        if not first or not second:
            raise ValueError("sentence1 and sentence2 must both be non-empty")
        gold = float(record["score"])
        if not math.isfinite(gold):
            raise ValueError(f"score {record['score']!r} is not a finite number")
        return Sample(
            id=str(record.get("id") or index),
            subset=subset,
            input=f"{first}\n{second}",
            target=str(gold),
            metadata={"pair": [first, second], "gold": gold},
        )

    @classmethod
    def aggregate(cls, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        # sorted: the records' order differs under xdist, the digits must not
        pairs = sorted((s["cosine"], s["gold"]) for s in per_sample if "cosine" in s and "gold" in s)
        if not pairs:
            return {}
        predicted, gold = [p for p, _ in pairs], [g for _, g in pairs]
        return {
            "cosine_spearman": spearman(predicted, gold),
            "cosine_pearson": pearson(predicted, gold),
            "cosine": math.fsum(predicted) / len(predicted),
        }

    @classmethod
    def metric_uncertainties(
        cls, metrics: Mapping[str, float], per_sample: Sequence[Mapping[str, float]]
    ) -> dict[str, dict[str, Any]]:
        """Fisher's z intervals of the two correlations over the n scored pairs (module docstring), as
        ``MetricUncertainty`` fields (benchmarks sit below the result records' layer)."""
        n = sum(1 for s in per_sample if "cosine" in s and "gold" in s)
        out: dict[str, dict[str, Any]] = {}
        for metric, kind in (("cosine_spearman", "spearman"), ("cosine_pearson", "pearson")):
            if metric not in metrics:
                continue
            interval = correlation_interval(metrics[metric], n, kind)
            if interval is None:  # fewer than 4 pairs, or an undefined (NaN) correlation
                out[metric] = {"n": n, "method": "none"}
            else:
                se, low, high = interval
                out[metric] = {"se": se, "ci_low": low, "ci_high": high, "n": n, "method": "fisher-z"}
        return out


@register_benchmark
class STSBenchmark(STSTask):
    name = "stsbenchmark"
    description = "STSBenchmark (MTEB): 1,379 English test pairs, gold similarity 0-5"
    source = DatasetSource(path="mteb/stsbenchmark-sts", split="test")


@register_benchmark
class STSBZh(STSTask):
    name = "stsb_zh"
    description = "C-MTEB STSB: the Chinese STS-B, 1,361 test pairs, gold similarity 0-5"
    source = DatasetSource(path="C-MTEB/STSB", split="test")
