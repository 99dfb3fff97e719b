"""The shared shape of every multiple-choice benchmark: prompt, few-shot block, scoring.

A subclass turns a dataset row into an `MCQRow` (question, option texts, gold letter or letters);
this base writes the prompt under the benchmark's protocol (`protocols.py`: `evalscope`, the
reference system's templates, by default; `native`, `render_prompt` below), adds few-shot examples,
and scores with the one shared extractor (`scoring.choice.find_choice`, then `match_choice_text` when
the model wrote the option's text instead of its letter), or with the reference parser when
`answer_parser=evalscope`. The native prompt asks for step-by-step reasoning and a last line
`Answer: X` (English) or `答案：X` (Chinese); an answer line (`ANSWER: X` too) wins over weaker cues
anywhere else in the output ("option A is correct", "select D"), and negated mentions ("not A") never
count.

Edge cases users ask about:

* more than one gold letter (MMLU-Redux items with several correct options, when asked to keep
  them): any of them passes;
* no letter found: the sample fails with `extracted` None and says so in the explanation;
* options beyond `D` (MMLU-Pro has up to 10, TruthfulQA up to 13): the letters offered and
  accepted are exactly as many as the options.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..errors import DatasetError
from ..scoring.choice import (
    choice_letters,
    find_choice,
    format_choices,
    match_choice_text,
)
from ..scoring.reference_choice import reference_choice
from .base import Benchmark, RecordLoader, Sample, Score
from .breakdown import with_breakdown
from .fewshot import few_shot_num, few_shot_records
from .output_types import LOGLIK_KEY, loglik_metadata
from .protocols import Fields, Protocol
from .rows import records_for_label, safe_sample_id

Language = Literal["en", "zh"]

INSTRUCTION = {
    "en": (
        "Answer the following multiple-choice question. Reason step by step, then give your final "
        'answer on the last line as "Answer: X", where X is the letter of one option ({letters}).'
    ),
    "zh": ("请回答下面的单项选择题。先逐步分析，最后一行按“答案：X”的格式写出答案，X 是正确选项的字母（{letters}）。"),
}
WORDS = {
    "en": {
        "examples": "Solved examples:",
        "question": "Question: ",
        "answer": "Answer: ",
        "reasoning": "Reasoning: ",
        "now": "Now answer this question:",
    },
    "zh": {
        "examples": "示例：",
        "question": "问题：",
        "answer": "答案：",
        "reasoning": "解析：",
        "now": "请回答下面这道题：",
    },
}


class MCQRow(BaseModel):
    """One multiple-choice item as read from a dataset row."""

    question: str
    choices: list[str]
    answer: str | list[str]  # gold letter(s)
    id: str | int | None = None  # the dataset's id, if any (safe_sample_id makes it node-id safe)
    reasoning: str | None = None  # a worked solution, shown only when the row is a few-shot example
    metadata: dict[str, Any] = Field(default_factory=dict)


def answer_letter(value: Any, n_choices: int) -> str:
    """The gold letter from a dataset's answer field: an index (`2`, `"2"`) or a letter (`"C"`, `"(c)"`)."""
    letters = choice_letters(n_choices)
    if isinstance(value, bool):
        raise TypeError(f"answer {value!r} is neither an option index nor a letter")
    if isinstance(value, int):
        index = value
    else:
        text = str(value).strip().strip("()（）. ").upper()
        if text.isdigit():
            index = int(text)
        elif len(text) == 1 and text in letters:
            return text
        else:
            raise ValueError(f"answer {value!r} is not one of the {n_choices} option letters {letters}")
    if not 0 <= index < n_choices:
        raise ValueError(f"answer index {index} is out of range for {n_choices} options")
    return letters[index]


def letters_phrase(letters: str, language: Language) -> str:
    if language == "zh":
        return "、".join(letters)
    return ", ".join(letters[:-1]) + f" or {letters[-1]}" if len(letters) > 1 else letters


def render_prompt(row: MCQRow, examples: Sequence[MCQRow] = (), language: Language = "en") -> str:
    """The user prompt: instruction, optional solved examples, the question and its lettered options."""
    words = WORDS[language]
    letters = choice_letters(len(row.choices))
    parts = [INSTRUCTION[language].format(letters=letters_phrase(letters, language))]
    if examples:
        shots = [words["examples"]]
        for example in examples:
            gold = example.answer if isinstance(example.answer, str) else example.answer[0]
            lines = [f"{words['question']}{example.question.strip()}", format_choices(example.choices)]
            if example.reasoning:
                lines.append(f"{words['reasoning']}{example.reasoning.strip()}")
            lines.append(f"{words['answer']}{gold}")
            shots.append("\n".join(lines))
        parts.append("\n\n".join(shots))
        parts.append(words["now"])
    parts.append(f"{words['question']}{row.question.strip()}\n\n{format_choices(row.choices)}")
    return "\n\n".join(parts)


