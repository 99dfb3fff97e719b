"""xdist hook implementations, registered only when xdist is installed (its hookspecs exist then)."""

from __future__ import annotations

from typing import Any

import pytest

from .distribution import StaticShareScheduling


class XdistHooks:
    def __init__(self, benchmark_names: Any) -> None:
        self._benchmark_names = benchmark_names  # a callable: the selection is final only at session start

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        # Workers deal out items by the controller's list of benchmark names, so both sides agree
        # even when a worker's conftests register more benchmarks during collection.
        node.workerinput["llmeval_benchmarks"] = list(self._benchmark_names())

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> StaticShareScheduling:
        return StaticShareScheduling(config, log, self._benchmark_names())
