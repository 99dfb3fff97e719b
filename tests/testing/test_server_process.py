"""Lifecycle of FakeOpenAIServer, the CLI, and the hand-written HTTP/1.1 layer on raw sockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from pytest_llmeval.testing import FakeOpenAIServer, FakeServerConfig, FakeServerError

REPO_ROOT = Path(__file__).resolve().parents[2]


def recv_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        part = sock.recv(65536)
        if not part:
            return data
        data += part


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


CHAT = json.dumps({"model": "m", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}).encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    srv = FakeOpenAIServer().start()
    yield srv
    srv.stop()


def test_start_picks_a_port_and_stop_kills_the_process() -> None:
    srv = FakeOpenAIServer(model="my-model")
    with pytest.raises(FakeServerError, match="not started"):
        _ = srv.base_url
    srv.start()
    pid = srv.pid
    assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
    assert httpx.get(srv.base_url + "/models").json()["data"][0]["id"] == "my-model"
    assert srv.stats()["total_requests"] == 1  # the readiness probe was reset away
    srv.stop()
    srv.stop()  # idempotent
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_overrides_are_validated_with_the_config() -> None:
    base = FakeServerConfig(ttft_s=0.5)
    srv = FakeOpenAIServer(base, itl_s=0.01)
    assert (srv.config.ttft_s, srv.config.itl_s) == (0.5, 0.01)
    with pytest.raises(ValidationError):
        FakeOpenAIServer(latency_s=-1)
    with pytest.raises(ValidationError, match="fixed_reply"):
        FakeServerConfig(responder="fixed")
    assert FakeServerConfig.model_validate({"rules": [{"contains": "a", "reply": "b"}]}).responder == "rules"
    assert FakeServerConfig(fixed_reply="x").responder == "fixed"
    assert FakeServerConfig.model_validate({"hang": "H"}).hang == ["H"]


def test_start_failure_raises_with_the_log_tail() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = FakeOpenAIServer(port=port)
        with pytest.raises(FakeServerError, match="exited with code") as info:
            srv.start()
    assert "address already in use" in str(info.value).lower()
    assert srv.pid is None


def test_cli_prints_the_url_and_merges_config_file_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": "from-file", "fixed_reply": "file reply", "output_tokens": 3}))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "pytest_llmeval.testing.server",
        "--port",
        "0",
        "--config",
        str(config),
        "--latency",
        "0.01",
        "--ttft",
        "0.02",
        "--itl",
        "0.001",
        "--output-tokens",
        "5",
        "--model",
        "from-flag",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(url + "/models").json()["data"][0]["id"] == "from-flag"
        reply = httpx.post(
            url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "q"}]}
        )
        assert reply.json()["choices"][0]["message"]["content"] == "file reply"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_cli_rejects_an_invalid_config_with_a_clear_message() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [sys.executable, "-m", "pytest_llmeval.testing.server", "--config-json", '{"ttft_s": -1, "bogus": 1}']
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode != 0
    assert "invalid configuration" in done.stderr
    assert "ttft_s" in done.stderr and "bogus" in done.stderr


def test_server_exits_when_its_parent_dies(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from pytest_llmeval.testing import FakeOpenAIServer\n"
        "s = FakeOpenAIServer().start()\nprint(s.pid, flush=True)\nimport os\nos._exit(0)\n"
    )
    out = subprocess.run([sys.executable, str(script)], check=True, capture_output=True, text=True, timeout=30)
    child = int(out.stdout.strip())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, 9)
    pytest.fail("the orphaned fake server did not exit within 5 s")


def test_pipelined_requests_are_answered_in_order_on_one_connection(server: FakeOpenAIServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
            + post("/v1/chat/completions", CHAT)
            + b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = recv_until_closed(sock)
    assert data.count(b"HTTP/1.1 200 OK") == 3
    first, second, third = data.split(b"HTTP/1.1 200 OK")[1:]
    assert b'"object":"list"' in first and b"chat.completion" in second and b'"object":"list"' in third
    assert b"Connection: close" in third


def test_request_split_across_many_packets(server: FakeOpenAIServer) -> None:
    raw = post("/v1/chat/completions", CHAT, "Connection: close\r\n")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(raw), 7):
            sock.sendall(raw[i : i + 7])
            time.sleep(0.001)
        data = recv_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"}")


def test_expect_100_continue_is_answered(server: FakeOpenAIServer) -> None:
    head = post("/v1/chat/completions", b"", "Expect: 100-continue\r\nConnection: close\r\n")
    head = head.replace(b"Content-Length: 0", f"Content-Length: {len(CHAT)}".encode())
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(5)
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(CHAT)
        assert recv_until_closed(sock).startswith(b"HTTP/1.1 200 OK")


def test_http10_closes_and_garbage_gets_400(server: FakeOpenAIServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")
        assert recv_until_closed(sock).startswith(b"HTTP/1.1 200 OK")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data = recv_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 Bad Request")
    assert b"malformed request line" in data


def test_chunked_request_body_is_refused_with_411(server: FakeOpenAIServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        data = recv_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 411") and b"Content-Length" in data
