"""IFEval reads real-schema rows, scores with the shared checker, and pools instruction-level metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.base import Benchmark, Sample
from pytest_llmeval.errors import DatasetError
from tests.benchmarks import data
from tests.conftest import write_jsonl

CAPS_WITH_SECTIONS = (
    "SECTION 1\nTHIS SENTENCE PUTS OBEDIENCE ON TRIAL BUT NEVER SAYS WHO DECIDES WHAT IS BAD.\n"
    "SECTION 2\nIT ALSO IGNORES THE COST OF BREAKING A LAW FOR EVERYONE ELSE."
)
CAPS_NO_SECTIONS = "THIS SENTENCE PUTS OBEDIENCE ON TRIAL.\n\nIT ALSO IGNORES THE COST OF BREAKING A LAW."
POEM = "The sea rolls in and out\nIts blue a patient song\nThe gulls cry all day long"
POEM_WITH_PREAMBLE = "Sure, here is a poem about the sea:\n" + POEM


@pytest.fixture
def ifeval() -> Benchmark:
    return get_benchmark("ifeval")()


@pytest.fixture
def samples(ifeval: Benchmark, tmp_path: Path) -> list[Sample]:
    path = write_jsonl(tmp_path / "ifeval.jsonl", data.IFEVAL_ROWS)
    return list(ifeval.load("default", DatasetLoader({"ifeval": str(path)})))


def test_prompt_is_sent_unchanged(samples: list[Sample], ifeval: Benchmark):
    assert [s.id for s in samples] == ["1000", "1001"]
    assert ifeval.messages(samples[1]) == [{"role": "user", "content": data.IFEVAL_ROWS[1]["prompt"]}]
    assert samples[0].metadata["instruction_id_list"] == [
        "change_case:english_capital",
        "detectable_format:multiple_sections",
    ]


def test_all_instructions_followed(samples: list[Sample], ifeval: Benchmark):
    score = ifeval.score(samples[0], CAPS_WITH_SECTIONS)
    assert score.passed
    assert score.metrics["prompt_level_strict"] == 1.0 and score.metrics["inst_level_strict"] == 1.0
    assert score.metrics["_inst_count"] == 2 and score.metrics["_inst_strict_followed"] == 2


def test_one_of_two_instructions_followed(samples: list[Sample], ifeval: Benchmark):
    score = ifeval.score(samples[0], CAPS_NO_SECTIONS)
    assert not score.passed
    assert score.metrics["inst_level_strict"] == 0.5 and score.metrics["_inst_strict_followed"] == 1
    assert "detectable_format:multiple_sections" in (score.explanation or "")


def test_loose_forgives_a_preamble_line(samples: list[Sample], ifeval: Benchmark):
    strict_fail = ifeval.score(samples[1], POEM_WITH_PREAMBLE)  # the preamble has a comma
    assert not strict_fail.passed
    assert strict_fail.metrics["prompt_level_strict"] == 0.0 and strict_fail.metrics["prompt_level_loose"] == 1.0
    assert ifeval.score(samples[1], POEM).passed


def test_instruction_level_metrics_are_pooled_not_averaged(samples: list[Sample], ifeval: Benchmark):
    per_sample = [ifeval.score(samples[0], CAPS_NO_SECTIONS).metrics, ifeval.score(samples[1], POEM).metrics]
    metrics = type(ifeval).aggregate(per_sample)
    assert set(metrics) == {"prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose"}
    assert metrics["prompt_level_strict"] == 0.5
    assert metrics["inst_level_strict"] == pytest.approx(2 / 3)  # 2 of 3 instructions, not mean(0.5, 1.0)


def test_mismatched_kwargs_are_a_dataset_error(tmp_path: Path):
    row = {**data.IFEVAL_ROWS[0], "kwargs": [{}]}
    path = write_jsonl(tmp_path / "ifeval.jsonl", [row])
    with pytest.raises(DatasetError, match=r"ifeval.jsonl:1: .*2 instruction ids but 1 kwargs"):
        list(get_benchmark("ifeval")().load("default", DatasetLoader({"ifeval": str(path)})))
