"""Prompt protocols: under `evalscope` (the default) the messages sent for a row are byte for byte
those EvalScope 1.14.1 sends for it, compared with request bodies recorded from EvalScope itself
(`tools/record_evalscope_prompts.py`, data in `data/evalscope/`); `native` keeps this plugin's prompts."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.protocols import protocol_args
from pytest_llmeval.errors import ConfigError
from tests.conftest import write_jsonl
from tests.runs import llm_args

DATA = Path(__file__).parent / "data" / "evalscope"
ROWS: dict[str, dict[str, Any]] = json.loads((DATA / "rows.json").read_text(encoding="utf-8"))
BODIES: dict[str, list[dict[str, Any]]] = json.loads((DATA / "bodies.json").read_text(encoding="utf-8"))


def load_messages(name: str, tmp_path: Path, **args: str) -> list[list[dict[str, Any]]]:
    """The messages the plugin sends for each row of the fixture, under the benchmark's arguments."""
    spec = ROWS[name]
    name = spec.get("benchmark", name)  # `truthfulqa_mc2`: the mc2_select subset of truthfulqa
    bench = get_benchmark(name)({**spec.get("args", {}), **args})
    if (DATA / "media").is_dir():  # the multimodal rows name their media files relative to the dataset's folder
        shutil.copytree(DATA / "media", tmp_path / "media", dirs_exist_ok=True)
    subset = spec["our_subset"]
    overrides = {f"{name}.{subset}": str(write_jsonl(tmp_path / f"{name}.jsonl", spec["rows"]))}
    if spec.get("few_shot_rows"):
        split = bench.source.few_shot_split  # type: ignore[union-attr]
        overrides[f"{name}.{subset}:{split}"] = str(
            write_jsonl(tmp_path / f"{name}_{split}.jsonl", spec["few_shot_rows"])
        )
    samples = list(bench.load(subset, DatasetLoader(overrides)))
    return [bench.messages(sample) for sample in samples]


# The media labels EvalScope writes without looking at the bytes: MathVista's images are all
# `data:image/jpg`, OmniBench's audio all `mp3`. This plugin names the format the bytes have (the
# fixture's images are PNG, its audio WAV), so for these the label is not compared; the payload is.
MISLABELLED = {"math_vista": "image", "math_vista_free_form": "image", "omni_bench": "audio"}


