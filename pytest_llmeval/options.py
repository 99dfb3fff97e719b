"""Declares the `--llm-*` options (each also an `llm_*` ini key) and resolves them into `RunSettings`.

Precedence, highest first: command line, ini file (`[tool.pytest.ini_options]`, pytest.ini, tox.ini),
environment variable, `.env` file in the rootdir. The `.env` file never overrides the real environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .errors import ConfigError

if TYPE_CHECKING:  # the models are imported when settings are resolved: a run without --llm-model never needs them
    from pydantic import ValidationError

    from .settings import ArenaOptions, BaseURL, EndpointSettings, RunSettings

SHOWN_FAILURES = 3  # settings.SHOWN_FAILURES, for the help text (checked by the same test)

# The defaults the help texts show, written here so that declaring the options (every pytest run, the
# plugin's too when it stays off) does not build the pydantic models; the models stay the one source:
# tests/core/test_options.py checks every entry against `settings.field_default`.
HELP_DEFAULTS: dict[str, Any] = {
    "endpoint.concurrency": 16,
    "endpoint.timeout_s": 600.0,
    "endpoint.retries": 3,
    "endpoint.max_response_bytes": 16 * 1024 * 1024,
    "limit": None,
    "seed": 42,
    "early_stop_alpha": 0.05,
    "max_errors": 0,
    "repeats": 1,
    "compare.max_drop": None,
    "compare.significance": None,
    "serve.timeout_s": 600.0,
    "endpoint.client_process": "auto",
    "max_tokens_budget": None,
    "max_cost": None,
    "mlflow_experiment": "pytest-llmbench",
    "media.image_max_side": None,
    "media.image_format": "keep",
}


@dataclass(frozen=True)
class OptionSpec:
    name: str  # "model" -> --llm-model / llm_model
    help: str
    kind: str = "str"  # str | int | float | flag | list (repeatable) | words (one or more after the flag)
    env: str | None = None
    metavar: str | None = None
    field: str | None = None  # dotted path in RunSettings ("endpoint.concurrency"): its default fills "{default}"

    @property
    def flag(self) -> str:
        return "--llm-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return "llm_" + self.name

    @property
    def text(self) -> str:
        """The help text, `{default}` filled in with the settings model's default (`HELP_DEFAULTS`)."""
        return self.help.format(default=HELP_DEFAULTS[self.field]) if self.field else self.help

    def describe(self) -> str:
        """How an error names this option: `--llm-concurrency (ini llm_concurrency)`."""
        return f"{self.flag} (ini {self.dest}{', env ' + self.env if self.env else ''})"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("model", "model name sent in each request; enables the plugin", env="LLM_MODEL", metavar="NAME"),
    OptionSpec(
        "base_url",
        "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (the full .../chat/completions URL works too); "
        "repeat it (or list several in the ini) for replicas of one model: each request goes to the one with the "
        "fewest requests in flight (docs/scaling.md)",
        kind="list",
        env="OPENAI_BASE_URL",
        metavar="URL",
    ),
    OptionSpec("api_key", "API key (never printed or written anywhere)", env="OPENAI_API_KEY", metavar="KEY"),
    OptionSpec(
        "gen",
        "generation parameter KEY=VALUE added to every request body (VALUE parsed as JSON when it is JSON); repeatable",
        kind="list",
        metavar="KEY=VALUE",
    ),
    OptionSpec(
        "concurrency",
        "requests in flight per process (default {default})",
        kind="int",
        metavar="N",
        field="endpoint.concurrency",
    ),
    OptionSpec(
        "timeout",
        "seconds before one request times out (default {default:g})",
        kind="float",
        metavar="S",
        field="endpoint.timeout_s",
    ),
    OptionSpec(
        "retries",
        "retries on 429/5xx/connection errors, full-jitter backoff, Retry-After honoured (default {default})",
        kind="int",
        metavar="N",
        field="endpoint.retries",
    ),
    OptionSpec("stream", "stream responses (gives time to first token)", kind="flag"),
    OptionSpec(
        "max_response_bytes",
        "largest response body accepted, in bytes; a longer one is a bad_response error of its sample "
        "(default {default} = 16 MiB)",
        kind="int",
        metavar="N",
        field="endpoint.max_response_bytes",
    ),
    OptionSpec("limit", "first N samples of each benchmark subset", kind="int", metavar="N", field="limit"),
    OptionSpec("shuffle", "shuffle samples (with --llm-seed) before --llm-limit", kind="flag"),
    OptionSpec("seed", "seed for --llm-shuffle (default {default})", kind="int", metavar="N", field="seed"),
    OptionSpec(
        "dataset",
        "NAME=PATH or NAME.SUBSET=PATH: read a local jsonl/json/csv/parquet file or save_to_disk folder "
        "instead of the hub; repeatable",
        kind="list",
        metavar="NAME=PATH",
    ),
    OptionSpec(
        "hub",
        "dataset hub: auto (each benchmark's home: ModelScope for iquiz, Hugging Face for the others), "
        "huggingface or modelscope (needs pytest-llmbench[modelscope])",
        env="LLM_HUB",
        metavar="auto|huggingface|modelscope",
    ),
    OptionSpec(
        "bench_arg",
        "BENCH.KEY=VALUE benchmark argument (subset_list, few_shot_num, dates...); repeatable",
        kind="list",
        metavar="BENCH.KEY=VALUE",
    ),
    OptionSpec(
        "protocol",
        "prompt protocol: evalscope (default: EvalScope 1.14.1's prompts and few-shot counts) or native (this "
        "plugin's own); BENCH=NAME for one benchmark; repeatable",
        kind="list",
        metavar="NAME|BENCH=NAME",
    ),
    OptionSpec(
        "output_type",
        "generate_until (default: the model writes its answer) or multiple_choice (log-likelihood of each choice "
        "through /v1/completions, lm-eval's output_type; acc and acc_norm); BENCH=NAME or BENCH:NAME for one "
        "benchmark; repeatable",
        kind="list",
        metavar="NAME|BENCH=NAME",
    ),
    OptionSpec(
        "chat_template_file",
        "Jinja chat template wrapping log-likelihood contexts of benchmarks with chat_template=on "
        "(--llm-bench-arg BENCH.chat_template=on; default: the served GGUF's own template)",
        metavar="PATH",
    ),
    OptionSpec(
        "answer_parser",
        "multiple-choice answer parser: strict (default: explicit answer cues only) or evalscope (the reference "
        "system's, with its last-capital-letter fallback) to reproduce its numbers",
        metavar="strict|evalscope",
    ),
    OptionSpec(
        "threshold", "gate, e.g. 'gsm8k.acc>=0.8' or 'iquiz.EQ.acc>0.5'; repeatable", kind="list", metavar="EXPR"
    ),
    OptionSpec(
        "threshold_mode",
        "point (default): gate on the score; ci: pass when the 95% interval is above the threshold, fail when below, "
        "undecided (fails) in between",
        metavar="point|ci",
    ),
    OptionSpec(
        "early_stop",
        "with --llm-threshold: draw samples in a seeded random order and stop requesting a benchmark's samples "
        "once an anytime-valid test decides all its thresholds",
        kind="flag",
    ),
    OptionSpec(
        "early_stop_alpha",
        "error level of each --llm-early-stop decision (default {default})",
        kind="float",
        metavar="ALPHA",
        field="early_stop_alpha",
    ),
    OptionSpec(
        "max_errors",
        "endpoint errors tolerated when thresholds decide the exit status (default {default})",
        kind="int",
        metavar="N",
        field="max_errors",
    ),
    OptionSpec(
        "show_failures",
        f"wrong answers (and errors) shown per benchmark at the end "
        f"(default {SHOWN_FAILURES}, all with -v; -1 for all)",
        kind="int",
        metavar="N",
    ),
    OptionSpec("results", "write the results JSON here", metavar="PATH"),
    OptionSpec("samples", "write one JSON line per sample here", metavar="PATH"),
    OptionSpec("cache_dir", "response cache folder (default: .pytest_cache/llmeval)", metavar="DIR"),
    OptionSpec("no_cache", "neither read nor write the response cache", kind="flag"),
    OptionSpec(
        "repeats",
        "K separate requests per sample (own cache entries), scored like n=K generations: pass@k and "
        "AveragePass@1 from any server, also those ignoring n (default {default})",
        kind="int",
        metavar="K",
        field="repeats",
    ),
    OptionSpec("keep_thinking", "score the raw output, without removing text up to </think>", kind="flag"),
    OptionSpec(
        "think_eval",
        "reasoning efficiency per sample and level: reasoning tokens, tokens to the first correct answer, "
        "token efficiency, thought count (docs/thinking.md)",
        kind="flag",
    ),
    OptionSpec(
        "thought_markers",
        "a phrase that opens a new line of thought for --llm-think-eval (replaces the built-in list); repeatable",
        kind="list",
        metavar="PHRASE",
    ),
    OptionSpec(
        "image_max_side",
        "downscale images so that their longer side is at most N pixels before sending (default: as they are)",
        kind="int",
        metavar="N",
        field="media.image_max_side",
    ),
    OptionSpec(
        "image_format",
        "re-encode images as png, jpeg or webp before sending (default {default})",
        metavar="FORMAT",
        field="media.image_format",
    ),
    OptionSpec("judge_model", "model that grades answers rules cannot check (LLM-as-judge)", metavar="NAME"),
    OptionSpec("judge_base_url", "endpoint of the judge model (default: --llm-base-url)", metavar="URL"),
    OptionSpec(
        "judge_api_key",
        "API key of the judge endpoint (default: --llm-api-key)",
        env="LLM_JUDGE_API_KEY",
        metavar="KEY",
    ),
    OptionSpec(
        "collection",
        "run a collection file: one item per record, scored by its own benchmark (docs/collections.md)",
        metavar="SUITE.jsonl",
    ),
    OptionSpec(
        "collection_skip_unknown",
        "skip (and count) collection records of benchmarks this plugin does not have",
        kind="flag",
    ),
    OptionSpec("list", "list the available benchmarks with subsets and metrics, then exit", kind="flag"),
    OptionSpec(
        "perf",
        "run a load sweep without writing a test: KEY=VALUE words, e.g. parallel=1,8,32 number=8,64,256 "
        "(see docs/perf.md)",
        kind="words",
        metavar="KEY=VALUE",
    ),
    OptionSpec(
        "tokenizer",
        "local Hugging Face tokenizer folder or tokenizer.json (exact prompt lengths for perf, "
        "token counts for --llm-think-eval)",
        metavar="PATH",
    ),
    OptionSpec("compare", "previous results JSON: show score deltas against it", metavar="OLD_RESULTS.json"),
    OptionSpec(
        "max_drop",
        "fail the run when any metric dropped more than this versus --llm-compare",
        kind="float",
        metavar="X",
        field="compare.max_drop",
    ),
    OptionSpec(
        "significance",
        "with --llm-max-drop: count a drop only when it is also significant at this level, e.g. 0.05",
        kind="float",
        metavar="ALPHA",
        field="compare.significance",
    ),
    OptionSpec("serve", "start this server command for the run; {port} and {model} are filled in", metavar="CMD"),
    OptionSpec(
        "serve_timeout",
        "seconds to wait for the started server to answer (default {default:g})",
        kind="float",
        metavar="S",
        field="serve.timeout_s",
    ),
    OptionSpec(
        "fixed_concurrency",
        "keep --llm-concurrency requests in flight whatever the server answers (default: adaptive, the limit "
        "halves on 429/503 and grows back while the server keeps up; see docs/rate-limits.md)",
        kind="flag",
    ),
    OptionSpec(
        "client_process",
        "auto, on or off: make the evaluation's HTTP requests in a child process, so that they do not share "
        "pytest's interpreter lock (default {default}: on when this process may use 2 CPUs or more; see "
        "docs/speed.md)",
        metavar="WHEN",
        field="endpoint.client_process",
    ),
    OptionSpec(
        "perf_slo",
        "search the highest concurrency meeting this SLO, e.g. 'p99_ttft<=2s,tpot<=50ms' (doubling, then "
        "bisection, 3 repeats per level); --llm-perf words give the workload and parallel=START,LIMIT "
        "(see docs/perf.md)",
        metavar="SLO",
    ),
    OptionSpec(
        "prices",
        "price table (YAML, JSON or TOML): USD per million input/output/reasoning tokens per model; turns the "
        "token counts into cost (docs/cost.md)",
        metavar="FILE",
    ),
    OptionSpec(
        "max_tokens_budget",
        "send no request past N tokens (prompt + completion; each request reserves its bound first, needs "
        "--llm-gen max_tokens=M); the rest of the run is left unrun and the run is incomplete (docs/cost.md)",
        kind="int",
        metavar="N",
        field="max_tokens_budget",
    ),
    OptionSpec(
        "max_cost",
        "like --llm-max-tokens-budget, in USD priced by --llm-prices (docs/cost.md)",
        kind="float",
        metavar="USD",
        field="max_cost",
    ),
    OptionSpec(
        "mlflow",
        "log the run to MLflow at this tracking URI (http://host:5000, file:./mlruns, databricks...): params, "
        "metrics with interval bounds, the samples table, perf levels; needs pytest-llmbench[mlflow] "
        "(docs/trackers.md)",
        metavar="URI",
    ),
    OptionSpec(
        "mlflow_experiment",
        "MLflow experiment of --llm-mlflow, created when missing (default {default})",
        metavar="NAME",
        field="mlflow_experiment",
    ),
    OptionSpec(
        "wandb",
        "log the run to this Weights & Biases project (WANDB_MODE=offline works); needs pytest-llmbench[wandb] "
        "(docs/trackers.md)",
        metavar="PROJECT",
    ),
    OptionSpec(
        "tracker_run_name",
        "the run's name in MLflow and W&B (default: model and start time)",
        metavar="NAME",
    ),
    OptionSpec(
        "arena_model",
        "a model of an arena run: NAME=URL or NAME=smollm2-135m, then ,key=ENV ,model=ID ,GEN=VALUE; "
        "repeatable, the first is the baseline unless --llm-arena-baseline says (docs/arena.md)",
        kind="list",
        metavar="NAME=URL[,...]",
    ),
    OptionSpec("arena_baseline", "the arena model the others are compared with (default: the first)", metavar="NAME"),
    OptionSpec(
        "arena_judge",
        "the arena's judge: an arena model's NAME or NAME=URL[,...] (default: --llm-judge-model)",
        metavar="NAME[=URL,...]",
    ),
    OptionSpec(
        "arena_prompts",
        "the arena's prompts: ArenaHard question.jsonl, AlpacaEval JSON, a JSONL of {id, prompt}, or bench:NAME",
        metavar="SPEC",
    ),
    OptionSpec("arena_config", "a YAML file with the arena's models, baseline, judge and prompts", metavar="FILE.yaml"),
    OptionSpec(
        "arena_judge_template",
        "a file replacing the judge prompt ({question}, {answer_a}, {answer_b}, {labels})",
        metavar="FILE",
    ),
    OptionSpec("arena_scale", "verdict scale: five (A>>B .. B>>A, ArenaHard; default) or three", metavar="SCALE"),
    OptionSpec(
        "arena_self_judge", "accept a judge that is also a contestant (it favours its own answers)", kind="flag"
    ),
    OptionSpec(
        "arena_bootstrap",
        "bootstrap rounds of the arena's 95% intervals; 0: none (docs/arena.md)",
        kind="int",
        metavar="N",
    ),
    OptionSpec(
        "shard",
        "run shard I of N (1/4 ... 4/4): a deterministic 1/N of every benchmark subset and collection group, "
        "merged afterwards with `python -m pytest_llmeval.report merge` (docs/scaling.md)",
        metavar="I/N",
    ),
    OptionSpec(
        "embedding_model",
        "the embedding model of every embedding / reranker task (their `model` argument; "
        "--llm-bench-arg TASK.model wins), e.g. beside a chat model in one collection (docs/embeddings.md)",
        metavar="NAME",
    ),
)

