"""Scoring fault kinds found on real outputs and public bug reports (issue 25), each with variants.

Every case here was scored wrongly before: tiny values called equal, `\\mathrm{e}` taken for a unit,
other models' thinking graded as the answer, option texts that begin with a letter-word read as
that letter, MathVista expressions read as their first number, usage blocks executed as the
solution, stdout numbers without the statement's tolerance, implausible reasoning-token counts, bare
letters of re-printed option lists, and MATH answers stated without a box.
"""

from __future__ import annotations

import pytest

from pytest_llmeval.benchmarks import get_benchmark
from pytest_llmeval.benchmarks.base import Sample
from pytest_llmeval.benchmarks.math_vista import free_form_equal
from pytest_llmeval.endpoint.models import Usage
from pytest_llmeval.errors import ConfigError
from pytest_llmeval.execution.code import check_humaneval, check_stdio_program
from pytest_llmeval.execution.sandbox import SandboxLimits
from pytest_llmeval.execution.symbolic import math_equal
from pytest_llmeval.scoring.choice import choice_letters, find_choice
from pytest_llmeval.scoring.code import build_humaneval_program, extract_code, outputs_match
from pytest_llmeval.scoring.efficiency import DEFAULT_THOUGHT_MARKERS, ThoughtSplitter, analyse, usage_counter
from pytest_llmeval.scoring.math_equiv import final_math_answer
from pytest_llmeval.scoring.numeric import find_final_number
from pytest_llmeval.scoring.thinking import THINKING_DELIMITERS, add_thinking_delimiters, split_thinking

# -- 1. very small values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "target", "equal"),
    [
        ("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", False),
        ("2^{-70}", "2^{-71}", False),
        ("10^{-12}", "3\\cdot 10^{-12}", False),
        ("0.0000001", "0.0000002", False),  # both round to 0 at 6 places
        ("\\frac{\\sqrt{2}}{2^{80}}", "\\frac{\\sqrt{2}}{2^{81}}", False),  # irrational: the float path
        ("2^{-70}", "\\frac{1}{2^{70}}", True),
        ("\\frac{1}{2^{99}}", "2^{-99}", True),
        ("\\frac{1}{3}", "0.333333", True),  # the decimal rule still holds
        ("2^{30}", "1073741825", False),
        ("e^{-100}", "e^{-101}", False),  # transcendental: math-verify decides, then a relative check
        ("\\ln(2)\\cdot 10^{-30}", "\\ln(2)\\cdot 10^{-31}", False),
        ("e^{-100}", "\\frac{1}{e^{100}}", True),
        ("\\cos\\frac{\\pi}{2}", "0", True),  # evaluation noise (6e-154) is still zero
    ],
)
def test_tiny_values_are_compared_relatively_and_rationals_exactly(prediction: str, target: str, equal: bool):
    assert math_equal(prediction, target) is equal


# -- 2. \mathrm{...} is not a unit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "target", "equal"),
    [
        ("1+\\frac{1}{\\mathrm{e}}", "1-\\frac{1}{\\mathrm{e}}", False),
        ("5\\mathrm{e}", "5", False),
        ("2\\mathrm{i}", "2", False),
        ("\\frac{3}{\\mathrm{e}}", "\\frac{3}{e}", True),
        ("5\\text{ cm}", "5", True),  # real units are still dropped
        ("12\\mbox{ m}^2", "12", True),
        ("4\\text{cm^{2}}", "4", True),
    ],
)
def test_mathrm_constants_are_not_units(prediction: str, target: str, equal: bool):
    assert math_equal(prediction, target) is equal


@pytest.mark.parametrize(
    "output", ["\\boxed{5\\mathrm{e}}", "The answer is 5e.", "so it is $5 \\mathrm{e}$", "\\boxed{5i}"]
)
def test_a_number_times_e_or_i_is_not_that_number(output: str):
    assert find_final_number(output).value is None
    assert find_final_number(output.replace("5", "18 \\text{ dollars} ", 1)).value == "18"  # units still drop