def comparable(name: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with the one media label EvalScope hard-codes for `name` blanked (see MISLABELLED);
    everything else (roles, part order and types, text, media bytes) is kept for comparison."""
    label = MISLABELLED.get(name)
    out = json.loads(json.dumps(messages))
    for message in out:
        for part in message["content"] if isinstance(message["content"], list) else ():
            if label == "image" and part["type"] == "image_url":
                part["image_url"]["url"] = re.sub(r"^data:image/[a-z]+;", "data:image/*;", part["image_url"]["url"])
            if label == "audio" and part["type"] == "input_audio":
                part["input_audio"]["format"] = "*"
    return out


@pytest.mark.parametrize("name", sorted(BODIES))
def test_default_messages_are_the_recorded_evalscope_ones(name: str, tmp_path: Path):
    recorded = BODIES[name]
    sent = load_messages(name, tmp_path)
    assert len(sent) == len(recorded)
    for ours, theirs in zip(sent, recorded, strict=True):
        # byte for byte: roles, order, every character of the content (and each medium's bytes)
        assert comparable(name, ours) == comparable(name, theirs["messages"])


def test_the_recorded_few_shot_counts_are_the_defaults():
    for name, recorded in BODIES.items():
        bench = get_benchmark(ROWS[name].get("benchmark", name))()
        if "few_shot_num" in bench.args:
            assert int(bench.args["few_shot_num"]) == recorded[0]["few_shot_num"], name


@pytest.mark.parametrize(
    "name",
    [
        "mmlu",
        "gsm8k",
        "ceval",
        "math_500",
        "gpqa_diamond",
        "hellaswag",
        "iquiz",
        "math_vista",
        "mmmu_pro",
        "mmmu_pro_vision",
        "omni_bench",
        "omni_bench_text",
    ],
)
def test_native_protocol_keeps_the_plugins_own_prompt(name: str, tmp_path: Path):
    native = load_messages(name, tmp_path, protocol="native")
    assert native != [body["messages"] for body in BODIES[name]]
    assert all(len(messages) == 1 and messages[0]["role"] == "user" for messages in native)


def test_native_mcq_prompt_asks_for_an_answer_line_and_is_zero_shot(tmp_path: Path):
    (messages,) = load_messages("mmlu", tmp_path, protocol="native")
    text = messages[0]["content"]
    assert 'as "Answer: X"' in text and "Dev question" not in text and "ANSWER: [LETTER]" not in text


def test_native_multimodal_prompts_keep_their_layout(tmp_path: Path):
    """`native` keeps what `evalscope` changes: OmniBench's media before the text, MMMU-Pro's image no
    placeholder names (sent after the text), the `Answer: X` line."""
    (omni,) = load_messages("omni_bench", tmp_path, protocol="native")
    assert [part["type"] for part in omni[0]["content"]] == ["image_url", "input_audio", "text"]
    first, second = load_messages("mmmu_pro", tmp_path, protocol="native")
    assert [part["type"] for part in second[0]["content"]].count("image_url") == 3  # image_3 too
    assert 'as "Answer: X"' in first[0]["content"][0]["text"]
    (reference,) = BODIES["omni_bench"]
    assert [part["type"] for part in reference["messages"][0]["content"]] == ["text", "image_url", "input_audio"]


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("math_vista", "hard to tell from the picture. Bye"),
        ("mmmu_pro", "hard to tell. Done"),
        ("omni_bench", "no idea, sorry. A"),
    ],
)
def test_multimodal_choice_scoring_takes_the_reference_parser(name: str, reply: str, tmp_path: Path):
    """answer_parser=evalscope reads the last capital letter as EvalScope's parser does (the gold one
    here); the strict default finds no answer in these replies."""
    spec = ROWS[name]
    overrides = {f"{name}.{spec['our_subset']}": str(write_jsonl(tmp_path / f"{name}.jsonl", spec["rows"]))}
    shutil.copytree(DATA / "media", tmp_path / "media", dirs_exist_ok=True)
    for parser, passed in (("evalscope", True), ("strict", False)):
        bench = get_benchmark(name)({"answer_parser": parser})
        sample = next(iter(bench.load(spec["our_subset"], DatasetLoader(overrides))))
        score = bench.score(sample, reply)
        assert score.passed is passed, (parser, score)
        assert score.extracted == (sample.target if passed else None)


def test_few_shot_num_overrides_the_protocols_count(tmp_path: Path):
    messages = load_messages("gsm8k", tmp_path, few_shot_num="1")[0]
    text = messages[0]["content"]
    assert text.count("Reasoning:") == 1 and text.startswith("Here are some examples")


def test_unknown_protocol_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"no protocol 'harness'; known: evalscope, native"):
        get_benchmark("mmlu")({"protocol": "harness"})


def test_a_benchmark_with_one_prompt_refuses_a_named_protocol_but_ignores_the_run_wide_one():
    smoke = get_benchmark("smoke")
    with pytest.raises(ConfigError, match="has only its own prompt"):
        smoke({"protocol": "evalscope"})
    assert protocol_args("smoke", smoke.protocols, {}, "evalscope", None) == {}
    mmlu = get_benchmark("mmlu")
    assert protocol_args("mmlu", mmlu.protocols, {}, "native", "evalscope") == {
        "protocol": "native",
        "answer_parser": "evalscope",
    }
    assert protocol_args("mmlu", mmlu.protocols, {"protocol": "evalscope"}, "native", None) == {"protocol": "evalscope"}


def test_the_requests_a_run_sends_carry_the_recorded_evalscope_messages(
    pytester: pytest.Pytester, start_server, tmp_path: Path
):
    """End to end: the bodies the loopback server receives hold EvalScope's messages (5-shot MMLU, 4-shot GSM8K)."""
    server = start_server(responder="fixed", fixed_reply="ANSWER: B", keep_chat_bodies=10)
    args = []
    for name, split in (("mmlu", "dev"), ("gsm8k", "train")):
        spec, subset = ROWS[name], ROWS[name]["our_subset"]
        args += [
            "--llm-dataset",
            f"{name}.{subset}={write_jsonl(tmp_path / f'{name}.jsonl', spec['rows'])}",
            "--llm-dataset",
            f"{name}.{subset}:{split}={write_jsonl(tmp_path / f'{name}_{split}.jsonl', spec['few_shot_rows'])}",
        ]
    result = pytester.runpytest_subprocess(
        *llm_args(server.base_url),
        "-m",
        "mmlu or gsm8k",
        "--llm-bench-arg",
        "mmlu.subset_list=abstract_algebra",
        *args,
    )
    assert result.ret in (0, 1), result.stdout.str()  # graded (gsm8k's answers are wrong), not a usage error
    sent = sorted((body["messages"] for body in server.stats()["chat_bodies"]), key=json.dumps)
    recorded = sorted((body["messages"] for name in ("mmlu", "gsm8k") for body in BODIES[name]), key=json.dumps)
    assert sent == recorded


