"""Hostile collection files and schemas: numbers that would lie, and records that would end the run.
Each test is the attack: a real pytest run (pytester) on the hostile file against the loopback server,
or the build CLI on the hostile schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.collection import build_cli
from tests.collection.test_collection_run import CONFTEST, TWO_BENCH_RECORDS, record, run
from tests.conftest import write_jsonl

WRONG = [{"contains": "say", "reply": "wrong"}, {"contains": "reverse", "reply": "wrong"}]

# a plugin of the user's that acts on its own mark, registered in code (not in the ini file)
ACTING_PLUGIN = """

def pytest_configure(config):
    config.addinivalue_line("markers", "quarantine: skipped on this machine")


def pytest_collection_modifyitems(items):
    import pytest
    for item in items:
        if item.get_closest_marker("quarantine"):
            item.add_marker(pytest.mark.skip(reason="quarantined"))
"""


@pytest.mark.parametrize(
    ("field", "value", "mark"),
    [
        ("tags", ["xfail"], "llm_xfail"),
        ("tags", ["skip"], "llm_skip"),
        ("categories", ["Suite", "skipif"], "llm_skipif"),
        ("task_type", "filterwarnings", "llm_filterwarnings"),
        ("tags", ["quarantine"], "llm_quarantine"),
    ],
)
def test_data_never_chooses_a_mark_pytest_or_a_plugin_acts_on(pytester, start_server, field, value, mark):
    pytester.makeconftest(CONFTEST + ACTING_PLUGIN)
    suite = write_jsonl(pytester.path / "suite.jsonl", [dict(r, **{field: value}) for r in TWO_BENCH_RECORDS])
    outcome = run(pytester, start_server(rules=WRONG), "--llm-collection", str(suite), "--strict-markers")
    outcome.assert_outcomes(failed=4)  # every answer is wrong, and counts: nothing skipped, nothing expected to fail
    assert outcome.ret == 1
    assert "INTERNALERROR" not in outcome.stdout.str() + outcome.stderr.str()
    # the data's name is still a mark, under the prefix: -m selects the records with it
    selected = run(pytester, start_server(rules=WRONG), "--llm-collection", str(suite), "-m", mark, "--co", "-q")
    assert selected.ret == 0
    assert sum(line.startswith("collection/") for line in selected.stdout.lines) == 4


def test_a_negative_index_cannot_hide_wrong_answers_from_the_average(pytester, start_server):
    """Nine wrong answers under negative indexes and one right one: the average must not read 1.0."""
    pytester.makeconftest(CONFTEST)
    rows = [record(0, "forward", "say abc", "abc", ["Suite"], [], "echo")]
    rows += [record(-(i + 1), "forward", f"say nothing {i}", "abc", ["Suite"], [], "echo") for i in range(9)]
    suite = write_jsonl(pytester.path / "suite.jsonl", rows)
    server = start_server(rules=[{"contains": "say abc", "reply": "abc"}, {"contains": "say nothing", "reply": "no"}])
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-threshold", "collection.acc>=0.9")
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines(
        [f"*{suite}:2: not a collection record (index: Input should be greater than or equal to 0)*"]
    )
    assert server.stats()["chat_requests"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weight": float("inf")}, "weight: Input should be a finite number"),
        ({"weight": -1}, "weight: Input should be greater than or equal to 0"),
        ({"categories": ["Suite", "A/B"]}, "categories.1: Value error, group name 'A/B' contains '/'"),
        ({"categories": ["Suite", " "]}, "categories.1: Value error, a group name is empty"),
    ],
)
def test_impossible_numbers_and_ambiguous_group_paths_in_a_record_are_one_usage_error(
    pytester, start_server, change, message
):
    """`["A/B"]` and `["A", "B"]` would be one row of the report; an infinite weight no builder writes."""
    pytester.makeconftest(CONFTEST)
    rows = [*TWO_BENCH_RECORDS, dict(record(4, "forward", "say abc", "abc", ["Suite", "A", "B"], [], "echo"), **change)]
    suite = write_jsonl(pytester.path / "suite.jsonl", rows)
    outcome = run(pytester, start_server(rules=WRONG), "--llm-collection", str(suite))
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines([f"*{suite}:5: not a collection record ({message}*"])
    assert "Traceback" not in outcome.stderr.str()


@pytest.mark.parametrize(
    ("weights", "fails"),
    [
        ([".inf", "1"], "weight: Input should be a finite number"),
        ([".nan", "1"], "weight: Input should be a finite number"),
        (["1e308", "1e308"], None),  # finite, but their sum overflows: the shares are still 1/2 each
    ],
)
def test_schema_weights_are_finite_and_never_overflow(tmp_path, gsm8k_file, weights, fails):
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        f"name: R\nchildren:\n  - {{name: A, weight: {weights[0]}, children: [{{name: gsm8k}}]}}\n"
        f"  - {{name: B, weight: {weights[1]}, children: [{{name: gsm8k}}]}}\n"
    )
    out = tmp_path / "out.jsonl"
    done = build_cli(schema, "-n", "4", "--llm-dataset", f"gsm8k={gsm8k_file}", "-o", str(out))
    if fails:
        assert done.returncode == 4 and fails in done.stderr and "Traceback" not in done.stderr
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["categories"] for r in records] == [["R", "A"]] * 2 + [["R", "B"]] * 2
    assert sum(r["weight"] for r in records) == pytest.approx(1.0)


def test_a_schema_group_name_with_a_slash_is_refused(tmp_path, gsm8k_file):
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "name: R\nchildren:\n  - {name: A/B, children: [{name: gsm8k}]}\n"
        "  - {name: A, children: [{name: B, children: [{name: gsm8k}]}]}\n"
    )
    done = build_cli(schema, "-n", "4", "--llm-dataset", f"gsm8k={gsm8k_file}", "-o", str(tmp_path / "o.jsonl"))
    assert done.returncode == 4
    assert "children.0.name: Value error, group name 'A/B' contains '/'" in done.stderr


def image_record(index: int, part: Any) -> dict[str, Any]:
    return {
        "index": index,
        "prompt": {
            "input": [{"role": "user", "content": [{"type": "text", "text": "say abc"}, part]}],
            "target": "abc",
        },
        "tags": [],
        "categories": ["Suite", "Vision"],
        "task_type": "echo",
        "weight": 1.0,
        "dataset_name": "forward",
        "subset_name": "default",
    }


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image", "image": "data:image/png;base64,@@not base64@@"},
        {"type": "audio", "audio": "%%%", "format": "wav"},
        "a bare string where a part should be",
        {"type": "image_url", "image_url": "data:image/png;base64,AAAA"},
        {"type": "image", "image": "file:///etc/passwd"},
    ],
)
def test_a_malformed_content_part_fails_its_record_alone(pytester, start_server, part):
    pytester.makeconftest(CONFTEST)
    server = start_server(
        rules=[
            {"contains": "say abc", "reply": "abc"},
            {"contains": "say def", "reply": "def"},
            {"contains": "say xyz", "reply": "xyz"},
            {"contains": "reverse abc", "reply": "abc"},
        ]
    )
    suite = write_jsonl(pytester.path / "suite.jsonl", [*TWO_BENCH_RECORDS, image_record(4, part)])
    samples = pytester.path / "samples.jsonl"
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-samples", str(samples), "--llm-no-cache")
    outcome.assert_outcomes(passed=4, errors=1)
    assert "INTERNALERROR" not in outcome.stdout.str() + outcome.stderr.str()
    records = {r["id"]: r for r in map(json.loads, samples.read_text().splitlines())}
    assert records["4"]["error_kind"] == "bad_record" and f"{suite}:5: record 4 cannot become" in records["4"]["error"]
    assert server.stats()["chat_requests"] == 4  # nothing was sent for it


def test_a_collection_file_that_is_not_utf8_is_one_usage_error(pytester, start_server):
    pytester.makeconftest(CONFTEST)
    suite = write_jsonl(pytester.path / "suite.jsonl", TWO_BENCH_RECORDS)
    lines = suite.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"reverse", b"r\xe9verse")  # Latin-1, as a spreadsheet saves it
    suite.write_bytes(b"".join(lines))
    outcome = run(pytester, start_server(), "--llm-collection", str(suite))
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines([f"*{suite}:2: not UTF-8 text*save the collection file as UTF-8*"])
    assert "Traceback" not in outcome.stderr.str()
