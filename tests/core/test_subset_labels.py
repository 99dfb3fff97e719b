"""`--llm-dataset NAME.LABEL=PATH` accepts a subset under the dataset's own name, as each benchmark
declares it (`Benchmark.subset_labels`), never found by reading the benchmark module's globals."""

from __future__ import annotations

import pytest

from pytest_llmeval.benchmarks import Benchmark
from pytest_llmeval.benchmarks.registry import all_benchmarks
from pytest_llmeval.engine.selection import check_dataset_names
from pytest_llmeval.errors import ConfigError

CONFIGS = {"part_a": "Part-A"}  # a module global: no longer consulted


class Declared(Benchmark):
    name = "declared"
    subsets = ("part_a", "part_b")
    subset_labels = {"part_a": "Part A (hard)"}


class Undeclared(Benchmark):
    name = "undeclared"
    subsets = ("part_a", "part_b")


@pytest.mark.parametrize(
    "key",
    [
        "arc.ARC-Easy",
        "aime25.AIME2025-II",
        "mmlu_pro.computer science",
        "mmmu_pro.standard (4 options)",
    ],
)
def test_builtin_benchmarks_declare_their_dataset_labels(key):
    check_dataset_names({key: "x.jsonl"}, all_benchmarks())  # no ConfigError


def test_a_declared_label_is_accepted():
    check_dataset_names({"declared.Part A (hard)": "x.jsonl"}, {"declared": Declared})


def test_a_module_global_is_no_declaration():
    with pytest.raises(ConfigError, match="names no subset 'Part-A' of undeclared"):
        check_dataset_names({"undeclared.Part-A": "x.jsonl"}, {"undeclared": Undeclared})
