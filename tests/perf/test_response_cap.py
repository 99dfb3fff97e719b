"""The perf load generator against a hostile server on loopback: a stream that never ends, a body
that never ends, a gzip bomb. Each request stops at `--llm-max-response-bytes` (the eval client's
rule, `endpoint/response_cap.py`) and is counted under the error kind `response_too_large`, whose
text names the cap; memory stays bounded by it.

The load generator runs in a child process under RLIMIT_AS 1 GiB, so the attack cannot eat the
machine when the cap regresses (an endless stream reached 4.7-11.7 GB in 15 s, a 4 MB gzip bomb
8.4 GB); its peak RSS is read with wait4."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.bounded import run_bounded
from tests.core.loopback import LoopbackChatServer

ROOT = Path(__file__).resolve().parents[2]
CAP = 2_000_000

CHILD = r"""
import json, sys
from pytest_llmeval.perf.load import make_spec
from pytest_llmeval.perf.runner import PerfJob, run_blocking

port, transport, stream, cap = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
spec = make_spec({"parallel": 1, "number": 2, "prompt_tokens": 8, "transport": transport, "stream": stream})
job = PerfJob(spec=spec, model="m", chat_url=f"http://127.0.0.1:{port}/v1/chat/completions",
              models_url=f"http://127.0.0.1:{port}/v1/models", timeout=120.0, max_response_bytes=cap)
result = run_blocking(job)[0]
print(json.dumps({"errors": result.errors, "first_error": result.first_error, "ok": result.ok}))
"""


def run_perf_child(port: int, transport: str, stream: bool) -> tuple[dict[str, object], float]:
    """(the level's figures, peak RSS in MB) of a perf run in a child bounded to 1 GiB."""
    command = [sys.executable, "-c", CHILD, str(port), transport, "1" if stream else "0", str(CAP)]
    status, out, peak_mb = run_bounded(command, ROOT)
    assert status == 0, out[-2000:]
    return json.loads(out.strip().splitlines()[-1]), peak_mb


@pytest.mark.parametrize(
    ("mode", "transport", "stream"),
    [
        ("endless_sse", "native", True),
        ("endless_line", "native", True),
        ("endless_body", "native", False),
        ("endless_sse", "aiohttp", True),
        ("endless_body", "httpx", False),
        ("gzip_bomb", "aiohttp", False),
        ("gzip_bomb", "aiohttp", True),
        ("gzip_bomb", "httpx", False),
        ("gzip_bomb", "httpx", True),
    ],
)
def test_hostile_response_fails_at_the_cap_with_bounded_memory(mode: str, transport: str, stream: bool) -> None:
    with LoopbackChatServer(mode=mode) as server:
        figures, peak_mb = run_perf_child(server.port, transport, stream)
    assert figures["ok"] == 0
    assert figures["errors"] == {"response_too_large": 2}, figures
    assert "response body is larger than 2,000,000 bytes (--llm-max-response-bytes)" in str(figures["first_error"])
    # a few times the cap plus the interpreter; unbounded, the same run takes gigabytes
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"


def test_response_under_the_cap_is_measured() -> None:
    with LoopbackChatServer(mode="huge", huge_bytes=1_000_000) as server:
        figures, _ = run_perf_child(server.port, "native", False)
    assert figures["ok"] == 2 and figures["errors"] == {}
