"""Retries: full-jitter backoff (tenacity), Retry-After honoured, against the real fake server."""

from __future__ import annotations

import asyncio
import time

from tenacity import RetryCallState

from pytest_llmeval.endpoint import client as client_module
from pytest_llmeval.endpoint.client import ChatClient, _retry_wait
from pytest_llmeval.errors import ServerError
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing import FakeOpenAIServer


def state_after(attempt: int, error: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_waits_are_full_jitter_between_zero_and_the_exponential_cap() -> None:
    error = ServerError("server answered 503", status=503)
    for attempt, cap in ((1, 0.5), (2, 1.0), (3, 2.0), (8, 30.0), (20, 30.0)):
        waits = [_retry_wait(state_after(attempt, error)) for _ in range(400)]
        assert all(0.0 <= wait <= cap for wait in waits)
        assert len(set(waits)) > 350  # spread, not one shared value: 64 failed requests do not retry together
        assert min(waits) < cap * 0.2 and max(waits) > cap * 0.8


def test_retry_after_replaces_the_jitter_and_is_capped() -> None:
    error = ServerError("server answered 429", status=429, retry_after=1.5)
    assert _retry_wait(state_after(1, error)) == 1.5
    error = ServerError("server answered 429", status=429, retry_after=3600.0)
    assert _retry_wait(state_after(1, error)) == client_module.MAX_BACKOFF_S


def test_retry_after_from_a_real_429_is_waited_for() -> None:
    with FakeOpenAIServer(fail_first_n=1, fail_status=429, retry_after_s=1.2) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, retries=2)

        async def go() -> float:
            client = ChatClient(settings)
            try:
                began = time.monotonic()
                await client.chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
                return time.monotonic() - began
            finally:
                await client.aclose()

        elapsed = asyncio.run(go())
        assert elapsed >= 1.2
        assert server.stats()["chat_requests"] == 2


def test_retry_after_ms_is_preferred_to_the_whole_seconds_of_retry_after() -> None:
    import pytest

    from pytest_llmeval.endpoint.client import _raise_for_status, _Reply

    settings = EndpointSettings(model="m", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ServerError) as caught:
        _raise_for_status(_Reply(429, "Too Many Requests", "1", "100", b"{}"), settings)
    assert caught.value.retry_after == 0.1  # OpenAI's retry-after-ms, not the rounded-up Retry-After
    with pytest.raises(ServerError) as caught:
        _raise_for_status(_Reply(429, "Too Many Requests", "2", "soon", b"{}"), settings)
    assert caught.value.retry_after == 2.0  # an unreadable retry-after-ms falls back to Retry-After


def test_while_adapting_429s_do_not_use_up_the_retries_but_other_failures_do() -> None:
    from pytest_llmeval.endpoint.client import _OverloadAwareStop

    stop = _OverloadAwareStop(retries=3, timeout_s=600.0, started=time.monotonic())
    overload = ServerError("server answered 429", status=429)
    assert not any(stop(state_after(attempt, overload)) for attempt in range(1, 40))
    broken = ServerError("server answered 500", status=500)
    assert [stop(state_after(attempt, broken)) for attempt in range(40, 44)] == [False, False, False, True]
    # and overload answers end once the request has spent --llm-timeout seconds in all
    late = _OverloadAwareStop(retries=3, timeout_s=600.0, started=time.monotonic() - 601.0)
    assert late(state_after(50, overload))


def test_overload_retries_are_bounded_per_request_and_none_with_zero_retries() -> None:
    """A prompt the server always answers 503 ends as its sample's error, not after --llm-timeout."""
    from pytest_llmeval.endpoint.client import OVERLOAD_TRIES_PER_RETRY, _OverloadAwareStop

    overload = ServerError("server answered 503", status=503)
    assert _OverloadAwareStop(retries=0, timeout_s=600.0, started=time.monotonic())(
        state_after(1, overload)
    )  # --llm-retries 0: none
    stop = _OverloadAwareStop(retries=2, timeout_s=600.0, started=time.monotonic())
    verdicts = [stop(state_after(attempt, overload)) for attempt in range(1, 2 * OVERLOAD_TRIES_PER_RETRY + 2)]
    assert verdicts == [False] * (2 * OVERLOAD_TRIES_PER_RETRY) + [True]
