"""`--llm-shard I/N` + `python -m pytest_llmeval.report merge`: the shards of a run, merged, give the
one-machine results JSON field for field; merging refuses shards that are not one run's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.report.__main__ import main as report_main
from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import IQUIZ_ROWS, IQUIZ_RULES, write_jsonl

GSM8K_SIZE = 1319  # the GSM8K test split
SHARDS = 4
# differ by construction between a run and its merge: when and how long, where the files are, the shard bookkeeping
NOT_COMPARED = {"started", "duration_s", "samples_path", "extra"}


def gsm8k_rows(count: int) -> list[dict[str, str]]:
    return [{"question": f"What is {i} + 1?", "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}"} for i in range(count)]


def gsm8k_rules(count: int) -> list[dict[str, str]]:
    """Right on most questions, wrong on every 7th; some answers think first (--llm-think-eval figures)."""
    rules = []
    for i in range(count):
        answer = i + 2 if i % 7 == 0 else i + 1
        think = f"<think>Add one to {i}. Wait, check again: {i} plus 1.</think>" if i % 3 == 0 else ""
        rules.append({"contains": f"What is {i} + 1?", "reply": f"{think}{i} + 1 = {answer}. \\boxed{{{answer}}}"})
    return rules


def collection_rows(count: int) -> list[dict[str, Any]]:
    """A collection of GSM8K records in nested groups with tags and weights."""
    rows = []
    for index in range(count):
        group = ["Math", "Easy" if index % 3 else "Hard"]
        rows.append(
            {
                "index": index,
                "prompt": {
                    "id": f"c{index}",
                    "subset": "main",
                    "input": f"What is {index} + 1?",
                    "target": str(index + 1),
                    "choices": None,
                    "metadata": {},
                },
                "tags": ["en"] + (["odd"] if index % 2 else []),
                "categories": group,
                "task_type": "math",
                "weight": 0.5 if index % 3 else 1.5,
                "dataset_name": "gsm8k",
                "subset_name": "main",
            }
        )
    return rows


def run(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "fake-model", "--llm-base-url", server.base_url, "--llm-no-cache", "-p", "no:randomly",
        "-q", *args,
    )  # fmt: skip


def comparable(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {key: value for key, value in data.items() if key not in NOT_COMPARED}


def run_sharded(
    pytester: pytest.Pytester, server: FakeOpenAIServer, args: list[str], count: int = SHARDS
) -> list[Path]:
    paths = []
    for index in range(1, count + 1):
        folder = pytester.path / f"shard-{index}"
        outcome = run(
            pytester, server, *args, "--llm-shard", f"{index}/{count}",
            "--llm-results", str(folder / "results.json"), "--llm-samples", str(folder / "samples.jsonl"),
        )  # fmt: skip
        assert outcome.ret in (0, 1), outcome.stdout.str()[-3000:]
        paths.append(folder / "results.json")
    return paths


def merge(paths: list[Path], output: Path, *extra: str) -> int:
    return report_main(["merge", *map(str, paths), "-o", str(output), *extra])


@pytest.fixture
def gsm8k_run(pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]) -> dict[str, Any]:
    data = write_jsonl(pytester.path / "data" / "gsm8k.jsonl", gsm8k_rows(GSM8K_SIZE))
    for subset, rows in IQUIZ_ROWS.items():
        write_jsonl(pytester.path / "data" / "iquiz" / f"{subset}.jsonl", rows)
    server = start_server(rules=gsm8k_rules(GSM8K_SIZE) + IQUIZ_RULES)
    args = [
        "-m", "gsm8k or iquiz", "--llm-dataset", f"gsm8k={data}", "--llm-dataset", f"iquiz={data.parent / 'iquiz'}",
        "--llm-threshold", "gsm8k.acc>=0.8", "--llm-threshold", "iquiz.IQ.acc>=0.9", "--llm-think-eval",
        "--llm-concurrency", "32",
    ]  # fmt: skip
    return {"server": server, "args": args}


def test_four_gsm8k_shards_merged_equal_one_machine_field_for_field(
    pytester: pytest.Pytester, gsm8k_run: dict[str, Any]
) -> None:
    server, args = gsm8k_run["server"], gsm8k_run["args"]
    whole = run(pytester, server, *args, "--llm-results", "one.json", "--llm-samples", "one.jsonl")
    assert whole.ret == 1  # iquiz.IQ.acc>=0.9 fails: the merge must fail it too
    shards = run_sharded(pytester, server, args)
    sizes = [json.loads(p.read_text())["samples_planned"] for p in shards]
    assert sum(sizes) == GSM8K_SIZE + 4 and max(sizes) - min(sizes) <= 2  # balanced per subset (+-1 each)
    status = merge(shards, pytester.path / "merged.json", "--samples", str(pytester.path / "merged.jsonl"), "--gate")
    one, merged = comparable(pytester.path / "one.json"), comparable(pytester.path / "merged.json")
    assert merged == one
    assert one["thinking"] and one["benchmarks"]["gsm8k"]["uncertainty"]  # the figures compared are there
    assert status == 1  # the gates' exit status, as the one-machine run
    one_ids = sorted(json.loads(line)["nodeid"] for line in (pytester.path / "one.jsonl").open())
    merged_ids = [json.loads(line)["nodeid"] for line in (pytester.path / "merged.jsonl").open()]
    assert sorted(merged_ids) == one_ids


def test_shards_of_a_collection_merged_equal_one_machine(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    suite = write_jsonl(pytester.path / "suite.jsonl", collection_rows(203))
    server = start_server(rules=gsm8k_rules(203))
    args = ["--llm-collection", str(suite), "--llm-threshold", "collection.Math/Easy.micro>=0.5"]
    whole = run(pytester, server, *args, "--llm-results", "one.json", "--llm-samples", "one.jsonl")
    assert whole.ret == 0, whole.stdout.str()[-2000:]
    shards = run_sharded(pytester, server, args, count=3)
    assert merge(shards, pytester.path / "merged.json", "--gate") == 0
    one, merged = comparable(pytester.path / "one.json"), comparable(pytester.path / "merged.json")
    assert one["collection"]["groups"] and merged == one


def test_the_split_is_the_same_under_xdist(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    data = write_jsonl(pytester.path / "data" / "gsm8k.jsonl", gsm8k_rows(60))
    server = start_server(rules=gsm8k_rules(60))
    args = ["-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-shard", "2/3"]
    run(pytester, server, *args, "--llm-results", "a.json", "--llm-samples", "a.jsonl")
    run(pytester, server, *args, "-n", "2", "--llm-results", "b.json", "--llm-samples", "b.jsonl")
    ids = [
        sorted(json.loads(line)["nodeid"] for line in (pytester.path / name).open()) for name in ("a.jsonl", "b.jsonl")
    ]
    assert ids[0] == ids[1] and len(ids[0]) == 20
    shard_a = json.loads((pytester.path / "a.json").read_text())["extra"]["shard"]
    shard_b = json.loads((pytester.path / "b.json").read_text())["extra"]["shard"]
    assert shard_a["population_digest"] == shard_b["population_digest"] and shard_b["population"] == 60


@pytest.fixture
def two_shards(pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]) -> list[Path]:
    data = write_jsonl(pytester.path / "data" / "gsm8k.jsonl", gsm8k_rows(40))
    server = start_server(rules=gsm8k_rules(40))
    return run_sharded(pytester, server, ["-m", "gsm8k", "--llm-dataset", f"gsm8k={data}"], count=2)


def edit_shard(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def refusal(paths: list[Path], tmp: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert merge(paths, tmp / "merged.json") == 2
    assert not (tmp / "merged.json").exists()
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("model", "other-model", "model differ"),
        ("generation config", {"temperature": 0.7}, "generation config differ"),
        ("plugin version", "0.0.1", "plugin version differ"),
        ("dataset", {"datasets": {"gsm8k": "elsewhere.jsonl"}}, "dataset differ"),
    ],
)
def test_merge_refuses_shards_of_another_configuration(
    two_shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any, named: str
) -> None:
    edit_shard(two_shards[1], lambda data: data["extra"]["shard"]["config"].__setitem__(key, value))
    message = refusal(two_shards, tmp_path, capsys)
    assert named in message and "shard 2/2" in message and "shard 1/2" in message


def test_merge_refuses_shards_that_read_other_data(
    two_shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_shard(two_shards[1], lambda data: data["extra"]["shard"].__setitem__("population_digest", "0" * 64))
    assert "read different data" in refusal(two_shards, tmp_path, capsys)


def test_merge_refuses_a_duplicated_and_a_missing_shard(
    two_shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refusal([two_shards[0], two_shards[0]], tmp_path, capsys)
    assert "shard 1/2 is given twice" in message
    message = refusal([two_shards[0]], tmp_path, capsys)
    assert "shard 2/2 missing" in message


def test_merge_refuses_a_plain_results_json_and_a_lost_samples_file(
    two_shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_shard(two_shards[1], lambda data: data["extra"].pop("shard"))
    assert "not a shard's results JSON" in refusal(two_shards, tmp_path, capsys)
    (two_shards[0].parent / "samples.jsonl").unlink()
    assert "its samples JSONL is not at" in refusal(two_shards[:1], tmp_path, capsys)


def test_a_shard_needs_its_files(pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]) -> None:
    server = start_server()
    outcome = run(pytester, server, "-m", "gsm8k", "--llm-shard", "1/4")
    outcome.stderr.fnmatch_lines(["*--llm-shard 1/4 needs --llm-results and --llm-samples PATH*"])
    outcome = run(pytester, server, "-m", "gsm8k", "--llm-shard", "5/4")
    outcome.stderr.fnmatch_lines(["*--llm-shard 5/4: I must be between 1 and N*"])
