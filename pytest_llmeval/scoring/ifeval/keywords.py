"""Checkers of the ``keywords:*`` and ``language:*`` families.

All keyword matching is case-insensitive and literal (the keyword is not a regex).
"""

from __future__ import annotations

import re

from .languages import detect_language, language_matches
from .params import (
    ForbiddenWordsParams,
    KeywordFrequencyParams,
    KeywordsParams,
    LetterFrequencyParams,
    ResponseLanguageParams,
    compare,
)

__all__ = [
    "check_existence",
    "check_forbidden_words",
    "check_frequency",
    "check_letter_frequency",
    "check_response_language",
]


def check_existence(response: str, params: KeywordsParams) -> bool:
    """Every keyword occurs somewhere, as a substring: ``"cat"`` is found inside ``"catalog"``."""
    return all(re.search(re.escape(keyword), response, re.IGNORECASE) for keyword in params.keywords)


def check_frequency(response: str, params: KeywordFrequencyParams) -> bool:
    """Non-overlapping substring occurrences of ``keyword`` compared with ``frequency``
    (``"less than"``: strictly fewer; ``"at least"``: that many or more)."""
    count = len(re.findall(re.escape(params.keyword), response, re.IGNORECASE))
    return compare(count, params.relation, params.frequency)


def check_forbidden_words(response: str, params: ForbiddenWordsParams) -> bool:
    """None of the words occurs as a whole word (``\\b`` boundaries): forbidding ``"cat"`` does
    not forbid ``"catalog"``, but does forbid ``"Cat's"``."""
    return not any(
        re.search(r"\b" + re.escape(word) + r"\b", response, re.IGNORECASE) for word in params.forbidden_words
    )


def check_letter_frequency(response: str, params: LetterFrequencyParams) -> bool:
    """Occurrences of ``letter`` in any case, anywhere (inside words too), compared with
    ``let_frequency``.

    Deliberate difference from the reference implementation: when ``letter`` is not a letter
    (``#``, ``!``, a digit), the reference silently swaps it for a random letter; we count the
    character the instruction names, since that is what the prompt asked the model to use
    (documented in docs/benchmarks.md, "Scoring rules")."""
    count = response.lower().count(params.letter.lower())
    return compare(count, params.let_relation, params.let_frequency)


def check_response_language(response: str, params: ResponseLanguageParams) -> bool:
    """``langdetect`` names ``language`` for the whole response. Text it cannot classify (digits or
    punctuation only) passes, as in the reference implementation."""
    detected = detect_language(response)
    return detected is None or language_matches(detected, params.language)
