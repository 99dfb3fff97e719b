"""Ordinary tests that talk to the configured model through fixtures. Run from this folder
(`cd conftest_examples/hand_written_tests`):

    pytest --llm-model MODEL --llm-base-url URL
    pytest --llm-model smollm2-135m                      # the embedded model, no server needed
"""

from __future__ import annotations


def test_model_answers_in_french_when_asked(llm):
    reply = llm.chat("Réponds en français: quelle est la capitale de la France ?", temperature=0, max_tokens=64)
    assert "paris" in reply.text.lower()
    assert reply.usage.completion_tokens > 0


async def test_two_questions_concurrently(llm):
    import asyncio

    first, second = await asyncio.gather(
        llm.achat("What is the capital of Japan?", max_tokens=64),
        llm.achat("What is the capital of Australia?", max_tokens=64),
    )
    assert "tokyo" in first.text.lower() and "canberra" in second.text.lower()


def test_endpoint_settings_are_visible(llm_endpoint):
    assert llm_endpoint.base_url and llm_endpoint.model
