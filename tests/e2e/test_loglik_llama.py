"""End to end: log-likelihood scoring against the real llama.cpp server (llama-cpp-python) with SmolLM2.

The plugin's summed continuation log-probability (server offsets, dispatcher) must equal the one computed
in-process with llama-cpp-python on the same text, the continuation's tokens found by its own tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
def model_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ManagedServer]]:
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


def test_summed_logprob_equals_llama_cpp_python_in_process(model_and_server: tuple[Path, ManagedServer]) -> None:
    from llama_cpp import Llama

    path, server = model_and_server
    dispatcher = Dispatcher(EndpointSettings(model="smollm2-135m", base_url=server.base_url), None)
    try:
        ours = [
            continuation_logprob(
                dispatcher.call(completion_body("smollm2-135m", CONTEXT, e)).choices[0].logprobs, CONTEXT, e
            ).logprob
            for e in ENDINGS
        ]
    finally:
        dispatcher.close()
    llm = Llama(model_path=str(path), n_ctx=512, logits_all=True, verbose=False)
    direct = []
    for ending in ENDINGS:
        # SmolLM2 adds no BOS, so echoed entry i is prompt token i; the continuation's are those after the context's.
        start, stop = len(llm.tokenize(CONTEXT.encode())), len(llm.tokenize((CONTEXT + ending).encode()))
        out = llm.create_completion(CONTEXT + ending, echo=True, logprobs=1, max_tokens=1, temperature=0.0)
        direct.append(float(sum(out["choices"][0]["logprobs"]["token_logprobs"][start:stop])))
    assert ours == pytest.approx(direct, abs=1e-4)
    assert ours[0] > ours[1]  # the right ending beats nonsense
