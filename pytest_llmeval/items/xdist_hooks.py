"""xdist hook implementations, registered only when xdist is installed (its hookspecs exist then)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .distribution import StaticShareScheduling

BENCHMARKS_KEY = "llmeval_benchmarks"


class XdistHooks:
    def __init__(self, workerinput: Callable[[], dict[str, Any]]) -> None:
        # A callable: the selection and the served URL are final only once the session starts.
        self._workerinput = workerinput

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        # Workers deal out items by the controller's list of benchmark names (so both sides agree
        # even when a worker's conftests register more benchmarks), and use the controller's server.
        node.workerinput.update(self._workerinput())

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> StaticShareScheduling:
        return StaticShareScheduling(config, log, self._workerinput()[BENCHMARKS_KEY])