_BY_NAME = {spec.name: spec for spec in OPTIONS}


def argparse_help(text: str) -> str:
    """`text` as argparse help: argparse %-formats every help string (`%(default)s`), so a literal
    `%` ("95% interval") must be doubled or `pytest --help` dies with "TypeError: %i format"."""
    return text.replace("%", "%%")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmeval", "LLM evaluation (pytest-llmbench)")
    for spec in OPTIONS:
        help_text = argparse_help(spec.text)  # the ini help is printed as it is
        if spec.kind == "flag":
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.dest, help=help_text)
            parser.addini(spec.dest, spec.text, type="bool", default=None)
        elif spec.kind == "words":
            group.addoption(
                spec.flag,
                action="extend",
                nargs="+",
                default=None,
                dest=spec.dest,
                metavar=spec.metavar,
                help=help_text,
            )
            parser.addini(spec.dest, spec.text, type="linelist", default=None)
        elif spec.kind == "list":
            group.addoption(
                spec.flag, action="append", default=None, dest=spec.dest, metavar=spec.metavar, help=help_text
            )
            parser.addini(spec.dest, spec.text, type="linelist", default=None)
        else:
            group.addoption(
                spec.flag, action="store", default=None, dest=spec.dest, metavar=spec.metavar, help=help_text
            )
            parser.addini(spec.dest, spec.text, type="string", default=None)


