"""User-defined benchmarks from a JSONL/JSON/CSV/parquet file, registered from a conftest::

    from pytest_llmeval import file_benchmark, register_benchmark

    register_benchmark(file_benchmark("support_faq", "data/faq.jsonl", kind="qa"))
    register_benchmark(file_benchmark("policy_mcq", "data/policy.csv", kind="mcq", tags=["policy"]))
    register_benchmark(file_benchmark("tone", "data/tone.jsonl", scorer=my_scorer))

Row fields (names configurable): `question`, `answer`, optional `id`, `subset`, and for `mcq` either a
`choices` list or one column per letter (`A`, `B`, `C`, ...). With several `subsets`, a row belongs to
the subset its `subset` field names, as written or as a mark-style name (`Counting & Probability` is
`counting_and_probability`: `loading.in_subset`, the loader's rule). Relative paths resolve against the
folder of the file that calls `file_benchmark` (your conftest), not the working directory.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..scoring.choice import choice_letters, find_choice, format_choices
from ..scoring.normalize import normalize_numbers
from ..scoring.numeric import numbers_equal
from .base import Benchmark, RecordLoader, Sample, Score
from .loading import read_path

UserScorer = Callable[[Sample, str], "Score | bool | float"]

MCQ_PROMPT = (
    "Answer the following multiple-choice question. Think briefly, then finish with a line of the form "
    "'Answer: X' where X is the letter of the correct option.\n\n{question}\n\n{choices}"
)
QA_PROMPT = "{question}\n\nFinish with a line of the form 'Answer: ...' giving only the final answer."


def file_benchmark(
    name: str,
    path: str | Path,
    *,
    kind: Literal["mcq", "qa"] = "qa",
    scorer: UserScorer | None = None,
    judge: bool = False,
    prompt: str | None = None,
    system_prompt: str | None = None,
    subsets: Sequence[str] = ("default",),
    tags: Sequence[str] = (),
    metrics: Sequence[str] = ("acc",),
    description: str = "",
    question_field: str = "question",
    answer_field: str = "answer",
    choices_field: str = "choices",
    id_field: str = "id",
    subset_field: str = "subset",
) -> type[Benchmark]:
    """Build a benchmark class over a local file; pass it to `register_benchmark`.

    `prompt` is a format string with `{question}` (and `{choices}` for mcq). `scorer(sample, output)`
    may return a Score, a bool (pass/fail, metric `acc`) or a float in [0, 1] (passes at >= 0.5).
    `judge=True` (qa only) lets the `--llm-judge-model` decide whether the output means the same as
    the answer, for free-form answers no rule can check; selecting the benchmark then requires it.
    """
    if kind not in ("mcq", "qa"):
        raise ConfigError(f"file_benchmark kind must be 'mcq' or 'qa', got {kind!r}")
    if judge and (kind != "qa" or scorer is not None):
        raise ConfigError("file_benchmark(judge=True) grades free-form answers: use it with kind='qa' and no scorer")
    data_path = Path(path)
    if not data_path.is_absolute():
        caller = sys._getframe(1).f_globals.get("__file__")
        data_path = (Path(caller).parent if caller else Path.cwd()) / data_path
    template = prompt or (MCQ_PROMPT if kind == "mcq" else QA_PROMPT)

    class FileBenchmark(Benchmark):
        def record_to_sample(self, record: Mapping[str, Any], index: int, subset: str) -> Sample:
            question = _text(record, question_field)
            given = record.get(id_field)  # an id 0 is the row's id too, not a missing one
            sample_id = str(given) if given is not None and str(given).strip() else f"{index:04d}"
            if kind == "mcq":
                choices = _choices_of(record, choices_field)
                answer = str(record[answer_field]).strip().upper()
                if answer not in choice_letters(len(choices)):
                    raise ValueError(f"answer {answer!r} is not one of the {len(choices)} choice letters")
                text = template.format(question=question, choices=format_choices(choices))
                return Sample(id=sample_id, subset=subset, input=text, target=answer, choices=choices)
            return Sample(
                id=sample_id,
                subset=subset,
                input=template.format(question=question),
                # the generic rule and the judge compare with it: an empty gold would be a silent wrong answer
                target=str(record[answer_field]) if scorer is not None else _text(record, answer_field),
                metadata={"question": question},
            )

        def load(self, subset: str, loader: RecordLoader) -> Iterator[Sample]:
            if loader.override(name, subset) is not None:
                yield from super().load(subset, loader)
                return
            if not data_path.exists():
                raise ConfigError(f"benchmark {name!r}: data file {data_path} does not exist")
            # the loader's one rule (and its error when no row is this subset's: the field, the values seen)
            rows = loader.filter_subset(self, subset, read_path(data_path), field_names=(subset_field,))
            for index, (record, where) in enumerate(rows):
                yield loader.to_sample(self, record, index, subset, where)

        def judge_inputs(self, sample: Sample, output: str) -> tuple[str, str, str] | None:
            return (str(sample.metadata["question"]), str(sample.target), output) if judge else None

        def score(self, sample: Sample, output: str) -> Score:
            if scorer is not None:
                return _as_score(scorer(sample, output))
            inputs = self.judge_inputs(sample, output)
            if inputs is not None:
                verdict = self.require_judge().grade(*inputs)
                return Score(
                    passed=verdict.passed, metrics={"acc": float(verdict.passed)}, explanation=verdict.explanation
                )
            if kind == "mcq":
                answer = find_choice(output, choice_letters(len(sample.choices or [])), sample.choices)
                passed = answer.letter == sample.target
                return Score(
                    passed=passed, metrics={"acc": float(passed)}, extracted=answer.letter, explicit=answer.explicit
                )
            extracted, passed = match_short_answer(output, str(sample.target))
            return Score(passed=passed, metrics={"acc": float(passed)}, extracted=extracted)

    attributes = {
        "name": name,
        "description": description or f"{kind} benchmark from {data_path.name}",
        "subsets": tuple(subsets),
        "tags": tuple(tags),
        "metrics": tuple(metrics),
        "task_type": kind,
        "needs_judge": judge,
        "system_prompt": system_prompt,
        "data_path": data_path,
    }
    return type(f"FileBenchmark_{name}", (FileBenchmark,), attributes)


def _text(record: Mapping[str, Any], field: str) -> str:
    """The field's text; null or blank is a row error (a KeyError when the field is missing)."""
    value = record[field]
    if value is None or not str(value).strip():
        raise ValueError(f"field {field!r} is {'null' if value is None else 'empty'}")
    return str(value)


