"""Terminal table and benchmark prompts (the charts are in report/charts.py, tested in tests/report)."""

from __future__ import annotations

from pathlib import Path

from pytest_llmeval.perf.datasets import benchmark_messages
from pytest_llmeval.perf.metrics import LatencyStats, PerfResult
from pytest_llmeval.perf.table import perf_lines


def _result(parallel: int, ttft: list[float], rps: float, label: str = "") -> PerfResult:
    return PerfResult(
        label=label or f"parallel={parallel}",
        parallel=parallel,
        number=len(ttft),
        ok=len(ttft),
        request_throughput=rps,
        output_throughput=rps * 10,
        ttft=LatencyStats.of(ttft),
        latency=LatencyStats.of([t * 2 for t in ttft]),
    )


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
