"""Golden cases for competition-math answers: boxed extraction, equivalence, AIME (the time limit on the
symbolic step: tests/execution/test_symbolic.py)."""

from __future__ import annotations

import pytest

from pytest_llmeval.execution.symbolic import math_equal
from pytest_llmeval.scoring.math_equiv import (
    Undecided,
    aime_answer,
    boxed_contents,
    last_boxed,
    math_verdict,
    normalize_answer,
)

BOXED: list[tuple[str, str, str | None]] = [
    ("simple", "The answer is $\\boxed{5}$.", "5"),
    ("nested-braces", "So $\\boxed{\\frac{\\sqrt{3}}{2}}$", "\\frac{\\sqrt{3}}{2}"),
    ("last-of-several", "\\boxed{1} then corrected to \\boxed{2}", "2"),
    ("fbox", "\\fbox{42}", "42"),
    ("brace-less", "Hence the answer is $\\boxed 5$.", "5"),
    ("escaped-set-braces", "\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
    ("truncated-skipped", "\\boxed{3} and finally \\boxed{\\frac{1}{", "3"),
    ("none", "no box here", None),
    ("boxed-word-not-command", "\\boxedsomething{5}", None),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BOXED], ids=[b[0] for b in BOXED])
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


def test_boxed_contents_in_order() -> None:
    assert boxed_contents("\\boxed{a} x \\fbox{b} y \\boxed{c}") == ["a", "b", "c"]


# (id, prediction, target, equal?)
EQUIV: list[tuple[str, str, str, bool]] = [
    # numbers
    ("frac-vs-decimal", "\\frac{1}{2}", "0.5", True),
    ("slash-vs-decimal", "1/2", "0.5", True),
    ("dfrac", "\\dfrac{1}{2}", "0.5", True),
    ("tfrac-short", "\\tfrac12", "\\frac{1}{2}", True),
    ("frac-short", "\\frac32", "1.5", True),
    ("unreduced-fraction", "\\frac{2}{4}", "\\frac{1}{2}", True),
    ("negative-fraction-forms", "-\\frac{1}{2}", "\\frac{-1}{2}", True),
    ("decimal-close-but-not-equal", "0.5", "0.50001", False),
    ("rounded-third", "0.333333", "\\frac{1}{3}", True),
    ("coarse-third", "0.33", "\\frac{1}{3}", False),
    ("integer-as-decimal", "6.0", "6", True),
    ("different-integers", "3", "4", False),
    ("thousands-comma", "1,000", "1000", True),
    ("latex-thousands", "1{,}000", "1000", True),
    ("percent-as-number", "50\\%", "50", True),
    ("percent-as-fraction", "10\\%", "0.1", True),
    ("dollar", "\\$18", "18", True),
    ("dollar-decimal", "\\$18.50", "18.5", True),
    # units and degrees
    ("text-units", "10\\text{ cm}", "10", True),
    ("mbox-units", "5 \\mbox{ inches}", "5", True),
    ("squared-units", "36 \\text{ cm}^2", "36", True),
    ("plain-word-units", "18 dollars", "18", True),
    ("degrees", "30^\\circ", "30", True),
    ("degrees-braced", "30^{\\circ}", "30", True),
    ("wrong-with-units", "12\\text{ cm}", "10", False),
    # radicals and symbolic forms
    ("sqrt-short", "\\sqrt2", "\\sqrt{2}", True),
    ("sqrt-coefficient-short", "12\\sqrt3", "12\\sqrt{3}", True),
    ("sqrt-simplify", "\\sqrt{8}", "2\\sqrt{2}", True),
    ("half-sqrt-forms", "\\frac{1}{2}\\sqrt{3}", "\\frac{\\sqrt{3}}{2}", True),
    ("sqrt-wrong", "\\sqrt{3}", "\\sqrt{2}", False),
    ("polynomial-expanded", "x^2+2x+1", "(x+1)^2", True),
    ("commuted-sum", "3+2x", "2x+3", True),
    ("pi-vs-decimal", "3.14", "\\pi", False),
    ("pi-multiple", "2\\pi", "\\pi \\cdot 2", True),
    # equations and membership
    ("assignment", "x=5", "5", True),
    ("assignment-other-value", "x=4", "5", False),
    ("line-equation", "y = 2x+3", "2x+3", True),
    ("membership", "x \\in [1,3)", "[1,3)", True),
    # intervals, sets, tuples, matrices
    ("interval-same", "\\left(1, 2\\right]", "(1,2]", True),
    ("interval-open-vs-half-open", "(1,2)", "(1,2]", False),
    ("interval-closed-vs-half-open", "[1,3]", "[1,3)", False),
    ("union-same", "(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup(3,\\infty)", True),
    ("union-endpoint-differs", "(-\\infty,2]\\cup(3,\\infty)", "(-\\infty,2)\\cup(3,\\infty)", False),
    ("set-order-insensitive", "\\{2,1\\}", "\\{1,2\\}", True),
    ("set-different", "\\{1,3\\}", "\\{1,2\\}", False),
    ("tuple-spacing", "(3, -1)", "(3,-1)", True),
    ("tuple-order-matters", "(2,1)", "(1,2)", False),
    ("matrix-spacing", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),
    ("matrix-different", "\\begin{pmatrix}2\\\\1\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", False),
    # text answers and wrappers
    ("text-answer", "\\text{Evelyn}", "Evelyn", True),
    ("boxed-prediction", "so the answer is $\\boxed{\\frac{7}{2}}$", "3.5", True),
    ("dollar-delimiters", "$\\infty$", "\\infty", True),
    ("empty-prediction", "", "7", False),
    ("whitespace-prediction", "   ", "7", False),
]


