"""Charts, table and benchmark prompts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from pytest_llmeval.perf.charts import latency_chart, perf_charts, throughput_chart
from pytest_llmeval.perf.datasets import benchmark_messages
from pytest_llmeval.perf.metrics import LatencyStats, PerfResult
from pytest_llmeval.perf.table import perf_lines


def _result(parallel: int, ttft: list[float], rps: float, label: str = "") -> PerfResult:
    return PerfResult(label=label or f"parallel={parallel}", parallel=parallel, number=len(ttft), ok=len(ttft),
                      request_throughput=rps, output_throughput=rps * 10, ttft=LatencyStats.of(ttft),
                      latency=LatencyStats.of([t * 2 for t in ttft]))


def test_charts_are_well_formed_svg_with_escaped_text() -> None:
    results = [_result(1, [0.05, 0.06], 10.0), _result(8, [0.07, 0.2], 60.0, label="<b>&'x'")]
    charts = perf_charts(results)
    assert len(charts) == 6  # ttft, tpot, itl, latency, output tokens/s, requests/s
    for svg in charts:
        root = ET.fromstring(svg)  # raises on malformed XML or unescaped text
        assert root.tag.endswith("svg")
    ttft = latency_chart(results, "ttft")
    assert "TTFT percentiles" in ttft and ttft.count("<polyline") == 3  # p50, p90, p99
    assert "<b>" not in throughput_chart(results)
    # a metric without values (tpot here) draws axes only
    assert "<polyline" not in latency_chart(results, "tpot")


def test_chart_titles_are_escaped() -> None:
    results = [PerfResult(label="x", rate=2.5, ttft=LatencyStats.of([0.1]))]
    svg = latency_chart(results, "ttft")
    ET.fromstring(svg)
    assert "rate (requests/s)" in svg and "2.5/s" in svg


def test_table_lines() -> None:
    lines = perf_lines([_result(1, [0.05], 10.0), _result(8, [0.07], 60.0)], title="my test")
    assert lines[0] == "my test"
    assert lines[1].split()[:5] == ["Conc.", "Rate", "Num", "OK", "Fail"]
    assert any(line.split()[:2] == ["8", "-"] for line in lines)
    assert any("TTFT (ms)" in line and "50.00" in line for line in lines)


def test_benchmark_prompts_come_from_the_registry() -> None:
    prompts = benchmark_messages("smoke", "math", 3, {}, {}, Path.cwd())
    assert len(prompts) == 3
    assert all(p[-1]["role"] == "user" and isinstance(p[-1]["content"], str) for p in prompts)
