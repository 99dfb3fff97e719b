"""One number normaliser for every extraction path (inside and outside `\\boxed{}`).

`normalize_numbers(text)` rewrites how numbers are *written* so that the extractors and comparers
downstream (`numeric`, `math_equiv`, `choice`) only ever see ASCII digits, an ASCII `-` as the sign
and `,` as the thousands separator. It is applied to whole model outputs and to gold answers alike,
so the same string reads the same wherever it sits:

* signs: U+2212 minus, U+2012 figure dash, U+2013 en dash, U+2014 em dash, U+2010/U+2011 hyphens,
  U+FE63 small and U+FF0D full-width hyphen-minus, U+2796 heavy minus -> `-`. (A dash after a
  digit stays a range/subtraction for the extractors, exactly like an ASCII hyphen: `5–3` is not -3.)
* full-width digits and punctuation (`１２３`, `，`, `．`, `％`, `＄`, `（`) -> ASCII; the
  ideographic space U+3000 -> space;
* spaces: no-break U+00A0, figure U+2007, thin U+2009, hair U+200A, narrow no-break U+202F,
  punctuation U+2008 -> space; zero-width U+200B/U+2060/U+FEFF are removed;
* LaTeX separators between digits: `9{,}500`, `10,\\!000`, `10\\,000`, `10\\;000`, `10\\:000`,
  `10\\ 000`, `10~000` -> `9,500`, `10,000`;
* space-grouped thousands: `9 500`, `1 234 567`, `12 345.5` -> `9,500`, `1,234,567`, `12,345.5`
  (a 1-3 digit group followed by groups of exactly three digits, the SI/ISO 31-0 style);
* currency signs next to a number (`$`, `\\$`, `€`, `£`, `¥`, `₹`, `₩`, `₽`, `฿`, `₺`, `₱`) are dropped;
  `\\%` becomes `%` (the extractors then drop `%`, see `numeric`).

`\\text{}`/`\\mathrm{}` units (`18\\text{ cm}`) are removed by the extractors themselves (`numeric`,
`math_equiv.normalize_answer`), which know whether a wrapper holds a unit or the answer itself.

Written with `str.translate` and a handful of regular expressions guarded by cheap membership
tests (measured: the unguarded version cut GSM8K extraction throughput in bench/scoring_speed.py by
more than half): it runs on every output, and the scorers' speed targets include it.
"""

from __future__ import annotations

import re

__all__ = ["normalize_numbers"]

_DASHES = "\u2212\u2012\u2013\u2014\u2010\u2011\ufe63\uff0d\u2796"
_SPACES = "\u00a0\u2007\u2008\u2009\u200a\u202f\u3000"
_ZERO_WIDTH = "\u200b\u2060\ufeff"

_TABLE: dict[int, int | str | None] = {ord(c): "-" for c in _DASHES}
_TABLE.update({ord(c): " " for c in _SPACES})
_TABLE.update({ord(c): None for c in _ZERO_WIDTH})
# Full-width ASCII variants U+FF01..U+FF5E map onto U+0021..U+007E (the hyphen-minus is a dash above).
_TABLE.update({code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if code != 0xFF0D})
_TABLE.update({0xFFE5: None, 0xFFE1: None, 0xFFE0: None})  # full-width currency signs ￥ ￡ ￠

_CURRENCY_SIGNS = "€£¥₹₩₽฿₺₱¢"
_TABLE.update({ord(c): None for c in _CURRENCY_SIGNS})
# Every non-ASCII character the table rewrites; only those are touched (a regex finds them faster
# than str.translate walks long CJK text).
_SPECIAL = re.compile(f"[{_DASHES}{_SPACES}{_ZERO_WIDTH}{_CURRENCY_SIGNS}\uff01-\uff5e\uffe0\uffe1\uffe5]")
_LATEX_HINT = re.compile(r"\{,\}|\\[!,;: ]|~")

# `9{,}500`, `10,\!000`, `10\,000`, `1~000`: a LaTeX spacing or brace-comma between digit groups.
_LATEX_GROUP = re.compile(r"(?<=\d)(?:\{,\}|,?\s*\\[!,;: ]\s*|~)(?=\d{3}(?!\d))")
_LATEX_NEGATIVE_SPACE = re.compile(r"\\!")  # left over outside digit groups: negative thin space
# `9 500`, `1 234 567.25` (plain spaces after the table above); not inside longer digit runs.
_SPACE_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?!\d|,\d)")
# Cheap pre-checks: a pattern opening with a literal is searched fast; the exact one from there on.
_SPACE_GROUP_HINT = re.compile(r" \d{3}(?!\d)")
_SPACE_PAIR = re.compile(r"\d \d{3}(?!\d)")


def _plain_char(match: re.Match[str]) -> str:
    replacement = _TABLE[ord(match.group(0))]
    return "" if replacement is None else chr(replacement) if isinstance(replacement, int) else replacement


def normalize_numbers(text: str) -> str:
    """`text` with numbers written in one plain form (see the module docstring for every rule).

    Pure and total: any string in, a string out; text without numbers or special characters comes
    back unchanged. Examples: `"−3"` -> `"-3"`, `"$9{,}500$"` -> `"9,500"`, `"9 500"` -> `"9,500"`,
    `"１２％"` -> `"12%"`, `"€1 200"` -> `"1,200"`.
    """
    if not text:
        return text
    if not text.isascii():
        text = _SPECIAL.sub(_plain_char, text)  # faster than str.translate over long CJK text
    if ("\\" in text or "{,}" in text or "~" in text) and _LATEX_HINT.search(text):
        text = _LATEX_GROUP.sub(",", text)
        if "\\!" in text:
            text = _LATEX_NEGATIVE_SPACE.sub("", text)
    if "\\%" in text:
        text = text.replace("\\%", "%")
    if " " in text and (hint := _SPACE_GROUP_HINT.search(text, 1)) and _SPACE_PAIR.search(text, hint.start() - 1):
        text = _SPACE_GROUPED.sub(lambda m: m.group(0).replace(" ", ","), text)
    if "\\$" in text:
        text = text.replace("\\$", "")  # a bare `$` may be a math delimiter: the extractors drop it
    return text
