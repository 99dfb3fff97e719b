"""HellaSwag's release files as published (`data/hellaswag_val.jsonl`, `hellaswag_train.jsonl`: rows `ind`,
`activity_label`, `ctx_a`, `ctx_b`, `ctx`, `endings`, `label` as an int, `source_id`, `split`,
`split_type`) load as they are from a local file or folder and from both hubs' stand-ins, and the
log-likelihood form preprocesses the WikiHow markup as lm-eval's `hellaswag` task does
(lm_eval/tasks/hellaswag/utils.py: strip, " [title]" -> ". ", "[...]" removed, double spaces once).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_llmeval.testing import FakeOpenAIServer
from tests.conftest import write_jsonl

WIKIHOW = {
    "ind": 4, "activity_label": "Home and Garden",
    "ctx_a": "[header] How to clean a grill [title] Heat the grill.", "ctx_b": "scrape  the grates",
    "ctx": "[header] How to clean a grill [title] Heat the grill. scrape  the grates",
    "endings": ["[step] Use a  brush.", "[title] Eat the grill.", "Sing to it.", "Paint it  [substeps] blue."],
    "label": 0, "source_id": "wikihow~17", "split": "val", "split_type": "indomain",
}  # fmt: skip
# lm-eval by hand: ctx_a + " " + ctx_b.capitalize(), "<activity>: " before it, then preprocess
CONTEXT = "Home and Garden: How to clean a grill. Heat the grill. Scrape the grates"
# preprocess keeps the space a removed leading tag leaves (the target delimiter adds one), " [title]"
# only with a space before it, and "  " -> " " once: three spaces left by a tag become two
CONTINUATIONS = ["  Use a brush.", "  Eat the grill.", " Sing to it.", " Paint it  blue."]

TRAIN = {
    "ind": 1, "activity_label": "Baking", "ctx_a": "A cook whisks eggs.", "ctx_b": "she",
    "ctx": "A cook whisks eggs. she", "endings": ["pours them.", "flies.", "sings.", "sleeps."], "label": 0,
    "source_id": "activitynet~v_1", "split": "train", "split_type": "indomain",
}  # fmt: skip
SHOT = "Baking: A cook whisks eggs. She pours them.\n\n"


def run(pytester: pytest.Pytester, server: FakeOpenAIServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:randomly", "-m", "hellaswag",
        "--llm-output-type", "hellaswag=multiple_choice", "--llm-samples", "s.jsonl", *args,
    )  # fmt: skip


def sent(pytester: pytest.Pytester) -> tuple[str, list[str]]:
    (record,) = [json.loads(line) for line in (pytester.path / "s.jsonl").read_text().splitlines()]
    return record["messages"][0]["content"], [c["continuation"] for c in record["choice_logprobs"]]


def test_the_release_file_loads_as_is_with_lm_evals_preprocessing(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs={"Use": -0.1, "brush": -0.1})
    write_jsonl(pytester.path / "hellaswag_val.jsonl", [WIKIHOW])
    run(pytester, server, "--llm-dataset", "hellaswag=hellaswag_val.jsonl").assert_outcomes(passed=1)
    assert sent(pytester) == (CONTEXT, CONTINUATIONS)


def test_the_release_folder_gives_the_validation_rows_and_its_train_file_the_shots(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = start_server(token_logprobs={"Use": -0.1, "brush": -0.1})
    write_jsonl(pytester.path / "data" / "hellaswag_val.jsonl", [WIKIHOW])
    write_jsonl(pytester.path / "data" / "hellaswag_train.jsonl", [TRAIN, {**TRAIN, "ind": 2, "label": 1}])
    write_jsonl(pytester.path / "data" / "hellaswag_test.jsonl", [{**WIKIHOW, "label": ""}])  # unlabelled: unused
    result = run(pytester, server, "--llm-dataset", "hellaswag=data", "--llm-bench-arg", "hellaswag.few_shot_num=1")
    result.assert_outcomes(passed=1)
    assert sent(pytester) == (SHOT + CONTEXT, CONTINUATIONS)


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    # the hubs' copies store the label as a string ("0")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{**r, "label": str(r["label"])} for r in rows]), buffer)
    return buffer.getvalue()


HUB_FILES = {
    "data/validation-00000-of-00001.parquet": parquet_bytes([WIKIHOW]),
    "data/train-00000-of-00001.parquet": parquet_bytes([TRAIN]),
}


def test_from_the_hugging_face_stand_in(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_llmeval.testing.hf_hub import HuggingFaceStandIn

    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)
    server = start_server(token_logprobs={"Use": -0.1, "brush": -0.1})
    with HuggingFaceStandIn({"Rowan/hellaswag": {"README.md": b"# HellaSwag", **HUB_FILES}}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        result = run(pytester, server, "--llm-hub", "huggingface", "--llm-bench-arg", "hellaswag.few_shot_num=1")
    result.assert_outcomes(passed=1)
    assert sent(pytester) == (SHOT + CONTEXT, CONTINUATIONS)


def test_from_the_modelscope_stand_in(
    pytester: pytest.Pytester, start_server: Callable[..., FakeOpenAIServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("modelscope")
    from pytest_llmeval.testing.modelscope_hub import ModelScopeStandIn

    monkeypatch.setenv("MODELSCOPE_CACHE", str(pytester.path / "ms-cache"))
    for name in ("MODELSCOPE_OFFLINE", "MODELSCOPE_DOMAIN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    server = start_server(token_logprobs={"Use": -0.1, "brush": -0.1})
    with ModelScopeStandIn({"evalscope/hellaswag": {"README.md": b"# HellaSwag", **HUB_FILES}}) as hub:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", hub.url)
        result = run(pytester, server, "--llm-hub", "modelscope", "--llm-bench-arg", "hellaswag.few_shot_num=1")
    result.assert_outcomes(passed=1)
    assert sent(pytester) == (SHOT + CONTEXT, CONTINUATIONS)
