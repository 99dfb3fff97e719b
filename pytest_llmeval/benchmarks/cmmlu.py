"""CMMLU: Chinese knowledge questions in 67 subjects (haonan-li/cmmlu; each subject is a configuration).

Rows have `Question`, `A`, `B`, `C`, `D` and `Answer` (gold letter), as in the released CSV files
(which also carry an unnamed index column, ignored). The `test` split (11,582 questions) is
evaluated; `--llm-bench-arg cmmlu.few_shot_num=N` (N <= 5) prepends the subject's `dev` rows. Zero-shot
chain-of-thought by default, in Chinese, asking for `答案：X`.

Groups from the CMMLU paper: `stem`, `humanities`, `social_science`, `other` and `china_specific`,
reported as `acc_<group>` (see `breakdown.py`; `subset_list` may name a group).

The hub repository is script-based, which `datasets` >= 4 no longer runs: download its CSV files
and pass `--llm-dataset cmmlu=DIR` with `DIR/<subject>.csv`, `DIR/<subject>/test.csv` or the
release's own `DIR/test/<subject>.csv` (few-shot rows: `--llm-dataset cmmlu:dev=DIR/dev`), or read
ModelScope's copy (`evalscope/cmmlu`, the rows the reference system EvalScope evaluates) with
`--llm-hub modelscope`. That copy is one `test` table of all 11,582 questions with other fields:
`id`, `question`, `category` (the subject, which selects the subset), `choices` (`["(A) 农业生产工具",
"(B) 土地", ...]`, labels dropped) and `answer` (`"(B) 土地"`; the letter is the gold). Both
layouts are read, also from a local copy (`--llm-dataset cmmlu=test.jsonl`); the copy has no `dev`
rows, so few-shot prompts need the release's `dev` files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .breakdown import GroupedSubsets, breakdown_names
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import zh_protocol
from .registry import register_benchmark

CMMLU_GROUPS: dict[str, tuple[str, ...]] = {
    "stem": (
        "anatomy",
        "astronomy",
        "college_actuarial_science",
        "college_engineering_hydrology",
        "college_mathematics",
        "college_medical_statistics",
        "computer_science",
        "conceptual_physics",
        "electrical_engineering",
        "elementary_mathematics",
        "genetics",
        "high_school_biology",
        "high_school_chemistry",
        "high_school_mathematics",
        "high_school_physics",
        "machine_learning",
        "virology",
    ),
    "humanities": (
        "arts",
        "college_law",
        "global_facts",
        "international_law",
        "jurisprudence",
        "logical",
        "marxist_theory",
        "philosophy",
        "professional_law",
        "world_history",
        "world_religions",
    ),
    "social_science": (
        "business_ethics",
        "college_education",
        "economics",
        "education",
        "high_school_geography",
        "journalism",
        "management",
        "marketing",
        "professional_accounting",
        "professional_psychology",
        "public_relations",
        "security_study",
        "sociology",
    ),
    "other": (
        "agronomy",
        "clinical_knowledge",
        "college_medicine",
        "computer_security",
        "elementary_information_and_technology",
        "food_science",
        "human_sexuality",
        "legal_and_moral_basis",
        "nutrition",
        "professional_medicine",
        "sports_science",
    ),
    "china_specific": (
        "ancient_chinese",
        "chinese_civil_service_exam",
        "chinese_driving_rule",
        "chinese_food_culture",
        "chinese_foreign_policy",
        "chinese_history",
        "chinese_literature",
        "chinese_teacher_qualification",
        "construction_project_management",
        "elementary_chinese",
        "elementary_commonsense",
        "ethnology",
        "high_school_politics",
        "modern_chinese",
        "traditional_chinese_medicine",
    ),
}


@register_benchmark
class CMMLU(GroupedSubsets, MultipleChoiceBenchmark):
    name = "cmmlu"
    description = "Chinese knowledge MCQ, 67 subjects in 5 groups, 0-shot CoT; acc and acc per group."
    source = DatasetSource(
        path="haonan-li/cmmlu",
        split="test",
        few_shot_split="dev",
        subset_mode="config",
        modelscope="evalscope/cmmlu",
        subset_field="category",  # the ModelScope copy is one table; a row's subject is its `category`
    )
    subsets = tuple(sorted(s for members in CMMLU_GROUPS.values() for s in members))
    groups = CMMLU_GROUPS
    tags = ("knowledge", "chinese", "mcq")
    metrics = ("acc", *breakdown_names("acc", CMMLU_GROUPS))
    language = "zh"
    default_args = {"few_shot_num": "0"}
    max_few_shot = 5
    protocols = {"evalscope": zh_protocol(), "native": NATIVE["zh"]}  # evalscope: 0-shot, like the reference

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        if "Question" not in record and "choices" in record:
            return _modelscope_row(record)
        return MCQRow(
            question=str(record["Question"]),
            choices=[str(record[letter]) for letter in "ABCD"],
            answer=answer_letter(record["Answer"], 4),
            id=record.get("id"),
        )


_LABEL = re.compile(r"\s*[(（]\s*([A-Da-d])\s*[)）]\s*")


def _modelscope_row(record: Mapping[str, Any]) -> MCQRow:
    """A row of the ModelScope copy (`evalscope/cmmlu`, the rows the reference system reads):
    `question`, `choices` = `["(A) 农业生产工具", "(B) 土地", ...]`, `answer` = `"(B) 土地"` (or `"(B)"`,
    `"B"`), `category` = the subject. The `(X)` labels must run A-D in order."""
    raw = record["choices"]
    if not isinstance(raw, (list, tuple)) or len(raw) != 4:
        raise ValueError(f"choices must be a list of 4 labelled options like '(A) ...', got {str(raw)[:120]!r}")
    choices = []
    for letter, option in zip("ABCD", raw, strict=False):
        label = _LABEL.match(str(option))
        if label is None or label.group(1).upper() != letter:
            raise ValueError(f"option {letter} must start with '({letter}) ', got {str(option)[:80]!r}")
        choices.append(str(option)[label.end() :].strip())
    answer = str(record["answer"])
    label = _LABEL.match(answer)
    return MCQRow(
        question=str(record["question"]),
        choices=choices,
        answer=label.group(1).upper() if label else answer_letter(answer, 4),
        id=record.get("id"),
    )
