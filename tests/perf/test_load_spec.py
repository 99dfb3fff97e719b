"""Load arguments: sweep pairing and usage errors before any request is sent."""

from __future__ import annotations

import pytest

from pytest_llmeval.errors import ConfigError
from pytest_llmeval.perf.load import make_spec, parse_words


def test_sweep_pairs_parallel_and_number_by_position() -> None:
    spec = make_spec({"parallel": [1, 8, 32], "number": [8, 64, 256], "prompt_tokens": 1024, "output_tokens": 256})
    assert [(lv.parallel, lv.number) for lv in spec.levels] == [(1, 8), (8, 64), (32, 256)]
    assert spec.workload.prompt_tokens == (1024, 1024)
    assert spec.total_requests == 256


def test_single_number_and_default_number() -> None:
    assert [lv.number for lv in make_spec({"parallel": [2, 4], "number": 16}).levels] == [16, 16]
    assert [lv.number for lv in make_spec({"parallel": [2, 4]}).levels] == [10, 20]


def test_open_loop_levels() -> None:
    spec = make_spec({"rate": [5, 10], "number": 20, "parallel": 4, "arrival": "constant"})
    assert [(lv.rate, lv.number, lv.parallel, lv.closed) for lv in spec.levels] == [
        (5, 20, 4, False),
        (10, 20, 4, False),
    ]
    assert spec.workload.arrival == "constant"


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ({"parallel": 0}, "parallel must be 1 or more"),
        ({"parallel": 8, "number": 4}, "number (4) is smaller than parallel (8)"),
        ({"parallel": [1, 2], "number": [1, 2, 3]}, "3 numbers for 2 parallel levels"),
        ({"rate": 5}, "needs number=N or duration"),
        ({"rate": [1, 2], "parallel": [1, 2], "number": 4}, "either parallel"),
        ({"rate": 0, "number": 3}, "rate must be a positive"),
        ({"paralel": 4}, "unknown argument 'paralel'"),
        ({"prompt_tokens": [10, 5]}, "1 <= min <= max"),
        ({"slo": {"ttft_ms": 5}}, "unknown SLO"),
        ({"dataset": "openqa"}, "needs dataset_path"),
        ({"dataset": "jsonl", "dataset_path": "/nonexistent/file.jsonl"}, "is not a file"),
        ({"image_format": "tiff"}, "unknown image format"),
        ({"transport": "curl"}, "unknown transport"),
    ],
)
def test_invalid_arguments_are_usage_errors(load: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="perf") as info:
        make_spec(load)
    assert message in str(info.value)


def test_parse_words_from_the_command_line() -> None:
    load = parse_words(
        [
            "parallel=1,8,32",
            "number=8,64,256",
            "dataset=random",
            "prompt_tokens=1024",
            "output_tokens=256",
            'extra_body={"ignore_eos": true}',
            "stream=false",
            'slo={"ttft": 0.5}',
        ]
    )
    spec = make_spec(load)
    assert [lv.parallel for lv in spec.levels] == [1, 8, 32]
    assert spec.workload.extra_body == {"ignore_eos": True}
    assert spec.workload.stream is False
    assert spec.workload.slo == {"ttft": 0.5}
    assert make_spec(parse_words(["prompt_tokens=512,1024"])).workload.prompt_tokens == (512, 1024)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["parallel"], "KEY=VALUE"),
        (["paralel=3"], "unknown key 'paralel'"),
        (["extra_body={not json"], "JSON object"),
        (["stream=maybe"], "true or false"),
        (["output_tokens=lots"], "expects a number"),
    ],
)
def test_bad_words_are_usage_errors(words: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_spec(parse_words(words))
    assert message in str(info.value)
