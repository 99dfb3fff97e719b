"""IFEval detectable_content:* and detectable_format:* — markers, lists, highlights, JSON, titles."""

from __future__ import annotations

import pytest

from pytest_llmeval.scoring.ifeval import check_instruction


def check(instruction_id: str, kwargs: dict[str, object] | None, response: str) -> bool:
    return check_instruction(instruction_id, kwargs, response, "prompt")


def test_placeholders_are_at_least_and_non_nesting() -> None:
    kwargs = {"num_placeholders": 2}
    assert check("detectable_content:number_placeholders", kwargs, "[a] [b] [c]") is True
    assert check("detectable_content:number_placeholders", kwargs, "Empty [] and [name].") is True
    assert check("detectable_content:number_placeholders", kwargs, "[outer [inner] text]") is False
    assert check("detectable_content:number_placeholders", kwargs, "(a) {b}") is False


@pytest.mark.parametrize(
    ("marker", "response", "expected"),
    [
        ("P.S.", "Bye.\np.s. see you", True),
        ("P.S.", "Bye.\nP. S. see you", True),
        ("P.S.", "Bye. And P.S. mid-line counts too.", True),
        ("P.S.", "Bye.\nPS see you", False),
        ("P.P.S", "Bye.\nP.S. one\nP.P.S two", True),
        ("P.P.S", "Bye.\nP.S. one only", False),
        ("PS:", "Bye.\nps: later", True),
        ("PS:", "Bye.\nP.S.: later", False),
    ],
)
def test_postscript_markers(marker: str, response: str, expected: bool) -> None:
    assert check("detectable_content:postscript", {"postscript_marker": marker}, response) is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Facts:\n* one\n* two\n* three", True),
        ("Facts:\n- one\n  - two\n* three", True),  # dashes, stars and indentation all count
        ("Facts:\n* one\n* two", False),
        ("Facts:\n* one\n* two\n* three\n* four", False),  # exactly, not at least
        ("**Bold heading**\n* one\n* two\n* three", True),  # `**` lines are not bullets
        ("1. one\n2. two\n3. three", False),  # numbered lists are not bullets
        ("* one\n* two\n---", True),  # a dash rule line is counted as a bullet
    ],
)
def test_number_bullet_lists_is_exact(response: str, expected: bool) -> None:
    assert check("detectable_format:number_bullet_lists", {"num_bullets": 3}, response) is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("My answer is no.", True),
        ("After thinking: My answer is maybe. Because...", True),
        ("my answer is yes.", False),
        ("My answer is yes", False),
        ("My answer is probably.", False),
    ],
)
def test_constrained_response(response: str, expected: bool) -> None:
    assert check("detectable_format:constrained_response", None, response) is expected


@pytest.mark.parametrize(
    ("response", "count"),
    [
        ("*one* and *two*", 2),
        ("**one** and **two**", 2),
        ("***one***", 2),
        ("** and * * are empty", 0),
        ("*starts here\nends here*", 0),
    ],
)
def test_highlight_counting(response: str, count: int) -> None:
    kwargs_ok = {"num_highlights": count}
    kwargs_too_many = {"num_highlights": count + 1}
    assert check("detectable_format:number_highlighted_sections", kwargs_ok, response) is True
    assert check("detectable_format:number_highlighted_sections", kwargs_too_many, response) is False


@pytest.mark.parametrize(
    ("splitter", "response", "expected"),
    [
        ("Section", "Intro\nSection 1\na\nSection 2\nb\nSection 3\nc", True),
        ("Section", "Section 1 a Section 2 b Section 3 c Section 4 d", True),  # at least
        ("Section", "Section1\na\nSection2\nb\nSection3\nc", True),  # space optional
        ("Section", "Section 1\na\nSection 2\nb", False),
        ("Section", "SECTION 1\na\nSECTION 2\nb\nSECTION 3\nc", False),  # case-sensitive
        ("SECTION", "SECTION 1\na\nSECTION 2\nb\nSECTION 3\nc", True),
        ("Section", "Section A\na\nSection B\nb\nSection C\nc", False),  # needs a number
    ],
)
def test_multiple_sections(splitter: str, response: str, expected: bool) -> None:
    kwargs = {"section_spliter": splitter, "num_sections": 3}
    assert check("detectable_format:multiple_sections", kwargs, response) is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ('```json\n{"a": [1, 2]}\n```', True),
        ('```JSON\n{"a": 1}\n```', True),
        ('```\n{"a": 1}\n```', True),
        ("  [1, 2, 3]  ", True),
        ("42", True),
        ('{"a": 1} and that is all', False),
        ("{'a': 1}", False),  # Python dict syntax is not JSON
        ('```python\n{"a": 1}\n```', False),
        ("[" * 50 + "]" * 50, True),
    ],
)
def test_json_format(response: str, expected: bool) -> None:
    assert check("detectable_format:json_format", None, response) is expected


def test_json_format_absurd_nesting_fails_instead_of_crashing() -> None:
    assert check("detectable_format:json_format", None, "[" * 100_000 + "]" * 100_000) is False


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Poem\n<<The Sea>>\nwaves", True),
        ("<<>> untitled", False),
        ("<<   >> blank", False),
        ("<<The\nSea>>", False),  # a title must stay on one line
        ("<The Sea>", False),
        ("«The Sea»", False),
    ],
)
def test_title(response: str, expected: bool) -> None:
    assert check("detectable_format:title", None, response) is expected
