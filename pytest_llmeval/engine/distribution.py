"""xdist: a fixed share of items per worker, so each worker can request its share ahead of time.

xdist's default scheduler hands out items in small batches as workers finish, so a worker never
knows what it will run next and could not keep requests in flight. With `--llm-model` the
sample items are dealt out by position: the i-th sample (counted over every selected subset in
collection order, before -k/-m deselect) belongs to worker `i % N` (N workers, gw0..gwN-1). Each
worker reads every selected sample (so node ids, duplicates renamed, are the same everywhere) but
builds items only for its own share (`ShareFilter`): memory per worker falls with N. Its collection
is its share; the controller's scheduler (`xdist_scheduler.StaticShareScheduling`) sends each worker its whole
collection at once and keeps the run's collection as the union. Every request is sent exactly
once in total. Every other item (ordinary tests, perf tests) runs on gw0, one after another, so
load tests never overlap.

A worker that dies (killed, out of memory) does not end the run: xdist starts a replacement, and the
dead worker's unfinished items (the one it was running included, once) become the replacement's
share. The replacement learns that share before it starts (`TAKEOVER_KEY` in its workerinput),
builds those items only, and prefetches them like any worker; answers the dead worker already
received come from the cache.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pytest


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


class ShareFilter:
    """Which sample items an xdist worker builds (`engine.build.build_items`'s `keep`): asked once
    per sample in collection order, True for the i-th when `i % worker_count` is this worker's
    number; for a replacement worker, True for the node ids it takes over."""

    def __init__(self, worker_id: str, worker_count: int, takeover: Sequence[str] | None = None) -> None:
        self.count = max(worker_count, 1)
        self.number = worker_number(worker_id) % self.count
        self.takeover = set(takeover) if takeover is not None else None
        self.position = 0

    def __call__(self, nodeid: str) -> bool:
        if self.takeover is not None:
            return nodeid in self.takeover
        keep = self.position % self.count == self.number
        self.position += 1
        return keep


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


def is_xdist_controller(config: pytest.Config) -> bool:
    """True when pytest-xdist will run this session as its controller (DSession). xdist registers
    DSession in its own trylast `pytest_configure`, after ours; this is its own test (`--dist` set
    by `-n`, transports given, not --collect-only), made before. A `--dist` mode alone
    (an ini file's `addopts`, without `-n` or `--tx`) distributes nothing, and neither do xdist's
    workers."""
    return (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and not config.getvalue("collectonly")
        and getattr(config.option, "dist", "no") != "no"
        and bool(getattr(config.option, "tx", None))
    )
