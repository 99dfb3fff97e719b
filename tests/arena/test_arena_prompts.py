"""Arena prompt sets: the ArenaHard and AlpacaEval release layouts, a user JSONL, a benchmark's
prompts, a hub repository (loopback stand-in); the YAML form and a replaced judge template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.arena.config import build_config, parse_model
from pytest_llmeval.arena.prompts import read_file, read_prompts
from pytest_llmeval.benchmarks.loading import DatasetLoader
from pytest_llmeval.errors import ConfigError, DatasetError

from .scripted import model_rules, write_prompts


def lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_arena_hard_v2_and_v01_layouts(tmp_path):
    v2 = lines(tmp_path / "v2.jsonl", [{"uid": "abc", "category": "hard_prompt", "subcategory": "x", "prompt": "Hi?"}])
    v01 = lines(tmp_path / "v01.jsonl", [{"question_id": "q1", "cluster": "c", "turns": [{"content": "Sort a list."}]}])
    (a,) = read_file(v2)
    (b,) = read_file(v01)
    assert (a.id, a.category, a.question) == ("abc", "hard_prompt", "Hi?")
    assert (b.id, b.category, b.messages) == ("q1", "c", [{"role": "user", "content": "Sort a list."}])


def test_alpaca_eval_json_layout_numbers_its_items(tmp_path):
    path = tmp_path / "alpaca_eval.json"
    rows = [
        {"instruction": f"Tell me {i}", "dataset": "helpful_base", "output": "ref", "generator": "gpt4"}
        for i in range(3)
    ]
    path.write_text(json.dumps(rows))
    prompts = list(read_file(path))
    assert [(p.id, p.question, p.category) for p in prompts][1] == ("1", "Tell me 1", "helpful_base")


def test_a_row_without_a_prompt_names_file_and_line(tmp_path):
    path = lines(tmp_path / "q.jsonl", [{"id": 1, "prompt": "ok"}, {"id": 2, "text": "no prompt field"}])
    with pytest.raises(DatasetError, match=r"q.jsonl:2: no prompt"):
        list(read_file(path))


def test_a_benchmarks_prompts_as_it_sends_them(tmp_path):
    loader = DatasetLoader({}, base_dir=tmp_path)
    prompts = list(read_prompts("bench:smoke.math", tmp_path, loader))
    assert len(prompts) == 10 and prompts[0].id.startswith("math.")
    assert "\\boxed{}" in prompts[0].question  # the benchmark's own prompt template


def test_prompts_from_a_hub_repository(monkeypatch, tmp_path):
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)
    rows = b"".join(json.dumps({"uid": f"u{i}", "prompt": f"hub prompt {i}"}).encode() + b"\n" for i in range(4))
    # read in a child process: huggingface_hub takes HF_ENDPOINT when first imported, and another test of
    # this process may have imported it already (pointing at the real hub, unreachable here)
    read = (
        "import json, sys; from pytest_llmeval.arena.prompts import read_prompts; "
        "print(json.dumps([[p.id, p.question] for p in read_prompts('hf:org/arena-prompts', sys.argv[1], None)]))"
    )
    with HuggingFaceStandIn({"org/arena-prompts": {"question.jsonl": rows}}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        child = subprocess.run([sys.executable, "-c", read, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    prompts = json.loads(child.stdout)
    assert [p[0] for p in prompts] == ["u0", "u1", "u2", "u3"] and prompts[2][1] == "hub prompt 2"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("new", r"neither an http\(s\) URL nor a model the plugin serves"),
        ("bad name=http://h/v1", "needs a NAME"),
        ("x=http://h/v1,oops", "expected KEY=VALUE"),
        ("x=http://h/v1,key=LLMEVAL_ARENA_UNSET_KEY", "named in key= is not set"),
        # a misspelt generation field was sent and ignored by the server; a mistyped one failed every request
        ("x=http://h/v1,max_token=16", "max_token=16: 'max_token' is not a request field.*did you mean 'max_tokens'"),
        ("x=http://h/v1,temperature=hot", "temperature=hot: temperature must be a number"),
        ({"name": "x", "base_url": "http://h/v1", "gen": {"max_tokens": "64"}}, "max_tokens must be a whole number"),
    ],
)
def test_bad_model_specs_name_the_problem(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_model(spec)


def test_model_spec_fields():
    model = parse_model('fast=http://h:1/v1,model=org/m-7b,temperature=0.7,stop=["\\n"]')
    assert (model.name, model.model, model.gen) == ("fast", "org/m-7b", {"temperature": 0.7, "stop": ["\n"]})
    assert parse_model("small=smollm2-135m").local == "smollm2-135m"


def test_one_model_is_not_an_arena(tmp_path):
    with pytest.raises(ConfigError, match="at least two models"):
        build_config(
            models=["a=http://h/v1"],
            baseline=None,
            judge=None,
            prompts=None,
            config_file=None,
            judge_template=None,
            scale=None,
            self_judge=False,
            bootstrap=None,
            seed=0,
            base_dir=tmp_path,
        )


def test_yaml_config_and_a_replaced_judge_template(pytester, start_server):
    base = start_server(rules=model_rules("base"), model="base")
    alpha = start_server(rules=model_rules("alpha"), model="alpha")
    judge = start_server(
        rules=[{"contains": "HOUSE STYLE", "reply": "Equal.\n[[A=B]]"}], fixed_reply="no label", model="judge"
    )
    prompts = write_prompts(pytester.path, count=3)
    (pytester.path / "judge.txt").write_text(
        "You judge. Labels: {labels}\n---\nHOUSE STYLE\nQ: {question}\nA: {answer_a}\nB: {answer_b}\n"
    )
    (pytester.path / "arena.yaml").write_text(
        f"""
models:
  - name: base
    base_url: {base.base_url}
  - alpha={alpha.base_url}
judge: judge={judge.base_url}
prompts: {prompts.name}
judge_template: judge.txt
scale: three
bootstrap: 50
"""
    )
    results = pytester.path / "r.json"
    result = pytester.runpytest_subprocess("--llm-arena-config", "arena.yaml", "--llm-results", str(results))
    result.assert_outcomes(passed=3)
    arena = json.loads(results.read_text())["extra"]["arena"]
    assert arena["scale"] == "three" and arena["candidates"]["alpha"]["tie"] == 3


def test_models_from_the_ini_file(pytester, start_server):
    base = start_server(rules=model_rules("base"), model="base")
    alpha = start_server(rules=model_rules("alpha"), model="alpha")
    judge = start_server(fixed_reply="[[A>B]]", model="judge")
    prompts = write_prompts(pytester.path, count=2)
    pytester.makeini(
        f"""
[pytest]
llm_arena_model =
    base={base.base_url}
    alpha={alpha.base_url}
llm_arena_judge = judge={judge.base_url}
llm_arena_prompts = {prompts}
"""
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)
