"""Few-shot log-likelihood (HellaSwag 10-shot is Gemma 3's card row), and log-likelihood samples inside
collections and under --llm-early-stop, against the loopback server with known prompt log-probabilities.

lm-eval's few-shot context: each solved example is its context and its gold continuation (which starts
with the target delimiter " "), the examples joined by a blank line, one more blank line, then the
sample's own context; only the continuation's tokens are summed, so the examples change the context
and never the sums' span.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks.loading import DatasetLoader
from pytest_llmeval.benchmarks.output_types import LOGLIK_KEY
from pytest_llmeval.benchmarks.registry import get_benchmark
from pytest_llmeval.testing import FakeOpenAIServer
from tests.collection import build_cli
from tests.conftest import write_jsonl

KNOWN = {"eats": -2.0, "slices": -0.5, "it": -0.25, "into": -0.25, "thin": -0.5, "rings": -1.0,
         "flies": -3.0, "sings": -2.0, "loudly": -2.0}  # fmt: skip
ENDINGS = ["eats", "slices it into thin rings", "flies", "sings loudly"]


def row(ind: int, label: str, ctx_a: str, activity: str = "Cooking") -> dict[str, Any]:
    return {"ind": ind, "activity_label": activity, "ctx_a": ctx_a, "ctx_b": "he", "endings": ENDINGS, "label": label}


TRAIN = [row(100 + i, str(i % 4), f"Example scene {i}.", "Baking") for i in range(12)]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_hellaswag_ten_shot_context_is_lm_evals_and_the_sums_cover_the_continuation_only(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs=KNOWN)
    write_jsonl(pytester.path / "val.jsonl", [row(7, "1", "A man stands at a counter.")])
    write_jsonl(pytester.path / "train.jsonl", TRAIN)
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:randomly", "-m", "hellaswag",
        "--llm-dataset", "hellaswag=val.jsonl", "--llm-dataset", "hellaswag:train=train.jsonl",
        "--llm-output-type", "hellaswag=multiple_choice", "--llm-bench-arg", "hellaswag.few_shot_num=10",
        "--llm-samples", "s.jsonl",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    (record,) = records(pytester.path / "s.jsonl")
    # the first ten train rows, each "<activity>: <ctx_a> <Ctx_b>" + " " + its gold ending
    shots = [f"Baking: Example scene {i}. He {ENDINGS[i % 4]}" for i in range(10)]
    expected = "\n\n".join(shots) + "\n\nCooking: A man stands at a counter. He"
    assert record["messages"] == [{"role": "user", "content": expected}]
    # the same sums as zero-shot, though the examples hold the same words with known values
    assert [c["logprob"] for c in record["choice_logprobs"]] == [-2.0, -2.5, -3.0, -4.0]
    assert [c["tokens"] for c in record["choice_logprobs"]] == [1, 5, 1, 2]


def test_few_shot_log_likelihood_without_the_train_split_names_the_option_to_add(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs=KNOWN)
    write_jsonl(pytester.path / "val.jsonl", [row(7, "1", "A man stands at a counter.")])
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-m", "hellaswag",
        "--llm-dataset", "hellaswag=val.jsonl", "--llm-output-type", "multiple_choice",
        "--llm-bench-arg", "hellaswag.few_shot_num=10",
    )  # fmt: skip
    text = result.stdout.str()
    assert "--llm-dataset hellaswag:train=PATH" in text and "Traceback" not in text
    assert server.stats()["generation_requests"] == 0


def test_cloze_few_shot_for_arc_and_a_protocols_chat_count_never_applies(tmp_path: Path) -> None:
    question = {"id": "q", "question": "What melts ice?", "choices": {"text": ["heat", "cold"], "label": ["A", "B"]},
                "answerKey": "A"}  # fmt: skip
    shot = {**question, "id": "s", "question": "What is wet?", "answerKey": "B",
            "choices": {"text": ["sand", "water"], "label": ["A", "B"]}}  # fmt: skip
    write_jsonl(tmp_path / "test.jsonl", [question])
    write_jsonl(tmp_path / "train.jsonl", [shot])
    loader = DatasetLoader(
        {"arc.arc_easy": str(tmp_path / "test.jsonl"), "arc.arc_easy:train": str(tmp_path / "train.jsonl")}
    )
    arc = get_benchmark("arc")({"output_type": "multiple_choice", "few_shot_num": "1"})
    (sample,) = list(arc.load("arc_easy", loader))
    spec = sample.metadata[LOGLIK_KEY]
    assert spec["contexts"][0] == "Question: What is wet?\nAnswer: water\n\nQuestion: What melts ice?\nAnswer:"
    assert spec["continuations"] == [" heat", " cold"] and sample.metadata["few_shot"] == 1
    # MMLU's evalscope protocol asks 5-shot chat prompts; its cloze form stays zero-shot unless asked
    mmlu = get_benchmark("mmlu")({"output_type": "multiple_choice"})
    assert mmlu.loglik_shot_count() == 0


def test_log_likelihood_records_in_a_collection_are_scored_by_log_likelihood(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    write_jsonl(pytester.path / "hs.jsonl", [row(i, "1", f"Scene {i}.") for i in range(3)])
    schema = pytester.path / "schema.json"
    schema.write_text(json.dumps({"name": "Base", "datasets": [
        {"name": "hellaswag", "weight": 1, "args": {"output_type": "multiple_choice"}}]}))  # fmt: skip
    built = build_cli(schema, "-n", "3", "-o", "c.jsonl", "--llm-dataset", "hellaswag=hs.jsonl", cwd=pytester.path)
    assert built.returncode == 0, built.stderr
    server = start_server(token_logprobs=KNOWN)
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:randomly", "--llm-collection", "c.jsonl",
        "--llm-samples", "s.jsonl", "--llm-results", "r.json",
    )  # fmt: skip
    result.assert_outcomes(failed=3)  # acc picks "eats" (-2.0) over the gold (-2.5) each time
    assert server.stats()["generation_requests"] == 12  # 3 samples x 4 choices through /v1/completions
    got = records(pytester.path / "s.jsonl")
    assert all([c["logprob"] for c in r["choice_logprobs"]] == [-2.0, -2.5, -3.0, -4.0] for r in got)
    assert all(r["metrics"] == {"acc": 0.0, "acc_norm": 1.0} for r in got)


def test_early_stop_skips_whole_log_likelihood_samples(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs=KNOWN)
    # the gold is "eats" (the likeliest) in every row: acc 1.0, threshold 0.5 is a clear pass
    write_jsonl(pytester.path / "hs.jsonl", [row(i, "0", f"Scene {i}.") for i in range(300)])
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:randomly", "-m", "hellaswag",
        "--llm-dataset", "hellaswag=hs.jsonl", "--llm-output-type", "multiple_choice",
        "--llm-threshold", "hellaswag.acc>=0.5", "--llm-early-stop", "--llm-concurrency", "2",
        "--llm-results", "r.json", "--llm-no-cache",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "r.json").read_text())
    skipped = data["requests"]["skipped_early_stop"]
    bench = data["benchmarks"]["hellaswag"]
    assert skipped > 100 and bench["count"] + skipped == 300
    # a sample is whole or skipped: every scored sample sent its 4 requests, at most a few more in flight
    sent = server.stats()["generation_requests"]
    assert bench["count"] * 4 <= sent <= bench["count"] * 4 + 4 * 4 and bench["metrics"]["acc"] == 1.0
    assert data["thresholds"][0]["passed"] and data["thresholds"][0]["mode"] == "early-stop"
