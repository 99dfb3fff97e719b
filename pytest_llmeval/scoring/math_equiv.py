"""Competition-math answers (MATH-500, AIME, competition_math): boxed extraction and equivalence.

`math_verdict` normalises both sides (units, degrees, `\\left`, `\\dfrac`, `x=`, thousands commas,
`\\sqrt2`, ...), decides identical strings, plain numbers and simple closed forms itself (exact
fractions, or a small float evaluator), and returns the rest as `Undecided`: those go to the symbolic
checker of the `math-verify` library (`symbolic_equal`). Pure: text in, a verdict out; no signals,
no processes. The symbolic check can take unbounded time on a pathological answer
(`10^{10^{10^{10}}}`), so the scorer benchmarks call, `math_equal`, lives in
`pytest_llmeval.execution.symbolic`, which runs that step under a hard time limit.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from .boxed import boxed_contents, iter_boxed, last_boxed
from .cues import cut_continuation, final_boxed
from .normalize import normalize_numbers
from .numeric import find_final_number, to_fraction

__all__ = [
    "Undecided",
    "aime_answer",
    "boxed_contents",
    "final_math_answer",
    "iter_boxed",
    "last_boxed",
    "math_verdict",
    "normalize_answer",
    "numeric_value",
    "symbolic_equal",
]


# -- normalisation --------------------------------------------------------------------------------

_TEXT_CMD = r"\\(?:text|textrm|textbf|textit|mbox|mathrm|mathbf|operatorname)"
# A unit inside one pair of braces: `\text{ cm}`, `\mbox{m^2}`, `\text{cm^{2}}`. Never a brace of its own
# (it must not run past the closing brace: `\frac{1}{\mathrm{e}}`), never a lone `e`/`i` (`5\mathrm{e}`
# is 5e, Euler's number, not 5 of a unit "e").
_UNIT_WORD = r"(?![ei]\s*\})[A-Za-z][A-Za-z .0-9]*(?:\^\s*(?:\{-?\d+\}|-?\d))?[A-Za-z .]*"
_TRAILING_UNIT = re.compile(r"(?<=\S)\s*" + _TEXT_CMD + r"\s*\{\s*" + _UNIT_WORD + r"\}(?:\s*\^\s*\{?\d\}?)?\s*$")
_TRAILING_WORDS = re.compile(r"^([-+]?[\d.,/]*\d)(?:\s+[A-Za-z]{2,}\.?)+\s*$")  # "18 dollars", not "2xy"
_UNWRAP_TEXT = re.compile(_TEXT_CMD + r"\s*\{([^{}]*)\}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![A-Za-z])")
_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)(?![A-Za-z])")
_SIZING = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|bigg|Bigg)(?![A-Za-z])")
_SPACING = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad(?![A-Za-z])|~|\\displaystyle(?![A-Za-z])")
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9A-Za-z])")
_FRAC_SHORT = re.compile(r"\\frac\s*(\{[^{}]*\}|[0-9A-Za-z])\s*(\{[^{}]*\}|[0-9A-Za-z])")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=(?!=)")
_MEMBERSHIP = re.compile(r"^[A-Za-z]\s*\\in(?![A-Za-z])")


def _wrap(arg: str) -> str:
    return arg if arg.startswith("{") else "{" + arg + "}"


def _normalize(answer: str) -> tuple[str, bool]:
    """(normalised answer, had a percent sign)."""
    s = normalize_numbers(answer).strip()
    boxed = last_boxed(s)
    if boxed is not None:
        s = boxed
    # math delimiters around the whole answer
    for left, right in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _SIZING.sub("", s)
    s = _SPACING.sub(" ", s)
    if not _TRIG.search(s):  # `\\sin 30^\\circ` needs its degrees; a bare `30^\\circ` does not
        s = _DEGREES.sub("", s)
    percent = "%" in s
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace("{,}", "")  # LaTeX thousands separator 1{,}000
    # units: a trailing \text{ cm} after some value, then words after a plain number ("18 dollars")
    while (stripped := _TRAILING_UNIT.sub("", s)) != s and stripped.strip():
        s = stripped
    s = _UNWRAP_TEXT.sub(lambda m: m.group(1).strip(), s).strip()
    if words := _TRAILING_WORDS.match(s):
        s = words.group(1)
    s = _MEMBERSHIP.sub("", s)
    if s.count("=") == 1 and _ASSIGNMENT.match(s):
        s = s.split("=", 1)[1]
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _FRAC_SHORT.sub(lambda m: "\\frac" + _wrap(m.group(1)) + _wrap(m.group(2)), s)
    # whitespace: keep one space only where it separates a command from a following letter
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"(\\[A-Za-z]+) (?=[A-Za-z])", "\\1\x00", s).replace(" ", "").replace("\x00", " ")
    s = s.rstrip(".")
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    return s, percent


def normalize_answer(answer: str) -> str:
    """The normalised form `math_equal` compares first: last `\\boxed{}` content if any; `$`/`\\(`
    delimiters, `\\$`, `%`, degrees (`^\\circ`, `^{\\circ}`, `°`), `\\left`/`\\right`, spacing
    commands, trailing units (`\\text{ cm}`, `\\mbox{inches}`, `18 dollars`) and a leading `x=` or
    `x \\in` removed; `\\dfrac`/`\\tfrac` -> `\\frac`, `\\frac12` -> `\\frac{1}{2}`, `\\sqrt2` ->
    `\\sqrt{2}`, `\\text{Evelyn}` -> `Evelyn`, `1,000` -> `1000`, whitespace dropped."""
    return _normalize(answer)[0]


# -- plain numbers --------------------------------------------------------------------------------

_INT_OR_DEC = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_PLAIN_NUMBER = re.compile(_INT_OR_DEC)
_SLASH_FRACTION = re.compile(r"([-+]?\d+)/(\d+)")
_LATEX_FRACTION = re.compile(r"([-+]?)\\frac\{([-+]?\d+)\}\{([-+]?\d+)\}")
_WORD = re.compile(r"[A-Za-z]{4,}")
_MAX_DIGITS = 4000  # beyond this int() refuses to parse; such answers go the symbolic route


def _as_number(s: str) -> tuple[Fraction, bool] | None:
    """(value, written as a decimal) for plain numbers: 12, -3.5, .5, 7/8, -\\frac{1}{2}."""
    if len(s) > _MAX_DIGITS:
        return None
    if _PLAIN_NUMBER.fullmatch(s):
        return Fraction(s.rstrip(".") or "0"), "." in s
    if m := _SLASH_FRACTION.fullmatch(s):
        return (Fraction(int(m.group(1)), int(m.group(2))), False) if int(m.group(2)) else None
    if m := _LATEX_FRACTION.fullmatch(s):
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        value = Fraction(num, den)
        return (-value if m.group(1) == "-" else value), False
    return None


def _numbers_match(pred: Fraction, target: Fraction, decimal: bool) -> bool:
    # As math-verify: a decimal on either side compares after rounding both to 6 places (so
    # 0.333333 == 1/3); exact values must be equal exactly. Unlike math-verify, the two must also
    # agree relatively (to 5e-6 of the larger), so 0.0000001 != 0.0000002 although both round to 0.
    if decimal:
        return round(pred, 6) == round(target, 6) and _relatively_close(pred, target)
    return pred == target


def _relatively_close(a: Fraction | float, b: Fraction | float, rel: float = 5e-6) -> bool:
    return a == b or _magnitude(a - b) <= Fraction(rel) * max(_magnitude(a), _magnitude(b))


def _magnitude(x: Fraction | float) -> Fraction | float:
    return -x if x < 0 else x  # abs() of this union types as object


def _numeric_verdict(pred: str, pred_pct: bool, target: str, target_pct: bool) -> bool | None:
    """True/False when both sides are plain numbers, None otherwise. A side written with `%` may be
    read either as written or divided by 100 (`50%` equals both `50` and `0.5`)."""
    p, t = _as_number(pred), _as_number(target)
    if p is None or t is None:
        return None
    decimal = p[1] or t[1]
    pred_values = [p[0], p[0] / 100] if pred_pct else [p[0]]
    target_values = [t[0], t[0] / 100] if target_pct else [t[0]]
    return any(_numbers_match(pv, tv, decimal) for pv in pred_values for tv in target_values)


# -- fast numeric evaluation of simple closed forms ------------------------------------------------
#
# Most competition answers are closed forms like `\frac{\sqrt{3}}{2}`, `12\pi`, `(3, -1]` or small
# polynomials. Evaluating them with floats decides equality in microseconds; sympy takes 5-50 ms.
# The evaluator gives up (None) on anything it does not fully understand, and those answers go to
# math-verify, so it can only ever answer for expressions whose meaning is unambiguous.

_TOKEN = re.compile(r"\d+\.\d*|\.\d+|\d+|\\[A-Za-z]+|\\[{}]|[A-Za-z]|[-+*/^(){}\[\],]|\S")
_SKIP_LETTERS = frozenset("eEiIjJ")  # Euler's number / imaginary unit / function names: ambiguous
_MAX_EXPONENT = 1024.0  # float range; larger powers overflow and go to math-verify
_MAX_TOKENS = 200
_IMPLICIT = ("\\frac", "\\sqrt", "\\pi")  # commands that may follow a factor with no operator
_EXACT_LIMIT = 1e7  # above this a relative tolerance could hide an off-by-one integer
# Probe points for answers with variables: two identical expressions agree at every point, two
# different polynomials/rational functions almost surely differ at one of these.
_PROBES = (
    {"x": 0.6180339887, "y": 1.3247179572, "z": -0.7548776662},
    {"x": -1.4142135624, "y": 0.4142135624, "z": 2.2360679775},
    {"x": 2.7182818284, "y": -0.3183098862, "z": 0.5772156649},
)


class _GiveUp(Exception):
    """Internal control flow (this comparison cannot decide); caught in this module, so not in errors.py."""


class _Evaluator:
    """Recursive-descent float evaluator for numbers, + - * / ^, \\frac, \\sqrt, \\pi, \\cdot,
    \\times, braces, parentheses, implicit multiplication and single-letter variables."""

    def __init__(self, tokens: list[str], variables: dict[str, float]) -> None:
        self.tokens, self.pos, self.variables = tokens, 0, variables

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _GiveUp
        self.pos += 1
        return token

    def expression(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> float:
        value = self.unary()
        divided = False
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times"):
                self.take()
                value *= self.unary()
            elif token in ("/", "\\div"):
                self.take()
                divisor = self.unary()
                if divisor == 0:
                    raise _GiveUp
                value /= divisor
                divided = True
            elif token is not None and (token[0] in "0123456789.({" or token in _IMPLICIT or token.isalpha()):
                if divided:
                    raise _GiveUp  # is `1/2x` (1/2)x or 1/(2x)? let math-verify decide
                value *= self.power()  # implicit: 2\sqrt{3}, 3\pi, 2(x+1), xy
            else:
                return value

    def unary(self) -> float:
        if self.peek() in ("-", "+"):
            return -self.unary() if self.take() == "-" else self.unary()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        if self.peek() == "{":
            return self.raised(base, self.group())
        token = self.take()
        if not (token.isdigit() and len(token) == 1) and not (token.isalpha() and len(token) == 1):
            raise _GiveUp  # `x^23` means x^2*3 in LaTeX; leave such cases to math-verify
        return self.raised(base, self.number(token) if token.isdigit() else self.variable(token))

    def number(self, token: str) -> Any:
        return float(token)

    def raised(self, base: Any, exponent: Any) -> Any:
        if abs(exponent) > _MAX_EXPONENT or (base < 0 and exponent != int(exponent)) or (base == 0 and exponent < 0):
            raise _GiveUp
        return float(base**exponent)

    def group(self) -> float:
        self.take("{")
        value = self.expression()
        self.take("}")
        return value

    def variable(self, name: str) -> float:
        if name in _SKIP_LETTERS or name not in self.variables:
            raise _GiveUp
        return self.variables[name]

    def atom(self) -> float:
        token = self.take()
        if token[0].isdigit() or token[0] == ".":
            return float(token)
        if token == "(":
            value = self.expression()
            self.take(")")
            return value
        if token == "{":
            self.pos -= 1
            return self.group()
        if token == "\\pi":
            return math.pi
        if token == "\\frac":
            numerator = self.group()
            denominator = self.group()
            if denominator == 0:
                raise _GiveUp
            return numerator / denominator
        if token == "\\sqrt":
            degree = 2.0
            if self.peek() == "[":
                self.take()
                degree = self.expression()
                self.take("]")
            radicand = self.group()
            if radicand < 0 or degree <= 0:
                raise _GiveUp
            return float(radicand ** (1.0 / degree))
        if len(token) == 1 and token.isalpha():
            if self.peek() == "(":
                raise _GiveUp  # f(x): a function, not f*x
            return self.variable(token)
        raise _GiveUp


_EXACT_MAX_BITS = 4096  # an exact power larger than this goes to the float / symbolic paths


class _ExactEvaluator(_Evaluator):
    """The same grammar evaluated with `Fraction`s: numbers, + - * /, `\\frac`, braces, parentheses
    and integer powers. Anything irrational (`\\sqrt`, `\\pi`, a variable, a fractional power)
    gives up. So `\\frac{1}{2^{99}}` and `\\frac{1}{2^{98}}` are compared exactly, where floats or
    an absolute tolerance would call two tiny values equal."""

    def number(self, token: str) -> Any:
        return Fraction(token)

    def variable(self, name: str) -> float:
        raise _GiveUp  # irrational or unknown: the float and symbolic paths decide

    def raised(self, base: Any, exponent: Any) -> Any:
        if exponent.denominator != 1 or (base == 0 and exponent < 0):
            raise _GiveUp
        bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
        if bits * abs(exponent.numerator) > _EXACT_MAX_BITS:
            raise _GiveUp
        return base ** int(exponent)

    def atom(self) -> Any:
        token = self.peek()
        if token is not None and (token[0].isdigit() or token[0] == "."):
            return self.number(self.take())
        if token in ("\\pi", "\\sqrt") or (token is not None and len(token) == 1 and token.isalpha()):
            raise _GiveUp
        return super().atom()


def _exact_value(expression: str) -> Fraction | None:
    tokens = _TOKEN.findall(expression)
    if len(tokens) > _MAX_TOKENS or len(expression) > _MAX_DIGITS:
        return None
    try:
        evaluator = _ExactEvaluator(tokens, {})
        value = evaluator.expression()
    except (_GiveUp, ZeroDivisionError, ValueError, OverflowError, RecursionError):
        return None
    return value if evaluator.pos == len(tokens) and isinstance(value, Fraction) else None


def _exact_verdict(pred: str, pred_pct: bool, target: str, target_pct: bool) -> bool | None:
    """True/False when both answers are rational closed forms (`2^{-70}`, `\\frac{1}{2^{99}}`,
    `\\frac{3}{4}+1`): equal exactly, or by the decimal rule of `_numbers_match` when either is
    written as a decimal. None otherwise."""
    if pred_pct or target_pct:
        return None
    p, t = _exact_value(pred), _exact_value(target)
    if p is None or t is None:
        return None
    return _numbers_match(p, t, "." in pred or "." in target)


def _variables_of(tokens: list[str]) -> frozenset[str]:
    return frozenset(t for t in tokens if len(t) == 1 and t.isalpha())


def _evaluate(tokens: list[str], variables: dict[str, float]) -> float | None:
    try:
        evaluator = _Evaluator(tokens, variables)
        value = evaluator.expression()
        if evaluator.pos != len(tokens) or not math.isfinite(value):
            return None
        return value
    except (_GiveUp, OverflowError, ZeroDivisionError, ValueError, RecursionError):
        return None


def _split_elements(tokens: list[str]) -> tuple[str, list[list[str]], str] | None:
    """`(a,b]` -> ("(", [[a], [b]], "]"); sets `\\{a,b\\}` use "{"/"}". None if not bracketed."""
    pairs = {"(": (")", "]"), "[": (")", "]"), "\\{": ("\\}",)}
    if len(tokens) < 2 or tokens[0] not in pairs or tokens[-1] not in pairs[tokens[0]]:
        return None
    elements: list[list[str]] = [[]]
    depth = 0
    for token in tokens[1:-1]:
        if token in ("(", "[", "{", "\\{"):
            depth += 1
        elif token in (")", "]", "}", "\\}"):
            depth -= 1
            if depth < 0:
                return None  # `(1)+(2)`: the outer brackets do not enclose everything
        if token == "," and depth == 0:
            elements.append([])
        else:
            elements[-1].append(token)
    if depth != 0 or any(not element for element in elements):
        return None
    return tokens[0], elements, tokens[-1]


def _element_value(tokens: list[str], variables: dict[str, float]) -> float | None:
    if tokens == ["\\infty"] or tokens == ["+", "\\infty"]:
        return math.inf
    if tokens == ["-", "\\infty"]:
        return -math.inf
    return _evaluate(tokens, variables)


def _compare(a: float, b: float, decimal: bool) -> bool | None:
    """Float equality of two evaluated answers; None when floats cannot tell (huge magnitudes
    where an off-by-one hides below the precision, or values near zero where rounding noise
    dominates)."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    if decimal:  # a decimal answer is compared at 6 places, as math-verify does (and relatively)
        return round(a, 6) == round(b, 6) and math.isclose(a, b, rel_tol=5e-6)
    if a == b:
        return True
    if max(abs(a), abs(b)) > _EXACT_LIMIT:
        return None
    if min(abs(a), abs(b)) < 1e-9:
        # near zero rounding noise of a cancellation (`\\sqrt{2}^2-2`) could pass for a value, but
        # two values far apart relative to their size are different answers (2^{-70} vs 2^{-71})
        if a == 0 or b == 0 or (a < 0) != (b < 0) or min(abs(a), abs(b)) < 1e-250:
            return None
        return None if math.isclose(a, b, rel_tol=1e-6) else False
    return math.isclose(a, b, rel_tol=1e-11)


