"""The chat requests' HTTP in a child process (endpoint/pool_process.py), against a real loopback
server and a real child: its answers equal this process's, it dies and the run goes on, it ends
when its parent is killed, it never sees a secret on its command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from pytest_llmeval.endpoint.dispatcher import Dispatcher
from pytest_llmeval.endpoint.pool_process import FrameReader, encode_frame, portable_chain, rebuild_chain
from pytest_llmeval.endpoint.response_cap import ResponseTooLarge
from pytest_llmeval.endpoint.transport import ServerClosedConnection, TransportFailure
from pytest_llmeval.errors import BadResponseError
from pytest_llmeval.settings import EndpointSettings
from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig
from tests.conftest import write_jsonl
from tests.runs import dataset, llm_args


def body(i: int, stream: bool = False) -> dict[str, object]:
    return {
        "model": "m",
        "messages": [{"role": "user", "content": f"question {i}"}],
        **({"stream": True} if stream else {}),
    }


def child_pool(dispatcher: Dispatcher) -> object:
    return dispatcher._client._chat_pool  # type: ignore[union-attr]


def test_answers_through_the_child_equal_answers_made_here() -> None:
    with FakeOpenAIServer(FakeServerConfig(output_tokens=5)) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, concurrency=8, retries=0)
        answers = {}
        for process in (False, True):
            dispatcher = Dispatcher(settings, None, client_process=process)
            try:
                plan = dispatcher.prefetch([lambda i=i: body(i, stream=i % 2 == 1) for i in range(40)])
                answers[process] = [plan.result(i, timeout=30) for i in range(40)]
                pool = child_pool(dispatcher)
                pid = getattr(pool, "pid", None)
                assert (pid is not None) == process
            finally:
                dispatcher.close()
            if process:  # a child that took requests is told to exit (EOF) and exits by itself
                assert pool._process.returncode == 0  # type: ignore[union-attr]
        assert [a.text for a in answers[True]] == [a.text for a in answers[False]]
        assert [a.usage for a in answers[True]] == [a.usage for a in answers[False]]
        streamed = answers[True][1::2]
        assert all(a.ttft_s is not None and 0 < a.ttft_s <= a.latency_s for a in streamed)
        assert server.stats()["chat_requests"] == 80
    if pid is not None:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_killed_child_loses_no_request_and_names_its_signal() -> None:
    with FakeOpenAIServer(FakeServerConfig(output_tokens=3, latency_s=0.3)) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, concurrency=16, retries=0)
        dispatcher = Dispatcher(settings, None, client_process=True)
        notices: list[str] = []
        dispatcher.on_notice = notices.append
        try:
            plan = dispatcher.prefetch([lambda i=i: body(i) for i in range(48)])
            first = plan.result(0, timeout=30)
            pool = child_pool(dispatcher)
            os.kill(pool.pid, signal.SIGKILL)  # type: ignore[attr-defined]
            rest = [plan.result(i, timeout=60) for i in range(1, 48)]
            assert first.text and all(answer.text for answer in rest)
            assert pool.death == "the HTTP process was killed by SIGKILL"  # type: ignore[attr-defined]
            said = "llmeval: the HTTP process was killed by SIGKILL; its requests and the rest are sent from"
            assert notices == [f"{said} pytest's process"]
            later = dispatcher.call(body(99), use_cache=False)  # made here from now on
            assert later.text
        finally:
            dispatcher.close()
        assert server.stats()["chat_requests"] >= 49


def test_the_child_ends_when_its_parent_is_killed(tmp_path) -> None:
    with FakeOpenAIServer(FakeServerConfig(output_tokens=3)) as server:
        script = tmp_path / "parent.py"
        script.write_text(
            textwrap.dedent(
                f"""
                import sys, time
                from pytest_llmeval.endpoint.dispatcher import Dispatcher
                from pytest_llmeval.settings import EndpointSettings
                settings = EndpointSettings(model="m", base_url={server.base_url!r}, api_key="sk-secret-in-pipe-only")
                dispatcher = Dispatcher(settings, None, client_process=True)
                dispatcher.call({{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}})
                print(dispatcher._client._chat_pool.pid, flush=True)
                time.sleep(60)
                """
            )
        )
        parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        try:
            assert parent.stdout is not None
            child = psutil.Process(int(parent.stdout.readline()))
            assert "sk-secret-in-pipe-only" not in " ".join(child.cmdline())
            parent.kill()
            parent.wait(10)
            child.wait(10)  # psutil.TimeoutExpired if the child outlived its parent
        finally:
            parent.kill()


def test_under_xdist_each_worker_has_one_child_and_the_controller_none(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import os, psutil

            def http_children():
                return [p.pid for p in psutil.Process().children() if "pool_process" in " ".join(p.cmdline())]

            seen = set()

            def pytest_runtest_logreport(report):  # the controller hears every report, a worker sends them
                seen.update(http_children())

            def pytest_unconfigure(config):
                role = getattr(config, "workerinput", {}).get("workerid", "controller")
                print(f"{role} http children: {len(seen)}", file=open(os.environ["PROBE"], "a"))
            """
        )
    )
    data = write_jsonl(
        pytester.path / "q.jsonl", [{"question": f"What is {i}?", "answer": f"#### {i}"} for i in range(30)]
    )
    probe = pytester.path / "probe.txt"
    monkeypatch.setenv("PROBE", str(probe))
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        result = pytester.runpytest_subprocess(
            *llm_args(server.base_url), *dataset("gsm8k", data), "-n", "2", "--llm-client-process", "on"
        )
        assert server.stats()["chat_requests"] == 30
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()  # 29 wrong answers, a whole run
    assert sorted(probe.read_text().splitlines()) == [
        "controller http children: 0",
        "gw0 http children: 1",
        "gw1 http children: 1",
    ]


