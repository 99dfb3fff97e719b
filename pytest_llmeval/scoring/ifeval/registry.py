"""The 25 IFEval instruction ids, each mapped to its argument model and checker, plus argument
parsing with user-facing errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ...errors import InstructionSpecError
from . import detectable, keywords, length, style
from .params import (
    BulletListsParams,
    CapitalFrequencyParams,
    EndPhraseParams,
    ForbiddenWordsParams,
    HighlightsParams,
    InstructionParams,
    KeywordFrequencyParams,
    KeywordsParams,
    LetterFrequencyParams,
    NoParams,
    NthParagraphFirstWordParams,
    NumberParagraphsParams,
    NumberSentencesParams,
    NumberWordsParams,
    PlaceholdersParams,
    PostscriptParams,
    RepeatPromptParams,
    ResponseLanguageParams,
    SectionsParams,
)

__all__ = ["INSTRUCTION_IDS", "BoundCheck", "InstructionSpecError", "bind_instruction"]

P = TypeVar("P", bound=InstructionParams)


@dataclass(frozen=True)
class _Checker(Generic[P]):
    params: type[P]
    check: Callable[[str, P], bool]


_CHECKERS: dict[str, _Checker[Any]] = {
    "keywords:existence": _Checker(KeywordsParams, keywords.check_existence),
    "keywords:frequency": _Checker(KeywordFrequencyParams, keywords.check_frequency),
    "keywords:forbidden_words": _Checker(ForbiddenWordsParams, keywords.check_forbidden_words),
    "keywords:letter_frequency": _Checker(LetterFrequencyParams, keywords.check_letter_frequency),
    "language:response_language": _Checker(ResponseLanguageParams, keywords.check_response_language),
    "length_constraints:number_sentences": _Checker(NumberSentencesParams, length.check_number_sentences),
    "length_constraints:number_paragraphs": _Checker(NumberParagraphsParams, length.check_number_paragraphs),
    "length_constraints:number_words": _Checker(NumberWordsParams, length.check_number_words),
    "length_constraints:nth_paragraph_first_word": _Checker(
        NthParagraphFirstWordParams, length.check_nth_paragraph_first_word
    ),
    "detectable_content:number_placeholders": _Checker(PlaceholdersParams, detectable.check_number_placeholders),
    "detectable_content:postscript": _Checker(PostscriptParams, detectable.check_postscript),
    "detectable_format:number_bullet_lists": _Checker(BulletListsParams, detectable.check_number_bullet_lists),
    "detectable_format:constrained_response": _Checker(NoParams, detectable.check_constrained_response),
    "detectable_format:number_highlighted_sections": _Checker(
        HighlightsParams, detectable.check_number_highlighted_sections
    ),
    "detectable_format:multiple_sections": _Checker(SectionsParams, detectable.check_multiple_sections),
    "detectable_format:json_format": _Checker(NoParams, detectable.check_json_format),
    "detectable_format:title": _Checker(NoParams, detectable.check_title),
    "combination:two_responses": _Checker(NoParams, style.check_two_responses),
    "combination:repeat_prompt": _Checker(RepeatPromptParams, style.check_repeat_prompt),
    "startend:end_checker": _Checker(EndPhraseParams, style.check_end_checker),
    "change_case:capital_word_frequency": _Checker(CapitalFrequencyParams, style.check_capital_word_frequency),
    "change_case:english_capital": _Checker(NoParams, style.check_english_capital),
    "change_case:english_lowercase": _Checker(NoParams, style.check_english_lowercase),
    "punctuation:no_comma": _Checker(NoParams, style.check_no_comma),
    "startend:quotation": _Checker(NoParams, style.check_quotation),
}

INSTRUCTION_IDS: tuple[str, ...] = tuple(_CHECKERS)
"""Every instruction id of IFEval (google/IFEval), grouped by family."""

BoundCheck = Callable[[str], bool]
"""A checker with its arguments applied: response text in, followed-or-not out."""


def bind_instruction(instruction_id: str, kwargs: Mapping[str, Any] | None, prompt: str) -> BoundCheck:
    """Validate ``kwargs`` for ``instruction_id`` and return the checker bound to them.

    ``None`` values are dropped first (the Hugging Face rows fill unused keys with null), as is a
    ``None`` kwargs dict. ``combination:repeat_prompt`` without ``prompt_to_repeat`` falls back to
    ``prompt``.

    Raises:
        InstructionSpecError (a ``ValueError``): unknown id, missing/unknown/ill-typed arguments,
            or a relation other than ``"less than"`` / ``"at least"``.
    """
    checker = _CHECKERS.get(instruction_id)
    if checker is None:
        raise InstructionSpecError(
            f"unknown IFEval instruction id {instruction_id!r}; known ids: {', '.join(INSTRUCTION_IDS)}"
        )
    arguments = {key: value for key, value in (kwargs or {}).items() if value is not None}
    if checker.params is RepeatPromptParams:
        arguments.setdefault("prompt_to_repeat", prompt)
    try:
        params = checker.params.model_validate(arguments)
    except ValidationError as exc:
        expected = ", ".join(checker.params.model_fields) or "none"
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'kwargs'}: {error['msg']}" for error in exc.errors()
        )
        raise InstructionSpecError(
            f"bad arguments for IFEval instruction {instruction_id!r}: {problems} "
            f"(got {arguments!r}; expected keys: {expected}); fix the row's kwargs"
        ) from None

    def bound(response: str) -> bool:
        return checker.check(response, params)

    return bound
