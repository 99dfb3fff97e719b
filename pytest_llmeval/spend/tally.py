"""Token counts and cost of a run, folded from the sample records (`SampleRecord.usage`).

Units: tokens as the server reports them in `usage` (`prompt_tokens`, `completion_tokens`, and
`reasoning_tokens` from `completion_tokens_details`, which OpenAI counts inside `completion_tokens`);
money in US dollars from the price table (`prices.py`), None when the model has no price.

A record answered from the response cache cost nothing this run: its tokens are counted apart
(`cached_*`) and never priced. With `--llm-repeats K` a record stands for K requests, some perhaps
cached: its tokens are split in proportion (fresh requests / K).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field

from ..results import SampleRecord
from .prices import PriceTable


class TokenTally(BaseModel):
    """Tokens of a group of requests. The plain counts are those sent this run; `cached_*` those of
    answers the cache gave (free). `cost_usd`: the sent tokens priced, None without a price."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_requests: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: TokenTally) -> None:
        # Straight on the field values: every record is added five times (model, run, benchmark,
        # subset, group), and pydantic's per-attribute __setattr__ made that 37 us a sample of the
        # run's 600 (bench/eval_throughput.py). The fields are plain numbers: nothing to validate.
        mine, theirs = self.__dict__, other.__dict__
        for name in _COUNTS:
            mine[name] += theirs[name]
        if theirs["cost_usd"] is not None:
            mine["cost_usd"] = (mine["cost_usd"] or 0.0) + theirs["cost_usd"]


_COUNTS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_requests",
    "cached_prompt_tokens",
    "cached_completion_tokens",
)


class BenchmarkTally(TokenTally):
    subsets: dict[str, TokenTally] = Field(default_factory=dict)


class UsageSummary(BaseModel):
    """The `usage` section of the results JSON (docs/results.md, docs/cost.md)."""

    run: TokenTally = Field(default_factory=TokenTally)
    models: dict[str, TokenTally] = Field(default_factory=dict)
    benchmarks: dict[str, BenchmarkTally] = Field(default_factory=dict)
    groups: dict[str, TokenTally] = Field(default_factory=dict)  # --llm-collection: per top-level group
    priced: bool = False  # a price table was given and priced the model
    budget: dict[str, Any] | None = None  # --llm-max-tokens-budget / --llm-max-cost: the limit and what it did


def record_tally(record: SampleRecord, prices: PriceTable | None, model: str) -> TokenTally:
    """One record's tokens (and cost when `prices` prices `model`)."""
    usage = record.usage
    if usage is None:
        return TokenTally()
    requests = max(record.requests, 1)
    cached = record.requests_cached if record.requests > 1 else int(record.cached)
    cached = min(max(cached, 0), requests)
    fresh = requests - cached
    share = fresh / requests
    prompt = round(usage.prompt_tokens * share)
    completion = round(usage.completion_tokens * share)
    reasoning = round((usage.reasoning_tokens or 0) * share)
    price = prices.price_of(model) if prices is not None else None
    return TokenTally(
        requests=fresh,
        cached_requests=cached,
        prompt_tokens=prompt,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
        cached_prompt_tokens=usage.prompt_tokens - prompt,
        cached_completion_tokens=usage.completion_tokens - completion,
        cost_usd=price.cost(prompt, completion, reasoning) if price is not None else None,
    )


def model_tally(entry: dict[str, Any], prices: PriceTable | None) -> TokenTally:
    """One model's share of an arena record (`arena.runtime._spent`), priced by that model's price."""
    tally = TokenTally(
        requests=entry["requests"] - entry["cached"],
        cached_requests=entry["cached"],
        **{
            key: int(entry[key])
            for key in (
                "prompt_tokens",
                "completion_tokens",
                "reasoning_tokens",
                "cached_prompt_tokens",
                "cached_completion_tokens",
            )
        },
    )
    price = prices.price_of(entry["model"]) if prices is not None else None
    if price is not None:
        tally.cost_usd = price.cost(tally.prompt_tokens, tally.completion_tokens, tally.reasoning_tokens)
    return tally


def _entry(tallies: dict[str, TokenTally], key: str) -> TokenTally:
    """`tallies[key]`, made on first use (`setdefault` would build a TokenTally per record)."""
    found = tallies.get(key)
    if found is None:
        found = tallies[key] = TokenTally()
    return found


class SpendCollector:
    """Sums record tallies per benchmark, subset, collection group and model."""

    def __init__(self, model: str, prices: PriceTable | None, group_of: Any = None) -> None:
        self.model = model
        self.prices = prices
        self.group_of = group_of  # record -> collection group name or None
        self.summary = UsageSummary(priced=prices is not None and prices.price_of(model) is not None)
        self._benchmarks: dict[str, BenchmarkTally] = defaultdict(BenchmarkTally)

    def add(self, record: SampleRecord) -> None:
        if record.usage is None:
            return
        summary = self.summary
        per_model = (record.arena or {}).get("spend")
        if per_model:  # an arena pair: candidate, baseline and judge requests, each its own model's
            tally = TokenTally()
            for entry in per_model:
                part = model_tally(entry, self.prices)
                _entry(summary.models, entry["model"]).add(part)
                summary.priced = summary.priced or part.cost_usd is not None
                tally.add(part)
        else:
            tally = record_tally(record, self.prices, self.model)
            _entry(summary.models, self.model).add(tally)
        summary.run.add(tally)
        bench = self._benchmarks[record.benchmark]
        bench.add(tally)
        _entry(bench.subsets, record.subset).add(tally)
        group = self.group_of(record) if self.group_of is not None else None
        if group is not None:
            _entry(summary.groups, group).add(tally)

    def build(self) -> UsageSummary:
        self.summary.benchmarks = {name: self._benchmarks[name] for name in sorted(self._benchmarks)}
        if self.summary.priced and self.summary.run.cost_usd is None:
            self.summary.run.cost_usd = 0.0
        return self.summary
