"""xdist hook implementations, registered only when xdist is installed (its hookspecs exist then)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .distribution import StaticShareScheduling

BENCHMARKS_KEY = "llmeval_benchmarks"


class XdistHooks:
    def __init__(self, workerinput: Callable[[], dict[str, Any]],
                 collected: Callable[[list[str], int], None] | None = None) -> None:
        # A callable: the selection and the served URL are final only once the session starts.
        self._workerinput = workerinput
        self._collected = collected  # told the first worker's collection (node ids, worker count)

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        # Workers deal out items by the controller's list of benchmark names (so both sides agree
        # even when a worker's conftests register more benchmarks), and use the controller's server.
        node.workerinput.update(self._workerinput())

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> StaticShareScheduling:
        return StaticShareScheduling(config, log, self._workerinput()[BENCHMARKS_KEY])

    @pytest.hookimpl
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if self._collected is not None:
            collected, self._collected = self._collected, None
            collected(list(ids), int(getattr(node.config.option, "numprocesses", None) or 1))
