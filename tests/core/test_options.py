"""Option parsing: URLs, generation parameters, .env, thresholds."""

from __future__ import annotations

import pytest

from pytest_llmeval.errors import ConfigError, ThresholdError
from pytest_llmeval.gating import parse_threshold
from pytest_llmeval.options import parse_bench_args, parse_gen, parse_protocols, read_dotenv
from pytest_llmeval.settings import EndpointSettings, normalize_base_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1/chat/completions", "http://localhost:8000/v1"),
        ("https://api.example.com/v1/chat/completions/", "https://api.example.com/v1"),
    ],
)
def test_base_url_accepts_root_and_full_chat_url(given, expected):
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize("bad", ["localhost:8000", "ftp://host/v1", "http://", ""])
def test_bad_base_url_names_the_expected_form(bad):
    with pytest.raises(ConfigError, match="expected an http\\(s\\) URL"):
        normalize_base_url(bad)


def test_gen_values_are_json_when_they_parse():
    gen = parse_gen([
        "temperature=0.7", "max_tokens=256", "stop=[\"\\n\\n\"]", "seed=1",
        'chat_template_kwargs={"enable_thinking": false}', "reasoning_effort=low",
    ])
    assert gen == {
        "temperature": 0.7, "max_tokens": 256, "stop": ["\n\n"], "seed": 1,
        "chat_template_kwargs": {"enable_thinking": False}, "reasoning_effort": "low",
    }


def test_gen_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="--llm-gen expects KEY=VALUE"):
        parse_gen(["temperature"])


def test_bench_args_group_by_benchmark():
    assert parse_bench_args(["live_code_bench.start_date=2025-01-01", "iquiz.subset_list=EQ"]) == {
        "live_code_bench": {"start_date": "2025-01-01"}, "iquiz": {"subset_list": "EQ"},
    }
    with pytest.raises(ConfigError):
        parse_bench_args(["start_date=2025"])


def test_protocol_option_sets_the_run_wide_protocol_and_per_benchmark_ones():
    bench_args = {"mmlu": {"few_shot_num": "0"}, "gsm8k": {"protocol": "evalscope"}}
    run_wide = parse_protocols(["native", "mmlu=evalscope", "gsm8k=native", "ceval=NATIVE"], bench_args)
    assert run_wide == "native"
    # BENCH=NAME lands in that benchmark's arguments; --llm-bench-arg BENCH.protocol, given too, wins
    assert bench_args == {"mmlu": {"few_shot_num": "0", "protocol": "evalscope"}, "gsm8k": {"protocol": "evalscope"},
                          "ceval": {"protocol": "native"}}


@pytest.mark.parametrize("bad", ["harness", "mmlu=", "mmlu=lm_eval"])
def test_unknown_protocol_names_the_known_ones(bad):
    with pytest.raises(ConfigError, match=r"--llm-protocol expects NAME or BENCH=NAME with NAME one of evalscope, native"):
        parse_protocols([bad], {})


def test_dotenv_reader(tmp_path):
    env = tmp_path / ".env"
    env.write_text("# comment\nexport OPENAI_API_KEY='sk-1'\nOPENAI_BASE_URL=http://h:1/v1\n\nBROKEN\n")
    assert read_dotenv(env) == {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://h:1/v1"}
    assert read_dotenv(tmp_path / "missing") == {}


def test_api_key_never_prints():
    settings = EndpointSettings(model="m", base_url="http://h:1/v1", api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.public_dict())
    assert settings.headers()["Authorization"] == "Bearer sk-very-secret"


@pytest.mark.parametrize(
    ("text", "bench", "subset", "metric", "op", "value"),
    [
        ("gsm8k.acc>=0.8", "gsm8k", None, "acc", ">=", 0.8),
        ("iquiz.EQ.acc > .5", "iquiz", "EQ", "acc", ">", 0.5),
        ("ifeval.prompt_level_strict<1", "ifeval", None, "prompt_level_strict", "<", 1.0),
        (" x.m <= 1e-2 ", "x", None, "m", "<=", 0.01),
    ],
)
def test_threshold_parsing(text, bench, subset, metric, op, value):
    rule = parse_threshold(text)
    assert (rule.benchmark, rule.subset, rule.metric, rule.op, rule.value) == (bench, subset, metric, op, value)
    assert rule.holds(value) == (op in (">=", "<="))


@pytest.mark.parametrize("bad", ["gsm8k.acc", "gsm8k.acc == 1", "acc>=0.5", "a.b.c.d>=1", "gsm8k.acc>=high"])
def test_bad_threshold_expressions(bad):
    with pytest.raises(ThresholdError, match="bad --llm-threshold"):
        parse_threshold(bad)