def _all_equal(pairs: list[tuple[float, float]], decimal: bool) -> bool | None:
    verdicts = [_compare(a, b, decimal) for a, b in pairs]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _fast_verdict(pred: str, pred_pct: bool, target: str, target_pct: bool) -> bool | None:
    """True/False when both answers are simple closed forms (or same-shaped tuples, intervals or
    sets of them) that evaluate with floats; None when math-verify has to decide."""
    if pred_pct or target_pct:
        return None  # percent readings are handled for plain numbers only
    p_tokens, t_tokens = _TOKEN.findall(pred), _TOKEN.findall(target)
    if len(p_tokens) > _MAX_TOKENS or len(t_tokens) > _MAX_TOKENS:
        return None
    variables = _variables_of(p_tokens) | _variables_of(t_tokens)
    if variables & _SKIP_LETTERS or len(variables) > 3 or _variables_of(p_tokens) != _variables_of(t_tokens):
        return None
    names = sorted(variables)
    probes = [dict(zip(names, (probe[k] for k in "xyz"), strict=False)) for probe in _PROBES] if names else [{}]
    decimal = "." in pred or "." in target
    p_split, t_split = _split_elements(p_tokens), _split_elements(t_tokens)
    if p_split is None and t_split is None:
        pairs = []
        for point in probes:
            p, t = _evaluate(p_tokens, point), _evaluate(t_tokens, point)
            if p is None or t is None:
                return None
            pairs.append((p, t))
        return _all_equal(pairs, decimal)
    if p_split is None or t_split is None or names:
        return None
    (p_open, p_items, p_close), (t_open, t_items, t_close) = p_split, t_split
    if (p_open == "\\{") != (t_open == "\\{") or len(p_items) != len(t_items):
        return None  # set vs tuple, or different sizes: math-verify's rules apply
    p_values = [v for v in (_element_value(item, {}) for item in p_items) if v is not None]
    t_values = [v for v in (_element_value(item, {}) for item in t_items) if v is not None]
    if len(p_values) != len(p_items) or len(t_values) != len(t_items):
        return None
    if p_open == "\\{":  # sets: order does not matter
        return _all_equal(list(zip(sorted(p_values), sorted(t_values), strict=True)), decimal)
    same = _all_equal(list(zip(p_values, t_values, strict=True)), decimal)
    if same is not True or (p_open, p_close) == (t_open, t_close):
        return same
    # same endpoints, different brackets: (1,2) vs (1,2] differ whether read as intervals or not
    return False if len(p_items) == 2 else None


