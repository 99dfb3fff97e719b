"""MMLU: 57 subjects of four-option questions (cais/mmlu, test split, 14,042 questions).

Rows have `question`, `subject`, `choices` (4 texts) and `answer` (the gold index 0-3). Each subject
is a dataset configuration and a subset; a single local file holding several subjects (like the
`all` configuration) is split on its `subject` field. Under the `evalscope` protocol (the default)
the prompt is EvalScope 1.14.1's, with the subject's 5 `dev` rows as solved examples; under `native`
zero-shot chain-of-thought. `--llm-bench-arg mmlu.few_shot_num=N` sets the count.

The subjects fall into the four groups of the MMLU paper (`stem`, `humanities`, `social_science`,
`other`): each sample also reports `acc_<group>`, so results carry per-group accuracy, and
`--llm-bench-arg mmlu.subset_list=stem` runs one group (see `breakdown.py`).

Cloze form (`output_type=multiple_choice`): `Question: <question>\nAnswer:` and ` <choice text>`;
`cloze_subject=on` puts SmolLM's subject line before it (`loglik_pairs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .breakdown import GroupedSubsets, breakdown_names
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import MC_SINGLE_COT, mc_protocol
from .registry import register_benchmark

MMLU_GROUPS: dict[str, tuple[str, ...]] = {
    "stem": (
        "abstract_algebra",
        "astronomy",
        "college_biology",
        "college_chemistry",
        "college_computer_science",
        "college_mathematics",
        "college_physics",
        "computer_security",
        "conceptual_physics",
        "electrical_engineering",
        "elementary_mathematics",
        "high_school_biology",
        "high_school_chemistry",
        "high_school_computer_science",
        "high_school_mathematics",
        "high_school_physics",
        "high_school_statistics",
        "machine_learning",
    ),
    "humanities": (
        "formal_logic",
        "high_school_european_history",
        "high_school_us_history",
        "high_school_world_history",
        "international_law",
        "jurisprudence",
        "logical_fallacies",
        "moral_disputes",
        "moral_scenarios",
        "philosophy",
        "prehistory",
        "professional_law",
        "world_religions",
    ),
    "social_science": (
        "econometrics",
        "high_school_geography",
        "high_school_government_and_politics",
        "high_school_macroeconomics",
        "high_school_microeconomics",
        "high_school_psychology",
        "human_sexuality",
        "professional_psychology",
        "public_relations",
        "security_studies",
        "sociology",
        "us_foreign_policy",
    ),
    "other": (
        "anatomy",
        "business_ethics",
        "clinical_knowledge",
        "college_medicine",
        "global_facts",
        "human_aging",
        "management",
        "marketing",
        "medical_genetics",
        "miscellaneous",
        "nutrition",
        "professional_accounting",
        "professional_medicine",
        "virology",
    ),
}
MMLU_SUBJECTS: tuple[str, ...] = tuple(sorted(s for members in MMLU_GROUPS.values() for s in members))


def mmlu_row(record: Mapping[str, Any]) -> MCQRow:
    """An MMLU-format row (`question`, `choices`, `answer` index or letter)."""
    choices = [str(c) for c in record["choices"]]
    return MCQRow(
        question=str(record["question"]),
        choices=choices,
        answer=answer_letter(record["answer"], len(choices)),
        id=record.get("id"),
    )


@register_benchmark
class MMLU(GroupedSubsets, MultipleChoiceBenchmark):
    name = "mmlu"
    description = "57-subject English knowledge MCQ (4 options), 0-shot CoT; acc and acc per group."
    source = DatasetSource(
        path="cais/mmlu",
        split="test",
        few_shot_split="dev",
        subset_mode="config",
        subset_field="subject",
        modelscope="cais/mmlu",
    )
    subsets = MMLU_SUBJECTS
    groups = MMLU_GROUPS
    tags = ("knowledge", "mcq")
    metrics = ("acc", *breakdown_names("acc", MMLU_GROUPS))
    # few_shot_num: the protocol's count unless given (evalscope: 5); cloze_subject: see loglik_pairs
    default_args = {"few_shot_num": "0", "cloze_subject": "off"}
    max_few_shot = 5
    protocols = {"evalscope": mc_protocol(MC_SINGLE_COT, few_shot_num=5), "native": NATIVE["en"]}
    # MMLU cloze (output_type=multiple_choice): the answer text as continuation of `Question: ...\nAnswer:`,
    # zero-shot (lighteval's mmlu_cloze prompt, used by SmolLM2's card)
    loglik_form = True

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        value = self.args["cloze_subject"].strip().lower()
        if value not in ("on", "off"):  # a usage error before any data is read
            from ..errors import ConfigError

            raise ConfigError(f"benchmark 'mmlu': cloze_subject must be on or off, got {value!r}")
        self.cloze_subject = value == "on"

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        return mmlu_row(record)

    def loglik_pairs(self, record: Mapping[str, Any], row: MCQRow, subset: str) -> tuple[list[str], list[str]]:
        """The cloze form; with `cloze_subject=on` the context starts with the subject line of SmolLM's
        own evaluation task (huggingface/smollm `text/evaluation/tasks.py`, `mmlu_cloze_prompt`, its
        `mmlu_cf` task): `The following are questions about <subject, _ as space>.\nQuestion: ...`."""
        contexts, continuations = super().loglik_pairs(record, row, subset)
        if self.cloze_subject:
            header = f"The following are questions about {subset.replace('_', ' ')}.\n"
            contexts = [header + context for context in contexts]
        return contexts, continuations
