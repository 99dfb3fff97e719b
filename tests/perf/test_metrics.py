"""Metric math on hand-computed cases (vLLM benchmark definitions)."""

from __future__ import annotations

import math

import pytest

from pytest_llmeval.perf.metrics import (
    Counted,
    LatencyStats,
    RequestRecord,
    percentile,
    request_itls,
    request_tpot,
    summarize,
)


def test_percentile_interpolates_linearly_between_closest_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    # rank = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3)
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_latency_stats_population_std_and_empty() -> None:
    stats = LatencyStats.of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert stats.count == 8
    assert stats.mean == 5.0
    assert stats.std == 2.0  # population std of the textbook example
    assert (stats.min, stats.max, stats.p50) == (2.0, 9.0, 4.5)
    empty = LatencyStats.of([])
    assert empty.count == 0 and empty.p99 is None and empty.mean is None


def test_tpot_and_itl_definitions() -> None:
    # latency 1.0 s, TTFT 0.1 s, 10 output tokens -> 0.9 / 9
    assert request_tpot(1.0, 0.1, 10) == pytest.approx(0.1)
    assert request_tpot(1.0, 0.1, 1) is None
    assert request_itls([0.1, 0.15, 0.15, 0.4]) == pytest.approx([0.05, 0.0, 0.25])


def _record(start: float, ttft: float, gaps: list[float], end: float) -> RequestRecord:
    times = [start + ttft]
    for gap in gaps:
        times.append(times[-1] + gap)
    return RequestRecord(start=start, end=end, first_token=start + ttft, chunk_times=times)


def test_summarize_hand_computed_run() -> None:
    a = _record(0.0, 0.1, [0.02, 0.02, 0.02], 0.2)  # 4 chunks, 5 output tokens (usage)
    b = _record(0.05, 0.3, [0.05], 0.45)  # 2 chunks, 3 output tokens
    c = RequestRecord(start=0.1, end=0.12, error_kind="http_500", error="HTTP 500: boom")
    d = RequestRecord(start=0.2, end=0.5, error_kind="timeout", error="timed out")
    counts = [Counted(10, 5, "usage"), Counted(20, 3, "usage"), None, None]
    result = summarize([a, b, c, d], counts, started=0.0, finished=0.5, slo={"ttft": 0.2})
    assert (result.number, result.ok, result.failed) == (4, 2, 2)
    assert result.errors == {"http_500": 1, "timeout": 1}
    assert result.first_error == "HTTP 500: boom"  # the earliest failure
    assert result.duration_s == 0.5
    assert result.request_throughput == pytest.approx(4.0)
    assert result.input_throughput == pytest.approx(60.0)
    assert result.output_throughput == pytest.approx(16.0)
    assert result.total_throughput == pytest.approx(76.0)
    assert result.ttft.mean == pytest.approx(0.2)
    assert result.ttft.p50 == pytest.approx(0.2)
    # TPOT: a = (0.2 - 0.1) / 4 = 0.025; b = (0.4 - 0.3) / 2 = 0.05
    assert result.tpot.min == pytest.approx(0.025) and result.tpot.max == pytest.approx(0.05)
    # ITL pools every gap: 0.02 x3 and 0.05
    assert result.itl.count == 4
    assert result.itl.mean == pytest.approx((0.06 + 0.05) / 4)
    assert result.latency.max == pytest.approx(0.4)
    assert result.goodput is not None
    assert result.goodput.good == 1  # only a meets TTFT <= 0.2
    assert result.goodput.ratio == 0.25  # failed requests count as missing the SLO
    assert result.goodput.rate == pytest.approx(2.0)
    assert result.token_source == "usage"


def test_token_source_is_the_weakest_used() -> None:
    a = _record(0.0, 0.1, [0.1], 0.3)
    b = _record(0.0, 0.1, [0.1], 0.3)
    result = summarize([a, b], [Counted(1, 2, "usage"), Counted(1, 2, "approximate")], started=0.0, finished=0.3)
    assert result.token_source == "approximate"


def test_all_failed_run_has_no_statistics_and_keeps_the_first_error() -> None:
    records = [
        RequestRecord(start=0, end=0.2, error_kind="connection_reset", error="second"),
        RequestRecord(start=0, end=0.1, error_kind="http_503", error="first"),
    ]
    result = summarize(records, [None, None], started=0.0, finished=0.2)
    assert result.ok == 0 and result.failed == 2
    assert result.first_error == "first"
    assert result.ttft.count == 0 and result.request_throughput == 0.0
    assert not math.isnan(result.duration_s)
