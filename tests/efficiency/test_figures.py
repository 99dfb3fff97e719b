"""Reasoning-efficiency figures on hand-written traces with known T, T̂ and thought counts.

Tokens are words here (a whitespace tokenizer through `OffsetTokenCounter`), so every expected
count can be checked by reading the trace."""

from __future__ import annotations

import re

import pytest

from pytest_llmeval.scoring.efficiency import (
    OffsetTokenCounter,
    ThoughtSplitter,
    analyse,
    first_correct_offset,
    stated_answer,
    usage_counter,
)


def words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


COUNTER = OffsetTokenCounter(words)
SPLITTER = ThoughtSplitter()


def figures(trace: str, gold: str, correct: bool = True):
    """The extractor reads the last stated answer, the check compares it with `gold`."""
    return analyse(trace, correct, SPLITTER, COUNTER, stated_answer, lambda answer: answer == gold)


def test_answer_in_the_first_thought_then_checking_is_reflection():
    trace = "Add them: the answer is 5. But wait, let me check it again carefully. Yes it holds."
    got = figures(trace, "5")
    assert got.reasoning_tokens == 17
    assert got.first_correct_tokens == 6  # "Add them: the answer is 5."
    assert got.reflection_tokens == 11
    assert got.efficiency == pytest.approx(6 / 17)
    assert got.thought_count == 2
    assert got.status == "correct"


def test_answer_mid_thought_is_found_at_its_sentence_not_the_thought_end():
    trace = "First I try 2+2. That gives the answer is 4. Then I keep talking about other things here."
    got = figures(trace, "4")
    assert got.first_correct_tokens == 10  # up to "...the answer is 4.", not the end of the thought
    assert got.thought_count == 1


def test_wrong_then_corrected_counts_up_to_the_correction():
    trace = "So the answer is 7.\n\nHmm, I dropped a sign. Alternatively the answer is 9. Done."
    got = figures(trace, "9")
    assert got.thought_count == 3
    assert got.first_correct_tokens == 15
    assert got.reflection_tokens == 1


def test_correct_then_abandoned_still_counts_the_first_correct_point():
    trace = "The answer is 3.\n\nWait, that cannot be right, the answer is 4.\n\nNo, going back: the answer is 3."
    got = figures(trace, "3")
    assert got.first_correct_tokens == 4
    assert got.reasoning_tokens == 20


def test_chinese_markers_split_thoughts_only_at_sentence_starts():
    trace = "先算一下，答案是 6。等等，我再检查。或者换一种方法：答案是 6。我们可以用加法或者乘法。"
    assert SPLITTER.thought_count(trace) == 3  # 等等 and 或者 open sentences; the last 或者 is "or"
    assert SPLITTER.thought_count("换个思路：直接代入。") == 1  # a marker at the very start is no switch


def test_markers_are_whole_words_and_configurable():
    assert ThoughtSplitter().thought_count("Hmmm. Hmm, fine. Hmmph.") == 2
    custom = ThoughtSplitter(["on reflection"])
    assert custom.thought_count("A. On reflection, B. Alternatively C.") == 2


def test_a_wrong_final_answer_has_no_first_correct_figures():
    got = figures("The answer is 5. But wait, it is 6.", "5", correct=False)
    assert got.status == "wrong"
    assert got.first_correct_tokens is None and got.efficiency is None and got.reflection_tokens is None
    assert got.reasoning_tokens == 9 and got.thought_count == 2


def test_no_reasoning_at_all():
    got = analyse("", True, SPLITTER, COUNTER, stated_answer, lambda answer: answer == "1")
    assert got.status == "no_reasoning" and got.reasoning_tokens == 0 and got.thought_count == 0


def test_correct_final_answer_never_stated_in_reasoning_spends_everything():
    got = figures("Let me think about the structure of the problem.", "8")
    assert got.first_correct_tokens == got.reasoning_tokens == 9
    assert got.efficiency == 1.0


def test_first_correct_offset_reads_each_step_once_and_checks_each_answer_once():
    read: list[str] = []
    checked: list[str] = []

    def extract(text: str) -> str | None:
        read.append(text)
        return stated_answer(text)

    def check(answer: str) -> bool:
        checked.append(answer)
        return answer == "9"

    text = "x = 7.\n\nStill x = 7.\n\nThen more. So x = 9. And on.\n\nEnd."
    offset = first_correct_offset(text, SPLITTER.step_ends(text), extract, check)
    assert text[:offset].endswith("So x = 9.")
    assert checked == ["7", "9"]  # 7 was checked once although two steps stated it
    steps = [piece for piece in read if not piece.startswith("Then more.")]
    assert "".join(steps).count("Still") == 1


def test_an_answer_stated_earlier_carries_over_steps_without_one():
    text = "So x = 5.\n\nNow I double check by substitution, it works."
    offset = first_correct_offset(text, SPLITTER.step_ends(text), stated_answer, lambda a: a == "5")
    assert offset == len("So x = 5.")


def test_usage_counter_prefers_the_servers_reasoning_tokens():
    counter = usage_counter("abcd" * 10, "xy", completion_tokens=100, reasoning_tokens=80)
    assert counter.source == "usage.reasoning_tokens"
    assert counter("abcd" * 10, [20]) == (80, [40])


def test_usage_counter_splits_completion_tokens_by_characters():
    counter = usage_counter("r" * 300, "a" * 100, completion_tokens=200, reasoning_tokens=None)
    assert counter.source == "usage.completion_tokens split by characters"
    total, (half,) = counter("r" * 300, [150])
    assert total == 150 and half == 75


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so the answer is 42.", "42"),
        ("Thus x = \\frac{1}{2}.", "\\frac{1}{2}"),
        ("答案是 7。", "7"),
        ("no conclusion yet", None),
        ("First x = 3.\nThen y = 5.\n", "5"),
    ],
)
def test_stated_answer(text: str, expected: str | None):
    assert stated_answer(text) == expected
