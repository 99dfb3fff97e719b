"""Code checkers: real sandboxed runs of right and wrong programs (the text side: tests/scoring/test_code_text.py)."""

from __future__ import annotations

import time

import pytest

from pytest_llmeval.errors import DatasetError
from pytest_llmeval.execution.code import (
    check_functional,
    check_humaneval,
    check_livecodebench,
    check_stdio_program,
)
from pytest_llmeval.execution.sandbox import SandboxLimits
from pytest_llmeval.scoring.code import build_humaneval_program, parse_functional_test

FAST = SandboxLimits(cpu_time_s=1, wall_time_s=2)

# ------------------------------------------------------------------------------------------------ stdio


SUM_PROGRAM = "n = int(input())\nprint(sum(map(int, input().split())))"
SUM_TESTS = [("3\n1 2 3\n", "6\n"), ("2\n10 -4\n", "6"), ("1\n7\n", "7\n")]


def test_correct_stdio_program_passes_every_test() -> None:
    verdict = check_stdio_program(SUM_PROGRAM, SUM_TESTS)

    assert (verdict.passed, verdict.n_passed, verdict.n_total, verdict.first_failure) == (True, 3, 3, None)


def test_wrong_stdio_program_reports_the_first_failure() -> None:
    program = "n = int(input())\nxs = list(map(int, input().split()))\nprint(sum(xs) if n != 2 else max(xs))"

    verdict = check_stdio_program(program, SUM_TESTS)

    assert (verdict.passed, verdict.n_passed) == (False, 1)
    failure = verdict.first_failure
    assert failure is not None
    assert (failure.test_index, failure.status, failure.expected, failure.got) == (1, "wrong_answer", "6", "10\n")
    assert failure.input_excerpt == "2\n10 -4\n"


def test_stdio_checking_stops_at_the_first_failure() -> None:
    # Test 0 fails; test 1 would sleep until the wall limit. Stopping early keeps the check fast.
    program = "import time\nif input() == 'slow':\n    time.sleep(100)\nprint('no')"
    started = time.monotonic()

    verdict = check_stdio_program(program, [("fast", "yes"), ("slow", "yes")], FAST)

    assert verdict.first_failure is not None and verdict.first_failure.test_index == 0
    assert time.monotonic() - started < 1.5


def test_stdio_runtime_error_and_timeout_are_reported() -> None:
    crash = check_stdio_program("print(int(input()) // 0)", [("5", "1")])
    loop = check_stdio_program("while True:\n    pass", [("", "1")], FAST)

    assert crash.first_failure is not None and crash.first_failure.status == "runtime_error"
    assert "ZeroDivisionError" in crash.first_failure.stderr_tail
    assert loop.first_failure is not None and loop.first_failure.status == "timeout"


def test_correct_program_with_output_larger_than_the_cap_passes() -> None:
    expected = "\n".join(str(i) for i in range(200_000))  # about 1.3 MB, above the default 1 MB cap

    verdict = check_stdio_program("print('\\n'.join(str(i) for i in range(200_000)))", [("", expected)])

    assert verdict.passed


def test_no_tests_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no tests"):
        check_stdio_program("print(1)", [])


# ------------------------------------------------------------------------------------------------ functional


TWO_SUM = """
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
"""
TWO_SUM_TESTS = [
    parse_functional_test("[2,7,11,15]\n9", "[0,1]"),
    parse_functional_test("[3,2,4]\n6", "[1,2]"),
    parse_functional_test("[3,3]\n6", "[0,1]"),
]


def test_correct_solution_class_passes() -> None:
    verdict = check_functional(TWO_SUM, "twoSum", TWO_SUM_TESTS)

    assert (verdict.passed, verdict.n_passed, verdict.n_total) == (True, 3, 3)


def test_wrong_solution_reports_got_and_expected() -> None:
    wrong = TWO_SUM.replace("[seen[target - x], i]", "(i, seen[target - x])")  # tuples are compared as lists

    verdict = check_functional(wrong, "twoSum", TWO_SUM_TESTS)

    failure = verdict.first_failure
    assert failure is not None
    assert (failure.test_index, failure.status, failure.expected, failure.got) == (
        0,
        "wrong_answer",
        "[0, 1]",
        "[1, 0]",
    )
    assert failure.input_excerpt == "[2, 7, 11, 15]\n9"


def test_top_level_function_is_accepted_and_prints_are_ignored() -> None:
    code = "def add(a, b):\n    print('debug', a, b)\n    return a + b"

    verdict = check_functional(code, "add", [([1, 2], 3), ([0.1, 0.2], 0.3)])

    assert verdict.passed


def test_missing_method_is_a_runtime_error_naming_it() -> None:
    verdict = check_functional("class Solution:\n    pass", "twoSum", TWO_SUM_TESTS)

    assert verdict.first_failure is not None and verdict.first_failure.status == "runtime_error"
    assert "twoSum" in verdict.first_failure.stderr_tail


def test_each_test_gets_a_fresh_process_so_state_does_not_leak() -> None:
    code = "calls = []\nclass Solution:\n    def count(self, x):\n        calls.append(x)\n        return len(calls)"

    verdict = check_functional(code, "count", [([5], 1), ([6], 1), ([7], 1)])

    assert verdict.passed


