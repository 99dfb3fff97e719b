"""`\\boxed{...}` extraction, shared by every scorer that reads a boxed answer.

Pure text functions with no imports from the rest of the package: `numeric`, `math_equiv` and
`choice` all read boxes through this module (it used to live in `math_equiv`, which `numeric`
imported back).
"""

from __future__ import annotations

import re

__all__ = ["boxed_contents", "iter_boxed", "last_boxed"]

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


def _balanced(text: str, start: int) -> int | None:
    """Index just past the `}` matching the `{` at `start`; escaped `\\{`/`\\}` are skipped.
    None when the braces never close (a truncated output)."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def iter_boxed(text: str) -> list[tuple[int, int, str]]:
    """`(start, end, content)` of every `\\boxed{...}` / `\\fbox{...}` in order, with balanced
    braces, plus the brace-less form `\\boxed 5` (the next token, trailing `.`/`,` dropped). A box
    whose braces never close (output cut off) is skipped. Nested boxes count once, as the outer one."""
    found: list[tuple[int, int, str]] = []
    pos = 0
    while (match := _BOXED.search(text, pos)) is not None:
        i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            end = _balanced(text, i)
            if end is None:
                pos = i + 1
                continue
            found.append((match.start(), end, text[i + 1 : end - 1].strip()))
            pos = end
        else:
            token = re.match(r"\s*([^\s${}]+)", text[match.end() :])
            pos = match.end() + (token.end() if token else 0)
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
