"""Injected timings are accurate from the client's side: this server is the ground truth of TTFT/ITL.

Medians over ~20 requests keep the assertions robust on a loaded 2-core machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from pytest_llmeval.testing import FakeOpenAIServer

TTFT_S = 0.050
ITL_S = 0.010
TOKENS = 20
REQUESTS = 20


@pytest.fixture(scope="module")
def timed() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ttft_s=TTFT_S, itl_s=ITL_S, latency_s=0.1, output_tokens=TOKENS) as srv:
        yield srv


def measure_stream(http: httpx.Client) -> tuple[float, float, int]:
    """(ttft, mean itl, content chunks) as a client sees them: from sending to each content chunk."""
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "alpha beta gamma"}]}
    arrivals: list[float] = []
    start = time.perf_counter()
    with http.stream("POST", "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    return arrivals[0] - start, statistics.fmean(gaps), len(arrivals)


def test_stream_ttft_and_itl_match_the_configuration(timed: FakeOpenAIServer) -> None:
    timed.reset()
    with httpx.Client(base_url=timed.base_url) as http:
        measure_stream(http)  # warm the connection
        samples = [measure_stream(http) for _ in range(REQUESTS)]
    ttft = statistics.median(s[0] for s in samples)
    itl = statistics.median(s[1] for s in samples)
    assert all(s[2] == TOKENS for s in samples)
    assert abs(ttft - TTFT_S) < 0.003, f"client-side median TTFT {ttft * 1e3:.2f} ms"
    assert abs(itl - ITL_S) < 0.001, f"client-side median ITL {itl * 1e3:.3f} ms"

    # what the server says it did agrees, tighter
    streams = timed.stats()["timings"]["streams"]
    assert len(streams) == REQUESTS + 1
    server_ttft = statistics.median(s[0] for s in streams)
    server_itl = statistics.median(s[1] for s in streams)
    assert abs(server_ttft - TTFT_S) < 0.001, f"server-side median TTFT {server_ttft * 1e3:.2f} ms"
    assert abs(server_itl - ITL_S) < 0.0005, f"server-side median ITL {server_itl * 1e3:.3f} ms"
    assert all(s[2] == TOKENS for s in streams)


def test_itl_does_not_accumulate_drift_over_a_long_stream(timed: FakeOpenAIServer) -> None:
    """200 tokens at 10 ms: the last token lands at ttft + 199*itl, not later by the sum of lateness."""
    body = {"model": "m", "stream": True, "max_tokens": 200, "ignore_eos": True,
            "messages": [{"role": "user", "content": "x"}]}
    with httpx.Client(base_url=timed.base_url) as http:
        start = time.perf_counter()
        last = 0.0
        with http.stream("POST", "/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if '"content":"' in line:
                    last = time.perf_counter()
    expected = TTFT_S + 199 * ITL_S
    assert abs((last - start) - expected) < 0.005, f"last token at {(last - start) * 1e3:.1f} ms, want {expected * 1e3}"


def test_non_stream_latency_matches_the_configuration(timed: FakeOpenAIServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
    durations = []
    with httpx.Client(base_url=timed.base_url) as http:
        http.post("/chat/completions", json=body)
        for _ in range(10):
            start = time.perf_counter()
            assert http.post("/chat/completions", json=body).status_code == 200
            durations.append(time.perf_counter() - start)
    median = statistics.median(durations)
    assert abs(median - 0.1) < 0.003, f"median latency {median * 1e3:.2f} ms"


def test_concurrent_streams_keep_their_own_schedule(timed: FakeOpenAIServer) -> None:
    """Eight overlapping streams: the server's realised timings stay on schedule for each."""
    import concurrent.futures

    timed.reset()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        clients = [httpx.Client(base_url=timed.base_url) for _ in range(8)]
        try:
            list(pool.map(measure_stream, clients))
        finally:
            for c in clients:
                c.close()
    streams = timed.stats()["timings"]["streams"]
    assert len(streams) == 8
    assert abs(statistics.median(s[0] for s in streams) - TTFT_S) < 0.001
    assert abs(statistics.median(s[1] for s in streams) - ITL_S) < 0.0005
