"""Checkers of the ``detectable_content:*`` and ``detectable_format:*`` families."""

from __future__ import annotations

import json
import re

from .params import (
    BulletListsParams,
    HighlightsParams,
    NoParams,
    PlaceholdersParams,
    PostscriptParams,
    SectionsParams,
)

__all__ = [
    "CONSTRAINED_RESPONSES",
    "check_constrained_response",
    "check_json_format",
    "check_multiple_sections",
    "check_number_bullet_lists",
    "check_number_highlighted_sections",
    "check_number_placeholders",
    "check_postscript",
    "check_title",
]

CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

_PLACEHOLDER = re.compile(r"\[.*?\]")
# `* item` (a star followed by anything but another star, so `**bold**` lines are not bullets)
# and `- item` lines, indented or not.
_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", re.MULTILINE)
_SINGLE_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT = re.compile(r"\*\*[^\n\*]*\*\*")
_TITLE = re.compile(r"<<[^\n]+>>")
_JSON_FENCE_OPENERS = ("```json", "```Json", "```JSON", "```")


def check_number_placeholders(response: str, params: PlaceholdersParams) -> bool:
    """At least ``num_placeholders`` square-bracket placeholders such as ``[address]``; ``[]``
    counts, and brackets do not nest (``[a [b] c]`` is one)."""
    return len(_PLACEHOLDER.findall(response)) >= params.num_placeholders


def check_postscript(response: str, params: PostscriptParams) -> bool:
    """The marker occurs somewhere (case-insensitive; not necessarily at the end or at a line
    start). ``"P.S."`` also accepts ``"p. s."``; ``"P.P.S"`` also accepts ``"p. p. s"``; any other
    marker must occur literally."""
    text = response.lower()
    marker = params.postscript_marker
    if marker == "P.P.S":
        pattern = r"p\.\s?p\.\s?s"
    elif marker == "P.S.":
        pattern = r"p\.\s?s\."
    else:
        pattern = re.escape(marker.lower())
    return re.search(pattern, text) is not None


def check_number_bullet_lists(response: str, params: BulletListsParams) -> bool:
    """Exactly ``num_bullets`` markdown bullet lines, counting lines that start (after optional
    indentation) with ``*`` + a non-star character or with ``-``. Numbered items ``1.`` do not
    count; a ``---`` rule line does."""
    count = len(_STAR_BULLET.findall(response)) + len(_DASH_BULLET.findall(response))
    return count == params.num_bullets


def check_constrained_response(response: str, params: NoParams) -> bool:
    """Contains one of the exact phrases ``My answer is yes.`` / ``no.`` / ``maybe.`` (case and the
    final period matter; other text around it is allowed)."""
    text = response.strip()
    return any(option in text for option in CONSTRAINED_RESPONSES)


def check_number_highlighted_sections(response: str, params: HighlightsParams) -> bool:
    """At least ``num_highlights`` markdown highlights, each on one line: ``*italic*`` and
    ``**bold**`` count once each (``***both***`` counts twice).

    Empty pairs (``**``, ``* *``) and spans crossing a line break do not count. Bullet stars can
    pair up: ``* a`` and ``* b`` on one line, i.e. ``* a * b``, contain the highlight ``* a *``.
    """
    count = sum(1 for match in _SINGLE_HIGHLIGHT.findall(response) if match.strip("*").strip())
    count += sum(
        1 for match in _DOUBLE_HIGHLIGHT.findall(response) if match.removeprefix("**").removesuffix("**").strip()
    )
    return count >= params.num_highlights


def check_multiple_sections(response: str, params: SectionsParams) -> bool:
    """At least ``num_sections`` sections, each introduced by the splitter word followed by a
    number, e.g. ``SECTION 1`` / ``Section 2`` for ``section_spliter="Section"`` — the splitter is
    matched case-sensitively, so ``SECTION 1`` does not count for ``"Section"``. Text before the
    first splitter is not a section."""
    pattern = r"\s?" + re.escape(params.section_spliter) + r"\s?\d+\s?"
    return len(re.split(pattern, response)) - 1 >= params.num_sections


def check_json_format(response: str, params: NoParams) -> bool:
    """The whole response parses as JSON, optionally wrapped in a markdown fence (```json ... ```).

    Any JSON value counts, including a bare number or string (``42`` passes); text before the
    fence (``Here it is: ```json``) fails strict scoring and is what loose scoring forgives.
    """
    text = response.strip()
    for opener in _JSON_FENCE_OPENERS:
        # Only the first matching opener is removed, like chained removeprefix calls would.
        if text.startswith(opener):
            text = text[len(opener) :]
            break
    text = text.removesuffix("```").strip()
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return False
    return True


def check_title(response: str, params: NoParams) -> bool:
    """A title in double angular brackets, ``<<like this>>``, on one line and not blank inside."""
    return any(title.lstrip("<").rstrip(">").strip() for title in _TITLE.findall(response))
