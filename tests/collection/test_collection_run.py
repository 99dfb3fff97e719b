"""Running collection files under pytest against the loopback test server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import data
from tests.collection import build_cli
from tests.conftest import GSM8K_RULES, IQUIZ_RULES, write_jsonl

CONFTEST = """
from pytest_llmeval.benchmarks import Benchmark, Score, register_benchmark


@register_benchmark
class Forward(Benchmark):
    name = "forward"
    task_type = "echo"

    def score(self, sample, output):
        ok = output.strip() == sample.target
        return Score(passed=ok, metrics={"acc": float(ok)}, extracted=output.strip())


@register_benchmark
class Backward(Benchmark):
    name = "backward"
    task_type = "mirror"

    def score(self, sample, output):
        ok = output.strip()[::-1] == sample.target
        return Score(passed=ok, metrics={"acc": float(ok)}, extracted=output.strip())
"""

# forward is right on 2 of 3 records, backward on its 1 record; with the scorers swapped it would be 1/3 and 0/1
RULES = [
    {"contains": "say abc", "reply": "abc"},
    {"contains": "say def", "reply": "def"},
    {"contains": "say xyz", "reply": "zyx"},
    {"contains": "reverse abc", "reply": "abc"},
]


def record(
    index: int, dataset: str, text: str, target: str, categories: list[str], tags: list[str], task: str
) -> dict[str, Any]:
    return {
        "index": index,
        "prompt": {
            "id": f"s{index}",
            "subset": "default",
            "input": text,
            "target": target,
            "choices": None,
            "metadata": {},
        },
        "tags": tags,
        "categories": categories,
        "task_type": task,
        "weight": 0.25,
        "dataset_name": dataset,
        "subset_name": "default",
    }


TWO_BENCH_RECORDS = [
    record(0, "forward", "say abc", "abc", ["Suite", "G1"], ["en"], "echo"),
    record(1, "backward", "reverse abc", "cba", ["Suite", "G2"], ["en", "zh"], "mirror"),
    record(2, "forward", "say def", "def", ["Suite", "G1"], ["en"], "echo"),
    record(3, "forward", "say xyz", "xyz", ["Suite", "G1"], ["en"], "echo"),
]


def run(pytester: pytest.Pytester, server: Any, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "-p", "no:randomly", *args
    )


@pytest.fixture
def two_bench(pytester: pytest.Pytester, start_server) -> tuple[Path, Any]:
    pytester.makeconftest(CONFTEST)
    suite = write_jsonl(pytester.path / "suite.jsonl", TWO_BENCH_RECORDS)
    return suite, start_server(rules=RULES)


def row(collection: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    return next(r for r in collection["groups"] if r["kind"] == kind and r["name"] == name)


def test_each_record_is_scored_by_its_own_benchmark_and_the_tables_add_up(pytester, two_bench):
    suite, server = two_bench
    results = pytester.path / "results.json"
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-results", str(results), "-v")
    outcome.assert_outcomes(passed=3, failed=1)
    outcome.stdout.fnmatch_lines(["*collection/backward/default::1 PASSED*", "*collection/forward/default::3 FAILED*"])
    saved = json.loads(results.read_text())
    collection = saved["collection"]
    table = {r["dataset_name"]: r for r in collection["table"]}
    assert table["forward"] == {
        "task_type": "echo",
        "metric": "acc",
        "dataset_name": "forward",
        "average_score": pytest.approx(2 / 3),
        "count": 3,
        "errors": 0,
    }
    assert table["backward"]["average_score"] == 1.0 and table["backward"]["task_type"] == "mirror"
    assert sum(r["count"] for r in collection["table"]) == collection["records"] == len(TWO_BENCH_RECORDS)
    everything = row(collection, "all", "(all)")
    assert everything["micro"] == 0.75  # total correct / total = 3/4
    assert everything["macro"] == pytest.approx((2 / 3 + 1) / 2)  # mean of the dataset means
    assert row(collection, "group", "Suite/G1")["micro"] == pytest.approx(2 / 3)
    zh = row(collection, "tag", "zh")
    assert {k: zh[k] for k in ("kind", "name", "count", "errors", "datasets", "micro", "macro")} == {
        "kind": "tag",
        "name": "zh",
        "count": 1,
        "errors": 0,
        "datasets": 1,
        "micro": 1.0,
        "macro": 1.0,
    }
    # error bars: Wilson on the group's samples (micro), independent dataset means (macro)
    assert everything["micro_uncertainty"]["method"] == "wilson"
    assert everything["micro_uncertainty"]["ci_low"] < 0.75 < everything["micro_uncertainty"]["ci_high"]
    assert everything["macro_uncertainty"]["method"] == "macro"
    assert row(collection, "tag", "en")["count"] == 4
    assert row(collection, "task_type", "mirror")["micro"] == 1.0
    # the records also count in their benchmarks' results
    assert saved["benchmarks"]["forward"]["count"] == 3
    outcome.stdout.fnmatch_lines(
        [
            "*task_type*metric*dataset_name*average_score*count*",
            "*echo*acc*forward*0.6667*3*",
            "*micro_avg (samples)*macro_avg (datasets)*",
            "*all*(all)*0.7500*0.8333*4*2*",
        ]
    )


def test_marks_select_groups_tags_task_types_and_datasets(pytester, two_bench):
    suite, server = two_bench
    outcome = run(pytester, server, "--llm-collection", str(suite), "-m", "collection and G2", "--strict-markers", "-v")
    outcome.assert_outcomes(passed=1, deselected=3)
    outcome = run(pytester, server, "--llm-collection", str(suite), "-m", "collection and echo and not zh")
    outcome.assert_outcomes(passed=2, failed=1, deselected=1)
    outcome = run(pytester, server, "--llm-collection", str(suite), "-m", "backward")
    outcome.assert_outcomes(passed=1, deselected=3)


def test_a_misspelt_group_or_task_type_in_m_is_one_usage_error_not_an_empty_run(pytester, two_bench):
    # `-m "collection and Suitee"` used to deselect every record and end with "4 deselected" (exit 5)
    suite, server = two_bench
    for typo, meant in [("Suitee", "Suite"), ("mirrr", "mirror")]:
        outcome = run(pytester, server, "--llm-collection", str(suite), "-m", f"collection and {typo}")
        assert outcome.ret == pytest.ExitCode.USAGE_ERROR
        outcome.stderr.fnmatch_lines([f"*-m names '{typo}'*collection group*did you mean '{meant}'?*"])
        assert "Traceback" not in outcome.stderr.str() + outcome.stdout.str()
        assert server.stats()["total_requests"] == 0


def test_group_thresholds_gate_the_run(pytester, two_bench):
    suite, server = two_bench
    results = pytester.path / "results.json"
    ok = run(
        pytester,
        server,
        "--llm-collection",
        str(suite),
        "--llm-results",
        str(results),
        "--llm-threshold",
        "collection.G1.acc>=0.6",
        "--llm-threshold",
        "collection.task_type:mirror.acc>=1",
        "--llm-threshold",
        "collection.Suite/G2.macro>=1",
    )
    assert ok.ret == 0  # gated: the wrong answer alone does not fail the run
    ok.stdout.fnmatch_lines(["*PASS  collection.G1.acc>=0.6  (actual 0.6667)*"])
    failing = run(
        pytester,
        server,
        "--llm-collection",
        str(suite),
        "--llm-threshold",
        "collection.macro>=0.9",
        "--llm-threshold",
        "collection.tag:en.acc>=0.7",
    )
    assert failing.ret == 1
    failing.stdout.fnmatch_lines(
        ["*FAIL  collection.macro>=0.9  (actual 0.8333)*", "*PASS  collection.tag:en.acc>=0.7*"]
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("collection.Nope.acc>=0.5", "*the collection has no group 'Nope'*G1*"),
        ("collection.tag:fr.acc>=0.5", "*no tag 'fr'*tag:en*"),
        ("collection.G1.f1>=0.5", "*acc/micro*or macro*'f1'*"),
    ],
)
def test_a_rule_naming_what_the_collection_lacks_is_a_usage_error(pytester, two_bench, rule, message):
    suite, server = two_bench
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-threshold", rule)
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines([message])
    assert server.stats()["chat_requests"] == 0


def test_a_collection_rule_without_a_collection_is_a_usage_error(pytester, start_server):
    outcome = run(pytester, start_server(), "-m", "smoke", "--llm-threshold", "collection.G1.acc>=0.5")
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines(["*gates a collection: pass --llm-collection*"])


def test_unknown_benchmarks_are_an_error_or_skipped_and_counted(pytester, two_bench):
    suite, server = two_bench
    lines = [
        *TWO_BENCH_RECORDS,
        record(4, "video_mme", "look at this", "3", ["Suite", "Vision"], [], "vqa"),
        record(5, "video_mme", "and this", "4", ["Suite", "Vision"], [], "vqa"),
    ]
    write_jsonl(suite, lines)
    refused = run(pytester, server, "--llm-collection", str(suite))
    assert refused.ret == 4
    refused.stderr.fnmatch_lines(
        ["*benchmarks this plugin does not have: 'video_mme' (2 records)*--llm-collection-skip-unknown*"]
    )
    assert server.stats()["chat_requests"] == 0
    results = pytester.path / "results.json"
    skipped = run(
        pytester, server, "--llm-collection", str(suite), "--llm-collection-skip-unknown", "--llm-results", str(results)
    )
    skipped.assert_outcomes(passed=3, failed=1)
    collection = json.loads(results.read_text())["collection"]
    assert collection["skipped_unknown"] == {"video_mme": 2} and collection["records"] == 4
    skipped.stdout.fnmatch_lines(["*skipped records of unknown benchmarks: video_mme (2)*"])


@pytest.mark.parametrize("content", ["{not json", json.dumps({"index": 0, "prompt": {"input": "x"}})])
def test_a_malformed_collection_line_is_one_clear_error(pytester, two_bench, content):
    suite, server = two_bench
    suite.write_text(content + "\n")
    outcome = run(pytester, server, "--llm-collection", str(suite))
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines([f"*{suite}:1: not a collection record*"])
    assert "Traceback" not in outcome.stderr.str()


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_a_collection_without_records_is_a_usage_error_not_no_tests_ran(pytester, two_bench, content):
    # `build -n 0` wrote such a file; running it ended "no tests ran" (exit 5) naming nothing
    suite, server = two_bench
    suite.write_text(content)
    outcome = run(pytester, server, "--llm-collection", str(suite))
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines(["*--llm-collection * holds no records; build it with *-n N (N >= 1)*"])
    assert server.stats()["total_requests"] == 0


def test_a_missing_collection_file_or_hub_id_is_a_usage_error(pytester, start_server):
    server = start_server()
    outcome = run(pytester, server, "--llm-collection", "nowhere/suite.jsonl")
    assert outcome.ret == 4
    outcome.stderr.fnmatch_lines(["*is not a file*"])
    outcome = run(pytester, server, "--llm-collection", "evalscope/Qwen3-Test-Collection")
    assert outcome.ret == 4  # the hub is out of reach here: one line, with the way round
    outcome.stderr.fnmatch_lines(["*Qwen3-Test-Collection*--llm-collection PATH*"])


def test_xdist_cache_limit_and_shuffle_hold_for_collections(pytester, two_bench):
    suite, server = two_bench
    results = pytester.path / "results.json"
    first = run(pytester, server, "--llm-collection", str(suite), "-n", "2", "--llm-results", str(results))
    first.assert_outcomes(passed=3, failed=1)
    assert server.stats()["chat_requests"] == 4  # each request once over both workers
    collection = json.loads(results.read_text())["collection"]
    assert row(collection, "all", "(all)")["micro"] == 0.75
    again = run(pytester, server, "--llm-collection", str(suite), "--llm-results", str(results))
    again.assert_outcomes(passed=3, failed=1)
    assert server.stats()["chat_requests"] == 4  # all from the cache
    assert json.loads(results.read_text())["requests"]["cached"] == 4
    limited = run(
        pytester,
        server,
        "--llm-collection",
        str(suite),
        "--llm-limit",
        "1",
        "--llm-shuffle",
        "--llm-seed",
        "3",
        "--llm-results",
        str(results),
    )
    counts = limited.parseoutcomes()
    assert counts.get("passed", 0) + counts.get("failed", 0) == 2
    assert json.loads(results.read_text())["collection"]["records"] == 2  # one per dataset and subset


def evalscope_lines() -> list[dict[str, Any]]:
    """Lines in the reference system's published collection shape (gsm8k, iquiz, ifeval)."""
    gsm8k = data_gsm8k()
    iq = {"question": "1, 2, 4, 8, ? 下一个数是多少？", "choices": ["10", "12", "16", "18"]}
    ifeval_row = data.IFEVAL_ROWS[1]

    def user(text: Any) -> list[dict[str, Any]]:
        return [{"id": "m1", "content": text, "source": "input", "role": "user"}]

    return [
        {
            "index": 0,
            "prompt": {
                "input": user(gsm8k[0]["question"] + "\nPlease reason step by step."),
                "target": "5",
                "id": 0,
                "group_id": 0,
                "metadata": {"reasoning": "2 + 3 = 5"},
            },
            "tags": ["en"],
            "categories": ["Qwen3", "Math&Science"],
            "task_type": "math",
            "weight": 0.5,
            "dataset_name": "gsm8k",
            "subset_name": "main",
        },
        {
            "index": 1,
            "prompt": {
                "input": user([{"type": "text", "text": gsm8k[3]["question"]}]),
                "target": "33",
                "id": 3,
                "metadata": {},
            },
            "tags": ["en"],
            "categories": ["Qwen3", "Math&Science"],
            "task_type": "math",
            "weight": 0.5,
            "dataset_name": "gsm8k",
            "subset_name": "main",
        },
        {
            "index": 2,
            "prompt": {
                "input": user(f"{iq['question']}\nA) 10\nB) 12\nC) 16\nD) 18"),
                "choices": iq["choices"],
                "target": "C",
                "id": 0,
                "metadata": {"level": 1},
            },
            "tags": ["zh"],
            "categories": ["Qwen3", "Chinese"],
            "task_type": "exam",
            "weight": 1.0,
            "dataset_name": "iquiz",
            "subset_name": "IQ",
        },
        {
            "index": 3,
            "prompt": {
                "input": user(ifeval_row["prompt"]),
                "target": "",
                "id": 0,
                "metadata": {
                    "key": ifeval_row["key"],
                    "prompt": ifeval_row["prompt"],
                    "instruction_id_list": ifeval_row["instruction_id_list"],
                    "kwargs": ifeval_row["kwargs"],
                },
            },
            "tags": ["en"],
            "categories": ["Qwen3", "English"],
            "task_type": "instruction",
            "weight": 1.0,
            "dataset_name": "ifeval",
            "subset_name": "default",
        },
    ]


