"""Minimal HTTP/1.1 for the fake server: an incremental request parser and response framing.

Supported: keep-alive (HTTP/1.1 default, ``Connection: close`` honoured, HTTP/1.0 closes unless
``Connection: keep-alive``), pipelined requests (answered in order), ``Content-Length`` request
bodies, ``Expect: 100-continue``. Not supported: chunked *request* bodies (answered 411), upgrades.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024

REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


class HttpError(Exception):
    """A request that cannot be parsed; the connection is answered with ``status`` then closed.
    Internal to the test server (becomes an HTTP reply), so not in errors.py."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes
    keep_alive: bool
    arrival: float  # event-loop time when the last byte of the request was read


class RequestParser:
    """Feed bytes with ``feed``; pull complete requests with ``next_request``.

    The head of a request is parsed once, even when a large body arrives in many pieces.
    """

    __slots__ = ("_head", "buf", "continue_due")

    def __init__(self) -> None:
        self.buf = bytearray()
        self._head: tuple[str, str, dict[str, str], int, bool] | None = None
        self.continue_due = False  # caller writes CONTINUE and clears it

    def feed(self, data: bytes) -> None:
        self.buf += data

    def next_request(self, now: float) -> HttpRequest | None:
        """The next complete request, or None when more bytes are needed. Raises HttpError."""
        buf = self.buf
        if self._head is None:
            while buf[:2] == b"\r\n":  # RFC 9112 2.2: ignore empty lines before a request-line
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise HttpError(431, "request head larger than 64 KiB")
                return None
            head = self._parse_head(bytes(buf[:end]))
            del buf[: end + 4]
            self._head = head
            headers = head[2]
            if len(buf) < head[3] and headers.get("expect", "").lower() == "100-continue":
                self.continue_due = True
        method, path, headers, length, keep_alive = self._head
        if len(buf) < length:
            return None
        if length:
            body = bytes(buf[:length])
            del buf[:length]
        else:
            body = b""
        self._head = None
        return HttpRequest(method, path, headers, body, keep_alive, now)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, dict[str, str], int, bool]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, f"malformed request line {lines[0][:100]!r}")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, f"malformed header line {line[:100]!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise HttpError(411, "chunked request bodies are not supported: send Content-Length")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise HttpError(400, "Content-Length is not an integer") from None
        if length < 0:
            raise HttpError(400, "negative Content-Length")
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "request body larger than 64 MiB")
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        path = target.split("?", 1)[0]
        return method, path, headers, length, keep_alive


def response_head(
    status: int,
    content_type: str,
    *,
    content_length: int | None = None,
    close: bool = False,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Status line and headers; ``content_length=None`` means ``Transfer-Encoding: chunked``."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    if content_length is None:
        lines.append("Transfer-Encoding: chunked")
        lines.append("Cache-Control: no-cache")
    else:
        lines.append(f"Content-Length: {content_length}")
    if close:
        lines.append("Connection: close")
    for name, value in extra_headers:
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One ``Transfer-Encoding: chunked`` chunk."""
    return b"%x\r\n%b\r\n" % (len(data), data)
