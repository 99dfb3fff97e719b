"""PIQA: physical commonsense, pick the better of two solutions to a goal (validation split, 1,838 rows).

Rows have `goal`, `sol1`, `sol2` and `label` (0 or 1). The release files as published keep the labels
apart: `valid.jsonl` (goal, sol1, sol2) beside `valid-labels.lst` (one 0/1 per line, in row order).
`--llm-dataset piqa=valid.jsonl` (or the folder holding both) reads them as they are: the labels file is
`<stem>-labels.lst` beside the rows. From the hubs: Hugging Face `ybisk/piqa`, ModelScope
`extraordinarylab/piqa` (EvalScope's copy), both with a `label` field.

Generative form: a two-option multiple-choice question (A = sol1, B = sol2); acc.
Log-likelihood form (`--llm-output-type piqa=multiple_choice`, lm-eval's `piqa` task): context
`Question: <goal>\\nAnswer:`, continuations ` <sol1>` and ` <sol2>`; acc and acc_norm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .base import DatasetSource, RecordLoader, Sample
from .loading import read_path
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import MC_SINGLE, mc_protocol
from .registry import register_benchmark

LABELS_SUFFIX = "-labels.lst"


def release_files(path: Path) -> tuple[Path, Path] | None:
    """(rows, labels) of PIQA's release layout at `path` (a `.jsonl` file or a folder holding
    `valid.jsonl`), or None when `path` is not in that layout (a hub snapshot with `label` fields)."""
    if path.is_dir():
        candidates = [
            path / "valid.jsonl",
            path / "validation.jsonl",
            path / "dev.jsonl",
        ]
        rows = next((c for c in candidates if c.is_file()), None)
        if rows is None:
            return None
    elif path.suffix == ".jsonl":
        rows = path
    else:
        return None
    labels = rows.with_name(rows.stem + LABELS_SUFFIX)
    return (rows, labels) if labels.is_file() else None


def labelled_release_rows(rows: Path, labels: Path) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The rows of `valid.jsonl` with the label of the same line of `valid-labels.lst` added; a count
    mismatch is a dataset error naming both files."""
    values = [line.strip() for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    count = 0
    for count, (record, where) in enumerate(read_path(rows, split="validation"), start=1):
        if count > len(values):
            raise DatasetError(
                f"{labels.name} has {len(values)} labels but {rows.name} has more rows (row {count} "
                "has no label); pass the labels file of the same release",
                source=str(labels),
            )
        yield {**record, "label": values[count - 1]}, where
    if count < len(values):
        raise DatasetError(
            f"{labels.name} has {len(values)} labels but {rows.name} has {count} rows; pass the "
            "labels file of the same release",
            source=str(labels),
        )


@register_benchmark
class PIQA(MultipleChoiceBenchmark):
    name = "piqa"
    description = "Physical commonsense: the better of two solutions (validation split); acc (acc_norm log-likelihood)."
    source = DatasetSource(path="ybisk/piqa", split="validation", modelscope="extraordinarylab/piqa")
    subsets = ("default",)
    tags = ("reasoning", "commonsense", "mcq")
    protocols = {"evalscope": mc_protocol(MC_SINGLE), "native": NATIVE["en"]}
    loglik_form = True

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        override = loader.override(self.name, subset)
        found = release_files(override.path) if override is not None else None
        if found is None:
            yield from super().load(subset, loader)
            return
        for index, (record, where) in enumerate(labelled_release_rows(*found)):
            yield loader.to_sample(self, record, index, subset, where)

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        label = record.get("label")
        if label in (None, "", -1, "-1"):
            raise ValueError(
                "the row has no label (the release keeps them in valid-labels.lst beside valid.jsonl; "
                "PIQA's test split is unlabelled)"
            )
        return MCQRow(
            question=str(record["goal"]),
            choices=[str(record["sol1"]), str(record["sol2"])],
            answer=answer_letter(label, 2),
            id=record.get("id"),
        )
