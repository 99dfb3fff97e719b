"""Fault injection: each mode fails the way a client will see it from a real, misbehaving server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_llmeval.testing import FailRule, FakeOpenAIServer


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def faulty() -> Iterator[FakeOpenAIServer]:
    config: dict[str, Any] = {
        "fail_rules": [FailRule(contains="POISON", status=503)],
        "malformed": "MALFORMED",
        "truncate": ["TRUNCATE"],
        "drop_connection": "DROP",
        "hang": "HANG",
        "output_tokens": 10,
        "itl_s": 0.002,
    }
    with FakeOpenAIServer(**config) as srv:
        yield srv


@pytest.fixture
def http(faulty: FakeOpenAIServer) -> Iterator[httpx.Client]:
    faulty.reset()
    with httpx.Client(base_url=faulty.base_url, timeout=5.0) as client:
        yield client


def test_fail_first_n_with_429_and_retry_after_then_succeeds() -> None:
    with (
        FakeOpenAIServer(fail_first_n=2, fail_status=429, retry_after_s=1.5) as srv,
        httpx.Client(base_url=srv.base_url) as http,
    ):
        statuses = [http.post("/chat/completions", json=chat("q")) for _ in range(4)]
        assert [r.status_code for r in statuses] == [429, 429, 200, 200]
        assert statuses[0].headers["retry-after"] == "2"
        assert statuses[0].headers["retry-after-ms"] == "1500"
        assert statuses[0].json()["error"]["code"] == "rate_limit_exceeded"
        srv.reset()  # rewinds the counter: the next request is "first" again
        assert http.post("/chat/completions", json=chat("q")).status_code == 429
        assert srv.stats()["faults"] == {"fail_first_n": 1}


def test_fail_every_k_fails_every_kth_generation_request() -> None:
    with FakeOpenAIServer(fail_every_k=3) as srv, httpx.Client(base_url=srv.base_url) as http:
        codes = [http.post("/chat/completions", json=chat("q")).status_code for _ in range(7)]
    assert codes == [200, 200, 500, 200, 200, 500, 200]


def test_fail_rule_always_fails_matching_prompts(http: httpx.Client) -> None:
    for _ in range(2):
        response = http.post("/chat/completions", json=chat("this is POISON"))
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "server_error"
    assert http.post("/chat/completions", json=chat("healthy")).status_code == 200


def test_fault_substrings_match_system_messages_too(http: httpx.Client) -> None:
    body = {"model": "m", "messages": [{"role": "system", "content": "POISON"}, {"role": "user", "content": "q"}]}
    assert http.post("/chat/completions", json=body).status_code == 503


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_returns_200_with_non_json(http: httpx.Client, stream: bool) -> None:
    response = http.post("/chat/completions", json=chat("MALFORMED please", stream=stream))
    assert response.status_code == 200
    if stream:
        events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
        with pytest.raises(json.JSONDecodeError):
            json.loads(events[0])
    else:
        with pytest.raises(json.JSONDecodeError):
            response.json()
    # the connection stays healthy afterwards
    assert http.post("/chat/completions", json=chat("fine")).status_code == 200


def test_truncate_non_stream_closes_mid_body(http: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/chat/completions", json=chat("TRUNCATE me"))


def test_truncate_stream_closes_mid_stream_without_done(faulty: FakeOpenAIServer) -> None:
    events: list[str] = []
    url = faulty.base_url + "/chat/completions"
    with (  # noqa: PT012 - the stream opens fine (asserted) and breaks while it is read
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", url, json=chat("TRUNCATE", stream=True)) as response,
    ):
        assert response.status_code == 200
        events.extend(line[6:] for line in response.iter_lines() if line.startswith("data: "))
    assert events, "the stream should start before it is cut"
    assert "[DONE]" not in events
    tokens = [e for e in events if '"content":"' in e and '"content":""' not in e]
    assert 0 < len(tokens) < 10


def test_drop_connection_closes_without_response(http: httpx.Client, faulty: FakeOpenAIServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/chat/completions", json=chat("DROP it"))
    assert faulty.stats()["faults"] == {"drop_connection": 1}


def test_hang_never_answers_until_the_client_gives_up(faulty: FakeOpenAIServer) -> None:
    faulty.reset()
    with httpx.Client(base_url=faulty.base_url, timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=chat("HANG forever"))
    body = json.dumps(chat("HANG again")).encode()
    with socket.create_connection(("127.0.0.1", faulty.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        )
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(1)
        assert faulty.stats()["in_flight"] == 1
    # the client closed its connection: the server forgets the request
    deadline = time.monotonic() + 2
    while faulty.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert faulty.stats()["in_flight"] == 0
    assert faulty.stats()["faults"] == {"hang": 2}


def test_faults_apply_to_completions_endpoint(http: httpx.Client) -> None:
    assert http.post("/completions", json={"model": "m", "prompt": "POISON"}).status_code == 503
    assert http.post("/completions", json={"model": "m", "prompt": "ok"}).status_code == 200


def test_failed_requests_are_still_counted_by_body_hash(http: httpx.Client, faulty: FakeOpenAIServer) -> None:
    http.post("/chat/completions", json=chat("POISON"))
    http.post("/chat/completions", json=chat("POISON"))
    stats = faulty.stats()
    assert list(stats["chat_by_body_sha256"].values()) == [2]
    assert stats["statuses"] == {"503": 2}
