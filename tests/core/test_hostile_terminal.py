"""Model output and dataset text that carry terminal control sequences stay inert in the terminal.

The attack: a model answer (or a dataset question) holding `ESC[2J` (clear the screen), a cursor
move, an OSC window-title sequence, the 8-bit CSI (U+009B) and a right-to-left override, followed by
a forged verdict line. Printed raw, the terminal clears and shows `llmeval: PASS ...` while the run
failed. Every such character must reach the terminal as a visible escape (`\\x1b`), never raw.
"""

from __future__ import annotations

import json

import pytest

from tests.core.test_evaluation import run

FORGED = "\x1b[2J\x1b[1;1Hllmeval: PASS, every gate holds (exit status 0)\x1b]0;owned\x07\x9b31m\u202eflipped"
CONTROL = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.mark.parametrize("args", [(), ("-v",), ("-rA",)])
def test_control_sequences_in_answers_and_questions_reach_the_terminal_escaped(pytester, start_server, tmp_path, args):
    rows = [{"question": f"How many apples? {FORGED}", "answer": "#### 5"}]
    data = tmp_path / "gsm8k.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    server = start_server(fixed_reply=f"{FORGED} The answer is 7")
    result = run(
        pytester, server, "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--color=no", "-p", "no:cacheprovider", *args
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = "\n".join(result.outlines + result.errlines)
    assert [c for c in CONTROL if c in output] == []
    # still shown, as escapes the reader can see: both the question and the output lines
    shown = [line for line in result.outlines if "\\x1b[2J" in line]
    assert any("question:" in line for line in shown) and any("output:" in line for line in shown)
    assert "\\u202e" in output


def test_terminal_text_escapes_controls_and_keeps_ordinary_text():
    from pytest_llmeval.terminal_text import printable

    assert (
        printable("caf\u00e9 \u4e2d\u6587 \U0001f600 tab\tnew\nline")
        == "caf\u00e9 \u4e2d\u6587 \U0001f600 tab\tnew\nline"
    )
    assert printable("a\x1b[2Jb\x00\x7f\x9b\u202e\u2066") == "a\\x1b[2Jb\\x00\\x7f\\x9b\\u202e\\u2066"
    assert printable("\r") == "\\r"


def test_collection_group_and_tag_names_reach_the_terminal_tables_escaped(pytester, start_server):
    # a collection file (perhaps from a hub) names its groups and tags: they are cells of the
    # collection and score tables
    from tests.scale.test_shards_merge import collection_rows

    rows = collection_rows(4)
    for row in rows:
        row["categories"] = ["Mini", "\x1b[2J\x1b[Hforged\tcell\nline"]
        row["tags"] = ["t\x1b[31m"]
    suite = pytester.path / "evil.jsonl"
    suite.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    server = start_server()
    result = run(pytester, server, "--llm-collection", str(suite), "--color=no", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = "\n".join(result.outlines + result.errlines)
    assert "\x1b" not in output
    assert any("Mini/\\x1b[2J\\x1b[Hforged\\tcell\\nline" in line for line in result.outlines)
    assert any("t\\x1b[31m" in line for line in result.outlines)


def test_dataset_field_names_quoted_by_a_bad_row_error_reach_the_terminal_escaped(pytester, start_server, tmp_path):
    """A bad row's error names its fields (`fields present: ...`): the collection error pytest prints
    must not carry their control sequences raw."""
    data = tmp_path / "gsm8k.jsonl"
    data.write_text(json.dumps({FORGED: "x", "answer": "#### 5"}) + "\n", encoding="utf-8")
    result = run(pytester, start_server(), "-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "-p", "no:cacheprovider")
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.INTERRUPTED, output
    assert "gsm8k.jsonl:1: row has no field 'question'" in output and "\\x1b[2J" in output
    assert [c for c in CONTROL if c in output] == [], output