def test_the_response_cap_holds_in_the_child() -> None:
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="x" * 5000)) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, max_response_bytes=1000, retries=0)
        dispatcher = Dispatcher(settings, None, client_process=True)
        try:
            with pytest.raises(BadResponseError, match="larger than 1,000 bytes"):
                dispatcher.call(body(1), use_cache=False)
        finally:
            dispatcher.close()


def test_failures_cross_the_pipe_with_their_class_fields_and_causes() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    closed = ServerClosedConnection("closed early")
    closed.__cause__ = reset
    crossed = rebuild_chain(portable_chain(closed))
    assert type(crossed) is ServerClosedConnection and type(crossed.__cause__) is ConnectionResetError
    assert crossed.__cause__.errno == 104
    failure = rebuild_chain(portable_chain(TransportFailure("bad_response", "not HTTP")))
    assert isinstance(failure, TransportFailure) and (failure.kind, str(failure)) == ("bad_response", "not HTTP")
    too_large = rebuild_chain(portable_chain(ResponseTooLarge(1000)))
    assert isinstance(too_large, ResponseTooLarge) and too_large.limit == 1000

    class Unpicklable(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}/{b}")

    odd = rebuild_chain(portable_chain(Unpicklable(1, 2)))
    assert type(odd) is OSError and str(odd) == "Unpicklable: 1/2"


def test_frames_split_anywhere_are_read_whole() -> None:
    messages = [("done", i, 200, "OK", b"HTTP/1.1 200 OK", b"x" * i) for i in range(0, 3000, 250)]
    stream = b"".join(encode_frame(m) for m in messages)
    for step in (1, 3, 7, 4096, len(stream)):
        reader = FrameReader()
        got = [m for i in range(0, len(stream), step) for m in reader.feed(stream[i : i + step])]
        assert got == messages and not reader.buffer


def test_client_process_option_is_checked_and_off_starts_no_child(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "q.jsonl", [{"question": "What is 1 + 1?", "answer": "#### 2"}])
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{2}")) as server:
        args = [*llm_args(server.base_url), *dataset("gsm8k", data)]
        bad = pytester.runpytest_subprocess(*args, "--llm-client-process", "sometimes")
        assert bad.ret == pytest.ExitCode.USAGE_ERROR
        assert "--llm-client-process" in bad.stderr.str() and "auto" in bad.stderr.str()
        for when in ("off", "on"):
            result = pytester.runpytest_subprocess(*args, "--llm-client-process", when)
            assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert EndpointSettings(model="m", client_process="off").uses_client_process() is False
    assert EndpointSettings(model="m", client_process="on").uses_client_process() is True


