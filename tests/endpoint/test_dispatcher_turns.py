"""The dispatcher's loop gathers answers into fewer turns only while pytest has plenty ready
(endpoint/dispatcher.py, CoalescingSelector): with a real socket pair and a real prefetch plan."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time

from pytest_llmeval.endpoint.dispatcher import (
    AHEAD_TO_HOLD,
    TURN_SPACING_S,
    CoalescingSelector,
    Dispatcher,
)
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig


def turn_gaps(hold: bool, turns: int = 20) -> list[float]:
    """Seconds between the returns of `turns` selects on an always-readable socket."""
    import selectors

    left, right = socket.socketpair()
    selector = CoalescingSelector(lambda: hold)
    try:
        selector.register(left, selectors.EVENT_READ)
        right.send(b"x")  # readable from now on: select returns at once unless it holds
        stamps = []
        for _ in range(turns):
            assert selector.select(timeout=1.0)
            stamps.append(time.perf_counter())
        return [b - a for a, b in itertools.pairwise(stamps)]
    finally:
        selector.close()
        left.close()
        right.close()


def test_turns_are_spaced_only_while_holding() -> None:
    assert min(turn_gaps(hold=True)) >= TURN_SPACING_S * 0.95
    # not holding: most turns come at once (a loaded machine may delay a few)
    quick = sorted(turn_gaps(hold=False))
    assert quick[len(quick) // 2] < TURN_SPACING_S / 2


def test_a_selector_wait_never_exceeds_the_loops_timeout() -> None:
    import selectors

    left, right = socket.socketpair()
    selector = CoalescingSelector(lambda: True)
    try:
        selector.register(left, selectors.EVENT_READ)
        selector.select(timeout=0)  # the first turn
        began = time.perf_counter()
        assert selector.select(timeout=0.001) == []  # nothing to read: a timer due in 1 ms is not held back
        assert time.perf_counter() - began < TURN_SPACING_S
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_dispatcher_holds_only_with_answers_ready_ahead_of_pytest() -> None:
    count = AHEAD_TO_HOLD + 40
    with FakeOpenAIServer(FakeServerConfig(output_tokens=2)) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, concurrency=32)
        dispatcher = Dispatcher(settings, None, client_process=False)
        try:
            assert not dispatcher._hold()
            plan = dispatcher.prefetch(
                [lambda i=i: {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(count)]
            )
            deadline = time.monotonic() + 60
            while plan.ready_ahead() < count and time.monotonic() < deadline:
                time.sleep(0.01)
            assert plan.ready_ahead() == count and dispatcher._hold()  # every answer there, none asked for
            for i in range(count - AHEAD_TO_HOLD + 1):
                plan.result(i)
            assert plan.ready_ahead() == AHEAD_TO_HOLD - 1 and not dispatcher._hold()
        finally:
            dispatcher.close()


def test_a_one_off_call_is_never_held_back_by_prefetched_answers() -> None:
    """A test's own `llm.chat` (`Dispatcher.call`) while a plan's answers wait for their items: the
    loop does not space its turns, else each call would wait a spacing to be sent and one to be read."""
    count = AHEAD_TO_HOLD + 8
    with FakeOpenAIServer(FakeServerConfig(output_tokens=2, hang=["slow"])) as server:
        # the one-off request hangs until its 1 s timeout: it stays in flight while the test looks
        settings = EndpointSettings(model="m", base_url=server.base_url, concurrency=32, timeout_s=1.0, retries=0)
        dispatcher = Dispatcher(settings, None, client_process=False)
        try:
            plan = dispatcher.prefetch(
                [lambda i=i: {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(count)]
            )
            deadline = time.monotonic() + 60
            while plan.ready_ahead() < count and time.monotonic() < deadline:
                time.sleep(0.01)
            assert dispatcher._hold()
            seen: list[bool] = []

            def one_off() -> None:
                with contextlib.suppress(Exception):  # its timeout, by design
                    dispatcher.call({"model": "m", "messages": [{"role": "user", "content": "slow"}]}, use_cache=False)

            call = threading.Thread(target=one_off)
            started = time.monotonic()
            call.start()
            while call.is_alive():
                if time.monotonic() - started < 0.8:  # not its last moments: over, it may be held again
                    seen.append(dispatcher._hold())
                time.sleep(0.01)
            assert len(seen) > 10 and not any(seen[len(seen) // 4 :])  # once the call is under way, never held
            assert dispatcher._hold()  # the call is over: the waiting answers may be gathered again
        finally:
            dispatcher.close()


def test_the_prefetch_window_leaves_room_for_the_loop_to_hold() -> None:
    """The loop holds while `AHEAD_TO_HOLD` answers are ready ahead, so the window must exceed that
    well: a default run (concurrency 16) had a window of 64 and its loop seldom held. With early
    stop (a `skip` predicate), -x or --maxfail the window stays small: fewer requests no item reads."""
    builders = [lambda: {"model": "m", "messages": []}]
    for concurrency, expected, with_skip in ((1, 256, 64), (16, 256, 64), (64, 256, 256), (100, 400, 400)):
        settings = EndpointSettings(model="m", base_url="http://127.0.0.1:9/v1", concurrency=concurrency)
        dispatcher = Dispatcher(settings, None, client_process=False)
        try:
            assert dispatcher.prefetch(builders).window == expected >= 4 * AHEAD_TO_HOLD
            assert dispatcher.prefetch(builders, skip=lambda index: True).window == with_skip
            assert dispatcher.prefetch(builders, stops_early=True).window == with_skip
            assert dispatcher.prefetch(builders, window=8).window == 8
        finally:
            dispatcher.close()