def read_dotenv(path: Path) -> dict[str, str]:
    """Minimal `.env` reader: KEY=VALUE lines, `#` comments, optional `export ` and quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class OptionReader:
    """Looks up one option through the precedence chain."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.dotenv = read_dotenv(Path(config.rootpath) / ".env")

    def raw(self, name: str) -> Any:
        spec = _BY_NAME[name]
        value = self.config.getoption(spec.dest, default=None)
        if value is None:
            value = self.config.getini(spec.dest)
            if value in (None, [], ""):
                value = None
        if value is None and spec.env:
            # a variable set in the real environment wins over .env, even when it is set empty
            value = (os.environ[spec.env] if spec.env in os.environ else self.dotenv.get(spec.env)) or None
        return value

    def origin(self, name: str) -> str:
        """Where the option's value came from, as an error names it: `--llm-prices` or `ini llm_prices`."""
        spec = _BY_NAME[name]
        if self.config.getoption(spec.dest, default=None) is not None:
            return spec.flag
        if self.config.getini(spec.dest) not in (None, [], ""):
            return f"ini {spec.dest} ({spec.flag})"
        return f"env {spec.env} ({spec.flag})" if spec.env else spec.flag

    def get(self, name: str) -> Any:
        spec = _BY_NAME[name]
        value = self.raw(name)
        if value is None:
            return [] if spec.kind in ("list", "words") else (False if spec.kind == "flag" else None)
        if spec.kind == "list" and isinstance(value, str):  # from the environment: one value
            return [value]
        try:
            if spec.kind == "int":
                return int(value)
            if spec.kind == "float":
                return float(value)
            if spec.kind == "flag":
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        except ValueError:
            raise ConfigError(f"{spec.flag} (ini {spec.dest}) expects a number, got {value!r}") from None
        return value


