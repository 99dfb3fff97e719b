"""Injected timings are accurate from the client's side: this server is the ground truth of TTFT/ITL.

The client here is a bare keep-alive socket (pre-encoded request, timestamps taken at ``recv``)
so what is measured is the server, not a client library's overhead, which on a loaded 2-core
machine alone adds 1-3 ms to an httpx TTFT. Medians over ~20 requests absorb scheduling noise.

These tests must hold on a busy machine (the suite runs under `-n 2` beside other work): they
check the *shape* of the schedule — never early, late by a bounded amount, no drift that grows
with the stream — with generous bounds, and run in one xdist group so that they never compete
with each other. The millisecond precision is measured, not asserted: `bench/perf_accuracy.py`.
"""

from __future__ import annotations

import itertools
import json
import socket
import statistics
import time
from collections.abc import Iterator

import pytest

from pytest_llmeval.testing import FakeOpenAIServer

pytestmark = pytest.mark.xdist_group("timing")

TTFT_S = 0.050
ITL_S = 0.010
TOKENS = 20
REQUESTS = 20
_CONTENT = b'"content":"'
_EMPTY_CONTENT = b'"content":""'
EARLY_S = 0.003  # the server fires timers up to its timer lead early (timer_lead_s), never more
LATE_S = 0.100  # a loaded machine may deliver this much later; a broken schedule is far later


def on_schedule(measured: float, expected: float, what: str) -> None:
    assert expected - EARLY_S <= measured <= expected + LATE_S, (
        f"{what}: {measured * 1e3:.2f} ms, expected {expected * 1e3:.0f} ms"
    )


@pytest.fixture(scope="module")
def timed() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ttft_s=TTFT_S, itl_s=ITL_S, latency_s=0.1, output_tokens=TOKENS) as srv:
        yield srv


class RawClient:
    """One keep-alive connection; ``stream`` returns the arrival time of each content token."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(10)

    def close(self) -> None:
        self.sock.close()

    @staticmethod
    def request(body: dict[str, object]) -> bytes:
        data = json.dumps(body).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: {len(data)}\r\n\r\n"
        return head.encode() + data

    def stream(self, request: bytes) -> tuple[float, list[float]]:
        """(send time, content-token arrival times) of one streamed response."""
        start = time.perf_counter()
        self.sock.sendall(request)
        arrivals: list[float] = []
        tail = b""
        while not tail.endswith(b"0\r\n\r\n") or b"[DONE]" not in tail:
            data = self.sock.recv(1 << 20)
            now = time.perf_counter()
            if not data:
                raise ConnectionError("server closed the stream early")
            arrivals += [now] * (data.count(_CONTENT) - data.count(_EMPTY_CONTENT))
            tail = (tail + data)[-64:]
        return start, arrivals

    def post(self, request: bytes) -> float:
        """Seconds until a complete Content-Length response arrived."""
        start = time.perf_counter()
        self.sock.sendall(request)
        buf = b""
        while True:
            buf += self.sock.recv(1 << 20)
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    return time.perf_counter() - start


STREAM_REQUEST = RawClient.request(
    {"model": "m", "stream": True, "messages": [{"role": "user", "content": "alpha beta gamma"}]}
)


def measure_stream(client: RawClient) -> tuple[float, float, int]:
    """(ttft, mean itl, content chunks) as the client sees them."""
    start, arrivals = client.stream(STREAM_REQUEST)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    return arrivals[0] - start, statistics.fmean(gaps), len(arrivals)


def test_stream_ttft_and_itl_match_the_configuration(timed: FakeOpenAIServer) -> None:
    timed.reset()
    client = RawClient(timed.port)
    try:
        measure_stream(client)  # warm the connection
        samples = [measure_stream(client) for _ in range(REQUESTS)]
    finally:
        client.close()
    ttft = statistics.median(s[0] for s in samples)
    itl = statistics.median(s[1] for s in samples)
    assert all(s[2] == TOKENS for s in samples)
    on_schedule(ttft, TTFT_S, "client-side median TTFT")
    assert ITL_S / 2 <= itl <= ITL_S * 3, f"client-side median ITL {itl * 1e3:.3f} ms"

    # what the server says it did agrees, tighter
    streams = timed.stats()["timings"]["streams"]
    assert len(streams) == REQUESTS + 1
    server_ttft = statistics.median(s[0] for s in streams)
    server_itl = statistics.median(s[1] for s in streams)
    on_schedule(server_ttft, TTFT_S, "server-side median TTFT")
    assert server_ttft <= ttft + 0.001  # the server wrote before the client read
    assert ITL_S / 2 <= server_itl <= ITL_S * 3, f"server-side median ITL {server_itl * 1e3:.3f} ms"
    assert all(s[2] == TOKENS for s in streams)


def test_itl_does_not_accumulate_drift_over_a_long_stream(timed: FakeOpenAIServer) -> None:
    """200 tokens at 10 ms: token i lands at ttft + i*itl; per-token lateness must not add up."""
    request = RawClient.request(
        {
            "model": "m",
            "stream": True,
            "max_tokens": 200,
            "ignore_eos": True,
            "messages": [{"role": "user", "content": "x"}],
        }
    )
    client = RawClient(timed.port)
    try:
        start, arrivals = client.stream(request)
    finally:
        client.close()
    assert len(arrivals) == 200
    # from the request, the last token lands at ttft + 199 intervals, never early (the span alone
    # can be short: a late first token shortens it); with per-token drift (a relative schedule) a
    # loaded machine's late wake-ups would add up to far more than one late token
    on_schedule(arrivals[-1] - start, TTFT_S + 199 * ITL_S, "the last of 200 tokens")
    span = arrivals[-1] - arrivals[0]
    assert span <= 199 * ITL_S + LATE_S, f"200 tokens spanned {span * 1e3:.1f} ms"
    # and the grid does not slide: tokens 0-49 and 150-199 sit at the same offset from i*itl
    offsets = [a - i * ITL_S for i, a in enumerate(arrivals)]
    slide = statistics.median(offsets[-50:]) - statistics.median(offsets[:50])
    assert abs(slide) < LATE_S / 2, f"the token grid slid by {slide * 1e3:.2f} ms over 150 tokens"
    assert start < arrivals[0]


def test_non_stream_latency_matches_the_configuration(timed: FakeOpenAIServer) -> None:
    request = RawClient.request({"model": "m", "messages": [{"role": "user", "content": "q"}]})
    client = RawClient(timed.port)
    try:
        client.post(request)
        durations = [client.post(request) for _ in range(10)]
    finally:
        client.close()
    median = statistics.median(durations)
    on_schedule(median, 0.1, "median latency")


def test_concurrent_streams_keep_their_own_schedule(timed: FakeOpenAIServer) -> None:
    """Eight overlapping streams: the server's realised timings stay on schedule for each."""
    import concurrent.futures

    timed.reset()
    clients = [RawClient(timed.port) for _ in range(8)]
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(measure_stream, clients))
    finally:
        for c in clients:
            c.close()
    streams = timed.stats()["timings"]["streams"]
    assert len(streams) == 8
    # eight first tokens are due in the same millisecond: they are written one after another
    on_schedule(statistics.median(s[0] for s in streams), TTFT_S, "median TTFT of 8 concurrent streams")
    assert ITL_S / 2 <= statistics.median(s[1] for s in streams) <= ITL_S * 3