def data_gsm8k() -> list[dict[str, str]]:
    from tests.conftest import GSM8K_ROWS

    return GSM8K_ROWS


def test_a_file_in_the_reference_systems_collection_format_runs_and_scores(pytester, start_server):
    from tests.benchmarks.test_ifeval_benchmark import POEM

    server = start_server(rules=[*GSM8K_RULES, *IQUIZ_RULES, {"contains": "poem about the sea", "reply": POEM}])
    suite = write_jsonl(pytester.path / "qwen3_test.jsonl", evalscope_lines())
    results = pytester.path / "results.json"
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-results", str(results), "-v")
    collection = json.loads(results.read_text())["collection"]
    table = {r["dataset_name"]: r for r in collection["table"]}
    # gsm8k: apples right, bus wrong; iquiz: the 1,2,4,8 question right; ifeval: scored by its four metrics
    assert table["gsm8k"]["average_score"] == 0.5 and table["gsm8k"]["count"] == 2
    assert table["iquiz"]["average_score"] == 1.0 and table["iquiz"]["task_type"] == "exam"
    assert table["ifeval"]["metric"] == "prompt_level_strict" and table["ifeval"]["count"] == 1
    assert table["ifeval"]["average_score"] == 1.0
    assert sum(r["count"] for r in collection["table"]) == 4
    assert row(collection, "group", "Qwen3/Math&Science")["micro"] == 0.5
    ifeval = json.loads(results.read_text())["benchmarks"]["ifeval"]
    assert set(ifeval["metrics"]) == {
        "prompt_level_strict",
        "inst_level_strict",
        "prompt_level_loose",
        "inst_level_loose",
    }
    outcome.stdout.fnmatch_lines(
        ["*collection/gsm8k/main::0 PASSED*", "*collection/gsm8k/main::1 FAILED*", "*collection/iquiz/IQ::2 PASSED*"]
    )
    # the group mark of "Math&Science" is Math_Science
    marked = run(pytester, server, "--llm-collection", str(suite), "-m", "collection and Math_Science")
    marked.assert_outcomes(passed=1, failed=1, deselected=2)


