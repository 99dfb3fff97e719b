"""HellaSwag: pick the most plausible continuation of a scene (Rowan/hellaswag, validation split, 10,042).

Rows have `ind`, `activity_label`, `ctx` (= `ctx_a` + " " + `ctx_b`), `endings` (4 texts) and
`label` (the gold index, a string such as "2"; the test split's labels are empty, hence validation).
Asked as a four-option multiple-choice question with chain-of-thought; acc. The WikiHow rows' markup
(`[header]`, `[title]`, `[step]`) is cleaned the usual way: ` [title]` becomes `. `, other bracketed
tags are removed, double spaces collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import MC_SINGLE, mc_protocol
from .registry import register_benchmark

_TAG = re.compile(r"\[[^\]]*\]")
_SPACES = re.compile(r"  +")
_TAG_LAZY = re.compile(r"\[.*?\]")

QUESTION = "Which ending continues this description most plausibly?\n\nActivity: {activity}\nText: {context} ..."


def clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    return _SPACES.sub(" ", _TAG.sub("", text)).strip()


def reference_clean(text: str) -> str:
    """The reference system's cleaning (`evalscope` protocol): as `clean`, but one pass over double
    spaces and no final strip, so its prompts are reproduced exactly."""
    text = _TAG_LAZY.sub("", text.strip().replace(" [title]", ". "))
    return text.replace("  ", " ")


@register_benchmark
class HellaSwag(MultipleChoiceBenchmark):
    name = "hellaswag"
    description = "Commonsense sentence completion as a 4-option MCQ (validation split); acc."
    source = DatasetSource(
        path="Rowan/hellaswag", split="validation", few_shot_split="train", modelscope="evalscope/hellaswag"
    )
    subsets = ("default",)
    tags = ("reasoning", "commonsense", "mcq")
    # evalscope: the context alone (`ctx_a` + capitalised `ctx_b`) under the non-CoT template
    protocols = {"evalscope": mc_protocol(MC_SINGLE, extra={"question": "context"}), "native": NATIVE["en"]}
    loglik_form = True
    # solved examples from the train split (log-likelihood: Gemma 3's card reports HellaSwag 10-shot)
    default_args = {"few_shot_num": "0"}

    def loglik_pairs(self, record: Mapping[str, Any], row: MCQRow, subset: str) -> tuple[list[str], list[str]]:
        """lm-eval's `hellaswag` task: context `<activity_label>: <ctx_a> <Ctx_b>`, continuations
        ` <ending>`, both cleaned as its `preprocess` does (`reference_clean`, the same steps)."""
        ctx = f"{record.get('ctx_a', '')} {str(record.get('ctx_b', '')).capitalize()}"
        context = reference_clean(f"{record.get('activity_label', '')}: {ctx}")
        return [context] * len(row.choices), [" " + reference_clean(str(e)) for e in record["endings"]]

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        label = record["label"]
        if label in (None, ""):
            raise ValueError("the row has no label (HellaSwag's test split is unlabelled; use validation)")
        if self.protocol is not None and self.protocol.extra.get("question") == "context":
            endings = [reference_clean(str(e)) for e in record["endings"]]
            question = reference_clean(f"{record.get('ctx_a', '')} {str(record.get('ctx_b', '')).capitalize()}")
        else:
            endings = [clean(str(e)) for e in record["endings"]]
            context = clean(str(record.get("ctx") or f"{record.get('ctx_a', '')} {record.get('ctx_b', '')}"))
            activity = clean(str(record.get("activity_label") or "")) or "unspecified"
            question = QUESTION.format(activity=activity, context=context)
        return MCQRow(
            question=question,
            choices=endings,
            answer=answer_letter(label, len(endings)),
            id=record.get("ind"),
            metadata={"activity_label": record.get("activity_label"), "source_id": record.get("source_id")},
        )