def test_no_child_outlives_the_run(pytester: pytest.Pytester) -> None:
    """Closing the dispatcher ends the child: pytest has no child process left when it exits."""
    pytester.makeconftest(
        textwrap.dedent(
            """
            import psutil, pytest
            @pytest.hookimpl(trylast=True)
            def pytest_unconfigure(config):
                left = [p.cmdline() for p in psutil.Process().children(recursive=True) if p.status() != "zombie"]
                print("children left:", left)
            """
        )
    )
    data = write_jsonl(
        pytester.path / "q.jsonl", [{"question": f"What is {i} + 1?", "answer": f"#### {i + 1}"} for i in range(20)]
    )
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{1}")) as server:
        result = pytester.runpytest_subprocess(
            *llm_args(server.base_url), *dataset("gsm8k", data), "-s", "--llm-client-process", "on"
        )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # 19 of 20 answers are wrong; the run is whole
    assert "children left: []" in result.stdout.str()


def test_the_childs_start_up_is_no_requests_latency(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child slow to start (0.5 s here) delays the first request, but its latency and TTFT are
    the server's: the clock starts once the child can take the request."""
    (tmp_path / "slow_pool.py").write_text(
        "import sys, time\ntime.sleep(0.5)\nfrom pytest_llmeval.endpoint.pool_process import main\nmain(sys.argv[1:])\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr("pytest_llmeval.endpoint.pool_process.MODULE", "slow_pool")
    with FakeOpenAIServer(FakeServerConfig(output_tokens=3, latency_s=0.05, ttft_s=0.05)) as server:
        settings = EndpointSettings(model="m", base_url=server.base_url, retries=0)
        dispatcher = Dispatcher(settings, None, client_process=True)
        try:
            plain = dispatcher.call(body(1), use_cache=False)
            streamed = dispatcher.call(body(2, stream=True), use_cache=False)
        finally:
            dispatcher.close()
    assert 0.05 <= plain.latency_s < 0.45, plain.latency_s
    assert streamed.ttft_s is not None and 0.05 <= streamed.ttft_s < 0.45, streamed.ttft_s


@pytest.mark.parametrize(("extra", "children"), [((), 1), (("-k", "no_such_item"), 0), (("--fixtures",), 0)])
def test_the_child_starts_early_only_when_items_will_run(
    pytester: pytest.Pytester, extra: tuple[str, ...], children: int
) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import time, psutil, pytest

            @pytest.hookimpl(trylast=True)
            def pytest_collection_finish(session):
                waited = time.monotonic() + 2  # the child is spawned on the dispatcher's thread
                while True:
                    found = [p for p in psutil.Process().children() if "pool_process" in " ".join(p.cmdline())]
                    if found or time.monotonic() > waited:
                        break
                    time.sleep(0.05)
                print(f"http children at collection end: {len(found)}")
            """
        )
    )
    data = write_jsonl(pytester.path / "q.jsonl", [{"question": "What is 1 + 1?", "answer": "#### 2"}])
    with FakeOpenAIServer(FakeServerConfig(fixed_reply="\\boxed{2}")) as server:
        result = pytester.runpytest_subprocess(
            *llm_args(server.base_url), *dataset("gsm8k", data), "-s", "--llm-client-process", "on", *extra
        )
    said = [line for line in result.stdout.lines if "http children at collection end" in line]
    assert said == [f"http children at collection end: {children}"] or (extra == ("--fixtures",) and not said)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_closing_while_the_child_starts_tells_it_to_exit(turns: int) -> None:
    """`aclose` right after `start_soon` (an evaluation whose -k/-m left no sample, or whose every
    answer came from the cache, stops its HTTP child early), at each point of the start: the child
    is spawned and, having taken no request, stopped at once: its start-up (~60 ms of imports) is
    not waited for, nor the 5 s limit, and it is never left behind."""
    import asyncio

    from pytest_llmeval.endpoint.pool_process import ProcessPool

    async def start_then_close() -> ProcessPool:
        pool = ProcessPool(1, 1_000_000)
        pool.start_soon()
        for _ in range(turns):  # let the start run that far: spawned, pipes half connected...
            await asyncio.sleep(0)
        await pool.aclose()
        return pool

    started = time.perf_counter()
    pool = asyncio.run(start_then_close())
    assert time.perf_counter() - started < 4.0  # not the 5 s wait for a child that does not exit
    assert pool._process is not None and pool._process.returncode in (0, -signal.SIGKILL)
    assert not [child for child in psutil.Process().children() if child.pid == pool._process.pid]