def test_build_then_run_round_trip(pytester, start_server, gsm8k_file, iquiz_dir):
    schema = pytester.path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "name": "Mini",
                "datasets": [
                    {"name": "Math", "weight": 1, "datasets": [{"name": "gsm8k", "task_type": "math", "tags": ["en"]}]},
                    {
                        "name": "Chinese",
                        "weight": 1,
                        "datasets": [{"name": "iquiz", "task_type": "exam", "tags": ["zh"]}],
                    },
                ],
            }
        )
    )
    suite = pytester.path / "suite.jsonl"
    built = build_cli(
        schema,
        "-n",
        "6",
        "--seed",
        "1",
        "-o",
        str(suite),
        "--llm-dataset",
        f"gsm8k={gsm8k_file}",
        "--llm-dataset",
        f"iquiz={iquiz_dir}",
    )
    assert built.returncode == 0, built.stderr
    server = start_server(rules=GSM8K_RULES + IQUIZ_RULES)
    results = pytester.path / "results.json"
    outcome = run(pytester, server, "--llm-collection", str(suite), "--llm-results", str(results))
    saved = json.loads(results.read_text())
    counts = {r["dataset_name"]: r["count"] for r in saved["collection"]["table"]}
    assert counts == {"gsm8k": 3, "iquiz": 3}
    outcome_counts = outcome.parseoutcomes()
    assert outcome_counts.get("passed", 0) + outcome_counts.get("failed", 0) == 6


