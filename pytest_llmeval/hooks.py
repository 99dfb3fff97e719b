"""Hooks pytest-llmbench offers to conftests and other plugins (register nothing: just implement them).

They are also the seam inside the plugin: every optional feature of a run (aggregation, the samples
file, early stop, collection tables, efficiency figures, live progress) is a small plugin of its own
that implements some of these (see `pytest_llmeval/run/`). In the order a run calls them:
`pytest_llmeval_collected` (collection), `pytest_llmeval_plan`, then per sample
`pytest_llmeval_sample_record` or `pytest_llmeval_sample_skipped`, and at the end
`pytest_llmeval_assemble`, `pytest_llmeval_gate`, `pytest_llmeval_results`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .results import RunResult, SampleRecord


@pytest.hookspec
def pytest_llmeval_collected(items: list[pytest.Item], config: pytest.Config) -> None:
    """Called on every process that collects, once the sample items were added to `items` (before
    -k/-m deselect them); may reorder `items` in place."""


@pytest.hookspec
def pytest_llmeval_plan(nodeids: list[str], workers: int) -> None:
    """Called once on the process that aggregates with the node ids this run will run (after
    collection, or from the first xdist worker's collection) and how many processes run them."""


@pytest.hookspec
def pytest_llmeval_sample_record(record: SampleRecord) -> None:
    """Called once per sample on the process that aggregates (the xdist controller or the only one)."""


@pytest.hookspec
def pytest_llmeval_sample_skipped(benchmark: str, subset: str) -> None:
    """Called once per sample that `--llm-early-stop` left unrequested (single process only)."""


@pytest.hookspec
def pytest_llmeval_assemble(result: RunResult, config: pytest.Config) -> None:
    """Called while the run's result is assembled, before any gate votes: fill in your part
    (scores, a table, threshold outcomes). `result.passed` is not decided yet."""


@pytest.hookspec
def pytest_llmeval_results(result: RunResult, config: pytest.Config) -> None:
    """Called with the final results before they are written; may add to `result.extra`."""


@pytest.hookspec
def pytest_llmeval_gate(result: RunResult, config: pytest.Config) -> Any:
    """Return False to fail the run (exit status 1) after thresholds were checked; None to abstain."""
