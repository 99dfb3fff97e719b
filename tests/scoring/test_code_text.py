"""The text side of code scoring (pure, no process): the program in a reply, comparing outputs and JSON values,
reading functional tests. The sandboxed runs are tests/execution/test_code_scoring.py."""

from __future__ import annotations

import pytest

from pytest_llmeval.errors import DatasetError
from pytest_llmeval.scoring.code import (
    extract_code,
    json_values_equal,
    outputs_match,
    parse_functional_test,
)

# ------------------------------------------------------------------------------------------------ extraction


def test_extract_code_takes_the_last_python_block() -> None:
    reply = "Sample:\n```\n3\n1 2 3\n```\nDraft:\n```python\nprint(0)\n```\nFinal:\n```py\nprint(6)\n```\nDone."

    assert extract_code(reply) == "print(6)"


def test_extract_code_prefers_python_over_a_later_block_of_another_language() -> None:
    reply = "```python\nprint(1)\n```\nOutput:\n```text\n1\n```"

    assert extract_code(reply) == "print(1)"


def test_extract_code_falls_back_to_the_last_block_of_any_language() -> None:
    assert extract_code("```\nprint(2)\n```\n~~~\nprint(3)\n~~~") == "print(3)"


def test_extract_code_returns_raw_text_without_fences() -> None:
    assert extract_code("    return x + 1\n") == "    return x + 1\n"


def test_extract_code_keeps_a_truncated_last_block_and_indentation() -> None:
    assert extract_code("Here:\n```python\n    if x:\n        return 1") == "    if x:\n        return 1"


def test_extract_code_ignores_inline_triple_backticks() -> None:
    assert extract_code("Use ```print(1)``` like this") == "Use ```print(1)``` like this"


# ------------------------------------------------------------------------------------------------ comparison


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        ("3\n", "3"),
        ("1 2  \n3\n\n", "1 2\n3"),
        ("1  2", "1 2"),
        ("1.50", "1.5"),
        ("3", "3.0"),
        ("\n\nYes", "Yes"),
    ],
)
def test_outputs_that_match(got: str, expected: str) -> None:
    assert outputs_match(got, expected)


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        ("4", "3"),
        ("1 2", "1\n2"),
        ("0.333", "0.3333"),
        ("yes", "Yes"),
        ("1 2 3", "1 2"),
        ("", "0"),
    ],
)
def test_outputs_that_differ(got: str, expected: str) -> None:
    assert not outputs_match(got, expected)


def test_json_values_equal_rules() -> None:
    assert json_values_equal([1, [2.0000000001, "a"]], [1, [2, "a"]])
    assert not json_values_equal(1, True)
    assert not json_values_equal([1, 2], [2, 1])
    assert json_values_equal({"a": 1}, {"a": 1.0})
    assert not json_values_equal(0.5, 0.51)


def test_parse_functional_test_reads_one_json_value_per_line() -> None:
    assert parse_functional_test('[1, 2]\n"ab"\n\n3\n', "true") == (
        [[1, 2], "ab", 3],
        True,
    )
    with pytest.raises(DatasetError, match="not JSON"):
        parse_functional_test("[1, 2", "1")
