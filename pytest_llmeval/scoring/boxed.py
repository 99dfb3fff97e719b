"""`\\boxed{...}` extraction, shared by every scorer that reads a boxed answer.

Pure text functions with no imports from the rest of the package: `numeric`, `math_equiv` and
`choice` all read boxes through this module (it used to live in `math_equiv`, which `numeric`
imported back).
"""

from __future__ import annotations

import re

__all__ = ["boxed_contents", "iter_boxed", "last_boxed"]

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BRACE = re.compile(r"\\[{}]|[{}]")  # an escaped brace is one match, and skipped


def _closing_braces(text: str) -> dict[int, int]:
    """For every `{` whose braces close, the index just past its matching `}` (escaped `\\{`/`\\}`
    are skipped). One pass over the text: matching each box on its own would re-read the rest of
    the text per unclosed brace, quadratic for a trace of many `\\boxed{` that never close."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for brace in _BRACE.finditer(text):
        char = brace.group()
        if char == "{":
            opened.append(brace.start())
        elif char == "}" and opened:
            closing[opened.pop()] = brace.end()
    return closing


_TOKEN = re.compile(r"\s*([^\s${}]+)")


def iter_boxed(text: str) -> list[tuple[int, int, str]]:
    """`(start, end, content)` of every `\\boxed{...}` / `\\fbox{...}` in order, with balanced
    braces, plus the brace-less form `\\boxed 5` (the next token, trailing `.`/`,` dropped). A box
    whose braces never close (output cut off) is skipped. Nested boxes count once, as the outer one.
    Linear in the text's length."""
    found: list[tuple[int, int, str]] = []
    closing: dict[int, int] | None = None
    pos = 0
    while (match := _BOXED.search(text, pos)) is not None:
        i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            if closing is None:
                closing = _closing_braces(text)
            end = closing.get(i)
            if end is None:
                pos = i + 1
                continue
            found.append((match.start(), end, text[i + 1 : end - 1].strip()))
            pos = end
        else:
            token = _TOKEN.match(text, match.end())
            pos = token.end() if token else match.end()
            if token and token.group(1).rstrip(".,;"):
                found.append((match.start(), pos, token.group(1).rstrip(".,;")))
    return found


def boxed_contents(text: str) -> list[str]:
    """Contents of every box in the text, in order (see `iter_boxed`)."""
    return [content for _, _, content in iter_boxed(text)]


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{}`/`\\fbox{}` (see `boxed_contents`), or None when there is none."""
    contents = boxed_contents(text)
    return contents[-1] if contents else None
