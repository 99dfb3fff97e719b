"""Code answers as text: the program in a model reply, the program text HumanEval runs, and how a program's
output or return value is compared with the expected one. Pure: text in, text or a bool out; running a program
is :mod:`pytest_llmeval.execution.code` (which imports these).

* :func:`extract_code`: the last fenced block of the wanted language (the one that defines an entry point wins);
* :func:`humaneval_solution`, :func:`build_humaneval_program`: HumanEval's prompt + completion (+ tests);
* :func:`outputs_match`: stdout against the expected output, token by token, exact or within a tolerance;
* :func:`json_values_equal`: a functional test's return value against the expected JSON value (the checker
  process gets this function's source, so it uses builtins and ``math`` only);
* :func:`parse_functional_test`: a LiveCodeBench functional test -> ``(args, expected)``.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import DatasetError

__all__ = [
    "build_humaneval_program",
    "excerpt",
    "extract_code",
    "humaneval_solution",
    "json_values_equal",
    "outputs_match",
    "parse_functional_test",
]

EXCERPT_CHARS = 300


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text``, or its first ``limit`` characters and its length when longer (for failure reports)."""
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


# --------------------------------------------------------------------------------------------- code extraction

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "python 3"})
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^`\n]*?)[ \t]*$")


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, code)`` of every fenced block; an unclosed last fence (truncated reply) runs to the end."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag, body = "", list[str]()
    for line in text.splitlines(keepends=True):
        if fence is None:
            match = _FENCE_OPEN.match(line.rstrip("\r\n"))
            if match:
                fence, tag, body = match.group(1), match.group(2).split(" ")[0].lower() if match.group(2) else "", []
            continue
        stripped = line.strip()
        if stripped.startswith(fence) and not stripped.strip(fence[0]):
            blocks.append((tag, "".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        blocks.append((tag, "".join(body)))
    return blocks


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(name)}\b", code, re.MULTILINE) is not None


def extract_code(text: str, language: str = "python", entry_point: str | None = None) -> str:
    """The program in a model reply: the *last* fenced block tagged ``language``, else the last fenced block of
    any language, else the whole reply unchanged.

    Why the last: replies often quote the sample input or a first attempt before the final program, and
    LiveCodeBench grades the last block too. Python tags ``python``, ``py``, ``python3``, ``py3`` all count.
    Fences are ```` ``` ```` or ``~~~`` (three or more); a reply cut off inside a fence still yields that code.
    Surrounding blank lines are dropped; indentation is kept (HumanEval bodies need it).

    ``entry_point`` (HumanEval's function name): the last block that defines it (``def``/``class``) wins over
    later blocks that only use it - an "Example usage" block (``print(add(2, 3))``) or tests after the solution
    are not the solution. Without such a block the rule above applies.
    """
    blocks = _fenced_blocks(text)
    if not blocks:
        return text
    wanted = _PYTHON_TAGS if language.lower() in _PYTHON_TAGS else {language.lower()}
    tagged = [code for tag, code in blocks if tag in wanted]
    candidates = tagged or [code for _, code in blocks]
    defining = [code for code in candidates if entry_point and _defines(code, entry_point)]
    code = defining[-1] if defining else candidates[-1]
    return code.strip("\r\n")


# ------------------------------------------------------------------------------------------ output comparison


def _tokens_equal(got: str, expected: str, tolerance: float | None = None) -> bool:
    if got == expected:
        return True
    try:
        g, e = Decimal(got), Decimal(expected)
    except (InvalidOperation, ValueError):
        return False
    if g == e:
        return True
    if tolerance is None or not (g.is_finite() and e.is_finite()):
        return False
    if _is_integer_token(got) and _is_integer_token(expected):
        return False
    # the judges' "absolute or relative error at most 1e-6": |got - expected| <= tol * max(1, |expected|)
    return abs(g - e) <= Decimal(repr(tolerance)) * max(Decimal(1), abs(e))


def _is_integer_token(token: str) -> bool:
    return re.fullmatch(r"[-+]?\d+", token) is not None


def _significant_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def outputs_match(got: str, expected: str, tolerance: float | None = None) -> bool:
    """Whether a program's stdout answers ``expected``, the way competitive-programming judges compare.

    Line by line after dropping trailing whitespace on each line and blank lines at the start and end; within a
    line, whitespace-separated tokens must be equal, either as strings or as exact decimal numbers (``1.50`` equals
    ``1.5``, ``3`` equals ``3.0``; no tolerance: ``0.333`` does not equal ``0.3333``). Line breaks matter: ``1 2``
    does not equal ``1\\n2``.

    ``tolerance`` (None: exact, as LiveCodeBench itself compares): two numbers, not both integers, also match
    when their absolute or relative error is at most ``tolerance`` (``0.333333`` for ``0.3333333333`` at 1e-6),
    for statements that accept an error ("answers within 1e-6 are accepted"). Integers stay exact.
    """
    got_lines, expected_lines = _significant_lines(got), _significant_lines(expected)
    if len(got_lines) != len(expected_lines):
        return False
    for got_line, expected_line in zip(got_lines, expected_lines, strict=False):
        got_tokens, expected_tokens = got_line.split(), expected_line.split()
        if len(got_tokens) != len(expected_tokens):
            return False
        if not all(_tokens_equal(g, e, tolerance) for g, e in zip(got_tokens, expected_tokens, strict=False)):
            return False
    return True


def json_values_equal(got: Any, expected: Any) -> bool:
    """Equality of two JSON values for functional tests (the harness applies it inside the sandbox as well).

    Booleans only equal booleans (``1`` is not ``true``); two integers must be equal; a float matches a number
    within 1e-6 relative or absolute (LeetCode accepts answers within 1e-5); lists compare element-wise in order
    (tuples arrive as lists), objects key by key; anything else with ``==``.
    """
    if isinstance(got, bool) or isinstance(expected, bool):
        return isinstance(got, bool) and isinstance(expected, bool) and got == expected
    if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
        if isinstance(got, int) and isinstance(expected, int):
            return got == expected
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(json_values_equal(g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(json_values_equal(got[k], expected[k]) for k in got)
    return bool(got == expected)


# --------------------------------------------------------------------------------------- functional (LeetCode)


def parse_functional_test(test_input: str, test_output: str) -> tuple[list[Any], Any]:
    """LiveCodeBench functional test -> ``(args, expected)``: the input holds one JSON value per line (one per
    argument, blank lines ignored), the output one JSON value."""
    try:
        args = [json.loads(line) for line in test_input.split("\n") if line.strip()]
        expected = json.loads(test_output)
    except (ValueError, RecursionError) as exc:
        raise DatasetError(
            f"functional test is not JSON ({exc}); expected one JSON value per input line and a JSON output: "
            f"input={excerpt(test_input, 80)!r} output={excerpt(test_output, 80)!r}"
        ) from None
    return args, expected


# ------------------------------------------------------------------------------------------------- HumanEval


def humaneval_solution(completion: str, prompt: str, entry_point: str) -> str:
    """The model's side of a HumanEval program: prompt + completion, without the tests.

    The completion is first reduced with :func:`extract_code` (chat models fence it; the block that defines
    ``entry_point`` wins over a later usage or test block). If it defines
    ``entry_point`` itself (the model repeated the signature), it is used whole, dedented, *after* the prompt,
    so the prompt's imports and helper functions stay available and the new definition wins. Otherwise it is
    the function body continuing the prompt; a body whose first line is not indented gets four spaces.
    """
    code = extract_code(completion, entry_point=entry_point)
    if re.search(rf"^[ \t]*def[ \t]+{re.escape(entry_point)}[ \t]*\(", code, re.MULTILINE):
        return prompt.rstrip("\n") + "\n\n" + textwrap.dedent(code) + "\n"
    first = next((line for line in code.splitlines() if line.strip()), "")
    if first and not first[0].isspace():
        code = textwrap.indent(code, "    ")
    return prompt + code + "\n"


def build_humaneval_program(completion: str, prompt: str, test: str, entry_point: str) -> str:
    """The single program HumanEval's reference harness runs: :func:`humaneval_solution` + the dataset's test
    code + ``check(entry_point)``. Not how this plugin judges (see ``execution.code.check_humaneval``: in one
    process the model's code could exit early or patch the test); kept for ``bench/`` and for reading."""
    return f"{humaneval_solution(completion, prompt, entry_point)}\n{test}\n\ncheck({entry_point})\n"