@pytest.mark.parametrize(("prediction", "target", "expected"), [e[1:] for e in EQUIV], ids=[e[0] for e in EQUIV])
def test_math_equal(prediction: str, target: str, expected: bool) -> None:
    assert math_equal(prediction, target) is expected


def test_equivalence_table_is_large_enough() -> None:
    assert len(EQUIV) >= 40
    assert sum(1 for e in EQUIV if not e[3]) >= 12


def test_normalize_answer_examples() -> None:
    assert normalize_answer("$\\left( \\dfrac{1}{2}, 3 \\right)$") == "(\\frac{1}{2},3)"
    assert normalize_answer("x = 10\\text{ cm}") == "10"
    assert normalize_answer("\\pi r^2") == "\\pi r^2"  # the space that separates a command survives


AIME: list[tuple[str, str, int | None]] = [
    ("boxed", "Thus $m+n=\\boxed{25}$.", 25),
    ("leading-zeros", "\\boxed{042}", 42),
    ("integer-as-decimal", "\\boxed{33.0}", 33),
    ("text", "\\boxed{\\text{073}}", 73),
    ("phrase", "Adding up, the answer is 117.", 117),
    ("last-number", "so m = 7 and n = 9, giving 16", 16),
    ("out-of-range", "\\boxed{1000}", None),
    ("negative", "\\boxed{-5}", None),
    ("fraction-in-box-no-fallback", "m = 3, n = 4: \\boxed{\\frac{3}{4}}", None),
    ("nothing", "I could not solve it.", None),
]


@pytest.mark.parametrize(("text", "expected"), [a[1:] for a in AIME], ids=[a[0] for a in AIME])
def test_aime_answer(text: str, expected: int | None) -> None:
    assert aime_answer(text) == expected


def _differential_corpus() -> list[tuple[str, str]]:
    """Pairs the fast paths decide, with seeded random constants, plus hand-picked hard ones."""
    import random

    rng = random.Random(20240601)
    pairs: list[tuple[str, str]] = []
    for _ in range(30):
        a, b, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 30)
        pairs += [
            (f"\\dfrac{{{2 * a}}}{{{2 * (a + b)}}}", f"\\frac{{{a}}}{{{a + b}}}"),
            (f"\\sqrt{{{a * a * c}}}", f"{a}\\sqrt{{{c}}}"),
            (f"{a + 1}\\sqrt{{{c}}}", f"{a}\\sqrt{{{c}}}"),
            (f"\\pi \\cdot {a}", f"{a}\\pi"),
            (f"[{a}, {a + b}]", f"({a}, {a + b}]"),
            (f"(-{b}, {a})", f"({a}, -{b})"),
            (f"\\{{{b},{a}\\}}", f"\\{{{a}, {b}\\}}"),
            (f"{b}+{a}x+x^2", f"x^2+{a}x+{b}"),
            (f"x^2+{a}x+{b + 1}", f"x^2+{a}x+{b}"),
            (f"{a / 4}", f"\\frac{{{a}}}{{4}}"),
        ]
    pairs += [
        ("2^{30}", "1073741824"),
        ("\\sqrt[3]{8}", "2"),
        ("\\frac{\\sqrt{6}}{3}", "\\sqrt{\\frac{2}{3}}"),
        ("(x+1)(x-1)", "x^2-1"),
        ("-2^2", "-4"),
        ("(-2)^2", "4"),
        ("\\pi", "3.141593"),
        ("\\frac{1}{3}", "0.3333333"),
        ("2a+b", "b+2a"),
        ("x^{2}y", "yx^2"),
        ("100\\sqrt{2}", "141.421356"),
        ("(-\\infty, 3]", "(-\\infty,3)"),
        ("\\frac{3}{4}\\pi", "0.75\\pi"),
    ]
    return pairs


def test_fast_paths_agree_with_math_verify() -> None:
    """Every verdict the fast paths give must be the verdict math-verify gives."""
    from pytest_llmeval.scoring import math_equiv as me

    decided = 0
    for prediction, target in _differential_corpus():
        pred, pred_pct = me._normalize(prediction)
        gold, gold_pct = me._normalize(target)
        fast = me._numeric_verdict(pred, pred_pct, gold, gold_pct)
        if fast is None:
            fast = me._fast_verdict(pred, pred_pct, gold, gold_pct)
        if fast is None:
            continue
        decided += 1
        assert me.symbolic_equal(pred, gold) is fast, (prediction, target)
    assert decided >= 300


@pytest.mark.parametrize(
    ("prediction", "target"),
    [("2^{30}", "1073741825"), ("10^{-12}", "0"), ("1/2x", "\\frac{x}{2}"), ("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}")],
    ids=["huge-off-by-one", "near-zero", "division-then-implicit-product", "trig"],
)
def test_fast_path_declines_what_floats_cannot_tell(prediction: str, target: str) -> None:
    from pytest_llmeval.scoring import math_equiv as me

    pred, pred_pct = me._normalize(prediction)
    gold, gold_pct = me._normalize(target)
    assert me._fast_verdict(pred, pred_pct, gold, gold_pct) is None


def test_the_pure_verdict_leaves_the_symbolic_step_to_the_caller() -> None:
    """`scoring` never runs math-verify under a limit itself: what steps 1-3 cannot tell comes back
    normalised, for `execution.symbolic.math_equal` to decide under its time limit."""
    assert math_verdict("\\frac{1}{2}", "0.5") is True
    assert math_verdict("3", "4") is False
    assert math_verdict("$\\cos\\frac{\\pi}{3}$", "\\frac{1}{2}") == Undecided("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}")