# -- symbolic check (math-verify), unbounded: execution.symbolic bounds it -------------------------


class _DropTimeoutDisabledWarning(logging.Filter):
    # We disable math-verify's own int-second alarms because we enforce the limit ourselves.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


_MATH_VERIFY_LOADED = False


def load_math_verify() -> Any:
    """The math-verify module, imported on first use (0.5 s), with its int-second alarm warnings muted."""
    global _MATH_VERIFY_LOADED
    import math_verify  # 0.5 s import, so only when an answer needs it

    if not _MATH_VERIFY_LOADED:
        for name in ("math_verify.parser", "math_verify.grader"):
            logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())
        _MATH_VERIFY_LOADED = True
    return math_verify


@lru_cache(maxsize=8192)
def _parse(expression: str) -> tuple[Any, ...]:
    """math-verify parse of one normalised answer, cached: targets repeat across generations and
    runs, and sympy objects are immutable so sharing them is safe."""
    mv = load_math_verify()
    return tuple(mv.parse(f"${expression}$", parsing_timeout=None))


_TINY = 1e-6  # below this magnitude math-verify's fixed-decimal numeric check cannot tell values apart


def _tiny_values_differ(gold: Any, guess: Any) -> bool:
    """Whether two constant expressions math-verify called equal are tiny and far apart relative
    to their size (`e^{-100}` vs `e^{-101}`): its numeric comparison rounds to a fixed number of
    decimals, which makes every value near 0 equal to every other."""
    try:
        if not (getattr(gold, "is_number", False) and getattr(guess, "is_number", False)):
            return False
        values = []
        for expr in (gold, guess):
            coarse, fine = complex(expr.evalf(30)), complex(expr.evalf(60))
            # a value that moves with the precision is evaluation noise (`\\cos\\frac{\\pi}{2}` = 6e-154 at
            # 30 digits), i.e. zero in disguise: then math-verify's verdict stands
            if fine == 0 or abs(coarse - fine) > 1e-12 * abs(fine):
                return False
            values.append(fine)
    except Exception:
        return False
    a, b = values
    if max(abs(a), abs(b)) >= _TINY:
        return False
    return abs(a - b) > 1e-9 * max(abs(a), abs(b))


