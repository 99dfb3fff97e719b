"""The arena's models share one event loop: a dispatcher can run on a loop thread it does not own."""

from __future__ import annotations

import asyncio
import threading

from pytest_llmeval.endpoint.dispatcher import Dispatcher, EventLoopThread
from pytest_llmeval.settings import EndpointSettings


def test_dispatchers_on_one_shared_loop_answer_from_it_and_leave_it_running(start_server):
    model, judge = start_server(fixed_reply="an answer", model="m"), start_server(fixed_reply="[[A>B]]", model="j")
    shared = EventLoopThread("test-shared")
    before = threading.active_count()
    answerer = Dispatcher(EndpointSettings(model="m", base_url=model.base_url), None, loop=shared)
    grader = Dispatcher(EndpointSettings(model="j", base_url=judge.base_url), None, loop=shared)
    assert threading.active_count() == before  # no thread of their own

    async def answer_then_judge() -> tuple[str, str, set[str]]:
        # awaited on the shared loop itself: the answer's completion starts the judge request there
        answer = await answerer.fetch({"model": "m", "messages": [{"role": "user", "content": "q"}]})
        verdict = await grader.fetch({"model": "j", "messages": [{"role": "user", "content": answer.text}]})
        return answer.text, verdict.text, {threading.current_thread().name}

    answer, verdict, threads = asyncio.run_coroutine_threadsafe(answer_then_judge(), shared.loop).result(30)
    assert (answer, verdict, threads) == ("an answer", "[[A>B]]", {"test-shared"})
    answerer.close()
    assert shared.thread.is_alive()  # its owner stops it, not a dispatcher
    assert grader.call({"model": "j", "messages": [{"role": "user", "content": "again"}]}).text == "[[A>B]]"
    grader.close()
    shared.stop()
    assert not shared.thread.is_alive()
