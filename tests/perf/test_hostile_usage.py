"""A perf level survives a server whose usage objects cannot be read (a count that is a string, a list,
a negative number; a usage that is a list): each request still counts, its tokens from the estimate. One
such reply made the perf worker process fail (`int('abc')`), losing every figure of the sweep. A real
`--llm-perf` sweep against a loopback server, whole and streamed replies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.loopback import JsonHandler, ThreadedServer

USAGES: list[Any] = [{"prompt_tokens": "abc", "completion_tokens": [1]}, {"prompt_tokens": -5}, [1, 2]]


class BadUsageServer(ThreadedServer):
    def __init__(self) -> None:
        served = iter(range(1 << 30))

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                self._reply(json.dumps({"object": "list", "data": [{"id": "m"}]}).encode(), "application/json")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                usage = USAGES[next(served) % len(USAGES)]
                choice = {"index": 0, "finish_reason": "stop"}
                if body.get("stream"):
                    events = [
                        {"choices": [dict(choice, delta={"content": "hello there"})]},
                        {"choices": [], "usage": usage},
                    ]
                    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                    self._reply(data + b"data: [DONE]\n\n", "text/event-stream")
                else:
                    reply = {"choices": [dict(choice, message={"content": "hello there"})], "usage": usage}
                    self._reply(json.dumps(reply).encode(), "application/json")

        super().__init__(Handler)


@pytest.fixture
def server() -> Iterator[BadUsageServer]:
    with BadUsageServer() as running:
        yield running


@pytest.mark.parametrize("stream", ["true", "false"])
def test_unreadable_usage_counts_leave_every_request_counted(pytester, server, stream):
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "--llm-model", "m", "--llm-base-url", server.base_url, "-p", "no:cacheprovider",
        "--llm-perf", "parallel=1", "number=6", "prompt_tokens=8", "output_tokens=4", f"stream={stream}",
        "--llm-results", str(results),
    )  # fmt: skip
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, output
    (level,) = json.loads(results.read_text())["extra"]["perf"]["runs"]
    assert level["ok"] == 6 and level["failed"] == 0, level
    assert level["output_tokens"] > 0 and level["input_tokens"] > 0
