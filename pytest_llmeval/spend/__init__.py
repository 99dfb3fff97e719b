"""Tokens, money and budgets of a run (docs/cost.md).

- `prices`: the optional price table (`--llm-prices FILE`: USD per million input, output and reasoning
  tokens, per model), read and checked with pydantic.
- `tally`: token counts and cost per benchmark, subset, collection group, model and run, folded from the
  sample records (cached answers count their tokens apart and cost nothing).
- `limit`: `--llm-max-tokens-budget` / `--llm-max-cost`: the reservation every request makes before it
  is sent (`SpendingLimit`), and `BudgetReached` when it does not fit.
"""

from .limit import BudgetReached, SpendingLimit, request_bound
from .prices import ModelPrice, PriceTable, load_prices
from .tally import SpendCollector, TokenTally, UsageSummary

__all__ = [
    "BudgetReached",
    "ModelPrice",
    "PriceTable",
    "SpendCollector",
    "SpendingLimit",
    "TokenTally",
    "UsageSummary",
    "load_prices",
    "request_bound",
]
