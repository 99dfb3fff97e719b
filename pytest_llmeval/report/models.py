"""Moved to `pytest_llmeval.results` (a neutral module that report/ and gating/ both import);
this name stays importable for code written against it."""

from ..results import (  # noqa: F401
    BenchmarkResult,
    GroupResult,
    MetricUncertainty,
    RequestStats,
    RunResult,
    SampleRecord,
    ThresholdOutcome,
)