def test_html_report_has_the_collection_tables_with_names_escaped(pytester, two_bench):
    from pytest_llmeval.report.html import OVERVIEW_END, OVERVIEW_START, cut_section

    suite, server = two_bench
    # no "/" in a group name: it separates a path's groups (a name holding one is refused)
    hostile = [
        dict(r, categories=["<b id='x'>Suite", "G&1"], tags=["<img src=x onerror=alert(1)>"]) for r in TWO_BENCH_RECORDS
    ]
    write_jsonl(suite, hostile)
    report = pytester.path / "report.html"
    outcome = run(pytester, server, "--llm-collection", str(suite), f"--html={report}", "--self-contained-html")
    outcome.assert_outcomes(passed=3, failed=1)
    overview = cut_section(report.read_text(encoding="utf-8"), OVERVIEW_START, OVERVIEW_END)
    assert overview is not None and "<h3>Collection</h3>" in overview
    assert "average_score" in overview and "macro average (over datasets)" in overview
    assert "weighted average (reference)" in overview and "macro average (over dataset, subset)" in overview
    assert "sum of score*weight / sum of weight over records" in overview  # each average with its definition
    assert "<b id='x'>" not in overview and "<img src=x" not in overview
    assert "&lt;b id=&#39;x&#39;&gt;Suite/G&amp;1" in overview
    assert "&lt;img src=x onerror=alert(1)&gt;" in overview


