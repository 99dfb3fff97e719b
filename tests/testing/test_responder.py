"""The fake model's tokenizer and output plan (pure functions, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmeval.testing import FakeServerConfig, canonical_body_sha256
from pytest_llmeval.testing._responder import GenerationLimits, chat_prompt, plan_output, split_tokens


@pytest.mark.parametrize("text", ["a b c", "  lead", "line one\nline two\n\n  x", "", "single"])
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(split_tokens(text)) == text.rstrip()
    assert len(split_tokens(text)) == len(text.split())


def test_prompt_tokens_count_every_message_and_last_user_is_taken() -> None:
    prompt = chat_prompt(
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "second question here"},
        ]
    )
    assert prompt.last_user == "second question here"
    assert prompt.prompt_tokens == 8


def plan(config: FakeServerConfig, text: str, **limits: Any) -> tuple[str, str, str, int]:
    result = plan_output(config, chat_prompt([{"role": "user", "content": text}]), GenerationLimits(**limits))
    return "".join(result.reasoning), "".join(result.content), result.finish_reason, result.completion_tokens


def test_reasoning_counts_towards_max_tokens() -> None:
    config = FakeServerConfig(fixed_reply="one two three", reasoning="r1 r2")
    assert plan(config, "q") == ("r1 r2", "one two three", "stop", 5)
    assert plan(config, "q", max_tokens=3) == ("r1 r2", "one", "length", 3)
    assert plan(config, "q", max_tokens=1) == ("r1", "", "length", 1)
    assert plan(config, "q", max_tokens=8, ignore_eos=True)[3] == 8


def test_ignore_eos_without_max_tokens_keeps_the_natural_length() -> None:
    config = FakeServerConfig(fixed_reply="a b")
    assert plan(config, "q", ignore_eos=True) == ("", "a b", "stop", 2)


def test_empty_reply_is_padded_from_a_placeholder_word() -> None:
    config = FakeServerConfig(fixed_reply="")
    assert plan(config, "q", max_tokens=3, ignore_eos=True) == ("", "token token token", "length", 3)


def test_echo_of_an_empty_message_still_yields_output_tokens() -> None:
    assert plan(FakeServerConfig(output_tokens=3), "") == ("", "echo echo echo", "stop", 3)


def test_body_hash_ignores_stream_and_key_order_but_not_values() -> None:
    a = {"model": "m", "messages": [{"role": "user", "content": "q"}], "temperature": 0}
    b = {"temperature": 0, "stream": True, "stream_options": {"include_usage": True}, **a}
    assert canonical_body_sha256(a) == canonical_body_sha256(b)
    assert canonical_body_sha256(a) != canonical_body_sha256({**a, "temperature": 1})
