"""The configured API key never reaches anything the plugin stores or prints, even when a server or a
model echoes it back, in any encoding a model or a server plausibly emits of the whole key: a real loopback
server that answers with the request's Authorization header, plain and encoded."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus, unquote

import pytest

from pytest_llmeval import redact as redaction
from tests.conftest import write_jsonl
from tests.endpoint.test_transport_errors import RawServer, read_request
from tests.runs import dataset, llm_args

KEY = "sk-live-0123456789abcdef-SECRET"
# A realistic project key (161 characters), and short ones with the characters base64, URL-encoding and the
# URL-safe alphabet treat differently.
LONG_KEY = (
    "sk-proj-" + base64.urlsafe_b64encode(hashlib.sha512(b"1").digest() + hashlib.sha512(b"2").digest())[:153].decode()
)
SHORT_KEYS = ["sk-9/Zq+", "sk-ant-9f/Zq+Tw==Lm_08"]
assert len(LONG_KEY) == 161


def wrapped(text: str, column: int, newline: str = "\n") -> str:
    """``text`` cut into lines of ``column`` characters, as MIME (76), PEM (64) and the base64 command do."""
    return newline.join(text[i : i + column] for i in range(0, len(text), column)) + newline


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def urlsafe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def percent(raw: bytes, hex_format: str = "%{:02X}", every: int = 1) -> str:
    """Every ``every``-th byte percent-encoded (all of them by default), the others left as they are."""
    return "".join(hex_format.format(byte) if i % every == 0 else chr(byte) for i, byte in enumerate(raw))


# How a model or a server writes the whole key (its UTF-8 bytes, `b`), with up to 2 bytes before and
# 3 after it in the same encoded text: at each of the three byte alignments base64 can have.
ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "plain": lambda b: b.decode(),
    "quote": lambda b: quote(b.decode(), safe=""),
    "quote_plus": lambda b: quote_plus(b.decode()),
    "hex": lambda b: b.hex(),
    "HEX": lambda b: b.hex().upper(),
    "hex wrapped 64": lambda b: wrapped(b.hex(), 64),
    "base64": lambda b: b64(b),
    "base64 +1 +3": lambda b: b64(b"x" + b + b"yz!"),
    "base64 +2 unpadded": lambda b: b64(b"xy" + b).rstrip("="),
    "urlsafe +1 unpadded": lambda b: urlsafe(b"x" + b).rstrip("="),
    "urlsafe +2 +1": lambda b: urlsafe(b"xy" + b + b"z"),
    "encodebytes": lambda b: base64.encodebytes(b).decode(),
    "encodebytes +1": lambda b: base64.encodebytes(b"x" + b).decode(),
    "encodebytes +2": lambda b: base64.encodebytes(b"xy" + b).decode(),
    "base64 PEM 64 CRLF": lambda b: wrapped(b64(b"x" + b), 64, "\r\n"),
    "urlsafe wrapped 76 unpadded": lambda b: wrapped(urlsafe(b"xy" + b).rstrip("="), 76),
    "base64 wrapped 5": lambda b: wrapped(b64(b), 5),
    "base64 wrapped 13 CRLF": lambda b: wrapped(b64(b"xy" + b), 13, "\r\n"),
    "base64 wrapped 64 CR": lambda b: wrapped(b64(b), 64, "\r"),
    "percent every byte": lambda b: percent(b),
    "percent every byte lower": lambda b: percent(b, "%{:02x}"),
    "percent every other byte": lambda b: percent(b, every=2),
    "percent every third byte lower": lambda b: percent(b, "%{:02x}", every=3),
}


def joined(text: str) -> str:
    """``text`` without its line breaks, raw or JSON-escaped (as the cache and the samples file hold them)."""
    for brk in ("\\r", "\\n", "\r", "\n"):
        text = text.replace(brk, "")
    return text


def pieces(encoded: str) -> list[str]:
    """Parts of an encoded key that must not survive: the encoding and every 12 characters of its middle
    (the edges may keep up to 3 characters of the bytes around the key, and base64 its padding)."""
    encoded = joined(encoded)
    middle = encoded[6:-6]
    return [encoded] + [middle[i : i + 12] for i in range(max(len(middle) - 11, 0))]


@pytest.fixture
def no_secrets() -> Iterator[None]:
    """The registry of this process starts empty for the test and is as it was afterwards."""
    with redaction._LOCK:
        saved = set(redaction._SECRETS), redaction._FORMS
        redaction._SECRETS.clear()
        redaction._FORMS = []
    yield
    with redaction._LOCK:
        redaction._SECRETS.clear()
        redaction._SECRETS.update(saved[0])
        redaction._FORMS = saved[1]


@pytest.mark.parametrize("key", [LONG_KEY, *SHORT_KEYS], ids=["161 chars", "8 chars", "22 chars"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_of_the_whole_key_is_redacted(no_secrets, encoding: str, key: str) -> None:
    redaction.register_secret(key)
    encoded = ENCODINGS[encoding](key.encode())
    text = f"Your key is:\n{encoded}\nThe answer is 36."
    redacted = redaction.redact(text)
    assert "[REDACTED]" in redacted
    assert redacted.startswith("Your key is:\n") and redacted.endswith("The answer is 36.")
    assert [piece for piece in pieces(encoded) if piece in joined(redacted)] == []
    assert key not in unquote(joined(redacted))
    assert redaction.redact(redacted) == redacted


def test_ordinary_text_is_left_alone(no_secrets) -> None:
    for key in (LONG_KEY, *SHORT_KEYS):
        redaction.register_secret(key)
    text = (
        "50% of 12 is 6; 100%25 and %41%42 stay.\r\nA line\nanother \\n escaped, a path C:\\new\n"
        + base64.encodebytes(b"nothing secret here, only a long enough text to wrap " * 3).decode()
        + "sk-proj- is how keys start; %73%6B-%70 is not one"
    )
    assert redaction.redact(text) == text


def read_whole_request(conn: socket.socket) -> tuple[str, str, bytes] | None:
    """The next request on `conn`: its request line, its Authorization header ("" without one) and its
    whole body; None once the client closed the connection."""
    head = read_request(conn)
    if not head:
        return None
    headers, _, body = head.partition(b"\r\n\r\n")
    request_line, *lines = headers.decode().split("\r\n")
    fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    while len(body) < int(fields.get("content-length") or 0):
        body += conn.recv(65536)
    return request_line, fields.get("authorization", ""), body


def echoing_server(encode: Callable[[bytes], str] = ENCODINGS["plain"]) -> RawServer:
    def handle(conn: socket.socket) -> None:
        while (request := read_whole_request(conn)) is not None:
            request_line, auth, body = request
            shown = encode(auth.removeprefix("Bearer ").encode())
            if request_line.startswith("GET"):
                payload, status = {"object": "list", "data": [{"id": "m"}]}, "200 OK"
            elif b"apples" in body:  # a 400 whose body quotes the header, as some proxies do
                payload, status = (
                    {"error": {"message": f"bad request; got header Authorization: {auth}, that is {shown}"}},
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
                            "message": {"role": "assistant", "content": f"Your key is {shown}. The answer is 36."},
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


END_TO_END = [
    (KEY, "plain"),
    (LONG_KEY, "encodebytes"),  # what `base64` prints: MIME lines of 76
    (LONG_KEY, "base64 PEM 64 CRLF"),
    (LONG_KEY, "urlsafe +1 unpadded"),
    (LONG_KEY, "percent every byte"),
    (LONG_KEY, "percent every byte lower"),
    (LONG_KEY, "percent every other byte"),
    (LONG_KEY, "HEX"),
    (SHORT_KEYS[1], "base64 wrapped 13 CRLF"),
    (SHORT_KEYS[0], "percent every byte lower"),
]


@pytest.mark.parametrize(
    ("key", "encoding"), END_TO_END, ids=[f"{len(key)} chars, {encoding}" for key, encoding in END_TO_END]
)
def test_key_echoed_by_the_server_is_redacted_everywhere(pytester, tmp_path, monkeypatch, key, encoding):
    server = echoing_server(ENCODINGS[encoding])
    try:
        rows = [
            {"question": "Tom has 2 apples and buys 3 more. How many apples?", "answer": "#### 5"},
            {"question": "Sara reads 12 pages a day for 3 days. How many pages?", "answer": "#### 36"},
        ]
        data = write_jsonl(tmp_path / "gsm8k.jsonl", rows)
        results, samples, html = tmp_path / "r.json", tmp_path / "s.jsonl", tmp_path / "report.html"
        junit = tmp_path / "junit.xml"
        if key == KEY:
            monkeypatch.setenv("OPENAI_API_KEY", key)
        result = pytester.runpytest_subprocess(
            *llm_args(f"http://127.0.0.1:{server.port}/v1", model="m"),
            *dataset("gsm8k", data),
            *([] if key == KEY else ["--llm-api-key", key]),
            "--llm-results",
            str(results),
            "--llm-samples",
            str(samples),
            "--llm-retries",
            "0",
            "-v",
            "--html",
            str(html),
            "--junitxml",
            str(junit),
        )
    finally:
        server.close()
    result.assert_outcomes(passed=1, errors=1)
    written = [result.stdout.str(), result.stderr.str()]
    written += [path.read_text() for path in (results, samples, html, junit)]
    cache_dir = pytester.path / ".pytest_cache" / "llmeval"
    cache = [p.read_bytes().decode("latin-1") for p in cache_dir.rglob("*") if p.is_file()]
    assert cache and any("The answer is 36" in text for text in cache)  # the answer is cached
    written += cache
    forbidden = [key, key[:20], *pieces(ENCODINGS[encoding](key.encode()))]  # nor a truncated part of it
    assert [piece for piece in forbidden if any(piece in joined(text) for text in written)] == []
    stored = [json.loads(line) for line in samples.read_text().splitlines()]
    assert any("[REDACTED]" in (line.get("error") or "") for line in stored)
    assert any("[REDACTED]" in (line.get("output") or "") for line in stored)


def test_secrets_of_the_base_url_echoed_by_the_server_are_redacted_everywhere(pytester, tmp_path):
    """`http://user:password@host/v1?api-key=...` (both documented as secrets): a server that quotes the
    request's path and its Basic `Authorization` header in a 400 body, and in an answer."""
    password, query_key = "pw-Basic0123456789", "azure-Query0123456789"

    def handle(conn: socket.socket) -> None:
        while (request := read_whole_request(conn)) is not None:
            request_line, auth, body = request
            quoted = f"{request_line} with {auth}"
            if request_line.startswith("GET"):
                payload, status = {"object": "list", "data": [{"id": "m"}]}, "200 OK"
            elif b"apples" in body:
                payload, status = {"error": {"message": f"refused {quoted}"}}, "400 Bad Request"
            else:
                content = f"You sent {quoted}. The answer is 36."
                payload = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": content}}]}
                status = "200 OK"
            data = json.dumps(payload).encode()
            conn.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)

    server = RawServer(handle)
    rows = [
        {"question": "Tom has 2 apples and buys 3 more. How many apples?", "answer": "#### 5"},
        {"question": "Sara reads 12 pages a day for 3 days. How many pages?", "answer": "#### 36"},
    ]
    data = write_jsonl(tmp_path / "gsm8k.jsonl", rows)
    samples = tmp_path / "s.jsonl"
    url = f"http://user:{password}@127.0.0.1:{server.port}/v1?api-version=2024-02-01&api-key={query_key}"
    try:
        result = pytester.runpytest_subprocess(
            *llm_args(url, model="m"),
            *dataset("gsm8k", data),
            "--llm-samples",
            str(samples),
            "--llm-retries",
            "0",
            "-v",
        )
    finally:
        server.close()
    result.assert_outcomes(passed=1, errors=1)
    written = [result.stdout.str(), result.stderr.str(), samples.read_text()]
    cache_dir = pytester.path / ".pytest_cache" / "llmeval"
    written += [p.read_bytes().decode("latin-1") for p in cache_dir.rglob("*") if p.is_file()]
    basic = b64(f"user:{password}".encode())
    forbidden = [password, query_key, basic[4:-4], "api-key="]
    assert [piece for piece in forbidden if any(piece in joined(text) for text in written)] == []
    assert "[REDACTED]" in samples.read_text()