def test_protocol_and_answer_parser_options_reach_the_benchmarks(
    pytester: pytest.Pytester, start_server, tmp_path: Path
):
    """--llm-protocol native for the run, mmlu=evalscope for one benchmark; --llm-answer-parser evalscope
    credits a reply whose only capital is the gold letter's (the reference fallback), which strict does not."""
    server = start_server(responder="fixed", fixed_reply="the degree is four. Biology aside", keep_chat_bodies=10)
    mmlu, gsm8k = ROWS["mmlu"], ROWS["gsm8k"]
    base = [
        *llm_args(server.base_url),
        "-m",
        "mmlu or gsm8k",
        "--llm-bench-arg",
        "mmlu.subset_list=abstract_algebra",
        "--llm-dataset",
        f"mmlu.abstract_algebra={write_jsonl(tmp_path / 'mmlu.jsonl', mmlu['rows'])}",
        "--llm-dataset",
        f"mmlu.abstract_algebra:dev={write_jsonl(tmp_path / 'dev.jsonl', mmlu['few_shot_rows'])}",
        "--llm-dataset",
        f"gsm8k={write_jsonl(tmp_path / 'gsm8k.jsonl', gsm8k['rows'])}",
        "--llm-protocol",
        "native",
        "--llm-protocol",
        "mmlu=evalscope",
        "--llm-no-cache",
    ]
    results = tmp_path / "results.json"
    result = pytester.runpytest_subprocess(*base, "--llm-answer-parser", "evalscope", "--llm-results", str(results))
    result.assert_outcomes(passed=1, failed=2)  # mmlu's gold is B; gsm8k's answers are numbers
    written = json.loads(results.read_text(encoding="utf-8"))["benchmarks"]  # each says how it asked and read
    assert {name: (written[name]["protocol"], written[name]["answer_parser"]) for name in written} == {
        "mmlu": ("evalscope", "evalscope"),
        "gsm8k": ("native", "evalscope"),
    }
    bodies = server.stats()["chat_bodies"]
    mmlu_sent = [b["messages"] for b in bodies if "Find the degree" in json.dumps(b)]
    gsm8k_sent = [b["messages"][0]["content"] for b in bodies if "Natalia" in json.dumps(b)]
    assert mmlu_sent == [BODIES["mmlu"][0]["messages"]]
    assert gsm8k_sent and not any(text.startswith("Here are some examples") for text in gsm8k_sent)  # native: 0-shot
    strict = pytester.runpytest_subprocess(*base)
    strict.assert_outcomes(failed=3)
