"""xdist: a fixed share of items per worker, so each worker can request its share ahead of time.

xdist's default scheduler hands out items in small batches as workers finish, so a worker never
knows what it will run next and could not keep requests in flight. With `--llm-model` the
sample items are dealt out by position: the i-th sample item goes to worker `i % N` (N workers,
gw0..gwN-1), all at once, and each worker computes the same share from its own (identical)
collection. Every request is sent exactly once in total. Every other item (ordinary tests, perf
tests) runs on gw0, one after another, so load tests never overlap.

A worker that dies (killed, out of memory) does not end the run: xdist starts a replacement, and the
dead worker's unfinished items (the one it was running included, once) become the replacement's
share. The replacement learns that share before it starts (`TAKEOVER_KEY` in its workerinput) so it
prefetches it like any worker; answers the dead worker already received come from the cache.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pytest
from xdist.scheduler import LoadScheduling


def is_sample_nodeid(nodeid: str, benchmark_names: Collection[str]) -> bool:
    """Sample items are named `BENCH/SUBSET::ID` with no file in the path part."""
    path, sep, _ = nodeid.partition("::")
    bench, slash, _ = path.partition("/")
    return bool(sep and slash) and bench in benchmark_names and not path.endswith(".py")


def assign(nodeids: Sequence[str], benchmark_names: Collection[str], worker_count: int) -> list[list[int]]:
    """Indices of the items each worker runs, in collection order."""
    shares: list[list[int]] = [[] for _ in range(worker_count)]
    position = 0
    for index, nodeid in enumerate(nodeids):
        if is_sample_nodeid(nodeid, benchmark_names):
            shares[position % worker_count].append(index)
            position += 1
        else:
            shares[0].append(index)
    return shares


def worker_number(worker_id: str) -> int:
    digits = worker_id.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


TAKEOVER_KEY = "llmeval_takeover"  # workerinput of a replacement worker: the node ids it takes over


def worker_share(
    items: Sequence[pytest.Item],
    benchmark_names: Collection[str],
    worker_id: str,
    worker_count: int,
    takeover: Sequence[str] | None = None,
) -> list[pytest.Item]:
    """The items this worker will run, in run order: its static share, or, for a replacement
    worker, the node ids it takes over from a dead one."""
    if takeover is not None:
        by_id = {item.nodeid: item for item in items}
        return [by_id[nodeid] for nodeid in takeover if nodeid in by_id]
    share = assign([item.nodeid for item in items], benchmark_names, worker_count)[
        worker_number(worker_id) % worker_count
    ]
    return [items[index] for index in share]


class StaticShareScheduling(LoadScheduling):
    """LoadScheduling whose distribution is the fixed share described above."""

    # set by LoadScheduling (xdist ships no type information)
    collection: list[str] | None
    maxschedchunk: int | None

    def __init__(self, config: pytest.Config, log: object = None, benchmark_names: Collection[str] = ()) -> None:
        super().__init__(config, log)
        self.benchmark_names = set(benchmark_names)

    def pending_nodeids(self) -> list[str]:
        """Node ids not yet handed to any live worker (a dead worker's leftovers), in run order."""
        if self.collection is None:
            return []
        return [self.collection[index] for index in self.pending]

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            self.take_over()
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        # LoadScheduling.check_schedule (run when a node is removed) needs a chunk size.
        if self.maxschedchunk is None:
            self.maxschedchunk = max(len(self.collection), 1)
        count = len(self.nodes)
        shares = assign(self.collection, self.benchmark_names, count)
        for node in self.nodes:
            share = shares[worker_number(node.gateway.id) % count]
            if share:
                self.node2pending[node].extend(share)
                node.send_runtest_some(share)
        for node in self.nodes:
            node.shutdown()

    def take_over(self) -> None:
        """A replacement node joined after a crash: it gets every item still pending, at once."""
        for node in self.nodes:
            if node.shutting_down:
                continue
            share = list(self.pending)
            self.pending.clear()
            if share:
                self.node2pending[node].extend(share)
                node.send_runtest_some(share)
            node.shutdown()
