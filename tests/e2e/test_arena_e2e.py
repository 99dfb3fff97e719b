"""An arena between the two embedded models, one of them also the (flagged) judge, on a few prompts.

The plugin starts one llama.cpp server per model. The small models judge badly: what is checked is
the real pipeline (both servers started and stopped, real answers in both records, the judge asked
in both orders, its verdict read or the pair's `judge` error, never a silent tie), and that a re-run
gives the same verdicts (from the cache). A short judge template keeps it to minutes on a shared CPU.
"""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.endpoint.local_models import LocalModelError, check_llama_server_installed, resolve_local_model
from tests.e2e.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

PROMPTS = ["What is 2 + 2?", "Name a color of the sky."]
# a short judge prompt: the default one is long for a 270M model on a shared CPU (minutes per verdict)
TEMPLATE = (
    "Question: {question}\nAnswer A: {answer_a}\nAnswer B: {answer_b}\n"
    "Which answer is better? End with one of {labels}."
)


def test_embedded_models_head_to_head_with_a_flagged_judge(pytester):
    for model in ("smollm2-135m", "gemma3-270m"):
        try:
            check_llama_server_installed()
            resolve_local_model(model)
        except LocalModelError as exc:
            skip_or_fail(str(exc))
    prompts = pytester.path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(PROMPTS)))
    (pytester.path / "judge.txt").write_text(TEMPLATE)
    results, samples = pytester.path / "results.json", pytester.path / "samples.jsonl"
    args = (
        "--llm-arena-judge-template",
        "judge.txt",
        "--llm-arena-scale",
        "three",
        "--llm-arena-model",
        "small=smollm2-135m,max_tokens=32,temperature=0",
        "--llm-arena-model",
        "gemma=gemma3-270m,max_tokens=32,temperature=0",
        "--llm-arena-judge",
        "gemma",
        "--llm-arena-self-judge",
        "--llm-arena-prompts",
        str(prompts),
        "--llm-results",
        str(results),
        "--llm-samples",
        str(samples),
    )
    first = pytester.runpytest_subprocess(*args, timeout=1800)
    outcomes = first.parseoutcomes()
    assert sum(outcomes.get(k, 0) for k in ("passed", "failed", "errors")) == len(PROMPTS), first.stdout.str()
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [r["subset"] for r in records] == ["gemma"] * len(PROMPTS)
    for record in records:
        if record["error"] is not None:
            assert record["error_kind"] == "judge", record  # an unreadable verdict, asked twice
            continue
        detail = record["arena"]
        assert detail["candidate_answer"].strip() and detail["baseline_answer"].strip()
        assert set(detail["verdicts"]) == {"candidate_first", "baseline_first"}
        assert detail["judge_tokens"]["prompt"] > 0
    assert "arena" in json.loads(results.read_text())["extra"]
    second = pytester.runpytest_subprocess(*args, timeout=1800)  # from the cache: the same verdicts
    assert second.parseoutcomes() == outcomes
    again = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [(r["error"], (r["arena"] or {}).get("verdicts")) for r in again] == [
        (r["error"], (r["arena"] or {}).get("verdicts")) for r in records
    ]
