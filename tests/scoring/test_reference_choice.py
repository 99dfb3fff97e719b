"""`--llm-answer-parser evalscope`: the reference system's multiple-choice parser, pinned by its own
verdicts on the same outputs (recorded from EvalScope 1.14.1 by tools/record_evalscope_prompts.py),
and the strict default parser, which does not credit its last-capital-letter fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks import get_benchmark
from pytest_llmeval.benchmarks.base import Sample
from pytest_llmeval.errors import ConfigError
from pytest_llmeval.scoring.choice import choice_letters, find_choice
from pytest_llmeval.scoring.reference_choice import reference_choice

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "reference_choice_cases.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["output"][:30] for c in CASES])
def test_reference_parser_reads_what_evalscope_reads(case: dict[str, Any]):
    letters = choice_letters(case["n"])
    got = reference_choice(
        case["output"], letters, chinese=case.get("chinese", False), multiple=case.get("multiple", False)
    )
    assert "".join(sorted(got)) == case["evalscope"]


# outputs the reference credits through its fallback, with the letter it reads; the strict parser reads none
FALLBACK_TRAPS = [
    ("The options were:\nA. 1\nB. 2\nC. 3\nD. 4", "D"),  # a re-printed option list
    ("It is clearly the Cranial cavity", "C"),  # a capital inside a word
    ("I think the right one is not (C)", "C"),  # a negated option
]


@pytest.mark.parametrize(("output", "fallback"), FALLBACK_TRAPS)
def test_the_strict_default_does_not_credit_the_last_capital_letter(output: str, fallback: str):
    assert reference_choice(output, "ABCD") == {fallback}
    assert find_choice(output, "ABCD").letter is None


def mcq_sample(target: str) -> Sample:
    return Sample(
        id="0", subset="anatomy", input="q", target=target, choices=["Abdominal", "Cranial", "Pleural", "Spinal"]
    )


def test_benchmark_scores_with_the_reference_parser_only_when_asked():
    output = "It is clearly the Cranial cavity"
    strict = get_benchmark("mmlu")({"protocol": "native"}).score(mcq_sample("C"), output)
    reference = get_benchmark("mmlu")({"answer_parser": "evalscope"}).score(mcq_sample("C"), output)
    assert not strict.passed and strict.extracted is None
    assert reference.passed and reference.extracted == "C"


def test_chinese_benchmarks_read_the_chinese_marker_with_the_reference_parser():
    sample = Sample(id="0", subset="IQ", input="q", target="B", choices=["1", "2", "3", "4"])
    assert get_benchmark("iquiz")({"answer_parser": "evalscope"}).score(sample, "分析\n答案：B").passed
    ceval = get_benchmark("ceval")({"answer_parser": "evalscope", "few_shot_num": "0"})
    assert (
        ceval.score(
            Sample(id="0", subset="law", input="q", target="B", choices=["1", "2", "3", "4"]), "ANSWER: A\n答案：B"
        ).extracted
        == "B"
    )


def test_unknown_answer_parser_is_a_usage_error():
    with pytest.raises(ConfigError, match=r"mmlu.answer_parser must be one of strict, evalscope"):
        get_benchmark("mmlu")({"answer_parser": "lenient"})
