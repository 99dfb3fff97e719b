"""Retries: full-jitter backoff (tenacity), Retry-After honoured, against the real fake server."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone

import pytest
from tenacity import RetryCallState

from pytest_llmeval.endpoint import client as client_module
from pytest_llmeval.endpoint.client import ChatClient, _raise_for_status, _Reply, _retry_wait, parse_retry_after
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


# a run's one hostile or broken answer fails at most its own sample: every wait it asks for is bounded
NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("100000", client_module.MAX_BACKOFF_S),  # huge: the cap
        ("1e300", client_module.MAX_BACKOFF_S),
        ("Fri, 31 Dec 9999 23:59:59 GMT", client_module.MAX_BACKOFF_S),  # a date far ahead: the cap
        ("Wed, 21 Oct 2015 08:28:00 GMT", client_module.MAX_BACKOFF_S),  # an hour ahead
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # already past: retry now
        ("inf", None),  # not a delay at all: ignored, the jittered backoff applies
        ("Infinity", None),
        ("1e400", None),  # overflows to inf
        ("-inf", None),
        ("nan", None),
        ("-5", None),
        ("-0", 0.0),
    ],
)
def test_a_hostile_retry_after_is_capped_or_ignored(header: str, expected: float | None) -> None:
    assert client_module.MAX_BACKOFF_S == 30.0
    assert parse_retry_after(header, now=NOW) == expected


def test_a_hostile_retry_after_ms_is_capped_or_ignored() -> None:
    settings = EndpointSettings(model="m", base_url="http://127.0.0.1:9/v1")
    for retry_after, retry_after_ms, expected in (
        (None, "100000000", client_module.MAX_BACKOFF_S),
        (None, "inf", None),
        (None, "nan", None),
        (None, "-100", None),
        ("inf", "nan", None),
        ("100000", "nan", client_module.MAX_BACKOFF_S),
    ):
        with pytest.raises(ServerError) as caught:
            _raise_for_status(_Reply(429, "Too Many Requests", retry_after, retry_after_ms, b"{}"), settings)
        assert caught.value.retry_after == expected, (retry_after, retry_after_ms)


@pytest.mark.parametrize("retry_after", [math.inf, -math.inf, math.nan, -1.0, 1e9])
def test_every_retry_wait_is_finite_and_within_the_cap(retry_after: float) -> None:
    """A ServerError built elsewhere (not by the header parser) is bounded all the same."""
    error = ServerError("server answered 429", status=429, retry_after=retry_after)
    for attempt in (1, 5, 20):
        wait = _retry_wait(state_after(attempt, error))
        assert math.isfinite(wait) and 0.0 <= wait <= client_module.MAX_BACKOFF_S
        # and never longer than the request timeout when that is shorter than the cap
        wait = _retry_wait(state_after(attempt, error), max_wait_s=2.0)
        assert math.isfinite(wait) and 0.0 <= wait <= 2.0
    assert _retry_wait(state_after(1, ServerError("503", status=503)), max_wait_s=0.25) <= 0.25


def test_a_huge_retry_after_waits_no_longer_than_the_request_timeout() -> None:
    """One 429 with Retry-After 100000 (and retry-after-ms 10^8): the retry is sent after
    --llm-timeout (1 s here), not after 100000 s nor the 30 s cap."""
    with FakeOpenAIServer(fail_first_n=1, fail_status=429, retry_after_s=100000.0) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, retries=2, timeout_s=1.0)

        async def go() -> float:
            client = ChatClient(settings)
            try:
                began = time.monotonic()
                await asyncio.wait_for(client.chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]}), 15)
                return time.monotonic() - began
            finally:
                await client.aclose()

        elapsed = asyncio.run(go())
        assert 0.9 <= elapsed < 10
        assert server.stats()["chat_requests"] == 2