HUB_CHOICES = ("auto", "huggingface", "modelscope")


def check_hub(value: str | None) -> str:
    """The `--llm-hub` value, checked: anything else is a usage error naming the choices."""
    hub = (value or "auto").strip().lower()
    hub = {"hf": "huggingface", "hugging_face": "huggingface", "ms": "modelscope"}.get(hub, hub)
    if hub not in HUB_CHOICES:
        raise ConfigError(
            f"--llm-hub (ini llm_hub, env LLM_HUB) must be one of {', '.join(HUB_CHOICES)}, got {value!r}"
        )
    return hub


def parse_json_value(text: str) -> Any:
    """`0.7` -> 0.7, `["\\n"]` -> list, `{"enable_thinking": false}` -> dict; anything else stays a string."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def split_pair(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{flag} expects KEY=VALUE, got {item!r}")
    return key.strip(), value.strip()


# Request-body fields of the OpenAI chat API and of the servers the plugin is used with (vLLM, SGLang,
# llama.cpp, TGI, ollama). Any field passes through, but one that is none of these and close to one
# (`max_token`, `temprature`) is a typo the server would ignore without a word: a usage error.
KNOWN_GEN_FIELDS = frozenset(
    (
        # OpenAI chat completions
        "audio frequency_penalty function_call functions logit_bias logprobs max_completion_tokens max_tokens "
        "metadata modalities n parallel_tool_calls prediction presence_penalty reasoning_effort response_format "
        "seed service_tier stop store stream stream_options temperature tool_choice tools top_logprobs top_p user "
        "verbosity web_search_options extra_body "
        # vLLM / SGLang
        "add_generation_prompt add_special_tokens allowed_token_ids bad_words best_of cache_salt chat_template "
        "chat_template_kwargs continue_final_message documents echo ebnf guided_choice guided_decoding_backend "
        "guided_grammar guided_json guided_regex guided_whitespace_pattern ignore_eos include_stop_str_in_output "
        "json_schema length_penalty lora_path min_p min_tokens mm_processor_kwargs no_stop_trim priority "
        "prompt_logprobs regex repetition_penalty request_id return_hidden_states return_tokens_as_token_ids "
        "separate_reasoning skip_special_tokens spaces_between_special_tokens stop_token_ids stream_reasoning "
        "structured_outputs top_k truncate_prompt_tokens use_beam_search vllm_xargs "
        # llama.cpp, koboldcpp, TGI, ollama
        "cache_prompt dry_allowed_length dry_base dry_multiplier dry_penalty_last_n dry_sequence_breakers "
        "dynatemp_exponent dynatemp_range grammar id_slot min_keep mirostat mirostat_eta mirostat_tau n_indent "
        "n_keep n_predict n_probs penalize_nl post_sampling_probs reasoning_format repeat_last_n repeat_penalty "
        "samplers tfs_z top_a top_n_sigma typical_p xtc_probability xtc_threshold max_new_tokens num_predict "
        "stop_sequences do_sample num_ctx keep_alive think"
    ).split()
)
# Fields whose type every server agrees on: a value of another type fails every request of the run.
_GEN_WHOLE: dict[str, tuple[int | None, int]] = {  # field -> (minimum, an example)
    "max_tokens": (1, 256),
    "max_completion_tokens": (1, 256),
    "n": (1, 4),
    "seed": (None, 0),
    "top_k": (None, 20),
}
_GEN_NUMBERS = ("temperature", "top_p", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty")


def check_gen_field(where: str, key: str, value: Any, flag: str = "--llm-gen ") -> None:
    """Raise ConfigError for a generation key that looks like a misspelt known field, or a known field
    whose value has the wrong type (`max_tokens=abc`, `max_tokens=0`, `temperature=hot`); null passes
    (the server's default). `where` starts the message (`--llm-gen max_token=16`); `flag` is how the
    example fix is written (`--llm-gen `, or nothing for the `llm` fixture's keywords)."""
    import difflib

    if key not in KNOWN_GEN_FIELDS:
        close = difflib.get_close_matches(key, sorted(KNOWN_GEN_FIELDS), n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"{where}: {key!r} is not a request field (a server would ignore it); did you mean {close[0]!r}?"
            )
        return
    if value is None:
        return
    if key in _GEN_WHOLE:
        minimum, example = _GEN_WHOLE[key]
        if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
            wanted = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
            raise ConfigError(f"{where}: {key} must be {wanted}, e.g. {flag}{key}={example}")
    elif key in _GEN_NUMBERS and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise ConfigError(f"{where}: {key} must be a number, e.g. {flag}{key}=0")


def parse_gen(items: list[str]) -> dict[str, Any]:
    gen: dict[str, Any] = {}
    for item in items:
        key, raw = split_pair(item, "--llm-gen")
        gen[key] = parse_json_value(raw)
        check_gen_field(f"--llm-gen {item.strip()}", key, gen[key])
    return gen


def parse_bench_args(items: list[str]) -> dict[str, dict[str, str]]:
    args: dict[str, dict[str, str]] = {}
    for item in items:
        key, value = split_pair(item, "--llm-bench-arg")
        bench, dot, arg = key.partition(".")
        if not dot or not arg:
            raise ConfigError(f"--llm-bench-arg expects BENCH.KEY=VALUE, got {item!r}")
        args.setdefault(bench, {})[arg] = value
    return args


def parse_per_benchmark(
    items: list[str],
    flag: str,
    choices: tuple[str, ...],
    arg: str,
    bench_args: dict[str, dict[str, str]],
    *,
    colon: bool = False,
) -> str | None:
    """`FLAG NAME` (the run's choice, returned) and `BENCH=NAME` (`BENCH:NAME` too with `colon`), put in
    BENCH's arguments under `arg`, where an explicit `--llm-bench-arg BENCH.ARG` wins. A name outside
    `choices`, or `=NAME` without a benchmark, is a usage error naming the forms and the choices."""
    run_wide = None
    for item in items:
        bench, sep, name = (item.replace(":", "=") if colon else item).rpartition("=")
        name = name.strip().lower()
        if name not in choices or (sep and not bench.strip()):
            forms = "NAME or BENCH=NAME" + (" (BENCH:NAME)" if colon else "")
            raise ConfigError(f"{flag} expects {forms} with NAME one of {', '.join(choices)}, got {item!r}")
        if sep:
            bench_args.setdefault(bench.strip(), {}).setdefault(arg, name)
        else:
            run_wide = name
    return run_wide


def parse_protocols(items: list[str], bench_args: dict[str, dict[str, str]]) -> str | None:
    """`--llm-protocol NAME` (the run's protocol, returned) and `BENCH=NAME` (put in BENCH's arguments)."""
    from .benchmarks.protocols import PROTOCOL_NAMES

    return parse_per_benchmark(items, "--llm-protocol", tuple(PROTOCOL_NAMES), "protocol", bench_args)


def _answer_parser(value: str | None) -> str | None:
    from .scoring.reference_choice import ANSWER_PARSERS

    if value is None:
        return None
    if value.strip().lower() not in ANSWER_PARSERS:
        raise ConfigError(
            f"--llm-answer-parser (ini llm_answer_parser) must be one of {', '.join(ANSWER_PARSERS)}, got {value!r}"
        )
    return value.strip().lower()


def resolve_settings(config: pytest.Config) -> RunSettings | None:
    """The run's settings, or None when no --llm-model is given (the plugin then stays out of the way).

    This function only reads and parses: an option left unset is left out, so the model's default
    applies, and the range checks are the models' (`settings.py`); a value they refuse becomes one
    usage error naming the option, its ini key and its default. Raises ConfigError."""
    opts = OptionReader(config)
    model = opts.get("model")
    arena = _arena_options(opts)
    if arena is not None:
        if model:
            raise ConfigError(
                "--llm-model and --llm-arena-model: an arena run names its models with --llm-arena-model; "
                "drop --llm-model"
            )
        model = "arena"
    if not model:
        return None
    from pydantic import SecretStr, ValidationError

    from .settings import EndpointSettings, RunSettings

    api_key, judge_model, judge_key = opts.get("api_key"), opts.get("judge_model"), opts.get("judge_api_key")
    try:
        endpoint = _endpoint(
            **_present(
                model=model,
                base_url=(opts.get("base_url") or [None])[0],
                replicas=_replicas(opts.get("base_url")),
                api_key=SecretStr(api_key) if api_key else None,
                timeout_s=opts.get("timeout"),
                retries=opts.get("retries"),
                concurrency=opts.get("concurrency"),
                stream=opts.get("stream"),
                max_response_bytes=opts.get("max_response_bytes"),
                gen=parse_gen(opts.get("gen")),
                adaptive_concurrency=False if opts.get("fixed_concurrency") else None,
                client_process=opts.get("client_process"),
            )
        )
        judge = (
            EndpointSettings(
                model=judge_model,
                base_url=opts.get("judge_base_url") or endpoint.full_base_url(),
                api_key=SecretStr(judge_key) if judge_key else endpoint.api_key,
                timeout_s=endpoint.timeout_s,
                retries=endpoint.retries,
                concurrency=endpoint.concurrency,
                max_response_bytes=endpoint.max_response_bytes,
                gen={"temperature": 0},
                adaptive_concurrency=endpoint.adaptive_concurrency,
            )
            if judge_model
            else None
        )
        bench_args = parse_bench_args(opts.get("bench_arg"))
        run_protocol = parse_protocols(list(opts.get("protocol")), bench_args)
        from .benchmarks.output_types import OUTPUT_TYPES

        run_output_type = parse_per_benchmark(
            list(opts.get("output_type")), "--llm-output-type", OUTPUT_TYPES, "output_type", bench_args, colon=True
        )
        cache_dir = opts.get("cache_dir")
        return RunSettings(
            **_present(
                endpoint=endpoint,
                judge=judge,
                serve=_present(command=opts.get("serve"), timeout_s=opts.get("serve_timeout")),
                limit=opts.get("limit"),
                shuffle=opts.get("shuffle"),
                seed=opts.get("seed"),
                datasets=dict(split_pair(i, "--llm-dataset") for i in opts.get("dataset")),
                hub=check_hub(opts.get("hub")),
                bench_args=bench_args,
                protocol=run_protocol,
                answer_parser=_answer_parser(opts.get("answer_parser")),
                thresholds=list(opts.get("threshold")),
                max_errors=opts.get("max_errors"),
                show_failures=opts.get("show_failures"),
                threshold_mode=_threshold_mode(opts.get("threshold_mode")),
                early_stop=_early_stop(opts.get("early_stop"), opts.get("threshold")),
                early_stop_alpha=opts.get("early_stop_alpha"),
                results_path=_path(opts.get("results")),
                samples_path=_path(opts.get("samples")),
                cache_dir=Path(cache_dir) if cache_dir else Path(config.rootpath) / ".pytest_cache" / "llmeval",
                use_cache=not opts.get("no_cache"),
                keep_thinking=opts.get("keep_thinking"),
                collection=opts.get("collection"),
                collection_skip_unknown=opts.get("collection_skip_unknown"),
                think_eval=opts.get("think_eval"),
                thought_markers=list(opts.get("thought_markers")) or None,
                tokenizer=_tokenizer(opts.get("tokenizer"), Path(config.invocation_params.dir)),
                perf_words=list(opts.get("perf")),
                perf_slo=opts.get("perf_slo"),
                compare=_present(
                    path=_path(opts.get("compare")),
                    max_drop=opts.get("max_drop"),
                    significance=opts.get("significance"),
                ),
                media=_present(
                    image_max_side=opts.get("image_max_side"), image_format=(opts.get("image_format") or "keep").lower()
                ),
                repeats=opts.get("repeats"),
                output_type=run_output_type,
                chat_template_file=_path(opts.get("chat_template_file")),
                prices=_path(opts.get("prices")),
                prices_origin=opts.origin("prices"),
                max_tokens_budget=opts.get("max_tokens_budget"),
                max_cost=opts.get("max_cost"),
                mlflow_uri=opts.get("mlflow"),
                mlflow_experiment=opts.get("mlflow_experiment"),
                wandb_project=opts.get("wandb"),
                tracker_run_name=opts.get("tracker_run_name"),
                arena=arena,
                shard=_shard(opts.get("shard")),
                embedding_model=opts.get("embedding_model") or None,
            )
        )
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc)) from None


