"""C-Eval: Chinese exam questions in 52 subjects (ceval/ceval-exam; each subject is a configuration).

Rows have `id`, `question`, `A`, `B`, `C`, `D`, `answer` (gold letter) and `explanation`. The `test`
split has no public answers, so the `val` split (1,346 questions) is evaluated, as is usual; the
`dev` split (5 per subject, with explanations) provides the few-shot examples. Under the `evalscope`
protocol (the default) the prompt is EvalScope 1.14.1's: the subject's Chinese name, 5 solved
examples with explanations, options as `A. text`, asking for a last line `答案：X`. Under `native`:
zero-shot chain-of-thought, in Chinese. `--llm-bench-arg ceval.few_shot_num=N` (N <= 5) sets the count.

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
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .protocols import Protocol
from .reference_prompts import CEVAL_EXAMPLE, CEVAL_USER, SOURCE, ZH_FEW_SHOT
from .registry import register_benchmark

CEVAL_GROUPS: dict[str, tuple[str, ...]] = {
    "stem": (
        "computer_network",
        "operating_system",
        "computer_architecture",
        "college_programming",
        "college_physics",
        "college_chemistry",
        "advanced_mathematics",
        "probability_and_statistics",
        "discrete_mathematics",
        "electrical_engineer",
        "metrology_engineer",
        "high_school_mathematics",
        "high_school_physics",
        "high_school_chemistry",
        "high_school_biology",
        "middle_school_mathematics",
        "middle_school_biology",
        "middle_school_physics",
        "middle_school_chemistry",
        "veterinary_medicine",
    ),
    "social_science": (
        "college_economics",
        "business_administration",
        "marxism",
        "mao_zedong_thought",
        "education_science",
        "teacher_qualification",
        "high_school_politics",
        "high_school_geography",
        "middle_school_politics",
        "middle_school_geography",
    ),
    "humanities": (
        "modern_chinese_history",
        "ideological_and_moral_cultivation",
        "logic",
        "law",
        "chinese_language_and_literature",
        "art_studies",
        "professional_tour_guide",
        "legal_professional",
        "high_school_chinese",
        "high_school_history",
        "middle_school_history",
    ),
    "other": (
        "civil_servant",
        "sports_science",
        "plant_protection",
        "basic_medicine",
        "clinical_medicine",
        "urban_and_rural_planner",
        "accountant",
        "fire_engineer",
        "environmental_impact_assessment_engineer",
        "tax_accountant",
        "physician",
    ),
}

CHINESE_NAMES: dict[str, str] = {  # subject -> its Chinese name (C-Eval's own), used in the evalscope prompt
    "computer_network": "计算机网络",
    "operating_system": "操作系统",
    "computer_architecture": "计算机组成",
    "college_programming": "大学编程",
    "college_physics": "大学物理",
    "college_chemistry": "大学化学",
    "advanced_mathematics": "高等数学",
    "probability_and_statistics": "概率统计",
    "discrete_mathematics": "离散数学",
    "electrical_engineer": "注册电气工程师",
    "metrology_engineer": "注册计量师",
    "high_school_mathematics": "高中数学",
    "high_school_physics": "高中物理",
    "high_school_chemistry": "高中化学",
    "high_school_biology": "高中生物",
    "middle_school_mathematics": "初中数学",
    "middle_school_biology": "初中生物",
    "middle_school_physics": "初中物理",
    "middle_school_chemistry": "初中化学",
    "veterinary_medicine": "兽医学",
    "college_economics": "大学经济学",
    "business_administration": "工商管理",
    "marxism": "马克思主义基本原理",
    "mao_zedong_thought": "毛泽东思想和中国特色社会主义理论体系概论",
    "education_science": "教育学",
    "teacher_qualification": "教师资格",
    "high_school_politics": "高中政治",
    "high_school_geography": "高中地理",
    "middle_school_politics": "初中政治",
    "middle_school_geography": "初中地理",
    "modern_chinese_history": "近代史纲要",
    "ideological_and_moral_cultivation": "思想道德修养与法律基础",
    "logic": "逻辑学",
    "law": "法学",
    "chinese_language_and_literature": "中国语言文学",
    "art_studies": "艺术学",
    "professional_tour_guide": "导游资格",
    "legal_professional": "法律职业资格",
    "high_school_chinese": "高中语文",
    "high_school_history": "高中历史",
    "middle_school_history": "初中历史",
    "civil_servant": "公务员",
    "sports_science": "体育学",
    "plant_protection": "植物保护",
    "basic_medicine": "基础医学",
    "clinical_medicine": "临床医学",
    "urban_and_rural_planner": "注册城乡规划师",
    "accountant": "注册会计师",
    "fire_engineer": "注册消防工程师",
    "environmental_impact_assessment_engineer": "环境影响评价工程师",
    "tax_accountant": "税务师",
    "physician": "医师资格",
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
    default_args = {"few_shot_num": "0"}  # the protocol's count unless given (evalscope: 5)
    max_few_shot = 5
    protocols = {
        "evalscope": Protocol(
            name="evalscope",
            template=CEVAL_USER,
            source=SOURCE,
            few_shot_num=5,
            few_shot_template=ZH_FEW_SHOT + "\n" + CEVAL_USER,
            example_template=CEVAL_EXAMPLE,
            choice_template="{letter}. {text}",
        ),
        "native": NATIVE["zh"],
    }

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
            metadata={"explanation": str(record.get("explanation") or "")},
        )

    def prompt_fields(self, row: MCQRow, subset: str) -> dict[str, Any]:
        """Adds `subject` (the subject's Chinese name) and `explanation` (as the row gives it)."""
        return {
            **super().prompt_fields(row, subset),
            "subject": CHINESE_NAMES.get(subset, subset),
            "explanation": row.metadata.get("explanation", ""),
        }
