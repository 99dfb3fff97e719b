"""HumanEval and LiveCodeBench read real-schema rows and judge generated programs in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.base import Benchmark, Sample
from pytest_llmeval.benchmarks.live_code_bench import version_files
from pytest_llmeval.errors import ConfigError, DatasetError
from tests.benchmarks import data
from tests.conftest import write_jsonl


def samples_of(benchmark: Benchmark, subset: str, overrides: dict[str, Path]) -> list[Sample]:
    return list(benchmark.load(subset, DatasetLoader({k: str(v) for k, v in overrides.items()})))


# -- HumanEval -----------------------------------------------------------------------------------


@pytest.fixture
def humaneval_samples(tmp_path: Path) -> list[Sample]:
    path = write_jsonl(tmp_path / "humaneval.jsonl", data.HUMANEVAL_ROWS)
    return samples_of(get_benchmark("humaneval")(), "default", {"humaneval": path})


def test_humaneval_prompt_and_ids(humaneval_samples: list[Sample], tmp_path: Path):
    assert [s.id for s in humaneval_samples] == ["HumanEval-0", "HumanEval-2"]
    # default (evalscope): the dataset's prompt, unchanged, after a one-line instruction
    assert str(humaneval_samples[0].input).endswith("\n" + data.HUMANEVAL_ROWS[0]["prompt"])
    assert humaneval_samples[0].metadata["entry_point"] == "has_close_elements"
    path = write_jsonl(tmp_path / "native.jsonl", data.HUMANEVAL_ROWS)
    native = samples_of(get_benchmark("humaneval")({"protocol": "native"}), "default", {"humaneval": path})
    assert "```python\nfrom typing import List" in str(native[0].input)


def test_humaneval_right_and_wrong_programs(humaneval_samples: list[Sample]):
    benchmark = get_benchmark("humaneval")()
    right = benchmark.score(humaneval_samples[0], data.HUMANEVAL_RIGHT)
    assert right.passed and right.metrics == {"pass_at_1": 1.0}
    wrong = benchmark.score(humaneval_samples[1], data.HUMANEVAL_WRONG)
    assert not wrong.passed and wrong.metrics == {"pass_at_1": 0.0}
    assert (wrong.explanation or "").startswith("wrong_answer")


def test_humaneval_body_only_completion_continues_the_prompt(humaneval_samples: list[Sample]):
    benchmark = get_benchmark("humaneval")()
    assert benchmark.score(humaneval_samples[1], "    return number % 1.0\n").passed


def test_humaneval_endless_loop_times_out_under_the_limit(humaneval_samples: list[Sample]):
    benchmark = get_benchmark("humaneval")({"timeout_s": "1"})
    looping = "```python\ndef truncate_number(number):\n    while True:\n        pass\n```"
    score = benchmark.score(humaneval_samples[1], looping)
    assert not score.passed and (score.explanation or "").startswith("timeout")


def test_humaneval_bad_timeout_is_a_usage_error():
    with pytest.raises(ConfigError, match=r"humaneval.timeout_s must be a number of seconds"):
        get_benchmark("humaneval")({"timeout_s": "soon"})


# -- LiveCodeBench -------------------------------------------------------------------------------


def test_lcb_version_subsets_map_to_release_files():
    assert version_files("release_v5") == ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl"]
    assert version_files("release_latest") == version_files("release_v6")
    assert version_files("v1") == ["test.jsonl"] and version_files("v6") == ["test6.jsonl"]
    assert version_files("v5_v6") == ["test5.jsonl", "test6.jsonl"]
    assert get_benchmark("live_code_bench")().selected_subsets() == ["release_latest"]


@pytest.fixture
def lcb_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code_generation_lite"
    write_jsonl(folder / "test.jsonl", [data.lcb_row("abc001_a", "2023-05-06T00:00:00", functional=False)])
    write_jsonl(
        folder / "test5.jsonl",
        [
            data.lcb_row("abc380_a", "2024-11-16T00:00:00", functional=False, difficulty="medium"),
            data.lcb_row("3600", "2025-01-04T00:00:00", functional=True, difficulty="hard"),
        ],
    )
    write_jsonl(folder / "test6.jsonl", [data.lcb_row("abc400_a", "2025-04-05T00:00:00", functional=False)])
    return folder


def test_lcb_reads_the_versions_files_from_a_repository_folder(lcb_dir: Path):
    benchmark = get_benchmark("live_code_bench")()
    v5_v6 = samples_of(benchmark, "v5_v6", {"live_code_bench": lcb_dir})
    assert [s.id for s in v5_v6] == ["abc380_a", "3600", "abc400_a"]
    assert [s.id for s in samples_of(benchmark, "v1", {"live_code_bench": lcb_dir})] == ["abc001_a"]
    stdin, functional = v5_v6[0], v5_v6[1]
    # the format block of each kind of problem (default protocol: EvalScope's wording)
    assert "Read the inputs from stdin" in str(stdin.input) and "class Solution" not in str(stdin.input)
    assert "class Solution:\n    def twoSum" in str(functional.input)
    assert functional.metadata["func_name"] == "twoSum" and functional.metadata["breakdown"] == ["hard"]
    assert stdin.metadata["public_tests"] == [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]


def test_lcb_missing_release_file_names_it(lcb_dir: Path):
    with pytest.raises(DatasetError, match=r"folder has no test2.jsonl, which subset 'release_v5' needs"):
        samples_of(get_benchmark("live_code_bench")(), "release_v5", {"live_code_bench": lcb_dir})


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        ({"start_date": "2025-01-01"}, ["3600", "abc400_a"]),
        ({"end_date": "2025-01-04"}, ["abc380_a", "3600"]),
        ({"start_date": "2024-12-01", "end_date": "2025-03-31"}, ["3600"]),
    ],
)
def test_lcb_date_window_is_inclusive(lcb_dir: Path, args: dict[str, str], ids: list[str]):
    samples = samples_of(get_benchmark("live_code_bench")(args), "v5_v6", {"live_code_bench": lcb_dir})
    assert [s.id for s in samples] == ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start_date": "01/01/2025"}, "start_date must be a date YYYY-MM-DD"),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "is after end_date"),
        ({"subset_list": "release_v9"}, "unknown version 'release_v9'"),
    ],
)
def test_lcb_bad_arguments_are_usage_errors(args: dict[str, str], message: str):
    with pytest.raises(ConfigError, match=message):
        get_benchmark("live_code_bench")(args).selected_subsets()


@pytest.mark.parametrize(
    ("index", "output", "passed", "extracted"),
    [
        (0, data.LCB_STDIN_RIGHT, True, "3/3 tests passed"),
        (0, data.LCB_STDIN_WRONG, False, "0/3 tests passed"),
        (1, data.LCB_FUNCTIONAL_RIGHT, True, "3/3 tests passed"),
        (1, data.LCB_FUNCTIONAL_WRONG, False, "1/3 tests passed"),  # the public test passes, a private one not
        # a usage block after the solution is not the solution (issue 25)
        (
            1,
            data.LCB_FUNCTIONAL_RIGHT + "\nExample usage:\n```python\nprint(Solution().twoSum([2, 7], 9))\n```\n",
            True,
            "3/3 tests passed",
        ),
    ],
)
def test_lcb_runs_public_and_private_tests(lcb_dir: Path, index: int, output: str, passed: bool, extracted: str):
    benchmark = get_benchmark("live_code_bench")()
    sample = samples_of(benchmark, "v5", {"live_code_bench": lcb_dir})[index]
    score = benchmark.score(sample, output)
    assert (score.passed, score.extracted) == (passed, extracted)
    difficulty = {0: "pass_at_1_medium", 1: "pass_at_1_hard"}[index]
    assert score.metrics == {"pass_at_1": float(passed), difficulty: float(passed)}
    if not passed:
        assert "wrong_answer" in (score.explanation or "")


def test_lcb_hub_reads_the_release_files_of_the_version(monkeypatch: pytest.MonkeyPatch):
    """Without a local copy the release files are read with the `json` builder (no dataset script)."""
    import datasets

    calls: list[dict[str, Any]] = []

    def fake_load_dataset(path: str, **kwargs: Any) -> list[dict[str, Any]]:
        calls.append({"path": path, **kwargs})
        return [data.lcb_row("abc380_a", "2024-11-16T00:00:00", functional=False)]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    # offline: no reachability probe, and no process-wide offline switch left behind by this test
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    samples = samples_of(get_benchmark("live_code_bench")(), "v5_v6", {})
    assert [s.id for s in samples] == ["abc380_a"]
    assert calls == [
        {
            "path": "json",
            "data_files": [
                "hf://datasets/livecodebench/code_generation_lite/test5.jsonl",
                "hf://datasets/livecodebench/code_generation_lite/test6.jsonl",
            ],
            "split": "train",
        }
    ]