def symbolic_equal(pred: str, target: str) -> bool:
    """math-verify's verdict on two normalised answers (step 4 of `math_verdict`), with no time limit:
    a pathological answer can take minutes, so callers bound it (`execution.symbolic.math_equal`)."""
    mv = load_math_verify()
    gold, guess = _parse(target), _parse(pred)
    if not gold or not guess:
        return False
    if not mv.verify(list(gold), list(guess), timeout_seconds=None):
        return False
    return not _tiny_values_differ(gold[0], guess[0])


# -- public comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Undecided:
    """Steps 1-3 of `math_verdict` could not tell: the normalised pair math-verify must compare (step 4)."""

    prediction: str
    target: str


def math_verdict(prediction: str, target: str) -> bool | Undecided:
    """Whether a model's final answer equals the reference answer mathematically, when steps 1-3 can tell.

    `prediction` is the final answer (e.g. `last_boxed(output)`); if it still contains a `\\boxed{}`
    the last box is used. Both sides go through `normalize_answer`, then:

    1. identical normalised strings are equal; two words of 4+ letters (`\\text{Monday}`) compare
       as case-insensitive text;
    2. two plain numbers (`12`, `-0.5`, `7/8`, `\\frac{1}{2}`) are compared exactly, or after rounding
       to 6 decimals when either is written as a decimal: `1/2 == 0.5`, `1/3 == 0.333333`,
       `0.5 != 0.50001` (and relatively: `0.0000001 != 0.0000002`). `50\\%` may match `50` or `0.5`.
       Rational closed forms (`2^{-70}`, `\\frac{1}{2^{99}}`, `\\frac{3}{4}+1`) are evaluated exactly
       and compared the same way, so tiny values are never equal just for being tiny;
    3. simple closed forms (numbers, `+ - * /`, `^`, `\\frac`, `\\sqrt`, `\\pi`, up to three
       one-letter variables), and same-shaped tuples, intervals and sets of them, are evaluated with
       floats (variables at three fixed probe points) - e.g. `\\sqrt{8} == 2\\sqrt{2}`,
       `x^2+2x+1 == (x+1)^2`, `(1,2] != (1,2)`, `\\{1,2\\} == \\{2,1\\}`, `(1,2) != (2,1)`. Anything
       the evaluator does not fully understand, or where floats cannot tell (magnitudes above 1e7,
       values near 0), is left to step 4;
    4. math-verify (`parse` + `verify`) decides the rest: matrices, unions, trigonometry, logs,
       equations, and so on. Its numeric check rounds to fixed decimals, so when it calls two
       constants below 1e-6 equal they must also agree relatively (`e^{-100} != e^{-101}`).

    Steps 1-3 agree with math-verify on everything they decide (tested on a differential corpus)
    and are ~100x faster. Step 4 is not run here: it can take unbounded time, so the normalised pair
    comes back as `Undecided` and `execution.symbolic.math_equal` runs it under a time limit
    (`symbolic_equal` is the check itself).
    Variable names left of `=` are not compared (`x=5`, `y=5` and `5` are all equal), as the MATH
    convention is to accept `x=5` for `5`. An empty prediction is never equal.
    """
    if not prediction or not prediction.strip():
        return False
    pred, pred_pct = _normalize(prediction)
    gold, gold_pct = _normalize(target)
    if not pred:
        return False
    if pred == gold:
        return True
    if _WORD.fullmatch(pred) and _WORD.fullmatch(gold):
        # text answers ("Monday", "\\text{no solution}"): sympy would read them as products of
        # one-letter symbols, under which "Monday" equals "Dynamo"
        return pred.casefold() == gold.casefold()
    verdict = _numeric_verdict(pred, pred_pct, gold, gold_pct)
    if verdict is None:
        verdict = _exact_verdict(pred, pred_pct, gold, gold_pct)
    if verdict is None:
        verdict = _fast_verdict(pred, pred_pct, gold, gold_pct)
    if verdict is not None:
        return verdict
    return Undecided(pred, gold)


