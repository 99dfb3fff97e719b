"""Attacks on a running evaluation, done for real: a worker process killed, a run interrupted with
SIGINT, a cache file damaged on disk, credentials in the endpoint URL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bounded import run_bounded
from tests.conftest import write_jsonl
from tests.runs import chat_requests, dataset, llm_args, run


def numbered_rows(count: int) -> list[dict[str, str]]:
    return [{"question": f"What is {i} plus 0? (apples)", "answer": f"#### {i}"} for i in range(count)]


def echo_rules(count: int) -> list[dict[str, str]]:
    """The model is right on every question."""
    return [{"contains": f"What is {i} plus", "reply": f"\\boxed{{{i}}}"} for i in range(count)]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


# generous: a start-up on a loaded machine takes minutes; the wait ends as soon as the condition holds
def wait_for(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def pytest_command(server, data: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *llm_args(server.base_url),
        *dataset("gsm8k", data),
        *args,
    ]


# -- item 1: a dead xdist worker -------------------------------------------------------------


def test_killed_xdist_worker_is_replaced_and_every_sample_is_scored(pytester, start_server, tmp_path):
    count = 120
    # 120 x 0.5 s over 4 in flight: a 15 s window for the kill, wide enough for a loaded machine
    server = start_server(rules=echo_rules(count), latency_s=0.5)
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    results = tmp_path / "r.json"
    command = pytest_command(server, data, "-n", "2", "--llm-concurrency", "2", "--llm-results", str(results))
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: len(children_of(process.pid)) >= 2 and chat_requests(server) >= 30)
        victim = children_of(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        out, _ = process.communicate(timeout=600)
    finally:
        process.kill()
    assert "INTERNALERROR" not in out, out
    assert "replacing crashed worker" in out
    assert process.returncode == 0, out
    data = json.loads(results.read_text())
    assert data["complete"] is True and data["passed"] is True
    assert data["samples_planned"] == count and data["samples_scored"] == count
    assert data["benchmarks"]["gsm8k"]["count"] == count and data["benchmarks"]["gsm8k"]["errors"] == 0
    assert data["benchmarks"]["gsm8k"]["metrics"]["acc"] == 1.0
    # What the dead worker had already received came from the cache: only requests in flight at
    # the kill (at most --llm-concurrency of them) were sent twice.
    by_body = server.stats()["chat_by_body_sha256"]
    assert len(by_body) == count
    assert sum(by_body.values()) <= count + 2


def test_replacement_share_is_what_the_dead_worker_left():
    from pytest_llmeval.engine.distribution import worker_share

    class Item:
        def __init__(self, nodeid: str) -> None:
            self.nodeid = nodeid

    items = [Item(f"gsm8k/main::{i:04d}") for i in range(6)]
    static = worker_share(items, {"gsm8k"}, "gw1", 2)
    assert [i.nodeid for i in static] == ["gsm8k/main::0001", "gsm8k/main::0003", "gsm8k/main::0005"]
    takeover = worker_share(items, {"gsm8k"}, "gw2", 2, takeover=["gsm8k/main::0005", "gsm8k/main::0003"])
    assert [i.nodeid for i in takeover] == ["gsm8k/main::0005", "gsm8k/main::0003"]


# -- item 2: an interrupted run --------------------------------------------------------------


@pytest.mark.parametrize("workers", [None, "2"])
def test_interrupted_run_is_incomplete_and_not_passed(pytester, start_server, tmp_path, workers):
    count = 200
    server = start_server(rules=echo_rules(count), latency_s=0.3)  # the SIGINT lands mid-run even when slow
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    results = tmp_path / "r.json"
    extra = ("-n", workers) if workers else ()
    command = pytest_command(
        server,
        data,
        *extra,
        "--llm-concurrency",
        "2",
        "--llm-results",
        str(results),
        "--llm-threshold",
        "gsm8k.acc>=0.5",
    )
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: chat_requests(server) >= 20)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    data = json.loads(results.read_text())
    assert data["complete"] is False and data["interrupted"] is True
    assert data["passed"] is False  # every answer so far is right and the threshold holds, still not passed
    assert data["samples_planned"] == count
    assert 0 < data["samples_scored"] < count
    assert data["benchmarks"]["gsm8k"]["metrics"]["acc"] == 1.0
    assert f"INCOMPLETE RUN (interrupted): {data['samples_scored']} of {count} samples finished" in out


def test_complete_run_says_so(pytester, start_server, tmp_path):
    server = start_server(rules=echo_rules(5))
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(5))
    results = tmp_path / "r.json"
    result = run(
        pytester,
        server,
        *dataset("gsm8k", data),
        "--llm-results",
        str(results),
        "-k",
        "not 0004",
    )
    result.assert_outcomes(passed=4, deselected=1)
    data = json.loads(results.read_text())
    assert (data["complete"], data["samples_planned"], data["samples_scored"]) == (True, 4, 4)
    assert "INCOMPLETE" not in result.stdout.str()


def test_stopping_early_with_x_is_incomplete(pytester, start_server, tmp_path):
    server = start_server(rules=[{"contains": "What is 1 plus", "reply": "\\boxed{7}"}, *echo_rules(6)])
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(6))
    results = tmp_path / "r.json"
    result = run(pytester, server, *dataset("gsm8k", data), "--llm-results", str(results), "-x")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    data = json.loads(results.read_text())
    assert data["complete"] is False and data["passed"] is False
    assert data["samples_scored"] == 2 and data["samples_planned"] == 6


# -- item 3: a damaged cache -----------------------------------------------------------------


def cache_file(pytester) -> Path:
    return pytester.path / ".pytest_cache" / "llmeval" / "responses.sqlite3"


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_damaged_cache_is_moved_aside_and_the_run_goes_on(pytester, start_server, tmp_path, damage):
    count = 40
    server = start_server(rules=echo_rules(count))
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    args = dataset("gsm8k", data)
    run(pytester, server, *args).assert_outcomes(passed=count)
    path = cache_file(pytester)
    content = path.read_bytes()
    assert len(content) > 8192
    if damage == "truncate":
        path.write_bytes(content[: len(content) // 2])
    else:
        path.write_bytes(b"\x00garbage" * (len(content) // 8))
    result = run(pytester, server, *args)
    result.assert_outcomes(passed=count)  # no errors, no INTERNALERROR
    output = result.stdout.str() + result.stderr.str()
    lines = [line for line in output.splitlines() if "response cache" in line]
    assert len(lines) == 1, output
    assert str(path) in lines[0] and "damaged" in lines[0] and "--llm-no-cache" in lines[0]
    aside = [p for p in path.parent.iterdir() if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and str(aside[0]) in lines[0]
    assert aside[0].read_bytes()[:100] == (content[:100] if damage == "truncate" else b"\x00garbage" * 12 + b"\x00gar")
    # the fresh cache works: a third run sends nothing
    before = chat_requests(server)
    run(pytester, server, *args).assert_outcomes(passed=count)
    assert chat_requests(server) == before


def test_unreadable_rows_are_cache_misses(pytester, start_server, tmp_path):
    count = 10
    server = start_server(rules=echo_rules(count))
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    args = dataset("gsm8k", data)
    run(pytester, server, *args).assert_outcomes(passed=count)
    with sqlite3.connect(cache_file(pytester)) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM responses ORDER BY key LIMIT 3")]
        db.execute("UPDATE responses SET response = '{not json' WHERE key = ?", (keys[0],))
        db.execute("UPDATE responses SET response = '{\"choices\": 5}' WHERE key = ?", (keys[1],))
        db.execute("UPDATE responses SET response = X'FFFE00' WHERE key = ?", (keys[2],))
    before = chat_requests(server)
    result = run(pytester, server, *args)
    result.assert_outcomes(passed=count)  # a damaged row is asked again, never an error of the sample
    assert chat_requests(server) == before + 3
    assert "unreadable rows" in result.stdout.str()


# -- item 7: credentials in the base URL -----------------------------------------------------


def test_url_secrets_are_sent_and_never_shown():
    from pytest_llmeval.settings import EndpointSettings

    endpoint = EndpointSettings(
        model="m", base_url="https://alice:s%3Aqq7z@Host.example:8443/v1/chat/completions?api-key=QSECRET&v=2"
    )
    assert endpoint.base_url == "https://host.example:8443/v1"
    assert endpoint.chat_url == "https://host.example:8443/v1/chat/completions?api-key=QSECRET&v=2"
    assert endpoint.models_url == "https://host.example:8443/v1/models?api-key=QSECRET&v=2"
    assert endpoint.headers()["Authorization"] == "Basic YWxpY2U6czpxcTd6"  # alice:s:qq7z
    shown = [
        endpoint.public_chat_url,
        endpoint.public_models_url,
        repr(endpoint),
        str(endpoint),
        json.dumps(endpoint.public_dict()),
        endpoint.model_dump_json(),
    ]
    for text in shown:
        assert "QSECRET" not in text and "qq7z" not in text and "alice" not in text, text
    assert EndpointSettings(model="m", base_url=endpoint.full_base_url()).chat_url == endpoint.chat_url
    keyed = EndpointSettings(model="m", base_url="http://u:p@h/v1", api_key="sk-1")
    assert keyed.headers()["Authorization"] == "Bearer sk-1"  # an API key wins over user info


def test_bad_url_error_masks_its_secrets():
    from pytest_llmeval.errors import ConfigError
    from pytest_llmeval.settings import EndpointSettings

    with pytest.raises(ConfigError) as excinfo:
        EndpointSettings(model="m", base_url="ftp://bob:hunter2@host/v1?key=QSECRET")
    assert "hunter2" not in str(excinfo.value) and "QSECRET" not in str(excinfo.value)
    assert "bad --llm-base-url" in str(excinfo.value)


def test_run_against_an_url_with_credentials_and_query(pytester, tmp_path):
    from tests.core.loopback import LoopbackChatServer

    count = 3
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    results, samples = tmp_path / "r.json", tmp_path / "s.jsonl"
    with LoopbackChatServer(
        reply="\\boxed{1}", require_auth=("alice", "pa:ss"), require_query={"api-key": "QSECRET"}
    ) as server:
        url = f"http://alice:pa%3Ass@127.0.0.1:{server.port}/v1?api-key=QSECRET"
        result = pytester.runpytest_subprocess(
            *llm_args(url, model="m"),
            *dataset("gsm8k", data),
            "--llm-results",
            str(results),
            "--llm-samples",
            str(samples),
            "-v",
        )
        result.assert_outcomes(passed=1, failed=2)
        paths = {(method, path) for method, path, _ in server.requests}
        assert paths == {("GET", "/v1/models"), ("POST", "/v1/chat/completions")}
        assert all(query == {"api-key": ["QSECRET"]} for _, _, query in server.requests)
    assert json.loads(results.read_text())["base_url"] == f"http://127.0.0.1:{server.port}/v1"
    written = [results.read_text(), samples.read_text(), result.stdout.str(), result.stderr.str()]
    written += [p.read_bytes().decode("latin-1") for p in cache_file(pytester).parent.iterdir() if p.is_file()]
    assert not any(secret in text for text in written for secret in ("QSECRET", "pa:ss", "pa%3Ass", "alice"))


def test_unreachable_url_with_credentials_is_shown_without_them(pytester, tmp_path):
    from tests.core.test_failures import free_port

    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(2))
    url = f"http://alice:pw123@127.0.0.1:{free_port()}/v1?api-key=QSECRET"
    result = pytester.runpytest_subprocess(*llm_args(url, model="m"), *dataset("gsm8k", data))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "cannot reach http://127.0.0.1:" in output
    assert "QSECRET" not in output and "pw123" not in output and "alice" not in output


# -- item 4: a response that never ends ------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "stream"),
    [("endless_sse", True), ("endless_line", True), ("endless_body", False), ("huge", False), ("huge", True)],
)
def test_oversized_response_is_a_bad_response_with_bounded_memory(pytester, tmp_path, mode, stream):
    from tests.core.loopback import LoopbackChatServer

    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(2))
    results, samples = tmp_path / "r.json", tmp_path / "s.jsonl"
    cap = 2_000_000
    with LoopbackChatServer(mode=mode, huge_bytes=5_000_000) as server:
        command = [
            sys.executable,
            "-m",
            "pytest",
            *llm_args(f"http://127.0.0.1:{server.port}/v1", model="m"),
            *dataset("gsm8k", data),
            "--llm-timeout",
            "300",
            "--llm-retries",
            "0",
            "--llm-max-response-bytes",
            str(cap),
            "--llm-results",
            str(results),
            "--llm-samples",
            str(samples),
            *(["--llm-stream"] if stream else []),
        ]
        status, out, peak_mb = run_bounded(command, pytester.path)
    assert status == pytest.ExitCode.TESTS_FAILED, out
    assert out.count("response body is larger than 2,000,000 bytes (--llm-max-response-bytes)") == 2, out
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [r["error_kind"] for r in records] == ["bad_response", "bad_response"]
    assert json.loads(results.read_text())["benchmarks"]["gsm8k"]["errors"] == 2
    assert samples.stat().st_size < 20_000  # nothing of the body was kept
    # Unbounded, an endless body grows by GBs within seconds (and hits the 1 GiB limit); the bound is
    # generous because the run's helper processes count too (bench/response_cap_memory.py is exact)
    assert peak_mb < 1024, f"peak RSS {peak_mb:.0f} MB"


def test_answer_under_the_cap_is_accepted(pytester, tmp_path):
    from tests.core.loopback import LoopbackChatServer

    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(1))
    with LoopbackChatServer(mode="huge", huge_bytes=1_000_000) as server:
        result = pytester.runpytest_subprocess(
            *llm_args(f"http://127.0.0.1:{server.port}/v1", model="m"),
            *dataset("gsm8k", data),
            "--llm-max-response-bytes",
            "2000000",
        )
    result.assert_outcomes(failed=1)  # a (wrong) answer, not an error


def test_openai_client_of_the_llm_fixture_sends_url_credentials_and_query(pytester):
    from tests.core.loopback import LoopbackChatServer

    pytester.makepyfile(
        test_sdk="""
        def test_sdk(llm):
            client = llm.openai_client()
            reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content == "hello"
            assert "QSECRET" not in str(client.base_url) and "pw9" not in str(client.base_url)
        """
    )
    with LoopbackChatServer(reply="hello", require_auth=("bob", "pw9"), require_query={"api-key": "QSECRET"}) as server:
        url = f"http://bob:pw9@127.0.0.1:{server.port}/v1?api-key=QSECRET"
        result = pytester.runpytest_subprocess(*llm_args(url, model="m"))
        result.assert_outcomes(passed=1)
        assert ("POST", "/v1/chat/completions", {"api-key": ["QSECRET"]}) in server.requests


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_killed_run_never_leaves_the_last_runs_passed_results(pytester, start_server, tmp_path, workers):
    """A first run passes and writes `passed: true`; the next run on the same --llm-results is killed
    (SIGKILL, as a CI job's timeout does): the file must not still say the run passed."""
    count = 40
    server = start_server(rules=echo_rules(count), latency_s=0.3)
    data = write_jsonl(tmp_path / "g.jsonl", numbered_rows(count))
    results = tmp_path / "r.json"
    first = run(pytester, server, *dataset("gsm8k", data), "--llm-limit", "2", "--llm-results", str(results))
    assert first.ret == 0 and json.loads(results.read_text())["passed"] is True
    command = [
        sys.executable, "-m", "pytest", *llm_args(server.base_url), *dataset("gsm8k", data), "--llm-no-cache",
        "--llm-concurrency", "1", "--llm-results", str(results), *workers,
    ]  # fmt: skip
    server.reset()
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: chat_requests(server) >= 3)
        for child in children_of(process.pid):
            os.kill(child, signal.SIGKILL)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
    left = json.loads(results.read_text())
    assert left["passed"] is False and left["complete"] is False and left["interrupted"] is True
