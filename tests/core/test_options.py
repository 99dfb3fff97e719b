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
    gen = parse_gen(
        [
            "temperature=0.7",
            "max_tokens=256",
            'stop=["\\n\\n"]',
            "seed=1",
            'chat_template_kwargs={"enable_thinking": false}',
            "reasoning_effort=low",
        ]
    )
    assert gen == {
        "temperature": 0.7,
        "max_tokens": 256,
        "stop": ["\n\n"],
        "seed": 1,
        "chat_template_kwargs": {"enable_thinking": False},
        "reasoning_effort": "low",
    }


def test_gen_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="--llm-gen expects KEY=VALUE"):
        parse_gen(["temperature"])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("max_token=16", "'max_token' is not a request field (a server would ignore it); did you mean 'max_tokens'?"),
        ("temprature=0", "did you mean 'temperature'?"),
        ("stops=[1]", "did you mean 'stop'?"),
        ("max_tokens=abc", "max_tokens must be a whole number >= 1, e.g. --llm-gen max_tokens=256"),
        ("max_tokens=0", "max_tokens must be a whole number >= 1"),
        ("max_tokens=2.5", "max_tokens must be a whole number >= 1"),
        ("n=true", "n must be a whole number >= 1"),
        ("seed=1.5", "seed must be a whole number"),
        ("temperature=hot", "temperature must be a number, e.g. --llm-gen temperature=0"),
    ],
)
def test_gen_typo_or_wrong_type_of_a_known_field_is_a_usage_error(item, message):
    with pytest.raises(ConfigError) as raised:
        parse_gen([item])
    assert str(raised.value).startswith(f"--llm-gen {item}: ") and message in str(raised.value)


def test_gen_passes_server_fields_and_null_through():
    items = ["min_tokens=3", "max_new_tokens=5", "top_k=-1", "max_tokens=null", "my_server_flag=on", "n_predict=8"]
    assert parse_gen(items) == {
        "min_tokens": 3,
        "max_new_tokens": 5,
        "top_k": -1,
        "max_tokens": None,
        "my_server_flag": "on",
        "n_predict": 8,
    }


def test_bench_args_group_by_benchmark():
    assert parse_bench_args(["live_code_bench.start_date=2025-01-01", "iquiz.subset_list=EQ"]) == {
        "live_code_bench": {"start_date": "2025-01-01"},
        "iquiz": {"subset_list": "EQ"},
    }
    with pytest.raises(ConfigError):
        parse_bench_args(["start_date=2025"])


def test_protocol_option_sets_the_run_wide_protocol_and_per_benchmark_ones():
    bench_args = {"mmlu": {"few_shot_num": "0"}, "gsm8k": {"protocol": "evalscope"}}
    run_wide = parse_protocols(["native", "mmlu=evalscope", "gsm8k=native", "ceval=NATIVE"], bench_args)
    assert run_wide == "native"
    # BENCH=NAME lands in that benchmark's arguments; --llm-bench-arg BENCH.protocol, given too, wins
    assert bench_args == {
        "mmlu": {"few_shot_num": "0", "protocol": "evalscope"},
        "gsm8k": {"protocol": "evalscope"},
        "ceval": {"protocol": "native"},
    }


@pytest.mark.parametrize("bad", ["harness", "mmlu=", "mmlu=lm_eval"])
def test_unknown_protocol_names_the_known_ones(bad):
    with pytest.raises(
        ConfigError, match=r"--llm-protocol expects NAME or BENCH=NAME with NAME one of evalscope, native"
    ):
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


# -- one place for configuration: defaults and range checks live in the settings models --------


def test_no_option_help_writes_a_default_of_its_own():
    """A default written in a help text drifts from the one the code uses: every "(default N)" is
    filled in from the settings model the value ends up in."""
    import re

    from pytest_llmeval.options import OPTIONS
    from pytest_llmeval.settings import SHOWN_FAILURES, field_default

    for spec in OPTIONS:
        help_text = spec.help.replace(f"default {SHOWN_FAILURES},", "default SHOWN_FAILURES,")
        assert not re.search(r"default \d", help_text), spec.flag
        default = field_default(spec.field) if spec.field else None
        if default is not None:
            assert "{default" in spec.help, spec.flag
            assert (f"{default:g}" if isinstance(default, float) else str(default)) in spec.text, spec.flag


def test_the_help_defaults_are_the_models_defaults():
    """Declaring the options must not build the pydantic models (every pytest run declares them), so
    the help texts read `HELP_DEFAULTS`: each entry is the settings model's default, value and type."""
    from pytest_llmeval import options, settings

    fields = {spec.field for spec in options.OPTIONS if spec.field}
    assert set(options.HELP_DEFAULTS) == fields
    for field, shown in options.HELP_DEFAULTS.items():
        default = settings.field_default(field)
        assert (shown, type(shown)) == (default, type(default)), field
    assert options.SHOWN_FAILURES == settings.SHOWN_FAILURES


def test_an_ordinary_run_imports_no_settings_model(pytester):
    """With the plugin installed but no --llm-model, pytest's own start-up is all a run pays: no
    pydantic, no settings model, no client (the plugin's import was 90 ms of it)."""
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.makeconftest(
        "import sys\n"
        "def pytest_sessionfinish(session):\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith(('pydantic', 'pytest_llmeval.settings', "
        "'pytest_llmeval.endpoint')))\n"
        "    print('LOADED', loaded)\n"
    )
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LOADED []*"])


def test_help_shows_the_models_defaults(pytester):
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())
    for needle in (
        "in flight per process (default 16)",
        "one request times out (default 600)",
        "--llm-shuffle (default 42)",
        "each --llm-early-stop decision (default 0.05)",
    ):
        assert needle in text


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            "llm_early_stop_alpha = 1.5\nllm_threshold = gsm8k.acc>=0.5\nllm_early_stop = true",
            "--llm-early-stop-alpha (ini llm_early_stop_alpha) must be a level between 0 and 1 (e.g. 0.05), got 1.5",
        ),
        (
            "llm_concurrency = 0",
            "--llm-concurrency (ini llm_concurrency) must be greater than 0, got 0; omit it for the default (16)",
        ),
        (
            "llm_repeats = 2000",
            "--llm-repeats (ini llm_repeats) must be at most 1024, got 2000; omit it for the default (1)",
        ),
        ("llm_significance = 0.05", "--llm-significance needs --llm-max-drop X"),
        # these named the settings field instead: "invalid llm option media.image_max_side: ..."
        ("llm_image_max_side = 4", "--llm-image-max-side (ini llm_image_max_side) must be 16 or more, got 4"),
        ("llm_image_format = gif", "--llm-image-format (ini llm_image_format): Input should be 'keep', 'png', "),
    ],
)
def test_a_refused_ini_value_names_its_option_ini_key_and_default(pytester, ini, message):
    pytester.makeini(f"[pytest]\nllm_model = m\nllm_base_url = http://127.0.0.1:9/v1\n{ini}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_only_the_option_layer_reads_llm_options():
    """Every plugin reads `RunSettings`; only options.py (and plugin.py's `--llm-list`, before any
    settings exist) read the raw options."""
    import ast
    from pathlib import Path

    package = Path(__file__).parents[2] / "pytest_llmeval"
    readers = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name == "OptionReader" or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("getoption", "getini")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("llm_")
            ):
                readers.append(path.relative_to(package).as_posix())
    assert set(readers) <= {"options.py", "plugin.py"}, sorted(set(readers))