def numeric_value(expression: str) -> float | None:
    """The value of a closed-form answer after `normalize_answer` (box, `$`, units, `\\text{}`,
    `9{,}500`, `x =` dropped): `\\frac{3}{4}` -> 0.75, `2\\sqrt{2}` -> 2.828..., `9{,}500` -> 9500.0,
    `50\\%` -> 50.0. None when it is not a number the evaluator understands (text, variables)."""
    normalized = _normalize(expression)[0]
    exact = _exact_value(normalized)
    if exact is not None:
        try:
            return float(exact)
        except OverflowError:
            return None
    return _evaluate(_TOKEN.findall(normalized), {}) if len(normalized) <= _MAX_DIGITS else None


# -- the final answer of a MATH-style output -------------------------------------------------------

# Inline or display math: $$...$$, \\[...\\], \\(...\\), $...$ (an escaped \\$ is a dollar, not math)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$([^$\n]+?)(?<!\\)\$", re.DOTALL)
_FINAL_PHRASE = re.compile(
    r"\b(?:final\s+answer|answer)\b\s*(?:\*\*)?\s*(?:is|:|=)\s*(?:\*\*)?[ \t]*|答案\s*(?:是|为|[:：])\s*",
    re.IGNORECASE,
)
_PHRASE_END = re.compile(r"\n|[.。!?;](?:\s|$)|,\s")  # a sentence ends; "1,000" is not an end