# -- 3. every model's thinking delimiters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "thought"),
    [
        ("[THINK]The user wants lowercase.[/THINK]hello world", "hello world", "The user wants lowercase."),
        ("◁think▷Count the letters.◁/think▷\nthe answer is 4", "the answer is 4", "Count the letters."),
        ("<seed:think>plan</seed:think>done", "done", "plan"),
        ("[THINK]still thinking when cut off", "", "still thinking when cut off"),
        ("[THINK]a[/THINK]draft[THINK]b[/THINK] final", "final", "a\ndraft\nb"),
        ("No Thinking At All", "No Thinking At All", None),
    ],
    ids=["magistral", "kimi", "seed", "unclosed", "twice", "none"],
)
def test_thinking_of_other_models_is_not_graded(text: str, answer: str, thought: str | None):
    assert split_thinking(text) == (answer, thought)


def test_ifeval_lowercase_is_judged_on_the_answer_not_on_magistral_thinking():
    ifeval = get_benchmark("ifeval")()
    sample = Sample(
        id="1",
        subset="default",
        input="Answer in lowercase only.",
        target="",
        metadata={"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
    )
    answer, _ = split_thinking("[THINK]The User asks For Lowercase.[/THINK]all lowercase here.")
    assert ifeval.score(sample, answer).passed


def test_thinking_delimiters_can_be_extended():
    pair = ("<reasoning>", "</reasoning>")
    assert split_thinking("<reasoning>x</reasoning>y") == ("<reasoning>x</reasoning>y", None)
    add_thinking_delimiters(*pair)
    try:
        assert split_thinking("<reasoning>x</reasoning>y") == ("y", "x")
    finally:
        THINKING_DELIMITERS.remove(pair)
    with pytest.raises(ValueError, match="two different non-empty"):
        add_thinking_delimiters("", "</x>")


# -- 4. option texts that begin with a letter-word ------------------------------------------------

ROMAN = [
    "I only",
    "II only",
    "I and III only",
    "I, II and III",
    "II and III only",
    "III only",
    "None of them",
    "I and II only",
    "All of them",
    "Neither",
]
PRESSURE = ["An increase in pressure", "A decrease in pressure", "No change", "It cannot be told"]
SOUNDS = ["A dog barking", "A cat meowing", "A bird singing", "Rain falling"]


@pytest.mark.parametrize(
    ("output", "choices", "letter"),
    [
        ("Statements I and III hold.\nAnswer: I and III only", ROMAN, "C"),
        ("So:\nThe answer is I only.", ROMAN, "A"),
        ("Answer: **I, II and III**", ROMAN, "D"),
        ("The gas cools.\nAnswer: A decrease in pressure", PRESSURE, "B"),
        ("The answer is: a decrease in pressure.", PRESSURE, "B"),
        ("I hear it clearly.\nAnswer: A cat meowing", SOUNDS, "B"),
        ("Answer: A cat", SOUNDS, "B"),  # shortened, still one option
        ("Answer: A", SOUNDS, "A"),  # a letter alone is a letter
        ("Answer: A. A dog barking", SOUNDS, "A"),
        ("Answer: I", ROMAN, "I"),
    ],
)
def test_an_option_text_starting_with_a_letter_word_is_that_option(output: str, choices: list[str], letter: str):
    assert find_choice(output, choice_letters(len(choices)), choices).letter == letter


def test_mcq_benchmark_passes_the_option_texts():
    mmlu_pro = get_benchmark("mmlu_pro")()
    sample = Sample(id="1", subset="math", input="?", target="C", choices=ROMAN)
    assert mmlu_pro.score(sample, "Only I and III are true.\nAnswer: I and III only").passed


# -- 5. MathVista free-form answers are normalised --------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answer", "answer_type", "precision", "equal"),
    [
        ("\\frac{3}{4}", "0.75", "float", 2, True),
        ("\\frac{3}{4}", "3", "integer", None, False),
        ("9{,}500", "9500", "integer", None, True),
        ("x = \\frac{1}{2}", "0.5", "float", 1, True),
        ("\\text{Yes}", "Yes", "text", None, True),
        ("\\textbf{No}.", "no", "text", None, True),
        ("12 \\text{ cm}", "12", "integer", None, True),
        ("2\\sqrt{2}", "2.83", "float", 2, True),
    ],
)
def test_math_vista_free_form_normalises_instead_of_reading_the_first_number(
    prediction: str, answer: str, answer_type: str, precision: int | None, equal: bool
):
    assert free_form_equal(prediction, answer, answer_type, precision) is equal


