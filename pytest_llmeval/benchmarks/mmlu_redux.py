"""MMLU-Redux 2.0: 5,700 MMLU questions (100 per subject, 57 subjects) re-annotated by experts
(edinburgh-dawg/mmlu-redux-2.0, test split; each subject is a configuration).

Rows have MMLU's `question`, `choices`, `answer` (gold index) plus the annotation: `error_type`
(`ok`, `bad_question_clarity`, `bad_options_clarity`, `no_correct_answer`,
`multiple_correct_answers`, `wrong_groundtruth`, `expert`), `correct_answer` (the annotators'
answer, when they give one) and `source`.

What happens to items whose annotation says the gold label is wrong (`wrong_groundtruth`,
`no_correct_answer`, `multiple_correct_answers`) is the argument `label_errors`:

* `skip` (default): they are not evaluated. Every score is then over items whose original label
  the annotators confirmed (or only found unclear wording / expert-level), so a right answer is
  never marked wrong by a known-bad key.
* `fix`: a `wrong_groundtruth` item is scored against the annotators' `correct_answer` and a
  `multiple_correct_answers` item accepts any of the listed options, when `correct_answer` is a
  letter, an index or a list of them; `no_correct_answer` items and corrections given as prose
  are skipped (rewriting an option to make a key is editing the question).
* `keep`: the original MMLU label for every item, as in plain MMLU.

`error_type` is in every sample's metadata either way. Groups and `acc_<group>` as in `mmlu`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..scoring.choice import choice_letters
from .base import DatasetSource
from .breakdown import GroupedSubsets, breakdown_names
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark
from .mmlu import MMLU_GROUPS, MMLU_SUBJECTS, mmlu_row
from .reference_prompts import MC_SINGLE_COT, mc_protocol
from .registry import register_benchmark

WRONG_LABEL = frozenset({"wrong_groundtruth", "no_correct_answer", "multiple_correct_answers"})
MODES = ("skip", "fix", "keep")
_SEPARATORS = re.compile(r"\b(?:and|or)\b|[\s(),;&/.]+", re.IGNORECASE)


def corrected_letters(raw: Any, n_choices: int) -> list[str]:
    """Letters named by an annotator's `correct_answer` (`"B"`, `"2"` (0-based), `"(A) and (C)"`,
    `"0, 3"`); empty when it is prose or names no valid option."""
    letters = choice_letters(n_choices)
    tokens = _SEPARATORS.sub(" ", str(raw or "")).split()
    found: list[str] = []
    for token in tokens:
        if token.isdigit() and int(token) < n_choices:
            found.append(letters[int(token)])
        elif len(token) == 1 and token.upper() in letters:
            found.append(token.upper())
        else:
            return []
    return list(dict.fromkeys(found))


@register_benchmark
class MMLURedux(GroupedSubsets, MultipleChoiceBenchmark):
    name = "mmlu_redux"
    description = "MMLU re-annotated (57 x 100 items); items with a wrong key skipped by default; acc."
    source = DatasetSource(
        path="edinburgh-dawg/mmlu-redux-2.0",
        split="test",
        subset_mode="config",
        subset_field="subject",
        modelscope="AI-ModelScope/mmlu-redux-2.0",
    )
    subsets = MMLU_SUBJECTS
    groups = MMLU_GROUPS
    tags = ("knowledge", "mcq")
    metrics = ("acc", *breakdown_names("acc", MMLU_GROUPS))
    default_args = {"label_errors": "skip"}
    protocols = {"evalscope": mc_protocol(MC_SINGLE_COT), "native": NATIVE["en"]}

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        self.mode = self.args["label_errors"].strip().lower()
        if self.mode not in MODES:
            raise ConfigError(f"mmlu_redux.label_errors must be one of {', '.join(MODES)}, got {self.mode!r}")

    def keep(self, record: Mapping[str, Any]) -> bool:
        error_type = str(record.get("error_type") or "ok")
        if error_type not in WRONG_LABEL or self.mode == "keep":
            return True
        if self.mode == "skip" or error_type == "no_correct_answer":
            return False
        return bool(corrected_letters(record.get("correct_answer"), len(record["choices"])))

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        row = mmlu_row(record)
        error_type = str(record.get("error_type") or "ok")
        row.metadata = {"error_type": error_type, "original_answer": row.answer}
        if self.mode == "fix" and error_type in ("wrong_groundtruth", "multiple_correct_answers"):
            fixed = corrected_letters(record.get("correct_answer"), len(row.choices))
            if error_type == "multiple_correct_answers":
                fixed = list(dict.fromkeys([row.answer if isinstance(row.answer, str) else row.answer[0], *fixed]))
            if fixed:
                row.answer = fixed[0] if len(fixed) == 1 else fixed
        return row
