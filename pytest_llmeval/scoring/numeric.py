"""Numeric final answers (GSM8K and other word problems): extract the number, compare numbers.

Extracted numbers are plain strings without thousands commas, currency or percent signs:
`$1,234.50` -> `1234.50`, `50%` -> `50` (GSM8K targets are plain numbers, so a percent sign is
dropped, not divided by 100), `\\frac{1}{2}` -> `0.5`, `\\frac{1}{3}` -> `1/3`.

Every path (boxed, `####`, answer phrase, last number, gold answers, `numbers_equal`) first goes
through `normalize.normalize_numbers`, so `−3` (U+2212), `9{,}500`, `10,\\!000`, `9 500` and
`１２` read the same inside and outside a box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

from .boxed import iter_boxed
from .cues import cut_continuation
from .normalize import normalize_numbers

__all__ = [
    "NumberAnswer",
    "extract_final_number",
    "extract_gsm8k_target",
    "find_final_number",
    "numbers_equal",
    "to_fraction",
]

_MAX_DIGITS = 4000  # Python refuses int() of longer strings; such "numbers" are not answers anyway

# A number in running text: not glued to a letter/digit/dot before it (so not "H2O", "x2", "COVID19");
# a minus sign counts only when nothing number-like precedes it ("5-3" yields 3, " -3" yields -3).
# Not a number either: one times Euler's number or the imaginary unit (`5e`, `5\\mathrm{e}`, `2i`).
_NUMBER = (
    r"(?<![A-Za-z0-9_.])(?:-(?=\d))?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?!\d)(?!\.\d)(?![ei](?![A-Za-z]))(?!\s*\\(?:mathrm|text|mathit)\s*\{\s*[ei]\s*\})"
)
_LATEX_FRAC = r"-?\\[dt]?frac\s*\{\s*-?\d+\s*\}\s*\{\s*\d+\s*\}"
_SLASH_FRAC = r"(?<![A-Za-z0-9_.])-?\d+\s*/\s*\d+(?![\d.])"
_TEXT_NUMBER = re.compile(_NUMBER)
_PHRASE_NUMBER = re.compile(f"{_LATEX_FRAC}|{_SLASH_FRAC}|{_NUMBER}")
_ANSWER_PHRASE = re.compile(
    r"(?:\banswer\b\s*(?:\*\*)?\s*(?:is|was|would\s+be|will\s+be|should\s+be|[:=])|答案\s*(?:应该|应)?\s*(?:是|为|[:：]))",
    re.IGNORECASE,
)
_GSM8K_MARKER = re.compile(r"####[ \t]*(?P<rest>[^\n]*)")
_MARKER_LINE = re.compile(
    f"(?P<number>{_LATEX_FRAC}|{_SLASH_FRAC}|{_NUMBER})" + r"(?:\s*[A-Za-z]+(?:\s+[A-Za-z]+)*)?\s*[.。]?\s*"
)  # no nested quantifier: no backtracking blow-up
_SENTENCE_END = re.compile(r"\n|[.。!?！？](?:\s|$)")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_NOISE = re.compile(r"\\[$%,;!: ]|[$%~]|\{,\}|\\q?quad|\\left|\\right")
_DECIMAL = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_FRACTION_FORMS = (re.compile(r"([-+]?)\\frac\{([-+]?\d+)\}\{(\d+)\}"), re.compile(r"([-+]?)(\d+)/(\d+)"))
_BOX_LABEL = re.compile(r"^[A-Za-z\s:]*(?=[-\d\\.])")  # leading label ("Total: 18")
# trailing units ("18 dollars"), but not a lone e / i (`5\mathrm{e}` is 5e, not 5)
_BOX_UNITS = re.compile(r"(?<=[\d}])\s*(?![ei]\.?\s*$)[A-Za-z][A-Za-z\s.]*$")


def _plain(text: str) -> str:
    """Drop LaTeX text wrappers, currency, percent and spacing so only the value is left."""
    text = _TEXT_CMD.sub(lambda m: m.group(1), text)
    return _NOISE.sub(" ", text).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").strip()


def to_fraction(value: str) -> Fraction | None:
    """Exact value of a plain number string, or None: `1,000`, `-3`, `3.0`, `$1,234.50`, `50%`
    (read as 50), `1/2`, `\\frac{1}{2}`, `-\\frac{3}{4}`, `\\text{18}`. Anything else (words,
    expressions such as `2+3`, `1e6`) is None."""
    return _fraction(normalize_numbers(value))


def _fraction(value: str) -> Fraction | None:
    """`to_fraction` of text that is already normalised (`normalize_numbers`)."""
    s = _plain(value).replace(",", "").replace(" ", "").rstrip(".")
    if not s or len(s) > _MAX_DIGITS:
        return None
    if s.isdigit() and s.isascii():
        return Fraction(int(s))  # the common case, without Fraction's own string parser
    if _DECIMAL.fullmatch(s):
        return Fraction(s)
    match = _FRACTION_FORMS[0].fullmatch(s) or _FRACTION_FORMS[1].fullmatch(s)
    if match and int(match.group(3)) != 0:
        fraction = Fraction(int(match.group(2)), int(match.group(3)))
        return -fraction if match.group(1) == "-" else fraction
    return None


def _format(value: Fraction, written: str) -> str:
    """Plain-number text for an extracted value: as written (commas dropped) for decimals and
    integers, a terminating decimal for fractions (`0.5`), else `p/q`."""
    if "frac" not in written and "/" not in written:
        return _plain(written).replace(",", "").replace(" ", "")
    denominator = value.denominator
    while denominator % 2 == 0:
        denominator //= 2
    while denominator % 5 == 0:
        denominator //= 5
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    if value.denominator == 1:
        return str(value.numerator)
    with localcontext() as context:
        context.prec = 200  # a terminating decimal is exact at this precision
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _boxed_number(content: str) -> str | None:
    """The number in a box when the box holds just a number, optionally with units or a label:
    `18`, `\\$18.00`, `18 \\text{ dollars}`, `x = 18`, `\\frac{1}{2}`. `5 \\times 3` is not numeric."""
    s = _plain(content)
    if "=" in s:
        s = s.rsplit("=", 1)[1]
    s = _BOX_UNITS.sub("", _BOX_LABEL.sub("", s)).strip()
    value = _fraction(s)
    return None if value is None else _format(value, s)


def extract_gsm8k_target(answer_field: str) -> str:
    """The gold number of a GSM8K `answer` field: the text after the last `####`, commas removed
    (`#### 1,000` -> `1000`). Raises `ValueError` when the field has no `####` line."""
    if "####" not in answer_field:
        raise ValueError(f"GSM8K answer has no '#### <number>' line: {answer_field[-80:]!r}")
    return normalize_numbers(answer_field.rsplit("####", 1)[1]).strip().replace(",", "")


Cue = Literal["boxed", "####", "answer phrase", "last number"]


@dataclass(frozen=True)
class NumberAnswer:
    """The extracted number (`value`, None when there is none) and the cue it came from.

    `explicit` is True for the explicit answer cues (`\\boxed{}`, GSM8K's `#### N`, "the answer
    is N"); a number taken only because it came last is not explicit, so a benchmark can refuse it
    when the output was cut off at max_tokens."""

    value: str | None
    cue: Cue | None

    @property
    def explicit(self) -> bool:
        return self.cue in ("boxed", "####", "answer phrase")


def _marker_number(text: str) -> tuple[int, str] | None:
    """(end of its line, number) of the first `#### N` line holding just a number (units and a
    final full stop allowed: `#### 18`, `#### $1,000`, `#### 18 dollars.`). A markdown heading
    such as `#### 1. Read the problem` is not a marker."""
    for marker in _GSM8K_MARKER.finditer(text):
        rest = _plain(_TEXT_CMD.sub(lambda m: m.group(1), marker.group("rest")))
        found = _MARKER_LINE.fullmatch(rest)
        if found and (value := _fraction(found.group("number"))) is not None:
            return marker.end(), _format(value, found.group("number"))
    return None


def _last_boxed_number(text: str) -> tuple[int, str] | None:
    """(end, number) of the last box that holds a number."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    for _, end, content in reversed(iter_boxed(text)):
        if (number := _boxed_number(content)) is not None:
            return end, number
    return None


def _phrase_number(text: str) -> str | None:
    """The first number after the last explicit answer phrase followed by one on its line."""
    for phrase in reversed(list(_ANSWER_PHRASE.finditer(text))):
        rest = _SENTENCE_END.split(text[phrase.end() :], maxsplit=1)[0]
        rest = _TEXT_CMD.sub(lambda m: m.group(1), rest).rsplit("=", 1)[-1]  # "is 12 * 3 = 36" -> 36
        if found := _PHRASE_NUMBER.search(rest):
            value = _fraction(found.group(0))
            if value is not None:
                return _format(value, found.group(0))
    return None


def _has_cue(text: str) -> bool:
    return _marker_number(text) is not None or _last_boxed_number(text) is not None or _phrase_number(text) is not None


def find_final_number(text: str) -> NumberAnswer:
    """The model's final numeric answer and the cue it was read from.

    The text is normalised first (`normalize.normalize_numbers`). Then:

    0. the answer ends where the model starts inventing a new turn after an explicit cue
       (`cues.cut_continuation`), and at GSM8K's first `#### N` marker, which ends a GSM8K answer
       by definition: `= 18.\\n#### 18\\n\\nQuestion: … #### 7` gives 18;
    1. explicit cues, in the answer that is left: the later of the last numeric `\\boxed{...}`
       (balanced braces; units, `\\$`, `\\text{}`, `x =` and `%` dropped; `\\boxed{\\frac{1}{2}}`
       -> `0.5`) and the `#### N` marker;
    2. else the first number after the last explicit answer phrase that is followed by one on the
       same line ("The answer is $18.", "Answer: 1,000 pens", "答案是：42"; fractions allowed);
    3. else the last number anywhere in the answer (not explicit).

    Numbers glued to letters are never used (`H2O`, `x2`, `COVID19`); a hyphen (or any dash) after
    a digit is a minus, not a sign (`20-5` gives 5). Scientific notation and spelled-out numbers
    are not recognised.
    """
    text = normalize_numbers(text)
    if "\n" in text:
        text = cut_continuation(text, _has_cue)
    marker = _marker_number(text) if "####" in text else None
    if marker is not None:
        text = text[: marker[0]]
    boxed = _last_boxed_number(text)
    if marker is not None and (boxed is None or boxed[0] <= marker[0]):
        return NumberAnswer(marker[1], "####")
    if boxed is not None:
        return NumberAnswer(boxed[1], "boxed")
    if (number := _phrase_number(text)) is not None:
        return NumberAnswer(number, "answer phrase")
    numbers = _TEXT_NUMBER.findall(text)
    return NumberAnswer(numbers[-1].replace(",", ""), "last number") if numbers else NumberAnswer(None, None)


def extract_final_number(text: str) -> str | None:
    """The model's final numeric answer, or None when the text has no number (the value of
    `find_final_number`, which documents the order of preference)."""
    return find_final_number(text).value


def numbers_equal(a: str, b: str, rel_tol: float = 1e-6) -> bool:
    """Whether two number strings have the same value: `1,000 == 1000`, `18.00 == 18`,
    `0.5 == 1/2 == \\frac{1}{2}`, `$18 == 18`, `50% == 50` (percent signs are dropped, not divided).

    Two whole numbers must be equal exactly (`1000000 != 1000001`, `18.0 == 18`). Otherwise the
    relative tolerance `rel_tol` (of the larger magnitude) absorbs float noise such as
    `0.30000000000000004`. If either side is not a plain number, the stripped strings are compared
    case-insensitively instead.
    """
    if a.isdigit() and b.isdigit() and a.isascii() and b.isascii() and max(len(a), len(b)) <= _MAX_DIGITS:
        return int(a) == int(b)  # the common case (GSM8K), as below without parsing twice
    a, b = normalize_numbers(a), normalize_numbers(b)
    x, y = _fraction(a), _fraction(b)
    if x is None or y is None:
        return a.strip().casefold() == b.strip().casefold() and bool(a.strip())
    if x == y:
        return True
    if x.denominator == 1 and y.denominator == 1:
        return False
    return abs(x - y) <= Fraction(rel_tol) * max(abs(x), abs(y))