def test_math_vista_scores_a_boxed_fraction():
    vista = get_benchmark("math_vista")()
    sample = Sample(
        id="1",
        subset="free_form",
        input="?",
        target="0.75",
        metadata={"question_type": "free_form", "answer_type": "float", "precision": 2},
    )
    assert vista.score(sample, "The ratio is \\boxed{\\frac{3}{4}}").passed


# -- 6. the block that defines the entry point is the solution ---------------------------------------

PROMPT = 'def add(a, b):\n    """The sum of a and b."""\n'
SOLUTION = "```python\ndef add(a, b):\n    return a + b\n```\n"
REPLIES = [
    SOLUTION + "Example usage:\n```python\nprint(add(2, 3))\n```",
    SOLUTION + "Tests:\n```python\nassert add(1, 1) == 2\nassert add(0, 0) == 0\n```\n",
    "First try:\n```python\ndef add(a, b):\n    return a - b\n```\nFixed:\n"
    + SOLUTION
    + "```python\nif __name__ == '__main__':\n    print(add(1, 2))\n```",
]


@pytest.mark.parametrize("reply", REPLIES, ids=["example-usage", "asserts", "revised-then-main"])
def test_a_usage_block_after_the_solution_is_not_the_solution(reply: str):
    assert extract_code(reply, entry_point="add") == "def add(a, b):\n    return a + b"
    program = build_humaneval_program(reply, PROMPT, "def check(f):\n    assert f(2, 3) == 5\n", "add")
    assert "return a + b" in program and "print(add" not in program


def test_humaneval_passes_with_an_example_usage_block():
    verdict = check_humaneval(
        REPLIES[0],
        PROMPT,
        "def check(f):\n    assert f(2, 3) == 5\n",
        "add",
        SandboxLimits(cpu_time_s=2, wall_time_s=20),
    )
    assert verdict.passed


# -- 7. stdout numbers within a statement's tolerance (an option) ---------------------------------------


@pytest.mark.parametrize(
    ("got", "expected", "exact", "tolerant"),
    [
        ("0.333333", "0.3333333333", False, True),
        ("0.3333", "0.3333333333", False, False),
        ("1000000.5", "1000000.4999999", False, True),  # relative error
        ("2 0.500001", "2 0.5", False, True),
        ("3", "4", False, False),  # integers stay exact
        ("1e-7", "0", False, True),
        ("1.50", "1.5", True, True),
    ],
)
def test_tolerant_stdout_comparison_is_an_option(got: str, expected: str, exact: bool, tolerant: bool):
    assert outputs_match(got, expected) is exact
    assert outputs_match(got, expected, tolerance=1e-6) is tolerant


def test_live_code_bench_float_tolerance_argument():
    assert get_benchmark("live_code_bench")().float_tolerance is None
    assert get_benchmark("live_code_bench")({"float_tolerance": "1e-6"}).float_tolerance == 1e-6
    with pytest.raises(ConfigError, match="float_tolerance must be a number between 0 and 1"):
        get_benchmark("live_code_bench")({"float_tolerance": "lots"})
    program = "print(f'{1/3:.6f}')"
    limits = SandboxLimits(cpu_time_s=2, wall_time_s=20)
    assert not check_stdio_program(program, [("", "0.3333333333\n")], limits).passed
    assert check_stdio_program(program, [("", "0.3333333333\n")], limits, tolerance=1e-6).passed