def _choices_of(record: Mapping[str, Any], field: str) -> list[str]:
    raw = record.get(field)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise ValueError(f"field {field!r} must be a list (or a JSON list in CSV)") from None
    if isinstance(raw, list):
        choices = [str(c) for c in raw]
    else:
        choices = [str(record[letter]) for letter in "ABCDEFGHIJ" if record.get(letter) not in (None, "")]
    if not 2 <= len(choices) <= 10:
        raise ValueError(f"expected 2-10 choices (a {field!r} list or columns A, B, C, ...), got {len(choices)}")
    return choices


def _as_score(result: Score | bool | float) -> Score:
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(passed=result, metrics={"acc": float(result)})
    value = float(result)
    return Score(passed=value >= 0.5, metrics={"acc": value})


# "answer" as a word ("answers vary" holds no cue), then "is" and a colon, each optional
_ANSWER_LINE = re.compile(r"\b(?:final answer|answer)\b\s*(?:is\b)?\s*[:：]?\s*(.+)", re.IGNORECASE)


def _normalize(text: str) -> str:
    text = normalize_numbers(text)  # "−3" keeps its sign, "9 500" is one number (scoring.normalize)
    text = text.lower().strip().strip("*`\"'").rstrip(".")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(re.sub(r"[^\w\s.%-]", " ", text).split())


def match_short_answer(output: str, target: str) -> tuple[str | None, bool]:
    """Generic question-answer check.

    The candidate answer is the text after the last `Answer:` / `answer is`, else the last
    non-empty line. After lower-casing and dropping articles and punctuation it matches when it
    equals the target, when both are numbers that are equal (`1,000` = `1000`), or when it is a
    sentence ending in `is|are|was|were <target>`: "The capital of France is Paris." matches
    "Paris", "It is Lyon, not Paris." does not.
    """
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return None, False
    candidate = lines[-1]
    for line in reversed(lines):
        found = _ANSWER_LINE.search(line)
        if found:
            candidate = found.group(1)
            # the last cue of the line: "final answer: Answer: Paris" -> "Paris"
            while found := _ANSWER_LINE.search(candidate):
                candidate = found.group(1)
            break
    normalized, expected = _normalize(candidate), _normalize(target)
    if normalized == expected or (
        expected and re.search(rf"(?:^|\s)(?:is|are|was|were)\s+{re.escape(expected)}$", normalized)
    ):
        return candidate.strip(), True
    try:
        return candidate.strip(), numbers_equal(normalized.replace(" ", ""), expected.replace(" ", ""))
    except (ValueError, TypeError):
        return candidate.strip(), False
