"""Log-likelihood multiple choice: the continuation's log-probability from a server's echoed prompt.

The loopback test server returns known prompt log-probabilities; the expected sums are worked by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmeval.endpoint.cache import ResponseCache
from pytest_llmeval.endpoint.dispatcher import Dispatcher
from pytest_llmeval.errors import NoPromptLogprobsError
from pytest_llmeval.scoring.loglik import completion_body, continuation_logprob, score_multiple_choice
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing import FakeOpenAIServer

KNOWN = {"The": -9.0, "cat": -9.0, "sat": -9.0, "on": -9.0, "the": -9.0}
KNOWN |= {"mat": -2.0, "big": -0.5, "red": -0.5, "moon": -2.5, "floor": -3.0}
CONTEXT = "The cat sat on the"
CHOICES = [" mat", " big red mat", " moon", " floor"]


def _ask(server: FakeOpenAIServer, context: str, continuation: str) -> dict[str, Any] | None:
    body = completion_body("fake-model", context, continuation)
    response = httpx.post(f"{server.base_url}/completions", json=body, timeout=30)
    response.raise_for_status()
    return response.json()["choices"][0]["logprobs"]


def test_acc_and_acc_norm_on_a_four_choice_sample_computed_by_hand() -> None:
    # Sums: mat -2.0, big red mat -3.0, moon -2.5, floor -3.0 -> acc picks " mat" (0).
    # Per character: -2/4=-0.5, -3/12=-0.25, -2.5/5=-0.5, -3/6=-0.5 -> acc_norm picks " big red mat" (1).
    with FakeOpenAIServer(token_logprobs=KNOWN) as server:
        sums = [continuation_logprob(_ask(server, CONTEXT, c), CONTEXT, c).logprob for c in CHOICES]
    assert sums == [-2.0, -3.0, -2.5, -3.0]
    verdict = score_multiple_choice(sums, CHOICES, gold=1)
    assert (verdict.pred, verdict.pred_norm) == (0, 1)
    assert (verdict.acc, verdict.acc_norm) == (0.0, 1.0)


@pytest.mark.parametrize("offsets", ["chars", "bytes"])
def test_boundary_on_multibyte_text_whether_offsets_count_characters_or_bytes(offsets: str) -> None:
    known = {"答": -7.0, "案": -7.0, "是": -7.0, "猫": -0.25, "🐱": -0.5}
    with FakeOpenAIServer(token_logprobs=known, prompt_logprobs=offsets) as server:
        score = continuation_logprob(_ask(server, "答案是", "猫🐱"), "答案是", "猫🐱")
    assert score.logprob == -0.75
    assert score.tokens == ("猫", "🐱")


def test_boundary_when_an_emoji_is_two_byte_tokens_sharing_one_offset() -> None:
    # llama-cpp-python's shape: a token holding part of a UTF-8 character decodes to "" and its
    # offset is the length of the complete characters before it, so both halves of 🐱 start at 2.
    response = {
        "tokens": ["a", "b", "", "🐱", "!"],
        "text_offset": [0, 1, 2, 2, 3],
        "token_logprobs": [None, -5.0, -0.125, -0.25, -1.0],
    }
    score = continuation_logprob(response, "ab", "🐱")
    assert score.logprob == -0.375


@pytest.mark.parametrize(("mode", "lacks"), [("none", "no logprobs"), ("generated_only", "generated tokens only")])
def test_a_server_without_prompt_logprobs_is_one_clear_error(mode: str, lacks: str) -> None:
    with FakeOpenAIServer(prompt_logprobs=mode) as server:
        response = _ask(server, CONTEXT, " mat")
        url = server.base_url
    with pytest.raises(NoPromptLogprobsError) as err:
        continuation_logprob(response, CONTEXT, " mat", server=f"the server at {url}")
    message = str(err.value)
    assert url in message and lacks in message and "echo=true" in message


def test_acc_norm_divides_by_characters_like_lm_eval() -> None:
    # "é" is 2 bytes, 1 character. By characters: -2/2 = -1.0 < -2.9/3 = -0.967 -> choice 1;
    # by bytes it would be -2/4 = -0.5 -> choice 0.
    verdict = score_multiple_choice([-2.0, -2.9], ["éé", "abc"], gold=1)
    assert (verdict.pred, verdict.pred_norm) == (0, 1)


def _score_through_dispatcher(server: FakeOpenAIServer, cache_dir: Path) -> tuple[list[float], int]:
    dispatcher = Dispatcher(EndpointSettings(model="fake-model", base_url=server.base_url), ResponseCache(cache_dir))
    try:
        futures = [dispatcher.submit(completion_body("fake-model", CONTEXT, c)) for c in CHOICES]
        sums = [
            continuation_logprob(f.result(timeout=60).choices[0].logprobs, CONTEXT, c).logprob
            for f, c in zip(futures, CHOICES, strict=False)
        ]
        return sums, dispatcher.requests_sent
    finally:
        dispatcher.close()


def test_the_k_choices_go_through_the_dispatcher_and_a_cached_rerun_sends_nothing(tmp_path: Path) -> None:
    with FakeOpenAIServer(token_logprobs=KNOWN) as server:
        first, sent = _score_through_dispatcher(server, tmp_path / "cache")
        again, sent_again = _score_through_dispatcher(server, tmp_path / "cache")
        generation_requests = server.stats()["generation_requests"]
    assert first == again == [-2.0, -3.0, -2.5, -3.0]
    assert (sent, sent_again, generation_requests) == (4, 0, 4)
