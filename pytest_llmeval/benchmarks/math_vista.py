"""MathVista (AI4Math/MathVista, `testmini`, 1,000 problems): mathematical reasoning over images.

Rows (the Hugging Face release): `pid`, `question`, `image` (a path such as `images/1.jpg`),
`decoded_image` (the image itself), `choices` (a list, or null), `unit`, `precision`, `answer`,
`question_type` (`multi_choice` / `free_form`), `answer_type` (`integer`, `float`, `text`, `list`)
and `metadata` (`category`, `task`, `source`, `skills`, ...). The image comes from `decoded_image`
when present, else from `image` relative to the dataset's folder.

Prompts (the `protocol` argument): a text part, then the image. `evalscope` (the default) is
EvalScope 1.14.1's, byte for byte: multiple choice is its chain-of-thought template over the row's
question as released ("... 'ANSWER: [LETTER]' ... where [LETTER] is one of A,B,C,D. Think step by
step ...", options as `A) text`); free form is "{question}\\nPlease reason step by step, and put your
final answer within \\boxed{} without units." `native` asks multiple choice for a last line
`Answer: X` (options lettered A, B, ...) and strips the question; its free-form text is the same.

Scoring (after EvalScope's MathVista adapter, which follows the paper's answer rules):

* `multi_choice`: the gold letter is the position of `answer` among `choices`; scored by letter, or
  by the option's text when the model wrote that instead (`answer_parser=evalscope`: its parser).
* `free_form`: the prediction is the last `\\boxed{}`, else the last number. It is read as a
  whole, normalised as the math benchmarks do (`scoring.math_equiv.numeric_value`): `\\frac{3}{4}`
  is 0.75 (never its first number, 3), `9{,}500` is 9500, `x = 12` and `12 \\text{ cm}` are 12.
  `integer`: the numbers are equal as integers; `float`: equal after rounding both to the row's
  `precision` decimals (2 when absent); `list`: the same numbers in the same order; `text`: equal
  ignoring case, spaces, `$`, `\\text{}` and a trailing period (`\\text{Yes}` is Yes).

Subsets: `multi_choice` and `free_form` (`-m free_form`). Per-sample metrics: `acc`, plus `acc_<task>`
for the row's `metadata.task` (`acc_figure_question_answering`, `acc_math_word_problem`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..scoring import choice_letters, find_final_number, format_choices
from ..scoring.cues import final_boxed
from ..scoring.math_equiv import numeric_value
from ..scoring.normalize import normalize_numbers
from .base import DatasetSource, RecordLoader, Sample, Score
from .breakdown import metric_label, with_breakdown
from .multimodal import MultimodalBenchmark
from .protocols import Protocol
from .reference_prompts import MATH_VISTA_OPEN, MC_SINGLE_COT, SOURCE
from .registry import register_benchmark
from .rows import safe_sample_id

OPEN_PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}} without units."
MCQ_PROMPT = (
    "Answer the following multiple-choice question about the image. Reason step by step, then give your "
    'final answer on the last line as "Answer: X", where X is the letter of one option ({letters}).\n\n'
    "{question}\n\n{options}"
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in _NUMBER.findall(normalize_numbers(text).replace("{,}", ""))]


def _value(text: str) -> float | None:
    """The number a free-form prediction states: the whole answer read as a closed form
    (`\\frac{3}{4}` is 0.75, `9{,}500` is 9500, `x = 12` is 12, `12 \\text{ cm}` is 12), else
    the number of an answer of one number and some words ("about 12 apples"). None otherwise:
    an expression is never read as its first number (`\\frac{3}{4}` is not 3)."""
    value = numeric_value(text)
    if value is not None:
        return value
    numbers = _numbers(text)
    return numbers[0] if len(numbers) == 1 and "\\" not in text else None


def _text(text: str) -> str:
    """A text answer compared ignoring case, spaces, `$`, `\\text{}` and a trailing period."""
    text = re.sub(r"\\(?:text|textbf|textrm|mathrm|mbox)\s*\{([^{}]*)\}", r"\1", normalize_numbers(text))
    return " ".join(text.replace("$", "").lower().strip().rstrip(".").split())


def free_form_equal(prediction: str, answer: str, answer_type: str, precision: Any) -> bool:
    """MathVista's free-form rule for one prediction (see the module docstring)."""
    if answer_type == "text":
        return _text(prediction) == _text(answer)
    if answer_type == "list":
        return _numbers(prediction) == _numbers(answer) and bool(_numbers(answer))
    got, gold = _value(prediction), _value(answer)
    if got is None or gold is None:
        return False
    if answer_type == "integer":
        return got.is_integer() and int(got) == round(gold)
    digits = int(float(precision)) if precision not in (None, "") else 2
    return round(got, digits) == round(gold, digits)


