"""C-Eval: Chinese exam questions in 52 subjects (ceval/ceval-exam; each subject is a configuration).

Rows have `id`, `question`, `A`, `B`, `C`, `D`, `answer` (gold letter) and `explanation`. The `test`
split has no public answers, so the `val` split (1,346 questions) is evaluated, as is usual; the
`dev` split (5 per subject, with explanations) provides few-shot examples when
`--llm-bench-arg ceval.few_shot_num=N` (N <= 5) is given. Zero-shot chain-of-thought by default,
in Chinese, asking for a last line `答案：X`.

Groups (C-Eval's own categories) with mark names `stem` (20 subjects), `social_science` (10),
`humanities` (11) and `other` (11): each sample reports `acc` and `acc_<group>`, so results hold
per-group accuracy at benchmark level and `--llm-threshold "ceval.acc_stem>=0.6"` gates a group.
`--llm-bench-arg ceval.subset_list=stem` evaluates one group; `subset_tags` names the group for
`-m stem` once the core adds subset tags to the marks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .breakdown import GroupedSubsets, breakdown_names
from .mcq import MCQRow, MultipleChoiceBenchmark, answer_letter
from .registry import register_benchmark

CEVAL_GROUPS: dict[str, tuple[str, ...]] = {
    "stem": (
        "computer_network", "operating_system", "computer_architecture", "college_programming",
        "college_physics", "college_chemistry", "advanced_mathematics", "probability_and_statistics",
        "discrete_mathematics", "electrical_engineer", "metrology_engineer", "high_school_mathematics",
        "high_school_physics", "high_school_chemistry", "high_school_biology", "middle_school_mathematics",
        "middle_school_biology", "middle_school_physics", "middle_school_chemistry", "veterinary_medicine",
    ),
    "social_science": (
        "college_economics", "business_administration", "marxism", "mao_zedong_thought", "education_science",
        "teacher_qualification", "high_school_politics", "high_school_geography", "middle_school_politics",
        "middle_school_geography",
    ),
    "humanities": (
        "modern_chinese_history", "ideological_and_moral_cultivation", "logic", "law",
        "chinese_language_and_literature", "art_studies", "professional_tour_guide", "legal_professional",
        "high_school_chinese", "high_school_history", "middle_school_history",
    ),
    "other": (
        "civil_servant", "sports_science", "plant_protection", "basic_medicine", "clinical_medicine",
        "urban_and_rural_planner", "accountant", "fire_engineer", "environmental_impact_assessment_engineer",
        "tax_accountant", "physician",
    ),
}


@register_benchmark
class CEval(GroupedSubsets, MultipleChoiceBenchmark):
    name = "ceval"
    description = "Chinese exam MCQ, 52 subjects in 4 groups (val split), 0-shot CoT; acc and acc per group."
    source = DatasetSource(
        path="ceval/ceval-exam", split="val", few_shot_split="dev", subset_mode="config", modelscope="evalscope/ceval"
    )
    subsets = tuple(s for members in CEVAL_GROUPS.values() for s in members)
    groups = CEVAL_GROUPS
    tags = ("knowledge", "chinese", "mcq")
    metrics = ("acc", *breakdown_names("acc", CEVAL_GROUPS))
    language = "zh"
    default_args = {"few_shot_num": "0"}
    max_few_shot = 5

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        choices = [str(record[letter]) for letter in "ABCD"]
        answer = str(record.get("answer") or "").strip()
        if not answer:
            raise ValueError("the row has no answer (the C-Eval test split is unlabelled; evaluate the val split)")
        return MCQRow(
            question=str(record["question"]),
            choices=choices,
            answer=answer_letter(answer, 4),
            id=record.get("id"),
            reasoning=str(record.get("explanation") or "").strip() or None,
        )
