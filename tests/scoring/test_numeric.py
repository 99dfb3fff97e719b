"""Golden cases for GSM8K-style numeric answers: target parsing, extraction and equality."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.numeric import extract_final_number, extract_gsm8k_target, numbers_equal

TARGETS = [
    ("plain", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", "72"),
    ("thousands", "250 * 4 = 1000\n#### 1,000", "1000"),
    ("negative", "#### -3", "-3"),
    ("decimal", "She pays 1.5 * 3 = 4.5\n#### 4.5", "4.5"),
]


@pytest.mark.parametrize(("field", "expected"), [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS])
def test_extract_gsm8k_target(field: str, expected: str) -> None:
    assert extract_gsm8k_target(field) == expected


def test_gsm8k_target_without_marker_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no '#### <number>' line"):
        extract_gsm8k_target("The answer is 5")


# (id, model output, expected extracted number)
EXTRACT: list[tuple[str, str, str | None]] = [
    ("boxed", "2 + 3 = 5. The answer is \\boxed{5}.", "5"),
    ("boxed-thousands", "250 times 4 is 1,000 pens.\n\\boxed{1,000}", "1000"),
    ("boxed-beats-later-number", "\\boxed{18}\n\nCheck: 9 * 2 = 18, and 3 + 4 = 7.", "18"),
    ("last-box-wins", "First guess \\boxed{12}. Re-checking the second step... \\boxed{14}", "14"),
    ("boxed-dollar", "So she makes $\\boxed{\\$18}$ every day.", "18"),
    ("boxed-dollar-decimal", "\\boxed{\\$1,234.50}", "1234.50"),
    ("boxed-units-text", "\\boxed{18 \\text{ dollars}}", "18"),
    ("boxed-text-number", "\\boxed{\\text{18}}", "18"),
    ("boxed-frac", "Each gets \\boxed{\\frac{1}{2}} of the pie.", "0.5"),
    ("boxed-dfrac-non-terminating", "\\boxed{\\dfrac{1}{3}}", "1/3"),
    ("boxed-assignment", "\\boxed{x = 7}", "7"),
    ("boxed-percent", "The discount is \\boxed{25\\%}.", "25"),
    ("boxed-negative", "The temperature change is \\boxed{-3} degrees.", "-3"),
    ("boxed-non-numeric-falls-back", "\\boxed{\\text{eighteen}}. In digits: 18", "18"),
    ("answer-phrase", "12 * 3 = 36, so the final answer is 36", "36"),
    ("answer-phrase-dollar-then-steps", "The answer is $18.\nStep 3: double-check with 2 * 9.", "18"),
    ("answer-phrase-equation", "So the answer is 12 * 3 = 36.", "36"),
    ("answer-colon-units", "Answer: 1,000 pens", "1000"),
    ("answer-markdown", "**Final Answer:** 42", "42"),
    ("zh-answer", "每天读 12 页，读 3 天。\n答案是：36 页", "36"),
    ("zh-answer-wei", "所以答案为 42元。", "42"),
    ("last-number", "She has 5 apples and buys 3 more, so 8", "8"),
    ("last-number-decimal", "The ratio comes to 3.0", "3.0"),
    ("last-number-negative", "The balance ends at -3", "-3"),
    ("minus-is-subtraction", "20-5=15", "15"),
    ("percent-stripped", "Prices rose by 50%", "50"),
    ("money-text", "The total is $1,234.50", "1234.50"),
    ("not-inside-words", "H2O has 3 atoms, not x2 or COVID19", "3"),
    ("step-number-only-if-nothing-else", "Step 1: read the problem.\nStep 2: think.", "2"),
    ("no-number", "I cannot determine this from the question.", None),
    ("truncated-box-ignored", "So we get 40 + 7 = 47, hence \\boxed{", "47"),
    ("off-by-one-large", "The population grows to 1,000,001", "1000001"),
]


@pytest.mark.parametrize(("text", "expected"), [e[1:] for e in EXTRACT], ids=[e[0] for e in EXTRACT])
def test_extract_final_number(text: str, expected: str | None) -> None:
    assert extract_final_number(text) == expected


# (id, a, b, equal?)
EQUAL: list[tuple[str, str, str, bool]] = [
    ("thousands", "1,000", "1000", True),
    ("trailing-zeros", "18.00", "18", True),
    ("fraction-decimal", "0.5", "1/2", True),
    ("latex-fraction", "\\frac{1}{2}", "0.5", True),
    ("dollar", "$18", "18", True),
    ("percent-dropped", "50%", "50", True),
    ("float-noise", "0.30000000000000004", "0.3", True),
    ("negative", "-3", "-3.0", True),
    ("sign-matters", "-3", "3", False),
    ("close-but-different", "0.5", "0.50001", False),
    ("different", "47", "33", False),
    ("big-integers-exact", "1000000", "1000001", False),
    ("integer-written-as-decimal", "1000000.0", "1,000,000", True),
    ("non-numeric-same", "N/A", "n/a", True),
    ("non-numeric-vs-number", "eighteen", "18", False),
    ("empty", "", "", False),
]


@pytest.mark.parametrize(("a", "b", "expected"), [e[1:] for e in EQUAL], ids=[e[0] for e in EQUAL])
def test_numbers_equal(a: str, b: str, expected: bool) -> None:
    assert numbers_equal(a, b) is expected
    assert numbers_equal(b, a) is expected


def test_tolerance_is_configurable() -> None:
    assert numbers_equal("100", "100.5", rel_tol=0.01)
    assert not numbers_equal("100", "100.5")
