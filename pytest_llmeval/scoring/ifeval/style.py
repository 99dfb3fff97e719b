"""Checkers of the ``change_case:*``, ``punctuation:*``, ``startend:*`` and ``combination:*``
families."""

from __future__ import annotations

from .languages import detect_language, language_matches
from .params import (
    CapitalFrequencyParams,
    EndPhraseParams,
    NoParams,
    RepeatPromptParams,
    compare,
)
from .text import capital_words

__all__ = [
    "RESPONSE_SEPARATOR",
    "check_capital_word_frequency",
    "check_end_checker",
    "check_english_capital",
    "check_english_lowercase",
    "check_no_comma",
    "check_quotation",
    "check_repeat_prompt",
    "check_two_responses",
]

RESPONSE_SEPARATOR = "******"


def _is_english(text: str) -> bool:
    # Undetectable text passes, as in the reference (see languages.py).
    detected = detect_language(text)
    return detected is None or language_matches(detected, "en")


def check_capital_word_frequency(response: str, params: CapitalFrequencyParams) -> bool:
    """Number of ALL-CAPS words (``text.capital_words``) compared with ``capital_frequency``."""
    return compare(len(capital_words(response)), params.capital_relation, params.capital_frequency)


def check_english_capital(response: str, params: NoParams) -> bool:
    """``str.isupper()`` (some cased letter and no lower-case letter; digits and punctuation are
    fine) *and* ``langdetect`` says English — an all-caps Russian answer fails. Note that
    ``langdetect`` tends to call all-caps Latin-script text English (it did so for a French
    sentence in our tests), so this mostly catches non-Latin scripts and lower-case letters."""
    return response.isupper() and _is_english(response)


def check_english_lowercase(response: str, params: NoParams) -> bool:
    """``str.islower()`` (some cased letter and no upper-case letter) *and* ``langdetect`` says
    English."""
    return response.islower() and _is_english(response)


def check_no_comma(response: str, params: NoParams) -> bool:
    """No ASCII comma ``,`` anywhere (other scripts' commas such as ``，`` are not looked at)."""
    return "," not in response


def check_quotation(response: str, params: NoParams) -> bool:
    """After trimming whitespace the response starts and ends with ``"`` (ASCII double quote; curly
    quotes do not count) and is longer than one character."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


def check_end_checker(response: str, params: EndPhraseParams) -> bool:
    """The response ends with ``end_phrase`` exactly, ignoring case, surrounding whitespace and
    double quotes wrapped around the whole response; nothing (not even a period) may follow it."""
    text = response.strip().strip('"').lower()
    return text.endswith(params.end_phrase.strip().lower())


def check_repeat_prompt(response: str, params: RepeatPromptParams) -> bool:
    """The response begins with ``prompt_to_repeat`` word for word (case-insensitive, ignoring
    whitespace around both). ``prompt_to_repeat`` is the request part of the prompt, given in the
    row's kwargs; when absent the whole prompt is used."""
    return response.strip().lower().startswith(params.prompt_to_repeat.strip().lower())


def check_two_responses(response: str, params: NoParams) -> bool:
    """Exactly two non-empty responses separated by ``******`` that differ (after trimming).

    Empty pieces before the first or after the last separator are tolerated; an empty piece
    between two separators fails.
    """
    pieces = response.split(RESPONSE_SEPARATOR)
    kept: list[str] = []
    for index, piece in enumerate(pieces):
        if piece.strip():
            kept.append(piece.strip())
        elif index not in (0, len(pieces) - 1):
            return False
    return len(kept) == 2 and kept[0] != kept[1]