def _arena_options(opts: OptionReader) -> ArenaOptions | None:
    """The arena options when an arena is configured (`--llm-arena-model` or `--llm-arena-config`)."""
    models, config_file = list(opts.get("arena_model")), opts.get("arena_config")
    if not models and not config_file:
        return None
    from pydantic import ValidationError

    try:
        return _make_arena_options(models, config_file, opts)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, prefix="arena.")) from None


def _make_arena_options(models: list[str], config_file: Any, opts: OptionReader) -> ArenaOptions:
    from .settings import ArenaOptions

    return ArenaOptions(
        **_present(
            models=models,
            baseline=opts.get("arena_baseline"),
            judge=opts.get("arena_judge"),
            prompts=opts.get("arena_prompts"),
            config_file=_path(config_file),
            judge_template=_path(opts.get("arena_judge_template")),
            scale=opts.get("arena_scale"),
            self_judge=opts.get("arena_self_judge"),
            bootstrap=opts.get("arena_bootstrap"),
        )
    )


def _endpoint(**values: Any) -> EndpointSettings:
    """The model's endpoint settings; a refused value is named like any option (`endpoint.<field>`)."""
    from pydantic import ValidationError

    from .settings import EndpointSettings

    try:
        return EndpointSettings(**values)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, prefix="endpoint.")) from None


