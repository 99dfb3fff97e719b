"""Several `--llm-base-url` (replicas, `endpoint/replicas.py`): requests, errors and latency per replica.

`ReplicaReport` (where records arrive) adds `extra["replicas"]` to the results JSON and one line per
replica to the terminal summary. Under xdist every worker has its own dispatcher and replica
choice: each sends its counters in `workeroutput` (`ReplicaWorkerOutput`), and the controller adds
them up (latency: the mean weighted by requests answered, the largest maximum; the median is that
of a single process only and left out).
"""

from __future__ import annotations

from typing import Any

import pytest

from ..results import RunResult
from .scope import Evaluation

REPLICAS_KEY = "replicas"  # result.extra[...]
WORKER_KEY = "llmeval_replicas"  # config.workeroutput[...]


def combine(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per-replica counters of several processes, added up (same replica order in each)."""
    if len(parts) == 1:
        return parts[0]
    combined: list[dict[str, Any]] = []
    for rows in zip(*parts, strict=True):
        answered = [(row["requests"] - row["errors"], row["latency_mean_s"]) for row in rows]
        total = sum(n for n, mean in answered if mean is not None)
        means = sum(n * mean for n, mean in answered if mean is not None)
        maxima = [row["latency_max_s"] for row in rows if row["latency_max_s"] is not None]
        combined.append(
            {
                "url": rows[0]["url"],
                "requests": sum(row["requests"] for row in rows),
                "errors": sum(row["errors"] for row in rows),
                "ejections": sum(row["ejections"] for row in rows),
                "healthy": all(row["healthy"] for row in rows),
                "latency_mean_s": round(means / total, 6) if total else None,
                "latency_p50_s": None,
                "latency_max_s": max(maxima) if maxima else None,
            }
        )
    return combined


class ReplicaReport:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.from_workers: list[list[dict[str, Any]]] = []

    @pytest.hookimpl(optionalhook=True)  # an xdist hook
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        rows = getattr(node, "workeroutput", {}).get(WORKER_KEY)
        if rows:
            self.from_workers.append(rows)

    def stats(self) -> list[dict[str, Any]] | None:
        own = self.evaluation.runtime.replica_stats()
        parts = [*self.from_workers, *([own] if own and any(r["requests"] for r in own) else [])]
        return combine(parts) if parts else None

    def pytest_llmeval_results(self, result: RunResult, config: pytest.Config) -> None:
        stats = self.stats()
        if stats is not None:
            result.extra[REPLICAS_KEY] = stats

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        stats = self.stats()
        if not stats:
            return
        for row in stats:
            mean = f"{row['latency_mean_s'] * 1000:.0f} ms" if row["latency_mean_s"] is not None else "-"
            out = "" if row["healthy"] else ", out (probed again later)"
            ejected = f", ejected {row['ejections']}x" if row["ejections"] else ""
            terminalreporter.write_line(
                f"replica {row['url']}: {row['requests']:,} requests, {row['errors']:,} errors, "
                f"mean latency {mean}{ejected}{out}"
            )


class ReplicaWorkerOutput:
    """On an xdist worker: its dispatcher's per-replica counters, for the controller."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(session.config, "workeroutput", None)
        stats = self.evaluation.runtime.replica_stats()
        if output is not None and stats is not None:
            output[WORKER_KEY] = stats
