"""The terminal's view of a run's tokens and cost: one table, written under the request count.

tokens         requests  prompt  completion  reasoning  cost USD
-------------  --------  ------  ----------  ---------  --------
gsm8k               100  41,200      18,750      9,000  0.017430
run                 100  41,200      18,750      9,000  0.017430
cached: 20 answers, 8,100 tokens, no cost
budget: --llm-max-tokens-budget 50,000 reached: 49,800 tokens spent, 12 requests not sent
"""

from __future__ import annotations

from typing import Any

from ..texttable import format_table
from .tally import TokenTally, UsageSummary


def money(value: float | None) -> str:
    """USD with six decimals (a few tokens of a cheap model cost fractions of a cent); `-` without a price."""
    return "-" if value is None else f"{value:.6f}"


def _row(name: str, tally: TokenTally, priced: bool) -> list[str]:
    row = [name, f"{tally.requests:,}", f"{tally.prompt_tokens:,}", f"{tally.completion_tokens:,}"]
    row.append(f"{tally.reasoning_tokens:,}")
    if priced:
        row.append(money(tally.cost_usd))
    return row


def usage_table(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """`{header, rows, notes}`: the table (benchmarks, collection groups, models when several, the run;
    no rows when no answer reported usage), the cached line and the budget line as notes; None when
    there is nothing to say. The terminal and the HTML report both draw it."""
    if data is None:
        return None
    summary = UsageSummary.model_validate(data)
    run = summary.run
    header = ["tokens", "requests", "prompt", "completion", "reasoning"] + (["cost USD"] if summary.priced else [])
    rows: list[list[str]] = []
    if run.requests or run.total_tokens:
        rows = [_row(name, tally, summary.priced) for name, tally in summary.benchmarks.items()]
        rows += [_row(f"group {name}", tally, summary.priced) for name, tally in summary.groups.items()]
        if len(summary.models) > 1:
            rows += [_row(f"model {name}", tally, summary.priced) for name, tally in summary.models.items()]
        rows.append(_row("run", run, summary.priced))
    notes: list[str] = []
    if run.cached_requests:
        cached = run.cached_prompt_tokens + run.cached_completion_tokens
        noun = "answer" if run.cached_requests == 1 else "answers"
        notes.append(f"cached: {run.cached_requests:,} {noun}, {cached:,} tokens, no cost (answered from the cache)")
    if summary.budget:
        notes.append(budget_line(summary.budget))
    if not rows and not notes:
        return None
    return {"header": header, "rows": rows, "notes": notes}


def usage_lines(data: dict[str, Any] | None) -> list[str]:
    """The terminal lines of `usage_table`."""
    table = usage_table(data)
    if table is None:
        return []
    return (format_table(table["header"], table["rows"]) if table["rows"] else []) + table["notes"]


def budget_line(budget: dict[str, Any]) -> str:
    """`budget: ... reached: ...; 12 requests not sent` or `budget: 1,234 of 50,000 tokens spent`."""
    spent = [f"{budget['spent_tokens']:,} tokens"]
    if budget.get("max_cost") is not None or budget.get("spent_cost"):
        spent.append(f"{budget['spent_cost']:.6f} USD")
    limits = []
    if budget.get("max_tokens") is not None:
        limits.append(f"--llm-max-tokens-budget {budget['max_tokens']:,}")
    if budget.get("max_cost") is not None:
        limits.append(f"--llm-max-cost {budget['max_cost']:g} USD")
    if budget.get("stop_reason"):
        unsent = budget.get("samples_unsent", 0)
        return (
            f"budget: stopped sending ({budget['stop_reason']}); spent {' / '.join(spent)}; "
            f"{unsent:,} sample{'' if unsent == 1 else 's'} not sent"
        )
    return f"budget: spent {' / '.join(spent)} of {' and '.join(limits)}"