def native_protocol(language: Language) -> Protocol:
    """This plugin's own MCQ prompt (`render_prompt`) as the `native` protocol."""

    def render(fields: Fields, examples: Sequence[Fields]) -> str:
        return render_prompt(fields["row"], [example["row"] for example in examples], language)

    return Protocol(name="native", renderer=render, source="pytest-llmbench")


NATIVE = {"en": native_protocol("en"), "zh": native_protocol("zh")}


class MultipleChoiceBenchmark(Benchmark):
    """Base of the MCQ benchmarks. Subclasses implement `mcq_row` (`index` is the row's position among
    the subset's kept rows, or among the few-shot rows) and may override `subset_label`,
    `keep` (drop rows) and `breakdown_of` (group labels for `acc_<group>` metrics)."""

    task_type = "mcq"
    language: ClassVar[Language] = "en"
    max_few_shot: ClassVar[int | None] = None

    def __init__(self, args: Mapping[str, str] | None = None) -> None:
        super().__init__(args)
        self._examples: dict[str, list[MCQRow]] = {}
        self._loglik_shots: dict[str, tuple[str, int]] = {}  # subset -> (the examples' text, how many)
        if "few_shot_num" in self.default_args:
            few_shot_num(self, self.max_few_shot)  # a bad value is a usage error before any data is read

    # -- hooks for subclasses ----------------------------------------------------------------

    def mcq_row(self, record: Mapping[str, Any], subset: str, index: int) -> MCQRow:
        raise NotImplementedError(f"{type(self).__name__}.mcq_row")

    def subset_label(self, subset: str) -> str:
        """The subset's name in the dataset (configuration or subset-field value)."""
        return subset

    def keep(self, record: Mapping[str, Any]) -> bool:
        return True

    def breakdown_of(self, subset: str, row: MCQRow) -> list[str]:
        return []

    def loglik_pairs(self, record: Mapping[str, Any], row: MCQRow, subset: str) -> tuple[list[str], list[str]]:
        """The log-likelihood form of a row (`output_type=multiple_choice`): one context and one
        continuation per choice. Default: the cloze prompt lm-eval's ARC/PIQA/MMLU-continuation tasks
        and lighteval's `*_cloze` prompts use, `Question: <question>\nAnswer:` and ` <choice text>`."""
        context = f"Question: {row.question.strip()}\nAnswer:"
        return [context] * len(row.choices), [f" {choice}" for choice in row.choices]

    def prompt_fields(self, row: MCQRow, subset: str) -> dict[str, Any]:
        """The fields the protocols' templates may use for `row` (override to add some)."""
        gold = row.answer if isinstance(row.answer, str) else "".join(sorted(row.answer))
        return {
            "row": row,
            "question": row.question,
            "options": row.choices,
            "answer": gold,
            "reasoning": row.reasoning or "",
        }

    def render(self, row: MCQRow, examples: Sequence[MCQRow], subset: str) -> str:
        """The user message of `row` under the benchmark's protocol."""
        if self.protocol is None:
            return render_prompt(row, examples, self.language)
        return self.protocol.render(self.prompt_fields(row, subset), [self.prompt_fields(e, subset) for e in examples])

    # -- Benchmark ---------------------------------------------------------------------------

    def rows(self, subset: str, label: str, loader: RecordLoader) -> Iterator[tuple[Mapping[str, Any], str]]:
        """The evaluated rows of `subset` with their `file:line` (override for a release layout)."""
        return records_for_label(self, subset, label, loader)

    def few_shot_rows(self, subset: str, loader: RecordLoader, count: int, label: str) -> list[Mapping[str, Any]]:
        """Up to `count` rows of the few-shot split (`fewshot.few_shot_records`; override for a release layout)."""
        return few_shot_records(self, subset, loader, count, label=label)

    def loglik_shot_count(self) -> int:
        """Solved examples before a log-likelihood context: `few_shot_num` when given explicitly, else
        0 (a protocol's default count is for its chat prompts; the cards' log-likelihood rows are
        zero-shot unless they say otherwise, e.g. Gemma 3's HellaSwag 10-shot)."""
        if "few_shot_num" not in self.args or self.few_shot_from_protocol:
            return 0
        return few_shot_num(self, self.max_few_shot)

    def loglik_shot(self, record: Mapping[str, Any], row: MCQRow, subset: str) -> str:
        """One solved example of the log-likelihood form, as lm-eval writes it: the example's context
        (for the gold choice) and its gold continuation (which begins with the target delimiter " ")."""
        contexts, continuations = self.loglik_pairs(record, row, subset)
        gold = choice_letters(len(row.choices)).index(row.answer if isinstance(row.answer, str) else row.answer[0])
        return contexts[gold] + continuations[gold]

    def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
        label = self.subset_label(subset)
        rows = iter(self.rows(subset, label, loader))
        first = next(rows, None)
        if first is None:  # no row: the subset does not run, so its few-shot rows (and their warning) are moot
            return
        if self.loglik:
            count = self.loglik_shot_count()
        else:
            count = few_shot_num(self, self.max_few_shot) if "few_shot_num" in self.args else 0
        self._examples[subset] = []
        shots: list[str] = []
        for index, record in enumerate(self.few_shot_rows(subset, loader, count, label)):
            try:
                row = self.mcq_row(record, subset, index)
                if self.loglik:
                    shots.append(self.loglik_shot(record, row, subset))
                else:
                    self._examples[subset].append(row)
            except (KeyError, ValueError, TypeError) as exc:
                raise DatasetError(
                    f"few-shot row {index} of {self.name!r} subset {subset!r} cannot be used: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        # lm-eval's fewshot_delimiter: the examples joined with a blank line, one more before the context
        self._loglik_shots[subset] = ("".join(f"{shot}\n\n" for shot in shots), len(shots))
        index = 0
        for record, where in itertools.chain((first,), rows):
            if not self.keep(record):
                continue
            yield loader.to_sample(self, record, index, subset, where)
            index += 1

    def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
        row = self.mcq_row(record, subset, index)
        letters = choice_letters(len(row.choices))
        targets = [row.answer] if isinstance(row.answer, str) else list(row.answer)
        if not targets or any(t not in letters for t in targets):
            raise ValueError(f"gold answer {row.answer!r} is not among the option letters {letters}")
        examples = self._examples.get(subset, [])
        metadata = {"question": row.question, **row.metadata}
        breakdown = self.breakdown_of(subset, row)
        if breakdown:
            metadata["breakdown"] = breakdown
        if examples:
            metadata["few_shot"] = len(examples)
        if self.loglik:  # contexts and continuations, one request per choice (benchmarks/output_types.py)
            contexts, continuations = self.loglik_pairs(record, row, subset)
            shots, shot_count = self._loglik_shots.get(subset, ("", 0))
            if shot_count:
                contexts = [shots + context for context in contexts]
                metadata["few_shot"] = shot_count
            gold = letters.index(targets[0])
            metadata[LOGLIK_KEY] = loglik_metadata(contexts, continuations, gold)
            return Sample(
                id=safe_sample_id(row.id, index),
                subset=subset,
                input=contexts[gold],
                target=targets[0],
                choices=row.choices,
                metadata=metadata,
            )
        return Sample(
            id=safe_sample_id(row.id, index),
            subset=subset,
            input=self.render(row, examples, subset),
            target=targets[0] if len(targets) == 1 else targets,
            choices=row.choices,
            metadata=metadata,
        )

    def score(self, sample: Sample, output: str) -> Score:
        choices = sample.choices or []
        letters = choice_letters(len(choices))
        if self.answer_parser == "evalscope":  # the reference parser, for reproducing its numbers
            picked = reference_choice(output, letters, chinese=self.language == "zh")
            return self._verdict(sample, "".join(sorted(picked)) or None, letters, explicit=True)
        answer = find_choice(output, letters, choices)
        extracted = answer.letter or match_choice_text(output, choices, letters)
        return self._verdict(sample, extracted, letters, explicit=answer.explicit)

    def _verdict(self, sample: Sample, extracted: str | None, letters: str, explicit: bool) -> Score:
        targets = [sample.target] if isinstance(sample.target, str) else sample.target
        passed = extracted is not None and extracted in targets
        explanation = None
        if extracted is None:
            explanation = f"no option letter ({letters_phrase(letters, 'en')}) found in the output"
        return Score(
            passed=passed,
            metrics=with_breakdown({"acc": float(passed)}, sample),
            extracted=extracted,
            explanation=explanation,
            explicit=explicit,
        )
