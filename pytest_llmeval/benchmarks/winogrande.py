"""Winogrande: fill the blank of a sentence with one of two names (dev split of the xl release, 1,267).

Rows have `sentence` (with one `_`), `option1`, `option2` and `answer` ("1" or "2"): the release's
`dev.jsonl` (also with `qID`), Hugging Face `allenai/winogrande` (configuration `winogrande_xl`,
`validation`) and ModelScope `AI-ModelScope/winogrande_val` (EvalScope's copy) share the layout.

Generative form: a two-option question (A = option1, B = option2) over the sentence; acc.
Log-likelihood form (`--llm-output-type winogrande=multiple_choice`): *partial scoring*, as lm-eval's
`winogrande` task and the paper do: the context varies (the sentence up to the blank with the option
in it) and the continuation is fixed (the rest of the sentence after the blank), so both options are
scored on the same text. acc_norm equals acc here (one continuation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import DatasetSource
from .mcq import NATIVE, MCQRow, MultipleChoiceBenchmark, answer_letter
from .reference_prompts import MC_SINGLE, mc_protocol
from .registry import register_benchmark

QUESTION = "Which option fills the blank (_) best?\n\n{sentence}"


def split_at_blank(sentence: str) -> tuple[str, str]:
    """(text before the `_`, text after it); a sentence without exactly one blank is a row error."""
    if sentence.count("_") != 1:
        raise ValueError(f"the sentence has {sentence.count('_')} blanks (`_`), expected one: {sentence!r}")
    before, _, after = sentence.partition("_")
    return before, after


@register_benchmark
class Winogrande(MultipleChoiceBenchmark):
    name = "winogrande"
    description = "Pronoun/blank resolution, two options (xl dev split); acc (partial log-likelihood scoring)."
    source = DatasetSource(path="allenai/winogrande", config="winogrande_xl", split="validation",
                           few_shot_split="train", modelscope="AI-ModelScope/winogrande_val")  # fmt: skip
    subsets = ("default",)
    tags = ("reasoning", "commonsense", "mcq")
    protocols = {"evalscope": mc_protocol(MC_SINGLE), "native": NATIVE["en"]}
    loglik_form = True
    # solved examples from the train split (Gemma 3's card: 5-shot); in the log-likelihood form each is
    # the whole sentence with the right option, as lm-eval writes them
    default_args = {"few_shot_num": "0"}

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        sentence = str(record["sentence"])
        split_at_blank(sentence)
        answer = record.get("answer")
        if answer in (None, ""):
            raise ValueError("the row has no answer (Winogrande's test split is unlabelled; use dev/validation)")
        return MCQRow(
            question=QUESTION.format(sentence=sentence),
            choices=[str(record["option1"]), str(record["option2"])],
            answer=answer_letter(int(str(answer).strip()) - 1, 2),  # "1"/"2" -> A/B
            id=record.get("qID"),
            metadata={"sentence": sentence},
        )

    def loglik_pairs(self, record: Mapping[str, Any], row: MCQRow, subset: str) -> tuple[list[str], list[str]]:
        before, after = split_at_blank(str(record["sentence"]))
        continuation = " " + after.strip()
        return [before + option for option in row.choices], [continuation] * len(row.choices)