@register_benchmark
class MathVista(MultimodalBenchmark):
    name = "math_vista"
    description = (
        "MathVista testmini: math over images; multiple choice by letter, free-form by type and precision; acc."
    )
    source = DatasetSource(
        path="AI4Math/MathVista",
        split="testmini",
        subset_mode="field",
        subset_field="question_type",
        modelscope="evalscope/MathVista",
    )
    subsets = ("multi_choice", "free_form")
    tags = ("math", "vision", "multimodal")
    task_type = "math"
    metrics = ("acc",)
    breakdown_prefixes = ("acc_",)  # acc_<task>
    # the multiple-choice template; `extra["free_form"]` the free-form one (the benchmark renders them)
    protocols = {
        "evalscope": Protocol(
            name="evalscope", template=MC_SINGLE_COT, source=SOURCE, extra={"free_form": MATH_VISTA_OPEN}
        ),
        "native": Protocol(
            name="native", template=MCQ_PROMPT, source="pytest-llmbench", extra={"free_form": OPEN_PROMPT}
        ),
    }

    def load_rows(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        index = 0
        for record, where in loader.records(self, subset):
            if str(record.get("question_type")) != subset:
                continue
            yield loader.to_sample(self, record, index, subset, where)
            index += 1

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        reference = self.reference_protocol
        raw_question = str(record["question"])
        question = raw_question.strip()
        image = record.get("decoded_image") or record.get("image")
        metadata: dict[str, Any] = {
            "question": question,
            "question_type": record["question_type"],
            "answer_type": record.get("answer_type") or "text",
            "precision": record.get("precision"),
            "unit": record.get("unit"),
        }
        task = (record.get("metadata") or {}).get("task") if isinstance(record.get("metadata"), Mapping) else None
        if task:
            metadata["breakdown"] = [metric_label(task)]
        if record["question_type"] == "multi_choice":
            choices = [str(c) for c in record.get("choices") or []]
            if not choices:
                raise ValueError("a multi_choice row has no choices")
            answer = str(record["answer"])
            if answer not in choices:
                raise ValueError(f"answer {answer!r} is not one of the choices {choices!r}")
            letters = choice_letters(len(choices))
            if reference:  # the question as released (EvalScope does not strip it)
                text = self.protocol.render({"question": raw_question, "options": choices})  # type: ignore[union-attr]
            else:
                text = MCQ_PROMPT.format(letters=", ".join(letters), question=question, options=format_choices(choices))
            target = letters[choices.index(answer)]
        else:
            choices = None
            text = MATH_VISTA_OPEN.format(question=raw_question) if reference else OPEN_PROMPT.format(question=question)
            target = str(record["answer"])
        self.add_segments(
            metadata, [text, ("image", "decoded_image" if record.get("decoded_image") else "image", image)]
        )
        return Sample(
            id=safe_sample_id(record.get("pid"), index),
            subset=subset,
            input=text,
            target=target,
            choices=choices,
            metadata=metadata,
        )

    def score(self, sample: Sample, output: str) -> Score:
        if sample.metadata["question_type"] == "multi_choice":
            extracted, explicit = self.choice_answer(sample, output)
            passed = extracted == sample.target
        else:
            boxed = final_boxed(output)  # an empty box (an echoed prompt) falls back to the number
            number = None if boxed else find_final_number(output)
            extracted = boxed if boxed else number.value if number else None
            explicit = bool(boxed) or (number is not None and number.explicit)
            passed = extracted is not None and free_form_equal(
                extracted, str(sample.target), sample.metadata["answer_type"], sample.metadata.get("precision")
            )
        return Score(
            passed=passed,
            metrics=with_breakdown({"acc": float(passed)}, sample),
            extracted=extracted,
            explanation=None if extracted is not None else "no answer found (expected \\boxed{} or a letter)",
            explicit=explicit,
        )