def _present(**values: Any) -> dict[str, Any]:
    """The values that were given: an unset option (None) is left out, so the model's default applies."""
    return {key: value for key, value in values.items() if value is not None}


_BY_FIELD = {spec.field: spec for spec in OPTIONS if spec.field}
_BY_FIELD.update(
    {"endpoint.stream": _BY_NAME["stream"], "serve.command": _BY_NAME["serve"], "compare.path": _BY_NAME["compare"]}
)
_BY_FIELD.update({"arena." + spec.name[len("arena_") :]: spec for spec in OPTIONS if spec.name.startswith("arena_")})


_LEVELS = ("early_stop_alpha", "compare.significance")  # error levels of statistical tests


def _validation_message(exc: ValidationError, prefix: str = "") -> str:
    """The first refused value as a usage error naming the option, its ini key and its default."""
    from .settings import field_default

    error = exc.errors()[0]
    field = prefix + ".".join(str(part) for part in error["loc"])
    spec = _BY_FIELD.get(field)
    if spec is None:
        return f"invalid llm option {field}: {error['msg']}"
    ctx, value = {k: _shown(v) for k, v in error.get("ctx", {}).items()}, _shown(error.get("input"))
    try:
        default = field_default(field)
    except KeyError:  # a field under an optional section (arena.*): its default is documented, not computed
        default = None
    omit = f"; omit it for the default ({_shown(default)})" if default is not None else ""
    if field in _LEVELS and error["type"] in ("greater_than", "less_than"):
        return f"{spec.describe()} must be a level between 0 and 1 (e.g. 0.05), got {value}"
    if error["type"] == "greater_than":
        return f"{spec.describe()} must be greater than {ctx['gt']}, got {value}{omit}"
    if error["type"] == "greater_than_equal":
        return f"{spec.describe()} must be {ctx['ge']} or more, got {value}{omit}"
    if error["type"] in ("less_than", "less_than_equal"):
        bound = ctx.get("lt", ctx.get("le"))
        relation = "below" if error["type"] == "less_than" else "at most"
        return f"{spec.describe()} must be {relation} {bound}, got {value}{omit}"
    return f"{spec.describe()}: {error['msg']}, got {value}"


