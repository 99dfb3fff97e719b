"""The xdist controller's scheduler of an evaluation: each worker runs the fixed share
`engine.distribution` describes. Its own module so that a run without xdist never imports xdist's
scheduler (`xdist_hooks.py` imports it when xdist asks for a scheduler)."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Sequence
from typing import Any

import pytest
from xdist.scheduler import LoadScheduling

from .distribution import is_sample_nodeid, worker_number


class StaticShareScheduling(LoadScheduling):
    """LoadScheduling whose distribution is the fixed share described above: every worker's
    collection is its own share (sample items) plus the ordinary tests, which only gw0 runs.

    `node2pending` holds each worker's *local* item indices (what the worker reports back);
    `node2global` maps them to the run's collection (`collection`, the union), whose indices
    `pending` holds for a dead worker's leftovers."""

    # set by LoadScheduling (xdist ships no type information)
    collection: list[str] | None
    maxschedchunk: int | None

    def __init__(self, config: pytest.Config, log: object = None, benchmark_names: Collection[str] = ()) -> None:
        super().__init__(config, log)
        self.benchmark_names = set(benchmark_names)
        self.node2global: dict[Any, list[int]] = {}
        self.session: pytest.Session | None = None  # set by XdistHooks: the run's item count is kept on it
        self.total = 0  # items in the run's collection

    def add_node(self, node: Any) -> None:
        # a deque: items complete in order, so removing the first is O(1) (a list shifts 50k entries)
        assert node not in self.node2pending
        self.node2pending[node] = deque()

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        assert node in self.node2pending
        self.node2collection[node] = list(collection)
        self._count_collected()

    def _count_collected(self) -> None:
        """xdist takes the last collecting worker's count as the run's; a worker holds its share only."""
        if self.session is not None and self.collection is not None:
            self.session.testscollected = self.total

    def pending_nodeids(self) -> list[str]:
        """Node ids not yet handed to any live worker (a dead worker's leftovers), in run order."""
        if self.collection is None:
            return []
        return [self.collection[index] for index in self.pending]

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.node2pending[node].remove(item_index)

    def check_schedule(self, node: Any, duration: float = 0) -> None:
        """Nothing to top up: a share is sent whole; a dead worker's leftovers go to its
        replacement when it has collected them (`take_over`)."""

    def remove_node(self, node: Any) -> str | None:
        """A worker left: None when it had finished its share; else the item it was running (the
        crash item), its other unfinished items pending for a replacement."""
        pending = self.node2pending.pop(node)
        if not pending or self.collection is None:
            return None
        mapping = self.node2global.get(node, [])
        leftovers = [mapping[index] for index in pending if 0 <= index < len(mapping) and mapping[index] >= 0]
        if not leftovers:
            return None
        self.pending.extend(leftovers[1:])
        return self.collection[leftovers[0]]

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            self.take_over()
            return
        nodes = sorted(self.nodes, key=lambda node: worker_number(node.gateway.id))
        collection: list[str] = []
        seen: set[str] = set()
        for position, node in enumerate(nodes):
            mapping: list[int] = []
            for nodeid in self.node2collection.get(node, []):
                runs_here = nodeid not in seen and (position == 0 or is_sample_nodeid(nodeid, self.benchmark_names))
                if runs_here:
                    seen.add(nodeid)
                    mapping.append(len(collection))
                    collection.append(nodeid)
                else:
                    mapping.append(-1)  # an ordinary test: gw0 runs it
            self.node2global[node] = mapping
        self.collection = collection
        self.total = len(collection)
        self._count_collected()
        # LoadScheduling.check_schedule (run when a node is removed) needs a chunk size.
        if self.maxschedchunk is None:
            self.maxschedchunk = max(len(collection), 1)
        for node in nodes:
            share = [local for local, index in enumerate(self.node2global[node]) if index >= 0]
            if share:
                self.node2pending[node].extend(share)
                node.send_runtest_some(share)
        for node in nodes:
            node.shutdown()

    def take_over(self) -> None:
        """A replacement node joined after a crash: it gets every item still pending, at once (it
        built exactly those: `ShareFilter` with its `TAKEOVER_KEY`)."""
        assert self.collection is not None
        for node in self.nodes:
            if node.shutting_down or node not in self.node2collection or node in self.node2global:
                continue
            local = {nodeid: index for index, nodeid in enumerate(self.node2collection[node])}
            mapping = [-1] * len(local)
            share: list[int] = []
            for index in self.pending:
                at = local.get(self.collection[index])
                if at is None:  # not built there: left unrun, so the run is reported incomplete
                    self.log(f"llmeval: {self.collection[index]} was not collected by the replacement worker")
                    continue
                mapping[at] = index
                share.append(at)
            self.pending.clear()
            self.node2global[node] = mapping
            if share:
                self.node2pending[node].extend(share)
                node.send_runtest_some(share)
            node.shutdown()
