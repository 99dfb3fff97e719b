"""AI2 ARC: grade-school science questions (allenai/ai2_arc, test split; 2,376 Easy + 1,172 Challenge).

The dataset's configurations `ARC-Easy` and `ARC-Challenge` are the subsets `arc_easy` and
`arc_challenge` (`-m arc_challenge`). Rows have `id`, `question`, `choices` (`{"text": [...],
"label": [...]}`) and `answerKey`. Labels are usually `A`-`D`, but some rows use `1`-`4` and a few
have 3 or 5 options: options are re-lettered A, B, C... in their given order and the gold is the
position of `answerKey` among the labels. Zero-shot chain-of-thought; acc.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scoring.choice import choice_letters
from .base import DatasetSource
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark
from .reference_prompts import MC_SINGLE, mc_protocol
from .registry import register_benchmark

CONFIGS = {"arc_easy": "ARC-Easy", "arc_challenge": "ARC-Challenge"}


@register_benchmark
class ARC(MultipleChoiceBenchmark):
    name = "arc"
    description = "AI2 science MCQ, Easy and Challenge sets, 0-shot CoT; acc."
    source = DatasetSource(
        path="allenai/ai2_arc", split="test", few_shot_split="train", subset_mode="config", modelscope="allenai/ai2_arc"
    )
    subsets = tuple(CONFIGS)
    subset_labels = CONFIGS
    tags = ("reasoning", "mcq")
    protocols = {"evalscope": mc_protocol(MC_SINGLE), "native": NATIVE["en"]}
    # log-likelihood form (output_type=multiple_choice): `Question: ...\nAnswer:` + ` <choice>` (lm-eval's arc_*)
    loglik_form = True
    default_args = {"few_shot_num": "0"}  # solved examples from the train split (Gemma 3's ARC-c is 25-shot)

    def subset_label(self, subset: str) -> str:
        return CONFIGS.get(subset, subset)

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        choices = record["choices"]
        texts = [str(t) for t in choices["text"]]
        labels = [str(label).strip() for label in choices["label"]]
        key = str(record["answerKey"]).strip()
        if key not in labels:
            raise ValueError(f"answerKey {key!r} is not one of the option labels {labels}")
        return MCQRow(
            question=str(record["question"]),
            choices=texts,
            answer=choice_letters(len(texts))[labels.index(key)],
            id=record.get("id"),
            metadata={"original_labels": labels} if labels != list(choice_letters(len(labels))) else {},
        )
