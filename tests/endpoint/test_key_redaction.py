"""The configured API key never reaches anything the plugin stores or prints, even when a server or a
model echoes it back: a real loopback server that answers with the request's Authorization header."""

from __future__ import annotations

import json
import socket

from tests.conftest import write_jsonl
from tests.endpoint.test_transport_errors import RawServer, read_request
from tests.runs import dataset, llm_args

KEY = "sk-live-0123456789abcdef-SECRET"


def echoing_server() -> RawServer:
    def handle(conn: socket.socket) -> None:
        while True:
            head = read_request(conn)
            if not head:
                return
            headers, _, body = head.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in headers.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
            auth = next(
                (
                    line.split(b":", 1)[1].strip().decode()
                    for line in headers.split(b"\r\n")
                    if line.lower().startswith(b"authorization")
                ),
                "",
            )
            if headers.startswith(b"GET"):
                payload, status = {"object": "list", "data": [{"id": "m"}]}, "200 OK"
            elif b"apples" in body:  # a 400 whose body quotes the header, as some proxies do
                payload, status = (
                    {"error": {"message": f"bad request; got header Authorization: {auth}"}},
                    "400 Bad Request",
                )
            else:  # a model that repeats the key it was shown
                payload = {
                    "object": "chat.completion",
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": f"Your key is {auth}. The answer is 36."},
                        }
                    ],
                }
                status = "200 OK"
            data = json.dumps(payload).encode()
            conn.sendall(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                + data
            )

    return RawServer(handle)


def test_key_echoed_by_the_server_is_redacted_everywhere(pytester, tmp_path, monkeypatch):
    server = echoing_server()
    try:
        rows = [
            {"question": "Tom has 2 apples and buys 3 more. How many apples?", "answer": "#### 5"},
            {"question": "Sara reads 12 pages a day for 3 days. How many pages?", "answer": "#### 36"},
        ]
        data = write_jsonl(tmp_path / "gsm8k.jsonl", rows)
        results, samples, html = tmp_path / "r.json", tmp_path / "s.jsonl", tmp_path / "report.html"
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = pytester.runpytest_subprocess(
            *llm_args(f"http://127.0.0.1:{server.port}/v1", model="m"),
            *dataset("gsm8k", data),
            "--llm-results",
            str(results),
            "--llm-samples",
            str(samples),
            "--llm-retries",
            "0",
            "-v",
            "--html",
            str(html),
        )
    finally:
        server.close()
    result.assert_outcomes(passed=1, errors=1)
    written = [result.stdout.str(), result.stderr.str(), results.read_text(), samples.read_text(), html.read_text()]
    cache_dir = pytester.path / ".pytest_cache" / "llmeval"
    written += [p.read_bytes().decode("latin-1") for p in cache_dir.rglob("*") if p.is_file()]
    assert not any(KEY in text for text in written)
    assert not any(KEY[:20] in text for text in written)  # nor a truncated part of it
    stored = [json.loads(line) for line in samples.read_text().splitlines()]
    assert any("[REDACTED]" in (line.get("error") or "") for line in stored)
    assert any("[REDACTED]" in (line.get("output") or "") for line in stored)