def test_second_test_timing_out_is_reported_at_its_index() -> None:
    code = "class Solution:\n    def f(self, n):\n        while n:\n            pass\n        return 0"
    started = time.monotonic()

    verdict = check_functional(code, "f", [([0], 0), ([1], 0), ([0], 0)], FAST)

    assert (verdict.n_passed, verdict.first_failure and verdict.first_failure.status) == (1, "timeout")
    assert verdict.first_failure is not None and verdict.first_failure.test_index == 1
    assert time.monotonic() - started < FAST.wall_time_s + 1.5


def test_cpu_limit_applies_to_each_test_not_to_their_sum() -> None:
    code = (
        "import time\nclass Solution:\n    def f(self):\n        start = time.process_time()\n"
        "        while time.process_time() - start < 0.6:\n            pass\n        return 1"
    )

    verdict = check_functional(code, "f", [([], 1)] * 3, SandboxLimits(cpu_time_s=1, wall_time_s=10))

    assert verdict.passed, verdict.first_failure


def test_stuck_c_level_computation_is_stopped_per_test() -> None:
    # A huge integer power never returns to the interpreter loop, so no Python-level alarm could stop it.
    code = "class Solution:\n    def f(self, n):\n        return len(str(10 ** (10 ** n)))"
    started = time.monotonic()

    verdict = check_functional(code, "f", [([8], 0)], SandboxLimits(cpu_time_s=30, wall_time_s=1))

    assert verdict.first_failure is not None and verdict.first_failure.status == "timeout"
    assert time.monotonic() - started < 3


def test_solution_reading_stdin_at_import_fails_cleanly() -> None:
    verdict = check_functional("x = input()\nclass Solution:\n    def f(self):\n        return 1", "f", [([], 1)])

    assert verdict.first_failure is not None and verdict.first_failure.status == "runtime_error"
    assert "EOFError" in verdict.first_failure.stderr_tail


def test_non_json_return_value_is_wrong_answer() -> None:
    verdict = check_functional("class Solution:\n    def f(self):\n        return {1, 2}", "f", [([], [1, 2])])

    assert verdict.first_failure is not None and verdict.first_failure.status == "wrong_answer"
    assert verdict.first_failure.got == "{1, 2}"


# ------------------------------------------------------------------------------------------------ HumanEval


HE_PROMPT = '''from typing import List


def encode_shift(s: str) -> str:
    return "".join(chr(ord(c) + 1) for c in s)


def decode_shift(s: str) -> str:
    """ Inverse of encode_shift.
    >>> decode_shift("bcd")
    'abc'
    """
'''
HE_TEST = """

METADATA = {}


def check(candidate):
    assert candidate("bcd") == "abc"
    assert candidate(encode_shift("hello")) == "hello"
"""
HE_BODY = '    return "".join(chr(ord(c) - 1) for c in s)\n'


def test_humaneval_body_completion_passes() -> None:
    assert check_humaneval(HE_BODY, HE_PROMPT, HE_TEST, "decode_shift").passed


def test_humaneval_full_function_in_a_fence_passes_and_keeps_prompt_helpers() -> None:
    reply = f"Sure!\n```python\ndef decode_shift(s: str) -> str:\n{HE_BODY}```\nIt reverses encode_shift."

    program = build_humaneval_program(reply, HE_PROMPT, HE_TEST, "decode_shift")

    assert "def encode_shift" in program and program.rstrip().endswith("check(decode_shift)")
    assert check_humaneval(reply, HE_PROMPT, HE_TEST, "decode_shift").passed


def test_humaneval_unindented_fenced_body_is_indented() -> None:
    reply = '```python\nreturn "".join(chr(ord(c) - 1) for c in s)\n```'

    assert check_humaneval(reply, HE_PROMPT, HE_TEST, "decode_shift").passed


def test_humaneval_wrong_answer_and_runtime_error() -> None:
    wrong = check_humaneval("    return s\n", HE_PROMPT, HE_TEST, "decode_shift")
    broken = check_humaneval("    return s +\n", HE_PROMPT, HE_TEST, "decode_shift")

    assert wrong.first_failure is not None and wrong.first_failure.status == "wrong_answer"
    assert (wrong.n_passed, wrong.n_total) == (0, 1)
    assert broken.first_failure is not None and broken.first_failure.status == "runtime_error"
    assert "SyntaxError" in broken.first_failure.got


def test_humaneval_infinite_loop_times_out() -> None:
    verdict = check_humaneval("    while True:\n        pass\n", HE_PROMPT, HE_TEST, "decode_shift", FAST)

    assert verdict.first_failure is not None and verdict.first_failure.status == "timeout"


# ------------------------------------------------------------------------------------------------ LiveCodeBench


LCB_TESTS = [
    {"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"},
    {"input": "1\n5\n", "output": "5\n", "testtype": "stdin"},
]


def test_check_livecodebench_dispatches_stdin_and_functional() -> None:
    functional = [
        {"input": "[2,7,11,15]\n9", "output": "[0,1]", "testtype": "functional"},
        {"input": "[3,3]\n6", "output": "[0,1]", "testtype": "functional"},
    ]

    assert check_livecodebench(SUM_PROGRAM, LCB_TESTS).passed
    assert check_livecodebench(TWO_SUM, functional, func_name="twoSum").passed
    with pytest.raises(DatasetError, match="func_name"):
        check_livecodebench(TWO_SUM, functional)
