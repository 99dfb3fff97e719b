"""IFEval length_constraints:* — what a sentence, word and paragraph is, and the boundaries."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.ifeval import check_instruction
from pytest_llmeval.scoring.ifeval.text import count_sentences, count_words


def check(instruction_id: str, kwargs: dict[str, object], response: str) -> bool:
    return check_instruction(instruction_id, kwargs, response, "prompt")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Dr. Smith went home. He was tired.", 2),  # abbreviation does not end a sentence
        ("It costs 3.5 dollars. Fine.", 2),
        ("Is it? Yes! Sure.", 3),
        ("A heading\nThe sea is calm. It is late.", 2),  # line breaks do not end sentences
        ("", 0),
        ("   \n", 0),
    ],
)
def test_sentence_counting(text: str, sentences: int) -> None:
    assert count_sentences(text) == sentences


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The sea, calm.", 3),
        ("don't", 2),
        ("state-of-the-art", 4),
        ("3.14 km", 3),
        ("", 0),
        ("!!! ---", 0),
        ("mer très calme", 3),
    ],
)
def test_word_counting_is_regex_w_plus(text: str, words: int) -> None:
    assert count_words(text) == words


@pytest.mark.parametrize(
    ("relation", "sentences", "expected"),
    [
        ("less than", 2, True),
        ("less than", 3, False),
        ("at least", 2, False),
        ("at least", 3, True),
        ("at least", 4, True),
    ],
)
def test_number_sentences_boundaries(relation: str, sentences: int, expected: bool) -> None:
    response = " ".join(["The sea is calm."] * sentences)
    assert (
        check("length_constraints:number_sentences", {"num_sentences": 3, "relation": relation}, response) is expected
    )


@pytest.mark.parametrize(
    ("relation", "words", "expected"),
    [("less than", 9, True), ("less than", 10, False), ("at least", 9, False), ("at least", 10, True)],
)
def test_number_words_boundaries(relation: str, words: int, expected: bool) -> None:
    response = " ".join(["wave"] * words)
    assert check("length_constraints:number_words", {"num_words": 10, "relation": relation}, response) is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("One.\n***\nTwo.\n***\nThree.", True),
        ("One. *** Two. *** Three.", True),
        ("***\nOne.\n***\nTwo.\n***\nThree.\n***", True),  # leading/trailing dividers tolerated
        ("One.\n***\n***\nTwo.\n***\nThree.", False),  # empty paragraph in the middle
        ("One.\n\nTwo.\n\nThree.", False),  # blank lines are not the divider here
        ("One.\n***\nTwo.", False),
        ("One.\n***\nTwo.\n***\nThree.\n***\nFour.", False),  # exactly, not at least
    ],
)
def test_number_paragraphs_uses_star_dividers_and_is_exact(response: str, expected: bool) -> None:
    assert check("length_constraints:number_paragraphs", {"num_paragraphs": 3}, response) is expected


NTH = {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "Waves"}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Intro.\n\nWaves crash.\n\nEnd.", True),
        ("Intro.\n\nwaves, they crash.\n\nEnd.", True),  # case-insensitive, cut at the comma
        ('Intro.\n\n"Waves" crash.\n\nEnd.', True),  # leading quote stripped
        ("Intro.\n\nWaves crash.\n\n\nEnd.\n", True),  # three newlines still separate
        ("Intro.\n\nThe waves crash.\n\nEnd.", False),
        ("Intro.\n\nWaves crash.", False),  # right word, wrong paragraph count
        ("Intro.\nWaves crash.\nEnd.", False),  # single newlines do not separate paragraphs
        ("Intro.\n\nWavescrash.\n\nEnd.", False),
        ("Intro.\n\n\n\nWaves crash.\n\nEnd.", False),  # reference quirk: the empty piece is "paragraph 2"
    ],
)
def test_nth_paragraph_first_word(response: str, expected: bool) -> None:
    assert check("length_constraints:nth_paragraph_first_word", NTH, response) is expected


def test_nth_paragraph_beyond_the_count_fails() -> None:
    kwargs = {"num_paragraphs": 1, "nth_paragraph": 2, "first_word": "waves"}
    assert check("length_constraints:nth_paragraph_first_word", kwargs, "Waves crash.") is False