def test_compare_and_max_drop_work_on_a_collection(pytester, two_bench, start_server):
    suite, server = two_bench
    old = pytester.path / "old.json"
    run(pytester, server, "--llm-collection", str(suite), "--llm-results", str(old), "--llm-no-cache")
    worse = start_server(rules=[{"contains": "say def", "reply": "fed"}, *RULES])  # the def record now wrong
    outcome = run(
        pytester,
        worse,
        "--llm-collection",
        str(suite),
        "--llm-compare",
        str(old),
        "--llm-max-drop",
        "0.1",
        "--llm-no-cache",
    )
    assert outcome.ret == 1
    outcome.stdout.fnmatch_lines(["*forward*acc*0.6667*0.3333*"])


@pytest.mark.parametrize(
    ("text", "kind", "name", "average"),
    [
        ("collection.Math&Science.acc>=0.6", "group", "Math&Science", "micro"),
        ("collection.Qwen3/Math&Science.macro>=0.6", "group", "Qwen3/Math&Science", "macro"),
        ("collection.task_type:math.acc>=0.6", "task_type", "math", "micro"),
        ("collection.tag:zh.acc_macro<0.5", "tag", "zh", "macro"),
        ("collection.dataset:gsm8k.micro>.5", "dataset", "gsm8k", "micro"),
        ("collection.acc>=0.7", "all", "(all)", "micro"),
        ("collection.v1.2.acc>=0.7", "group", "v1.2", "micro"),
    ],
)
def test_collection_rules_parse(text, kind, name, average):
    from pytest_llmeval.gating.collection_rules import parse_collection_rule

    rule = parse_collection_rule(text)
    assert (rule.kind, rule.name, rule.average) == (kind, name, average)