MathCue = Literal["boxed", "answer phrase", "last expression"]


def _phrase_answer(text: str) -> str | None:
    """What follows the last "answer is" / "final answer:" / "答案是": a math span right after it, else
    the words up to the end of the sentence (a trailing full stop, `**` and `$` dropped)."""
    for phrase in reversed(list(_FINAL_PHRASE.finditer(text))):
        rest = text[phrase.end() :]
        span = _MATH_SPAN.match(rest)
        if span is not None:
            inner = next(group for group in span.groups() if group is not None).strip()
            if inner:
                return inner
            continue
        stop = _PHRASE_END.search(rest)
        candidate = (rest[: stop.start()] if stop else rest).strip().strip("*").strip().rstrip(".")
        if candidate and len(candidate) <= 80:  # a statement, not a paragraph of prose
            return candidate
    return None


def final_math_answer(text: str) -> tuple[str | None, MathCue | None]:
    """The final answer of a competition-math output and where it came from, for outputs that do
    not all box their answer:

    1. the content of the last `\\boxed{}` (`cues.final_boxed`: text the model invents after it,
       a new `Problem:` turn, is ignored);
    2. else what follows the last answer phrase: "so the answer is $\\frac{1}{2}$." -> `\\frac{1}{2}`,
       "Final answer: 12" -> `12`, "答案是 $x=3$" -> `x=3`;
    3. else the last math expression of the output (`$...$`, `\\(...\\)`, `\\[...\\]`, `$$...$$`), as
       the reference system (EvalScope, through math-verify's extraction) takes it.

    Cues 1-2 are explicit; 3 is a fallback, so a generation cut off at max_tokens does not pass on
    it (`Score.explicit`). `(None, None)` when the output has none of them."""
    boxed = final_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    if "\n" in text:
        text = cut_continuation(text, lambda prefix: _phrase_answer(prefix) is not None)
    if (stated := _phrase_answer(text)) is not None:
        return stated, "answer phrase"
    spans = [next(g for g in m.groups() if g is not None).strip() for m in _MATH_SPAN.finditer(text)]
    spans = [span for span in spans if span]
    return (spans[-1], "last expression") if spans else (None, None)


# -- AIME -----------------------------------------------------------------------------------------


def aime_answer(text: str) -> int | None:
    """The AIME answer: an integer 0..999.

    If the text has a `\\boxed{}`, only the last box decides (`\\boxed{042}` -> 42, `\\boxed{33.0}`
    -> 33); a box holding anything else (`\\frac{1}{2}`, `1000`) gives None rather than falling back
    to some other number. Without a box, the number after an explicit answer phrase, else the last
    number in the text (see `numeric.find_final_number`), must be an integer in range. Text the
    model invents after its answer (a new `Problem:` turn) is ignored (`cues.final_boxed`).
    """
    boxed = final_boxed(text)
    if boxed is not None:
        value = to_fraction(_normalize(boxed)[0])
    else:
        number = find_final_number(text).value
        value = to_fraction(number) if number is not None else None
    if value is None or value.denominator != 1 or not 0 <= value <= 999:
        return None
    return int(value)
