"""Hooks pytest-llmeval offers to conftests and other plugins (register nothing: just implement them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .results import RunResult, SampleRecord


@pytest.hookspec
def pytest_llmeval_sample_record(record: SampleRecord) -> None:
    """Called once per sample on the process that aggregates (the xdist controller or the only one)."""


@pytest.hookspec
def pytest_llmeval_results(result: RunResult, config: pytest.Config) -> None:
    """Called with the final results before they are written; may add to `result.extra`."""


@pytest.hookspec
def pytest_llmeval_gate(result: RunResult, config: pytest.Config) -> Any:
    """Return False to fail the run (exit status 1) after thresholds were checked; None to abstain."""
