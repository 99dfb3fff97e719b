"""The response-size cap: one rule for every client that reads a server's reply.

A server (or anything posing as one) can answer with an endless stream, a line that never ends,
or a small gzip body that inflates to gigabytes. Every reader counts the bytes of a response as
they arrive, after decompression, and stops reading the moment the count passes
`--llm-max-response-bytes` (default 16 MiB), so memory stays bounded by the cap whatever is sent.

Users of the rule: the eval client (`endpoint/client.py`: a `bad_response` error of the sample)
and the perf load generator (`perf/backend.py`, and `endpoint/native.py`, the HTTP client both use: a
request counted under the error kind `response_too_large`). Both report `too_large_message`, which names the option.
"""

from __future__ import annotations

__all__ = ["ERROR_KIND", "ResponseBudget", "ResponseTooLarge", "too_large_message"]

ERROR_KIND = "response_too_large"  # the perf error kind; the eval client files it under bad_response


def too_large_message(limit: int) -> str:
    return f"response body is larger than {limit:,} bytes (--llm-max-response-bytes)"


class ResponseTooLarge(Exception):
    """Raised by `ResponseBudget` once a response passes its cap; each client maps it to its own
    error type (the message is `too_large_message`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(too_large_message(limit))
        self.limit = limit

    def __reduce__(self) -> tuple[type[ResponseTooLarge], tuple[int]]:  # to cross a pipe (endpoint/pool_process.py)
        return (type(self), (self.limit,))


class ResponseBudget:
    """Counts the bytes of one response. `add(n)` after every read; `declared(length)` with a
    Content-Length header refuses a body announced larger than the cap before reading any of it."""

    __slots__ = ("limit", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0

    def add(self, count: int) -> None:
        self.size += count
        if self.size > self.limit:
            raise ResponseTooLarge(self.limit)

    def declared(self, length: str | bytes | int | None) -> None:
        if isinstance(length, (str, bytes)):
            length = int(length) if length.strip().isdigit() else None
        if length is not None and length > self.limit:
            raise ResponseTooLarge(self.limit)
