"""The requested answer line beats weaker cues; negated mentions never count (issue 12 item 3)."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.choice import extract_choice, find_choice

ABCD = "ABCD"

# (id, output, expected letter)
ANSWER_LINE_WINS = [
    ("issue-explanation", "Answer: B\n\nExplanation: option A is correct only if the gas is ideal.", "B"),
    ("issue-common-mistake", "Answer: B\n\nA common mistake is to select D here.", "B"),
    ("upper-answer", "Reasoning...\nANSWER: C\n\nI might pick A if rushed.", "C"),
    ("zh-answer-line", "答案：B\n\n很多人会选A，但那是错的。", "B"),
    ("zh-answer-then-option-correct", "答案：C\n\n如果条件不同，选项A正确。", "C"),
    ("would-be-is-weaker", "Answer: D\n\nWithout the friction term the answer would be B.", "D"),
    ("go-with-is-weaker", "**Answer:** A\n\nSome would go with C.", "A"),
    ("therefore-is-weaker", "Answer: B\nOther texts say otherwise.\nTherefore, C.", "B"),
    ("letter-is-correct-is-weaker", "The correct answer is A.\n\nIn the 1990s, C is the correct choice.", "A"),
    ("boxed-is-an-answer-line", "$\\boxed{C}$\n\nI choose A only when x < 0.", "C"),
    (
        "revision-between-answer-lines",
        "Answer: A\nHmm, I misread the question.\nAnswer: C\nOption D is correct otherwise.",
        "C",
    ),
    ("invented-next-question", "Answer: B\n\nQuestion: What is 2+2?\nA. 3\nB. 4\nAnswer: A", "B"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in ANSWER_LINE_WINS], ids=[c[0] for c in ANSWER_LINE_WINS])
def test_answer_line_beats_weaker_cues(text: str, expected: str) -> None:
    answer = find_choice(text, ABCD)
    assert answer.letter == expected and answer.cue == "answer line" and answer.explicit


WEAKER_WHEN_NO_ANSWER_LINE = [
    ("pick", "After weighing them I pick C.", "C"),
    ("select", "We should select (B) here.", "B"),
    ("option-correct", "Option D is correct.", "D"),
    ("would-be", "So the answer would be A.", "A"),
    ("zh-choose", "故选B", "B"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in WEAKER_WHEN_NO_ANSWER_LINE], ids=[c[0] for c in WEAKER_WHEN_NO_ANSWER_LINE]
)
def test_weaker_cues_count_without_an_answer_line(text: str, expected: str) -> None:
    answer = find_choice(text, ABCD)
    assert answer.letter == expected and answer.cue == "statement" and answer.explicit


NEGATED = [
    ("not-a", "It is not A. I choose C.", "C"),
    ("answer-is-not", "The answer is not A.\n\n(C)", "C"),
    ("not-option", "Definitely not option (B); the answer is D.", "D"),
    ("would-not-choose", "I would not choose A.", None),
    ("never-pick", "Never pick B.", None),
    ("rather-than", "I pick C rather than A.", "C"),
    ("rather-than-last", "Rather than D I select B.", "B"),
    ("instead-of", "Choose B instead of (D).", "B"),
    ("is-incorrect", "**A** is incorrect, so **C**", "C"),
    ("is-wrong", "Option B is wrong.", None),
    ("isnt", "It isn't **D**.", None),
    ("zh-not", "答案不是A", None),
    ("zh-dont-choose", "不选A，故选C", "C"),
    ("negated-alone-no-answer", "The answer is not B.", None),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in NEGATED], ids=[c[0] for c in NEGATED])
def test_negated_mentions_never_count(text: str, expected: str | None) -> None:
    assert extract_choice(text, ABCD) == expected


def test_bare_lines_only_without_statements() -> None:
    assert find_choice("Some reasoning.\nB", ABCD).cue == "last line"
    assert not find_choice("Some reasoning.\nB", ABCD).explicit
    assert find_choice("My pick is **C** given this.", ABCD).cue == "stand-alone"
    assert find_choice("nothing here", ABCD).letter is None
