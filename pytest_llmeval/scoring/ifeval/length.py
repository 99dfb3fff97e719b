"""Checkers of the ``length_constraints:*`` family (see ``text.py`` for what a word and a
sentence are)."""

from __future__ import annotations

from .params import (
    NthParagraphFirstWordParams,
    NumberParagraphsParams,
    NumberSentencesParams,
    NumberWordsParams,
    compare,
)
from .text import (
    count_sentences,
    count_words,
    split_blank_line_paragraphs,
    split_star_paragraphs,
)

__all__ = [
    "check_nth_paragraph_first_word",
    "check_number_paragraphs",
    "check_number_sentences",
    "check_number_words",
]

# Characters that end the first word of a paragraph (everything before the first one is kept).
_FIRST_WORD_STOP = frozenset(".,?!'\"")


def check_number_sentences(response: str, params: NumberSentencesParams) -> bool:
    """Punkt sentence count compared with ``num_sentences``."""
    return compare(count_sentences(response), params.relation, params.num_sentences)


def check_number_words(response: str, params: NumberWordsParams) -> bool:
    """``\\w+`` word count compared with ``num_words``."""
    return compare(count_words(response), params.relation, params.num_words)


def check_number_paragraphs(response: str, params: NumberParagraphsParams) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by the markdown divider ``***``.

    A leading or trailing divider (empty first/last piece) is tolerated and not counted; an empty
    paragraph between two dividers (``a *** *** b``) fails outright. Blank lines do *not* separate
    paragraphs here.
    """
    pieces = split_star_paragraphs(response)
    count = len(pieces)
    for index, piece in enumerate(pieces):
        if not piece.strip():
            if index in (0, len(pieces) - 1):
                count -= 1
            else:
                return False
    return count == params.num_paragraphs


def check_nth_paragraph_first_word(response: str, params: NthParagraphFirstWordParams) -> bool:
    """Exactly ``num_paragraphs`` non-empty paragraphs separated by blank lines (``"\\n\\n"``),
    and paragraph ``nth_paragraph`` (1-based) starts with ``first_word``.

    The first word is the paragraph's first whitespace-separated token with leading quotes
    removed, cut at the first ``. , ? ! ' "`` and compared case-insensitively — so ``"Summer,"``
    and ``'"summer'`` both match ``summer``, but a markdown prefix such as ``**Summer**`` does not.

    As in the reference implementation, the count ignores empty pieces but the nth paragraph is
    picked from the raw split, so four or more consecutive newlines before it shift the position
    (the piece picked is then empty, which fails).
    """
    pieces = split_blank_line_paragraphs(response)
    count = sum(1 for piece in pieces if piece.strip())
    if params.nth_paragraph > count:
        return False
    paragraph = pieces[params.nth_paragraph - 1].strip()
    if not paragraph:
        return False
    token = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first_word = []
    for char in token:
        if char in _FIRST_WORD_STOP:
            break
        first_word.append(char.lower())
    return count == params.num_paragraphs and "".join(first_word) == params.first_word.lower()
