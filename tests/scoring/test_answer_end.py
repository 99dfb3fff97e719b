"""GSM8K's `#### N` marker is an explicit cue, and the answer ends before text the model invents."""

from __future__ import annotations

import pytest

from pytest_llmeval.benchmarks import get_benchmark
from pytest_llmeval.scoring.cues import cut_continuation, final_boxed
from pytest_llmeval.scoring.math_equiv import aime_answer
from pytest_llmeval.scoring.numeric import find_final_number

# (id, output, value, cue)
CASES = [
    ("issue-example", "3 * 6 = 18.\n#### 18\n\nQuestion: Tom has 7 cats. How many?\nAnswer: #### 7", "18", "####"),
    ("marker-inline", "So she pays 3 * 6 = 18 dollars. #### 18", "18", "####"),
    ("marker-with-units", "#### 18 dollars.", "18", "####"),
    ("marker-money", "#### $1,000", "1000", "####"),
    ("marker-negative", "#### \u22125", "-5", "####"),
    ("marker-then-later-numbers", "#### 42\nThe next problem: 5 + 9 = 14", "42", "####"),
    ("first-marker-wins", "#### 12\n#### 15", "12", "####"),
    ("marker-beats-earlier-box", "\\boxed{17}\nactually 18\n#### 18", "18", "####"),
    ("box-after-the-marker-is-cut-off", "#### 18\nNext: \\boxed{7}", "18", "####"),
    ("box-after-phrase", "The answer is 17, no: \\boxed{18}", "18", "boxed"),
    ("marker-beats-phrase", "The answer is 17.\n#### 18", "18", "####"),
    ("markdown-heading-is-no-marker", "#### 1. Read the problem\n5 + 3 = 8", "8", "last number"),
    ("markdown-heading-step", "#### Step 2\nSo the answer is 8.", "8", "answer phrase"),
    ("box-then-invented-question", "\\boxed{18}\n\nQuestion: what is 3 + 4?\n\\boxed{7}", "18", "boxed"),
    ("phrase-then-invented-q", "The answer is 18.\nQ: What is 3 + 4?\nThe answer is 7.", "18", "answer phrase"),
    (
        "phrase-then-chat-token",
        "The answer is 18.\n<|im_start|>user\nWhat is 2+2? The answer is 4",
        "18",
        "answer phrase",
    ),
    ("phrase-then-zh-turn", "答案是 18。\n问题：3 加 4 等于几？\n答案是 7。", "18", "answer phrase"),
    (
        "restated-question-first-cuts-nothing",
        "Question: 3 + 4?\nWe add: 3 + 4 = 7. The answer is 7.",
        "7",
        "answer phrase",
    ),
    ("revision-without-new-turn", "The answer is 5.\nWait, I forgot one.\nThe answer is 6.", "6", "answer phrase"),
    ("last-number-is-not-explicit", "She has 5 apples and buys 3, so 8", "8", "last number"),
    ("nothing", "I cannot tell.", None, None),
    # hostile shapes that made a nested-quantifier pattern backtrack forever: they must just finish
    ("marker-long-words-then-junk", "#### 18 " + "dollars" * 12 + "!", "18", "last number"),
    ("turn-marker-long-blank", "The answer is 4.\nQuestion" + " " * 5000 + "x", "4", "answer phrase"),
]


@pytest.mark.parametrize(("text", "value", "cue"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gsm8k_marker_and_answer_end(text: str, value: str | None, cue: str | None) -> None:
    answer = find_final_number(text)
    assert (answer.value, answer.cue) == (value, cue)
    assert answer.explicit is (cue in ("boxed", "####", "answer phrase"))


def test_gsm8k_benchmark_scores_the_issue_example() -> None:
    gsm8k = get_benchmark("gsm8k")()
    sample = gsm8k.record_to_sample({"question": "q", "answer": "#### 18"}, 0, "main")
    score = gsm8k.score(sample, "3 * 6 = 18.\n#### 18\n\nQuestion: Tom has 7 cats.\n#### 7")
    assert score.passed and score.extracted == "18" and score.explicit


def test_cut_continuation_needs_a_cue_before_the_turn() -> None:
    text = "Question: restated\nwork\nQuestion: invented"
    assert cut_continuation(text, lambda prefix: False) == text
    assert cut_continuation(text, lambda prefix: "work" in prefix) == "Question: restated\nwork\n"


def test_math_reads_the_box_of_the_answer_not_of_an_invented_problem() -> None:
    output = "So $x = 4$ and the answer is $\\boxed{4}$.\n\nProblem: Find y.\nSolution: $\\boxed{9}$"
    assert final_boxed(output) == "4"
    assert aime_answer(output) == 4
    assert final_boxed("First \\boxed{3}, then corrected: \\boxed{5}") == "5"  # revisions still count