def _shown(value: Any) -> str:
    """A number as a user writes it (`0`, `0.5`, `600`), anything else as its repr."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"{value:g}" if is_number else repr(value)


def _tokenizer(value: str | None, invocation_dir: Path) -> Path | None:
    """`--llm-tokenizer` as an absolute path (relative to where pytest was started), checked once for
    every reader (perf prompts, --llm-think-eval token counts)."""
    if not value:
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else invocation_dir / path
    if not path.exists():
        raise ConfigError(f"--llm-tokenizer {value!r} does not exist; pass a local tokenizer folder or tokenizer.json")
    return path


def _threshold_mode(value: str | None) -> Literal["point", "ci"]:
    mode = (value or "point").strip().lower()
    if mode == "point":
        return "point"
    if mode == "ci":
        return "ci"
    raise ConfigError(f"--llm-threshold-mode must be 'point' or 'ci', got {value!r}")


def _early_stop(enabled: bool, thresholds: list[str]) -> bool:
    if enabled and not thresholds:
        raise ConfigError(
            "--llm-early-stop needs at least one --llm-threshold: it stops once the thresholds are decided"
        )
    return bool(enabled)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _replicas(urls: list[str]) -> tuple[BaseURL, ...] | None:
    """Several --llm-base-url: every replica's URL parts (the first is also `base_url`)."""
    from .settings import split_base_url

    return tuple(split_base_url(url) for url in urls) if len(urls) > 1 else None


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    from .engine.sharding import parse_shard

    spec = parse_shard(str(value))
    return (spec.index, spec.count)
