"""IFEval change_case:*, punctuation:*, startend:* and combination:*."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.ifeval import check_instruction, evaluate_response
from pytest_llmeval.scoring.ifeval.text import capital_words


def check(instruction_id: str, kwargs: dict[str, object] | None, response: str, prompt: str = "prompt") -> bool:
    return check_instruction(instruction_id, kwargs, response, prompt)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("First answer.\n******\nSecond answer.", True),
        ("******\nFirst answer.\n******\nSecond answer.\n******", True),  # outer separators tolerated
        ("First answer.", False),
        ("One.\n******\nTwo.\n******\nThree.", False),
        ("One.\n******\n\n******\nTwo.", False),  # empty middle response
        ("Same.\n******\n  Same.  ", False),  # must differ after trimming
        ("First answer.\n***\nSecond answer.", False),  # wrong separator
    ],
)
def test_two_responses(response: str, expected: bool) -> None:
    assert check("combination:two_responses", None, response) is expected


def test_repeat_prompt_is_a_case_insensitive_prefix() -> None:
    kwargs = {"prompt_to_repeat": "Write a poem about the sea."}
    assert check("combination:repeat_prompt", kwargs, "  WRITE A POEM ABOUT THE SEA. Waves...") is True
    assert check("combination:repeat_prompt", kwargs, "Write a poem about the sea") is False  # truncated
    assert check("combination:repeat_prompt", kwargs, "Sure! Write a poem about the sea. Waves") is False


def test_repeat_prompt_preamble_line_is_forgiven_by_loose_scoring() -> None:
    response = "Sure, here you go:\nWrite a poem about the sea. Waves roll..."
    result = evaluate_response(
        "Write a poem about the sea. First repeat the request.",
        ["combination:repeat_prompt"],
        [{"prompt_to_repeat": "Write a poem about the sea."}],
        response,
    )
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, True)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("The sea is calm. Is there anything else I can help with?", True),
        ("the sea. IS THERE ANYTHING ELSE I CAN HELP WITH?  \n", True),
        ('"The sea is calm. Is there anything else I can help with?"', True),
        ("The sea is calm. Is there anything else I can help with?!", False),
        ("Is there anything else I can help with? The sea is calm.", False),
        ("The sea is calm. Is there anything else I can help with", False),
    ],
)
def test_end_checker_exact_final_phrase(response: str, expected: bool) -> None:
    kwargs = {"end_phrase": "Is there anything else I can help with?"}
    assert check("startend:end_checker", kwargs, response) is expected


def test_capital_words_definition() -> None:
    assert capital_words("I DON'T KNOW, the WELL-KNOWN U.S. team in 2024 Was OK") == [
        "I",
        "DON",
        "'T",
        "KNOW",
        "WELL-KNOWN",
        "U.S",
        "OK",
    ]


@pytest.mark.parametrize(
    ("relation", "capitals", "expected"),
    [("less than", 2, True), ("less than", 3, False), ("at least", 2, False), ("at least", 3, True)],
)
def test_capital_word_frequency_boundaries(relation: str, capitals: int, expected: bool) -> None:
    response = "The sea in 2024: " + " ".join(["WAVE"] * capitals) + " calm"  # "The", "2024" do not count
    kwargs = {"capital_frequency": 3, "capital_relation": relation}
    assert check("change_case:capital_word_frequency", kwargs, response) is expected


def test_english_capital_requires_all_caps_and_english() -> None:
    assert check("change_case:english_capital", None, "THE SEA IS CALM TONIGHT: 3 BOATS, 12 NETS!") is True
    assert check("change_case:english_capital", None, "МОРЕ СЕГОДНЯ СПОКОЙНОЕ, И ЛОДКИ ВОЗВРАЩАЮТСЯ В ГАВАНЬ.") is False
    assert check("change_case:english_capital", None, "THE SEA IS CALM TONIGHt.") is False


def test_english_lowercase_requires_lowercase_and_english() -> None:
    assert check("change_case:english_lowercase", None, "the sea is calm tonight: 3 boats, 12 nets!") is True
    assert (
        check("change_case:english_lowercase", None, "la mer est calme et les bateaux rentrent au port ce soir.")
        is False
    )
    assert check("change_case:english_lowercase", None, "the sea is calm near Dover tonight.") is False


def test_english_lowercase_bold_title_passes_loose_only() -> None:
    # A capitalised title line is the typical strict failure that loose scoring forgives.
    response = "The Calm Sea\nthe waves are quiet tonight and the boats are resting in the harbour."
    result = evaluate_response("p", ["change_case:english_lowercase"], [None], response)
    assert (result.instructions[0].strict, result.instructions[0].loose) == (False, True)


def test_no_comma_only_looks_at_ascii_commas() -> None:
    assert check("punctuation:no_comma", None, "海很深，也很蓝") is True
    assert check("punctuation:no_comma", None, "1,000 boats") is False


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ('  "The sea is calm."\n', True),
        ('"The sea." "The boat."', True),  # only the outer characters matter
        ('"', False),
        ("“The sea is calm.”", False),  # curly quotes are not ASCII double quotes
        ("'The sea is calm.'", False),
        ('"The sea is calm.', False),
    ],
)
def test_quotation(response: str, expected: bool) -> None:
    assert check("startend:quotation", None, response) is expected
