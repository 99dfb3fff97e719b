"""The shared pieces of the built-in benchmarks: subset labels, few-shot lookup, breakdown metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.breakdown import mean_over_carriers
from pytest_llmeval.benchmarks.fewshot import few_shot_records
from pytest_llmeval.benchmarks.mcq import answer_letter
from pytest_llmeval.benchmarks.mmlu_redux import corrected_letters
from pytest_llmeval.benchmarks.rows import safe_sample_id
from pytest_llmeval.errors import ConfigError
from tests.benchmarks import data
from tests.conftest import write_jsonl


def test_mean_over_carriers_averages_each_metric_over_the_samples_reporting_it():
    per_sample = [{"acc": 1.0, "acc_stem": 1.0}, {"acc": 0.0, "acc_other": 0.0}, {"acc": 1.0, "acc_stem": 0.0}]
    assert mean_over_carriers(per_sample) == {"acc": 2 / 3, "acc_stem": 0.5, "acc_other": 0.0}
    assert mean_over_carriers([]) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("test/precalculus/807.json", "test_precalculus_807"),
        ("HumanEval-0", "HumanEval-0"),
        (1000, "1000"),
        (None, "0007"),
        ("", "0007"),
        ("recA b/c", "recA_b_c"),
    ],
)
def test_safe_sample_id(raw: object, expected: str):
    assert safe_sample_id(raw, 7) == expected


@pytest.mark.parametrize(("value", "letter"), [(0, "A"), ("3", "D"), ("c", "C"), ("(B)", "B"), (" D ", "D")])
def test_answer_letter_accepts_indices_and_letters(value: object, letter: str):
    assert answer_letter(value, 4) == letter


@pytest.mark.parametrize("value", [4, "E", "AB", True, -1])
def test_answer_letter_rejects_values_outside_the_options(value: object):
    with pytest.raises((ValueError, TypeError)):
        answer_letter(value, 4)


@pytest.mark.parametrize(
    ("raw", "letters"),
    [
        ("C", ["C"]),
        ("2", ["C"]),
        ("(A) and (C)", ["A", "C"]),
        ("0, 3", ["A", "D"]),
        ("A or B", ["A", "B"]),
        ("Poseidonia", []),
        ("7", []),
        (None, []),
    ],
)
def test_redux_corrections_are_read_only_when_they_name_options(raw: object, letters: list[str]):
    assert corrected_letters(raw, 4) == letters


def test_per_subset_override_may_use_the_mark_name(tmp_path: Path):
    path = write_jsonl(tmp_path / "easy.jsonl", data.ARC_ROWS["ARC-Easy"])
    arc = get_benchmark("arc")()
    samples = list(arc.load("arc_easy", DatasetLoader({"arc.arc_easy": str(path)})))
    assert [s.id for s in samples] == ["Mercury_7220990"]


def test_few_shot_rows_from_a_save_to_disk_dataset_dict(tmp_path: Path):
    import datasets

    folder = tmp_path / "mmlu_saved"
    datasets.DatasetDict(
        {
            "test": datasets.Dataset.from_list(data.MMLU_ROWS),
            "dev": datasets.Dataset.from_list(data.MMLU_DEV_ROWS),
        }
    ).save_to_disk(str(folder))
    mmlu = get_benchmark("mmlu")({"few_shot_num": "5"})
    loader = DatasetLoader({"mmlu": str(folder)})
    rows = few_shot_records(mmlu, "abstract_algebra", loader, 5)
    assert [r["answer"] for r in rows] == [2, 1]
    samples = list(mmlu.load("abstract_algebra", loader))
    assert samples[0].metadata["few_shot"] == 2 and samples[0].target == "B"


def test_few_shot_on_a_benchmark_without_a_few_shot_split_is_a_usage_error():
    with pytest.raises(ConfigError, match="has no few-shot split"):
        few_shot_records(get_benchmark("piqa")(), "default", DatasetLoader({}), 3)  # PIQA's train labels are apart


def test_unknown_benchmark_argument_lists_the_known_ones():
    with pytest.raises(
        ConfigError,
        match=r"gpqa_diamond.*no argument 'few_shot_num'; "
        r"known: answer_parser, chat_template, output_type, protocol, seed, subset_list",
    ):
        get_benchmark("gpqa_diamond")({"few_shot_num": "5"})
