"""End to end: log-likelihood scoring against the real llama.cpp server (llama-cpp-python) with SmolLM2.

The reference is computed in-process from the model's own logits (`Llama.eval` + `Llama.scores`,
log-softmax of the row before each continuation token), not from llama-cpp-python's echo, which is
shifted by one token for BOS-less models like SmolLM2 (`endpoint/llama_serve.py` fixes the server the
plugin starts). The plugin's sum through the server must equal it to 1e-4.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pytest_llmeval.endpoint.dispatcher import Dispatcher
from pytest_llmeval.endpoint.local_models import (
    LocalModelError,
    check_llama_server_installed,
    llama_server_command,
    resolve_local_model,
)
from pytest_llmeval.endpoint.server import ManagedServer, ServerSpec
from pytest_llmeval.scoring.loglik import completion_body, continuation_logprob
from pytest_llmeval.settings import EndpointSettings
from tests.e2e.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

CONTEXT = "The capital of France is"
ENDINGS = [" Paris.", " a purple elephant."]


@pytest.fixture(scope="module")
def model_and_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, ManagedServer]]:
    try:
        check_llama_server_installed()
        model = resolve_local_model("smollm2-135m")
    except LocalModelError as exc:
        skip_or_fail(str(exc))
    log = tmp_path_factory.mktemp("llama") / "smollm2.log"
    spec = ServerSpec(command=llama_server_command(model, n_ctx=512), model=model.served_name, log_path=log,
                      ready_timeout_s=120)  # fmt: skip
    server = ManagedServer(spec).start()
    try:
        yield model.path, server
    finally:
        server.stop()


def direct_logprob(llm: object, context: str, continuation: str) -> float:
    """Sum of log p(token | tokens before) over the continuation's tokens, from the model's logits."""
    tokens = llm.tokenize((context + continuation).encode(), add_bos=False, special=True)  # type: ignore[attr-defined]
    start = len(llm.tokenize(context.encode(), add_bos=False, special=True))  # type: ignore[attr-defined]
    llm.reset()  # type: ignore[attr-defined]
    llm.eval(tokens)  # type: ignore[attr-defined]
    scores = np.asarray(llm.scores[: len(tokens)], dtype=np.float64)  # type: ignore[attr-defined]
    total = 0.0
    for i in range(start, len(tokens)):
        row = scores[i - 1] - scores[i - 1].max()
        total += float(row[tokens[i]] - np.log(np.exp(row).sum()))
    return total


def test_summed_logprob_equals_the_models_own_logits(
    model_and_server: tuple[Path, ManagedServer],
) -> None:
    from llama_cpp import Llama

    path, server = model_and_server
    dispatcher = Dispatcher(EndpointSettings(model="smollm2-135m", base_url=server.base_url), None)
    try:
        ours = [
            continuation_logprob(
                dispatcher.call(completion_body("smollm2-135m", CONTEXT, e)).choices[0].logprobs,
                CONTEXT,
                e,
            ).logprob
            for e in ENDINGS
        ]
    finally:
        dispatcher.close()
    llm = Llama(model_path=str(path), n_ctx=512, logits_all=True, verbose=False)
    assert not llm._model.add_bos_token()  # the case llama-cpp-python's echo gets wrong
    direct = [direct_logprob(llm, CONTEXT, e) for e in ENDINGS]
    assert ours == pytest.approx(direct, abs=1e-4)
    assert ours[0] > ours[1]  # the right ending beats nonsense


def test_a_chat_templated_context_keeps_its_special_tokens_in_the_offsets(
    model_and_server: tuple[Path, ManagedServer],
) -> None:
    # `<|im_start|>` is SmolLM2's BOS id: llama-cpp-python drops it from the echo and renders no special
    # token, so its offsets fell short of the prompt text and the sum covered the wrong tokens
    from llama_cpp import Llama

    path, server = model_and_server
    context = "<|im_start|>user\nQuestion: What melts ice?\nAnswer:<|im_end|>\n<|im_start|>assistant\n"
    dispatcher = Dispatcher(EndpointSettings(model="smollm2-135m", base_url=server.base_url), None)
    try:
        logprobs = dispatcher.call(completion_body("smollm2-135m", context, " heat")).choices[0].logprobs
    finally:
        dispatcher.close()
    ours = continuation_logprob(logprobs, context, " heat")
    llm = Llama(model_path=str(path), n_ctx=512, logits_all=True, verbose=False)
    assert ours.tokens == (" heat",)
    assert ours.logprob == pytest.approx(direct_logprob(llm, context, " heat"), abs=1e-4)


ROWS = [
    {"ind": 1, "activity_label": "Baking cookies", "ctx_a": "A woman mixes flour, sugar and butter in a bowl.",
     "ctx_b": "she", "endings": ["puts the dough on a tray and bakes it in the oven.",
                                 "purple the of sings elephant quickly yesterday tray."], "label": "0"},
    {"ind": 2, "activity_label": "Washing hands", "ctx_a": "A boy turns on the tap in the bathroom.",
     "ctx_b": "he", "endings": ["window banana loud the of runs sky green.",
                                "rubs soap on his hands and rinses them under the water."], "label": "1"},
]  # fmt: skip


def test_hellaswag_rows_through_the_plugin_prefer_the_right_ending(
    pytester: pytest.Pytester, model_and_server: tuple[Path, ManagedServer]
) -> None:
    _, server = model_and_server
    (pytester.path / "hs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    result = pytester.runpytest_subprocess(
        "--llm-model", "smollm2-135m", "--llm-base-url", server.base_url, "-p", "no:randomly",
        "--llm-dataset", "hellaswag=hs.jsonl", "-m", "hellaswag", "--llm-output-type", "hellaswag:multiple_choice",
        "--llm-results", "r.json", "--llm-samples", "s.jsonl",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    data = json.loads((pytester.path / "r.json").read_text())["benchmarks"]["hellaswag"]
    assert data["metrics"] == {"acc": 1.0, "acc_norm": 1.0} and data["output_type"] == "multiple_choice"
    records = [json.loads(line) for line in (pytester.path / "s.jsonl").read_text().splitlines()]
    assert all(len(r["choice_logprobs"]) == 2 and r["requests"] == 2 for r in records)
