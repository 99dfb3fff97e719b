"""Golden cases for multiple-choice letter extraction, written from realistic model outputs."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.choice import choice_letters, extract_choice, format_choices, match_choice_text

ABCD = "ABCD"
TO_J = "ABCDEFGHIJ"

# (id, output, valid letters, expected letter)
CASES: list[tuple[str, str, str, str | None]] = [
    # -- Chinese explicit phrases
    ("zh-answer-is", "根据分析，答案是 B", ABCD, "B"),
    ("zh-answer-colon", "逐项分析后可知。\n答案：C", ABCD, "C"),
    ("zh-fullwidth-colon-letter", "答案：Ｄ", ABCD, "D"),
    ("zh-correct-answer-paren", "综上所述，正确答案是(D)。", ABCD, "D"),
    ("zh-fullwidth-paren", "正确答案是（A）", ABCD, "A"),
    ("zh-choose", "A、C、D 都不符合题意，选B", ABCD, "B"),
    ("zh-therefore-choose", "因此本题应选 C。", ABCD, "C"),
    ("zh-answer-wei-bold", "所以答案为：**A**", ABCD, "A"),
    ("zh-option-correct", "选项A错误，选项C不正确，B项是正确的。", ABCD, "B"),
    ("zh-option-mention-is-not-choice", "选项B是错误的，因为……\n答案是：D", ABCD, "D"),
    ("zh-revision-last-wins", "答案是 B。\n等等，我再检查一下，第二步算错了。\n所以答案是 C", ABCD, "C"),
    ("zh-iquiz-format", "1,2,4,8 每次乘以 2，下一个是 16。\n答案是：C", ABCD, "C"),
    ("zh-bracket", "最终答案：【B】", ABCD, "B"),
    # -- English explicit phrases
    ("en-answer-is-paren", "Let's think step by step. ... The answer is (C).", ABCD, "C"),
    ("en-correct-answer-bold", "After comparing all options, the correct answer is: **D**", ABCD, "D"),
    ("en-answer-lowercase", "Answer: a", ABCD, "A"),
    ("en-answer-lowercase-paren", "so the answer is (b).", ABCD, "B"),
    ("en-markdown-answer-heading", "**Answer:** B\n\nB is right because the others contradict the premise.", ABCD, "B"),
    ("en-final-answer-heading", "### Final Answer\nThe final answer is $\\boxed{A}$", ABCD, "A"),
    ("en-answer-option", "Therefore the answer would be option B.", ABCD, "B"),
    ("en-option-is-correct", "Option A fails. Option C is too broad. Option D is correct.", ABCD, "D"),
    ("en-letter-is-correct-answer", "Going through them, C is the correct answer here.", ABCD, "C"),
    ("en-correct-option-is", "After elimination, the correct option is B because it is the only one left.", ABCD, "B"),
    ("en-therefore-letter", "A ignores drag and C double counts it.\nTherefore, D.", ABCD, "D"),
    ("en-so-is-not-an-answer-mid-sentence", "So A man walks into a bar and orders water.", ABCD, None),
    ("json-answer", 'Reasoning done.\n{"answer": "C"}', ABCD, "C"),
    ("en-i-choose", "Weighing it all, I choose B.", ABCD, "B"),
    ("en-go-with", "I'd go with option (C) since it covers both cases.", ABCD, "C"),
    ("en-revision", "The answer is A.\nWait, I misread: it asks for the exception.\nThe answer is C.", ABCD, "C"),
    ("en-explicit-beats-bold", "**B** looked tempting at first, but the answer is D.", ABCD, "D"),
    ("en-explicit-beats-last-line", "The answer is B.\n\nC. is wrong because of the units.", ABCD, "B"),
    # -- boxed
    ("boxed", "Thus $\\boxed{B}$", ABCD, "B"),
    ("boxed-text", "Therefore, the final answer is $\\boxed{\\text{B}}$.", ABCD, "B"),
    ("boxed-paren", "\\boxed{(C)}", ABCD, "C"),
    ("boxed-letter-with-option-text", "\\boxed{D. 12 cm}", ABCD, "D"),
    # -- bare answers
    ("bold-only", "**D**", ABCD, "D"),
    ("paren-alone", "(B)", ABCD, "B"),
    ("last-line-letter", "The first option ignores friction, the second one does not.\nB", ABCD, "B"),
    ("last-line-letter-dot", "Analysis above.\nB.", ABCD, "B"),
    ("last-line-letter-paren", "Analysis above.\nB)", ABCD, "B"),
    ("last-line-option", "Looking at each choice carefully...\nOption B", ABCD, "B"),
    ("last-line-option-echo", "The process converts light to chemical energy.\nB. Photosynthesis", ABCD, "B"),
    ("answer-first-then-explanation", "(C)\n\nBecause the reaction is exothermic, the temperature rises.", ABCD, "C"),
    ("inline-bold-letter", "My pick is **C** given the evidence presented.", ABCD, "C"),
    # -- traps: letters inside words, articles, pronouns, options outside the valid set
    ("trap-article", "A man is walking his dog in the park.", ABCD, None),
    ("trap-because", "Because the temperature rises, pressure rises too.", ABCD, None),
    ("trap-answer-is-a-word", "The answer is a bit tricky to determine.", ABCD, None),
    ("trap-pronoun-i-to-j", "Hmm, I am not sure about this one.\nI think it depends.", TO_J, None),
    ("trap-answer-is-i-think", "The answer is I think hard to say.", TO_J, None),
    ("trap-letter-outside-set", "The answer is E.", ABCD, None),
    ("trap-option-list-echo", "Here are the options again:\nA. red\nB. green\nC. blue\nD. yellow", ABCD, None),
    ("trap-bold-heading", "**A**: wrong, it ignores gravity.\n**B**: wrong as well.", ABCD, None),
    ("trap-empty", "", ABCD, None),
    ("trap-only-thinking-words", "Let me analyze each option carefully before deciding.", ABCD, None),
    ("trap-lowercase-bare-line", "After analysis:\nb", ABCD, None),
    # -- ten options (MMLU-Pro)
    ("mmlu-pro-j", "The answer is (J)", TO_J, "J"),
    ("mmlu-pro-i-answer", "Answer: I", TO_J, "I"),
    ("mmlu-pro-i-bare-line", "Considering all ten options:\n(I)", TO_J, "I"),
    ("mmlu-pro-h-in-word-ignored", "Hydrogen bonds explain it. The answer is (H).", TO_J, "H"),
]


@pytest.mark.parametrize(("text", "letters", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_extract_choice(text: str, letters: str, expected: str | None) -> None:
    assert extract_choice(text, letters) == expected


def test_case_table_is_large_enough() -> None:
    assert len(CASES) >= 40


def test_choice_letters_and_format() -> None:
    assert choice_letters(4) == "ABCD"
    assert choice_letters(10) == "ABCDEFGHIJ"
    with pytest.raises(ValueError, match="1-26 options"):
        choice_letters(0)
    assert format_choices(["red", " green "]) == "A. red\nB. green"
    assert format_choices(["x", "y"], letters="WXYZ") == "W. x\nX. y"
    with pytest.raises(ValueError, match="3 options but only 2 letters"):
        format_choices(["a", "b", "c"], letters="AB")


MATCH_CASES: list[tuple[str, str, list[str], str | None]] = [
    ("boxed-text", "The capital is \\boxed{Paris}", ["London", "Paris", "Rome", "Berlin"], "B"),
    ("answer-phrase-markdown", "**Answer:** **Paris.**", ["London", "Paris", "Rome", "Berlin"], "B"),
    ("zh-answer", "分析如下……\n答案是：陪伴倾听", ["嘲笑他", "陪伴倾听", "不理他", "讲大道理"], "B"),
    ("last-line-case-insensitive", "Thinking...\nrome", ["London", "Paris", "Rome", "Berlin"], "C"),
    ("partial-is-not-a-match", "The answer is Paris, France", ["London", "Paris", "Rome", "Berlin"], None),
    ("duplicate-options-ambiguous", "Answer: 12", ["12", "15", "12", "20"], None),
    ("nothing", "", ["x", "y"], None),
]


@pytest.mark.parametrize(("text", "choices", "expected"), [c[1:] for c in MATCH_CASES], ids=[c[0] for c in MATCH_CASES])
def test_match_choice_text(text: str, choices: list[str], expected: str | None) -> None:
    assert match_choice_text(text, choices) == expected
