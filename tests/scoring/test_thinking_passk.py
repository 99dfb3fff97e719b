"""Thinking removal and pass@k / majority helpers."""

from __future__ import annotations

import math

import pytest

from pytest_llmeval.scoring.passk import majority_passed, mean_pass_at_1, pass_at_k
from pytest_llmeval.scoring.thinking import split_thinking

# (id, text, reasoning field, expected answer, expected reasoning)
SPLITS: list[tuple[str, str, str | None, str, str | None]] = [
    ("no-tags", "The answer is 5.", None, "The answer is 5.", None),
    ("no-tags-keeps-field", "The answer is 5.", "I added 2 and 3.", "The answer is 5.", "I added 2 and 3."),
    ("closed", "<think>2+3=5</think>\n\nThe answer is 5.", None, "The answer is 5.", "2+3=5"),
    ("close-only-template-opened", "2+3=5\n</think>\nThe answer is 5.", None, "The answer is 5.", "2+3=5"),
    (
        "last-close-wins",
        "<think>first</think>draft 4<think>second look</think>final 5",
        None,
        "final 5",
        "first\ndraft 4\nsecond look",
    ),
    ("unclosed-is-all-reasoning", "<think>Let me count: 1, 2, 3", None, "", "Let me count: 1, 2, 3"),
    ("empty-thinking-block", "<think>\n\n</think>\n\nB", None, "B", None),
    ("field-and-inline-joined", "<think>inline</think>C", "from field", "C", "from field\n\ninline"),
    ("whitespace-field-ignored", "D", "   ", "D", None),
]


@pytest.mark.parametrize(
    ("text", "reasoning", "answer", "thought"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS]
)
def test_split_thinking(text: str, reasoning: str | None, answer: str, thought: str | None) -> None:
    assert split_thinking(text, reasoning) == (answer, thought)


def _pass_at_k_by_binomials(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # pass@1 is the fraction correct
        (4, 2, 2, 1 - 1 / 6),  # C(2,2)/C(4,2) = 1/6
        (5, 1, 5, 1.0),  # k = n: any correct generation is drawn
        (5, 4, 2, 1.0),  # only one failure, cannot fill two draws
        (200, 0, 100, 0.0),
        (10, 5, 3, 1 - 10 / 120),  # C(5,3)/C(10,3)
    ],
)
def test_pass_at_k_known_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_binomials_and_survives_large_n() -> None:
    for n, c, k in [(20, 7, 5), (100, 13, 10), (50, 1, 49)]:
        assert pass_at_k(n, c, k) == pytest.approx(_pass_at_k_by_binomials(n, c, k), rel=1e-9)
    assert 0.0 < pass_at_k(5000, 3, 1000) < 1.0  # math.comb / float would overflow here


@pytest.mark.parametrize(
    ("n", "c", "k", "message"), [(0, 0, 1, "n >= 1"), (3, 4, 1, "outside"), (3, 1, 4, "at least k")]
)
def test_pass_at_k_rejects_bad_arguments(n: int, c: int, k: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pass_at_k(n, c, k)


def test_mean_pass_at_1() -> None:
    assert mean_pass_at_1([1.0, 0.0, 1.0, 1.0]) == 0.75
    with pytest.raises(ValueError, match="at least one score"):
        mean_pass_at_1([])


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([True], True),
        ([False], False),
        ([True, False], False),
        ([True, True, False], True),
        ([True, True, False, False], False),
        ([True, True, True, False], True),
        ([], False),
    ],
    ids=["one-pass", "one-fail", "tie-2", "2-of-3", "tie-4", "3-of-4", "empty"],
)
def test_majority_passed(flags: list[bool], expected: bool) -> None:
    assert majority_passed(flags) is expected