def test_a_group_name_used_twice_must_be_given_by_path():
    from pytest_llmeval.errors import ThresholdError
    from pytest_llmeval.gating.collection_rules import (
        parse_collection_rule,
        resolve_group,
    )

    rows = {("group", "R"), ("group", "R/A/Math"), ("group", "R/B/Math"), ("group", "R/A")}
    with pytest.raises(ThresholdError, match=r"ambiguous.*R/A/Math, R/B/Math"):
        resolve_group(parse_collection_rule("collection.Math.acc>=0.5"), rows)
    assert resolve_group(parse_collection_rule("collection.A.acc>=0.5"), rows).name == "R/A"


def test_reference_system_image_parts_are_sent_as_image_url(pytester, two_bench):
    """EvalScope writes `{"type": "image", "image": "data:..."}`; it is sent in OpenAI's shape."""
    suite, server = two_bench
    image = {
        "index": 4,
        "prompt": {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in the picture?"},
                        {"type": "image", "image": "data:image/png;base64,AAAA"},
                    ],
                }
            ],
            "target": "A",
            "choices": ["cat", "dog"],
        },
        "tags": ["en"],
        "categories": ["Qwen3-VL", "Vision"],
        "task_type": "math",
        "weight": 1.0,
        "dataset_name": "math_vista",
        "subset_name": "default",
    }
    write_jsonl(suite, [*TWO_BENCH_RECORDS, image])
    outcome = run(pytester, server, "--llm-collection", str(suite))
    assert outcome.ret in (0, 1)
    assert server.stats()["chat_requests"] == 5
