"""Tokens, cost and the spending budget of a run (docs/cost.md): two plugins by role.

- `BudgetGuard` (where items run, registered when `--llm-max-tokens-budget` or `--llm-max-cost` is
  given): hands the process's `spend.SpendingLimit` to the runtime, whose dispatcher asks it before
  every request; marks the reports of samples it left unsent (`report.llmeval_unsent`, which crosses
  from xdist workers with the report) and, on a worker, hands what it spent to the controller
  (`workeroutput`).
- `SpendingSummary` (where records arrive, always): folds each record's usage into tokens and cost per
  benchmark, subset, collection group, model and run (`spend.SpendCollector`) and puts them in the
  results (`result.usage`); a budget that stopped the run sets `result.stopped_by`, so the run is
  incomplete and never passed, and says what was spent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest

from ..collection.results import CollectionTally
from ..engine.nodes import SampleItem
from ..errors import ConfigError
from ..results import RunResult, SampleRecord
from ..settings import RunSettings
from ..spend import PriceTable, SpendCollector, SpendingLimit, load_prices
from .scope import Evaluation

UNSENT_ATTR = "llmeval_unsent"  # the report attribute of a sample the budget left unsent (the reason)
SPEND_KEY = "llmeval_spend"  # workeroutput: a worker's SpendingLimit.snapshot()


def price_table(settings: RunSettings) -> PriceTable | None:
    return load_prices(settings.prices, settings.prices_origin) if settings.prices is not None else None


def spending_limit(settings: RunSettings, prices: PriceTable | None, workers: int = 1) -> SpendingLimit | None:
    """The process's limit (its `1/workers` share under xdist), None without a budget. ConfigError when
    the budget cannot be kept: no per-request bound (`max_tokens`), or a cost budget without a price."""
    max_tokens, max_cost = settings.max_tokens_budget, settings.max_cost
    if max_tokens is None and max_cost is None:
        return None
    share = f" (this worker's 1/{workers})" if workers > 1 else ""
    if settings.arena is not None:  # each arena request is bounded and priced by its own model (arena/budget.py)
        return SpendingLimit(
            max_tokens=max_tokens // workers if max_tokens is not None else None,
            max_cost=max_cost / workers if max_cost is not None else None,
            share=share,
            per_request_prices=True,
        )
    flag = "--llm-max-tokens-budget" if max_tokens is not None else "--llm-max-cost"
    gen = settings.endpoint.gen
    if not any(isinstance(gen.get(key), int) for key in ("max_tokens", "max_completion_tokens")):
        raise ConfigError(f"{flag} needs a bound on every answer to reserve before sending: add --llm-gen max_tokens=N")
    model = settings.endpoint.model
    price = prices.price_of(model) if prices is not None else None
    if max_cost is not None and price is None:
        where = f"{settings.prices} has no entry for {model!r} (nor '*')" if prices is not None else "no price table"
        raise ConfigError(
            f"--llm-max-cost needs the price of {model!r}: {where}; pass --llm-prices FILE (docs/cost.md)"
        )
    return SpendingLimit(
        max_tokens=max_tokens // workers if max_tokens is not None else None,
        max_cost=max_cost / workers if max_cost is not None else None,
        price=price,
        share=share,
    )


class BudgetGuard:
    def __init__(self, evaluation: Evaluation, limit: SpendingLimit) -> None:
        self.limit = limit
        evaluation.runtime.spending_limit = limit  # before the dispatcher exists: it takes it when created

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "setup" and isinstance(item, SampleItem) and item.skipped_budget:
            setattr(report, UNSENT_ATTR, item.skipped_budget)
        return report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[SPEND_KEY] = self.limit.snapshot()


class UnsentSamples:
    """Counts the samples a budget left unsent, from their reports (registered with a budget only:
    without one no report says so)."""

    def __init__(self, summary: SpendingSummary) -> None:
        self.summary = summary

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reason = getattr(report, UNSENT_ATTR, None)
        if reason:
            self.summary.unsent[report.nodeid.partition("/")[0]] += 1
            self.summary.stop_reason = self.summary.stop_reason or str(reason)


class SpendingSummary:
    def __init__(
        self,
        evaluation: Evaluation,
        prices: PriceTable | None,
        limit: SpendingLimit | None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
    ) -> None:
        collection = evaluation.collection
        self.collector = SpendCollector(
            evaluation.settings.endpoint.model,
            prices,
            group_of=(lambda record: _group_of(collection, record)) if collection is not None else None,
        )
        self.limit = limit  # this process's, when it runs items (single process)
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.unsent: Counter[str] = Counter()  # {benchmark: samples the budget left unsent}
        self.stop_reason: str | None = None
        self.worker_spend: list[dict[str, Any]] = []

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.collector.add(record)

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: `-p no:xdist` has none
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        spend = getattr(node, "workeroutput", {}).get(SPEND_KEY)
        if spend:
            self.worker_spend.append(spend)

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        summary = self.collector.build()
        if self.max_tokens is not None or self.max_cost is not None:
            spends = [self.limit.snapshot()] if self.limit is not None else self.worker_spend
            summary.budget = {
                "max_tokens": self.max_tokens,
                "max_cost": self.max_cost,
                "spent_tokens": sum(s["spent_tokens"] for s in spends),
                "spent_cost": sum(s["spent_cost"] for s in spends),
                "requests_sent": sum(s["sent"] for s in spends),
                "requests_refused": sum(s["refused"] for s in spends),
                "samples_unsent": sum(self.unsent.values()),
                "stop_reason": self.stop_reason,
            }
        result.usage = summary.model_dump(mode="json")
        if self.unsent:
            result.stopped_by = f"{self.stop_reason}; {sum(self.unsent.values()):,} samples not sent"


class UsageReplay:
    """`usage` of a merged sharded run (run/merge.py): the shards' records tallied as one run
    tallies them. A budget is each shard's own and is not replayed."""

    def __init__(self, model: str, prices: PriceTable | None, collection: Any | None) -> None:
        self.collector = SpendCollector(
            model,
            prices,
            group_of=(lambda record: _group_of(collection, record)) if collection is not None else None,
        )

    def pytest_llmeval_sample_record(self, record: SampleRecord) -> None:
        self.collector.add(record)

    def pytest_llmeval_assemble(self, result: RunResult, config: pytest.Config) -> None:
        result.usage = self.collector.build().model_dump(mode="json")


def _group_of(collection: Any, record: SampleRecord) -> str | None:
    """A collection record's top-level group (its first category, else its task type)."""
    index = CollectionTally.index_of(record.nodeid)
    meta = collection.collector.meta.get(index) if index is not None else None
    if meta is None:
        return None
    return meta.categories[0] if meta.categories else meta.task_type
