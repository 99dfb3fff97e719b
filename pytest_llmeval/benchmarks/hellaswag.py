"""HellaSwag: pick the most plausible continuation of a scene (Rowan/hellaswag, validation split, 10,042).

Rows have `ind`, `activity_label`, `ctx` (= `ctx_a` + " " + `ctx_b`), `endings` (4 texts) and
`label` (the gold index, a string such as "2"; the test split's labels are empty, hence validation).
Asked as a four-option multiple-choice question with chain-of-thought; acc. The WikiHow rows' markup
(`[header]`, `[title]`, `[step]`) is cleaned the usual way: ` [title]` becomes `. `, other bracketed
tags are removed, double spaces collapsed.

The release files as published (github.com/rowanz/hellaswag, `data/`): `hellaswag_train.jsonl`,
`hellaswag_val.jsonl`, `hellaswag_test.jsonl`, rows `ind`, `activity_label`, `ctx_a`, `ctx_b`, `ctx`,
`endings`, `label` (an int there), `source_id`, `split`, `split_type`. `--llm-dataset hellaswag=FILE`
reads `hellaswag_val.jsonl` as it is; `--llm-dataset hellaswag=DIR` reads the release folder's
`hellaswag_val.jsonl`, and its `hellaswag_train.jsonl` (beside the file given, or in the folder) gives
the few-shot rows, unless `--llm-dataset hellaswag:train=PATH` names others.

Log-likelihood form (lm-eval's `hellaswag` task, `lm_eval/tasks/hellaswag/utils.py`): context
`<activity_label>: <ctx_a> <Ctx_b>` (ctx_b capitalised), continuations ` <ending>`, all through its
`preprocess` (`reference_clean`: strip, ` [title]` -> `. `, `[...]` removed, double spaces once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .base import DatasetSource, RecordLoader
from .loading import read_path
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import MC_SINGLE, mc_protocol
from .registry import register_benchmark

_TAG = re.compile(r"\[[^\]]*\]")
_SPACES = re.compile(r"  +")
_TAG_LAZY = re.compile(r"\[.*?\]")

RELEASE_FILES = {"validation": "hellaswag_val.jsonl", "train": "hellaswag_train.jsonl"}

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

    def rows(self, subset: str, label: str, loader: RecordLoader) -> Iterator[tuple[Mapping[str, Any], str]]:
        override = loader.override(self.name, subset)
        if override is not None and (override.path / RELEASE_FILES["validation"]).is_file():
            return read_path(override.path / RELEASE_FILES["validation"], split="validation")
        return super().rows(subset, label, loader)

    def few_shot_rows(self, subset: str, loader: RecordLoader, count: int, label: str) -> list[Mapping[str, Any]]:
        train = self._release_train(loader, subset)
        if count <= 0 or train is None:
            return super().few_shot_rows(subset, loader, count, label)
        rows: list[Mapping[str, Any]] = []
        for record, _where in read_path(train, split="train"):
            if len(rows) == count:
                break
            rows.append(record)
        return rows

    def _release_train(self, loader: RecordLoader, subset: str) -> Path | None:
        """The release's `hellaswag_train.jsonl` in the folder given or beside the file given, unless a
        few-shot path is named (`--llm-dataset hellaswag:train=PATH`)."""
        if loader.override(self.name, subset, split="train") is not None:
            return None
        override = loader.override(self.name, subset)
        if override is None:
            return None
        folder = override.path if override.path.is_dir() else override.path.parent
        train = folder / RELEASE_FILES["train"]
        return train if train.is_file() else None