# -- 8. reasoning-token counts are read from every field and checked ----------------------------------

REASONING = " ".join(["Let me add the two numbers step by step and check."] * 8)  # 80 words


def test_sglang_top_level_reasoning_tokens_are_read():
    assert Usage.from_openai({"completion_tokens": 90, "reasoning_tokens": 70}).reasoning_tokens == 70
    details = {"completion_tokens": 90, "completion_tokens_details": {"reasoning_tokens": 60}, "reasoning_tokens": 1}
    assert Usage.from_openai(details).reasoning_tokens == 60
    assert Usage.from_openai({"completion_tokens": 9, "completion_tokens_details": None}).reasoning_tokens is None


@pytest.mark.parametrize("reported", [0, 3, 500])
def test_implausible_reasoning_token_counts_fall_back_to_the_split(reported: int):
    counter = usage_counter(REASONING, "The answer is 5.", completion_tokens=120, reasoning_tokens=reported)
    assert "split by characters" in counter.source and counter.total > 90
    figures = analyse(
        REASONING + " So 5.",
        True,
        ThoughtSplitter(DEFAULT_THOUGHT_MARKERS),
        counter,
        lambda text: "5" if "5" in text else None,
        lambda answer: answer == "5",
    )
    assert figures.reasoning_tokens > 0 and figures.efficiency is not None


def test_a_plausible_reported_count_is_used():
    assert usage_counter(REASONING, "5", completion_tokens=120, reasoning_tokens=100).source == "usage.reasoning_tokens"


# -- 9. a bare letter inside a re-printed option list ----------------------------------------------


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("Let me list them:\nA.\nB. 5\nC. 6\nD. 7\nI am not sure.", None),
        ("Options:\nA. 4\nB. 5\nC. 6\nD.", None),
        ("Options:\nA. 4\nB. 5\nC.\nD. 7\nHmm.", None),
        ("A.\nB.\nC.\nD.", None),
        ("Options:\nA. 4\nB. 5\nC. 6\nD. 7\n\nB.", "B"),  # an answer after the list is still one
        ("I pick this one\nC.", "C"),
        ("**B**\nbecause it is larger", "B"),
    ],
)
def test_a_bare_letter_inside_a_reprinted_option_list_is_not_the_answer(output: str, letter: str | None):
    assert find_choice(output).letter == letter


# -- 10. MATH answers stated without a box ----------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "answer", "explicit"),
    [
        ("Adding the halves, so the answer is $\\frac{1}{2}$.", "\\frac{1}{2}", True),
        ("**Final Answer:** $\\sqrt{2}$", "\\sqrt{2}", True),
        ("The answer is \\(\\frac{3}{4}\\).", "\\frac{3}{4}", True),
        ("Final answer: 12", "12", True),
        ("We get $x = 3$ and then $y = \\frac{1}{2}$", "y = \\frac{1}{2}", False),
        ("First \\boxed{4}, the answer is $5$", "4", True),
        ("No math here.", None, None),
    ],
)
def test_math_answer_without_a_box(output: str, answer: str | None, explicit: bool | None):
    found, cue = final_math_answer(output)
    assert found == answer
    assert (None if cue is None else cue != "last expression") == explicit


def test_math_500_passes_an_unboxed_final_answer():
    math500 = get_benchmark("math_500")()
    sample = Sample(id="1", subset="level1", input="?", target="\\frac{1}{2}", metadata={"breakdown": []})
    score = math500.score(sample, "One of two equal parts, so the answer is $\\frac{1}{2}$.")
    assert score.passed and score.explicit
    fallback = math500.score(sample, "We find $p = \\frac{1}{2}$")
    assert fallback.passed and not fallback.explicit  # does not count when cut off at max_tokens
