"""IFEval: one hand-written pass and fail case per instruction (strict), the public API, loose
scoring and the benchmark metrics. Tricky per-family cases live in test_ifeval_<family>.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.scoring.ifeval import (
    INSTRUCTION_IDS,
    IFEvalResult,
    InstructionResult,
    aggregate,
    aggregate_sample_metrics,
    check_instruction,
    evaluate_response,
    loose_variants,
)

PROMPT = "Write a short note about the sea."

# (instruction id, kwargs, response, strict verdict) — every id appears with True and with False.
CASES: list[tuple[str, dict[str, Any] | None, str, bool]] = [
    ("keywords:existence", {"keywords": ["ocean", "salt"]}, "The Ocean is full of salt.", True),
    ("keywords:existence", {"keywords": ["ocean", "salt"]}, "The ocean is wide.", False),
    ("keywords:frequency", {"keyword": "wave", "frequency": 2, "relation": "at least"}, "Wave after wave.", True),
    ("keywords:frequency", {"keyword": "wave", "frequency": 2, "relation": "at least"}, "One wave only.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["blue"]}, "The sea is grey today.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["blue"]}, "The sea is BLUE today.", False),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
        "Zebras zoom.",
        True,
    ),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"}, "A zebra.", False),
    (
        "language:response_language",
        {"language": "fr"},
        "La mer est calme aujourd'hui et les bateaux rentrent au port avant la nuit.",
        True,
    ),
    (
        "language:response_language",
        {"language": "fr"},
        "The sea is calm today and the boats return to the harbour before night.",
        False,
    ),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One. Two.", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One. Two. Three.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First part.\n***\nSecond part.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First part.\n\nSecond part.", False),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"}, "The sea is very deep.", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"}, "The sea is deep.", False),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "tides"},
        "The sea moves.\n\nTides follow the moon.",
        True,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "tides"},
        "The sea moves.\n\nThe tides follow the moon.",
        False,
    ),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Meet at [place] on [date].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Meet at [place] tomorrow.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\n\nP.S. Bring a towel.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye. Bring a towel.", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "Sea facts:\n* salty\n* deep", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "Sea facts:\n* salty\n* deep\n* wide", False),
    ("detectable_format:constrained_response", None, "My answer is yes.", True),
    ("detectable_format:constrained_response", None, "Yes, definitely.", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*Tides* and *waves* matter.", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*Tides* and waves matter.", False),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nThe shore.\nSection 2\nThe deep.",
        True,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nThe shore and the deep.",
        False,
    ),
    ("detectable_format:json_format", None, '{"sea": "calm", "depth_m": 3700}', True),
    ("detectable_format:json_format", None, "{sea: calm}", False),
    ("detectable_format:title", None, "<<Ode to the Sea>>\nThe waves roll in.", True),
    ("detectable_format:title", None, "Ode to the Sea\nThe waves roll in.", False),
    ("combination:two_responses", None, "The sea is calm.\n******\nThe sea is rough.", True),
    ("combination:two_responses", None, "The sea is calm.\n******\nThe sea is calm.", False),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": PROMPT},
        PROMPT + "\nThe sea covers most of the planet.",
        True,
    ),
    ("combination:repeat_prompt", {"prompt_to_repeat": PROMPT}, "The sea covers most of the planet.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Seas are big. Any other questions?", True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Seas are big.", False),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "The SEA is calm.",
        True,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "The SEA is VERY calm.",
        False,
    ),
    ("change_case:english_capital", None, "THE SEA IS CALM AND THE BOATS ARE RETURNING TO THE HARBOUR TONIGHT.", True),
    ("change_case:english_capital", None, "THE SEA IS CALM AND THE BOATS ARE returning TO THE HARBOUR TONIGHT.", False),
    (
        "change_case:english_lowercase",
        None,
        "the sea is calm and the boats are returning to the harbour tonight.",
        True,
    ),
    (
        "change_case:english_lowercase",
        None,
        "The sea is calm and the boats are returning to the harbour tonight.",
        False,
    ),
    ("punctuation:no_comma", None, "The sea is calm and grey.", True),
    ("punctuation:no_comma", None, "The sea is calm, and grey.", False),
    ("startend:quotation", None, '"The sea is calm."', True),
    ("startend:quotation", None, "The sea is calm.", False),
]


@pytest.mark.parametrize(
    ("instruction_id", "kwargs", "response", "expected"),
    CASES,
    ids=[f"{case[0]}-{'pass' if case[3] else 'fail'}" for case in CASES],
)
def test_instruction_strict_verdict(
    instruction_id: str, kwargs: dict[str, Any] | None, response: str, expected: bool
) -> None:
    assert check_instruction(instruction_id, kwargs, response, PROMPT) is expected


def test_every_instruction_has_a_pass_and_a_fail_case() -> None:
    verdicts = {(case[0], case[3]) for case in CASES}
    missing = [(iid, verdict) for iid in INSTRUCTION_IDS for verdict in (True, False) if (iid, verdict) not in verdicts]
    assert missing == []
    assert len(INSTRUCTION_IDS) == 25 == len(set(INSTRUCTION_IDS))


# -- errors -------------------------------------------------------------------------------------


def test_unknown_instruction_id_is_a_value_error_listing_known_ids() -> None:
    with pytest.raises(ValueError, match="keywords:existance") as info:
        check_instruction("keywords:existance", {"keywords": ["x"]}, "x", PROMPT)
    message = str(info.value)
    assert "'keywords:existance'" in message
    assert "keywords:existence" in message and "startend:quotation" in message
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("instruction_id", "kwargs", "fragment"),
    [
        ("keywords:frequency", {"keyword": "a", "frequency": 2, "relation": "more than"}, "relation"),
        ("keywords:frequency", {"keyword": "a", "relation": "at least"}, "frequency"),
        ("length_constraints:number_words", {"num_words": "many", "relation": "at least"}, "num_words"),
        ("detectable_format:multiple_sections", {"section_splitter": "Section", "num_sections": 2}, "section_splitter"),
        ("punctuation:no_comma", {"surprise": 1}, "surprise"),
        ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}, "letter"),
    ],
)
def test_bad_kwargs_raise_value_error_naming_the_instruction_and_key(
    instruction_id: str, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(instruction_id)) as info:
        check_instruction(instruction_id, kwargs, "some response", PROMPT)
    assert instruction_id in str(info.value)
    assert fragment in str(info.value)


def test_none_values_in_kwargs_are_absent_like_the_hugging_face_rows() -> None:
    hf_style = {
        "keywords": None,
        "num_words": 3,
        "relation": "less than",
        "first_word": None,
        "section_spliter": None,
        "prompt_to_repeat": None,
    }
    assert check_instruction("length_constraints:number_words", hf_style, "Two words.", PROMPT) is True
    assert check_instruction("punctuation:no_comma", {"keywords": None, "num_words": None}, "No comma", PROMPT)


def test_repeat_prompt_falls_back_to_the_prompt_argument() -> None:
    assert check_instruction("combination:repeat_prompt", None, PROMPT + " Answer: waves.", PROMPT) is True
    assert check_instruction("combination:repeat_prompt", {"prompt_to_repeat": None}, "Answer: waves.", PROMPT) is False


def test_empty_response_follows_no_instruction_even_trivial_ones() -> None:
    assert check_instruction("punctuation:no_comma", None, "", PROMPT) is False
    assert check_instruction("keywords:forbidden_words", {"forbidden_words": ["x"]}, "  \n ", PROMPT) is False
    result = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], "\n\n")
    assert result.instructions[0] == InstructionResult(instruction_id="punctuation:no_comma", strict=False, loose=False)


def test_evaluate_response_rejects_malformed_rows() -> None:
    with pytest.raises(ValueError, match="no instructions"):
        evaluate_response(PROMPT, [], [], "x")
    with pytest.raises(ValueError, match="2 instruction ids but 1 kwargs"):
        evaluate_response(PROMPT, ["punctuation:no_comma", "startend:quotation"], [None], "x")
    # kwargs are validated even when the response is empty
    with pytest.raises(ValueError, match="nope:nope"):
        evaluate_response(PROMPT, ["punctuation:no_comma", "nope:nope"], [None, None], "")


# -- loose scoring ------------------------------------------------------------------------------


def test_loose_variants_are_the_eight_documented_ones() -> None:
    variants = loose_variants("Sure, here:\n*a*\nbody\nThanks!")
    assert variants == [
        "Sure, here:\n*a*\nbody\nThanks!",
        "*a*\nbody\nThanks!",
        "Sure, here:\n*a*\nbody",
        "*a*\nbody",
        "Sure, here:\na\nbody\nThanks!",
        "a\nbody\nThanks!",
        "Sure, here:\na\nbody",
        "a\nbody",
    ]


def test_preamble_line_fails_strict_but_passes_loose() -> None:
    response = 'Sure, here is the JSON you asked for:\n{"sea": "calm"}'
    result = evaluate_response(PROMPT, ["detectable_format:json_format"], [None], response)
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, True)


def test_closing_remark_fails_strict_but_passes_loose() -> None:
    response = '"The sea is calm."\nHope this helps!'
    result = evaluate_response(PROMPT, ["startend:quotation"], [None], response)
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, True)


def test_asterisks_fail_strict_but_pass_loose() -> None:
    # The first word of paragraph 2 is "**tides**" as written; with `*` removed it is "tides".
    response = "The sea is deep.\n\n**Tides** follow the moon."
    kwargs = {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "tides"}
    result = evaluate_response(PROMPT, ["length_constraints:nth_paragraph_first_word"], [kwargs], response)
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, True)


def test_loose_does_not_forgive_a_violation_in_the_middle() -> None:
    response = "Intro line\nThe sea, calm.\nOutro line"
    result = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], response)
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, False)


def test_loose_ignores_empty_variants_of_a_one_line_response() -> None:
    # Removing the only line leaves "", which would trivially have "no comma": it must not count.
    result = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], "Calm, grey sea.")
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, False)


def test_strict_pass_implies_loose_pass() -> None:
    result = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], "Calm grey sea")
    assert (result.instructions[0].strict, result.instructions[0].loose) == (True, True)


# -- per prompt and benchmark metrics -----------------------------------------------------------


def test_evaluate_response_prompt_and_instruction_level() -> None:
    response = "Sure, here it is:\n*Tides* and *waves* shape the SEA\nbye"
    result = evaluate_response(
        PROMPT,
        ["punctuation:no_comma", "detectable_format:number_highlighted_sections", "keywords:existence"],
        [None, {"num_highlights": 2}, {"keywords": ["moon"]}],
        response,
    )
    assert [(item.strict, item.loose) for item in result.instructions] == [(False, True), (True, True), (False, False)]
    assert result.prompt_level_strict is False and result.prompt_level_loose is False
    assert result.inst_level_strict == pytest.approx(1 / 3)
    assert result.inst_level_loose == pytest.approx(2 / 3)


def test_aggregate_is_micro_averaged_over_instructions() -> None:
    one = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], "calm sea")  # 1/1 strict
    three = evaluate_response(
        PROMPT,
        ["punctuation:no_comma", "startend:quotation", "keywords:existence"],
        [None, None, {"keywords": ["sea"]}],
        "Sure:\ncalm, sea",  # comma fails; quotation fails; keyword passes -> 1/3
    )
    metrics = aggregate([one, three])
    assert set(metrics) == {"prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose"}
    assert metrics["prompt_level_strict"] == pytest.approx(0.5)
    # micro: (1 + 1) / 4 instructions, not the mean of per-prompt fractions (1 + 1/3) / 2
    assert metrics["inst_level_strict"] == pytest.approx(2 / 4)
    # loose: dropping the *last* line leaves "Sure:", which has no comma (loose is that lenient);
    # no variant is wrapped in quotes -> (1 + 2) / 4
    assert metrics["inst_level_loose"] == pytest.approx(3 / 4)
    assert metrics["prompt_level_loose"] == pytest.approx(0.5)


def test_aggregate_matches_aggregate_sample_metrics_and_empty_is_empty() -> None:
    results = [
        evaluate_response(PROMPT, ["punctuation:no_comma", "startend:quotation"], [None, None], '"calm sea"'),
        evaluate_response(PROMPT, ["startend:quotation"], [None], "calm sea"),
    ]
    assert aggregate(results) == aggregate_sample_metrics([r.sample_metrics() for r in results])
    assert aggregate(results)["inst_level_strict"] == pytest.approx(2 / 3)
    assert aggregate([]) == {}


def test_result_round_trips_through_json() -> None:
    result = evaluate_response(PROMPT, ["punctuation:no_comma"], [None], "calm sea")
    assert IFEvalResult.model_validate_json(result.model_dump_json()) == result
