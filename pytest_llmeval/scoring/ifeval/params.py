"""The keyword arguments each IFEval instruction takes, as pydantic models.

Key names are the dataset's own (including its spelling ``section_spliter``). Unknown keys are
rejected so a typo in a custom dataset fails loudly instead of silently checking something else;
keys whose value is ``None`` are dropped before validation because the Hugging Face copy of IFEval
fills every unused key of a row with null.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BulletListsParams",
    "CapitalFrequencyParams",
    "EndPhraseParams",
    "ForbiddenWordsParams",
    "HighlightsParams",
    "InstructionParams",
    "KeywordFrequencyParams",
    "KeywordsParams",
    "LetterFrequencyParams",
    "NoParams",
    "NthParagraphFirstWordParams",
    "NumberParagraphsParams",
    "NumberSentencesParams",
    "NumberWordsParams",
    "PlaceholdersParams",
    "PostscriptParams",
    "Relation",
    "RepeatPromptParams",
    "ResponseLanguageParams",
    "SectionsParams",
    "compare",
]

Relation = Literal["less than", "at least"]
"""``"less than"`` means count < N (strictly); ``"at least"`` means count >= N."""


class InstructionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(InstructionParams):
    """Instructions that take no arguments."""


class KeywordsParams(InstructionParams):
    keywords: list[str]


class KeywordFrequencyParams(InstructionParams):
    keyword: str = Field(min_length=1)
    frequency: int = Field(ge=0)
    relation: Relation


class ForbiddenWordsParams(InstructionParams):
    forbidden_words: list[str]


class LetterFrequencyParams(InstructionParams):
    letter: str = Field(min_length=1, max_length=1)
    let_frequency: int = Field(ge=0)
    let_relation: Relation


class ResponseLanguageParams(InstructionParams):
    language: str = Field(min_length=2, description="ISO 639-1 code, e.g. 'fr'")


class NumberSentencesParams(InstructionParams):
    num_sentences: int = Field(ge=0)
    relation: Relation


class NumberParagraphsParams(InstructionParams):
    num_paragraphs: int = Field(ge=0)


class NumberWordsParams(InstructionParams):
    num_words: int = Field(ge=0)
    relation: Relation


class NthParagraphFirstWordParams(InstructionParams):
    num_paragraphs: int = Field(ge=1)
    nth_paragraph: int = Field(ge=1)
    first_word: str = Field(min_length=1)


class PlaceholdersParams(InstructionParams):
    num_placeholders: int = Field(ge=0)


class PostscriptParams(InstructionParams):
    postscript_marker: str = Field(min_length=1)


class BulletListsParams(InstructionParams):
    num_bullets: int = Field(ge=0)


class HighlightsParams(InstructionParams):
    num_highlights: int = Field(ge=0)


class SectionsParams(InstructionParams):
    section_spliter: str = Field(min_length=1)
    num_sections: int = Field(ge=0)


class RepeatPromptParams(InstructionParams):
    prompt_to_repeat: str


class EndPhraseParams(InstructionParams):
    end_phrase: str = Field(min_length=1)


class CapitalFrequencyParams(InstructionParams):
    capital_frequency: int = Field(ge=0)
    capital_relation: Relation


def compare(count: int, relation: Relation, target: int) -> bool:
    """Apply a relation: ``"less than"`` is ``count < target``, ``"at least"`` is ``count >= target``."""
    return count < target if relation == "less than" else count >= target
