"""A spending budget in an arena run (`--llm-max-tokens-budget` / `--llm-max-cost` with arena models).

The rule is the run's (`spend.limit`, docs/cost.md): the tokens (or dollars) the servers bill never
exceed the budget, each request priced by its own model's line of `--llm-prices` (candidates,
baseline and judge). An arena pair needs its answers *and* two judge requests; a budget that let the
answers through and then refused the judge would have paid for a pair that is never judged. So a pair
is admitted whole or not at all:

1. **Admission** (in run order, before anything of the pair is sent): the bounds of the answers it asks
   (the candidate's, and the baseline's when no earlier pair asked for it) and a **provision** for its
   two judge requests are held together. The judge prompt contains both answers, not written yet: the
   provision counts each at `max_tokens` x `ANSWER_BYTES_PER_TOKEN` bytes, plus the judge's own
   `max_tokens` per order. A pair that does not fit is not sent; neither is any later pair. At most
   `--llm-concurrency` pairs are admitted and unfinished at a time (the holds stay those of the pairs
   under way, not of the whole pipeline window).
2. **Judgement**: when both answers are there, the provision is exchanged (under one lock) for the
   exact bounds of the two judge requests; an admitted pair is judged also after a later pair was
   refused. Longer answers than the provision assumed need the difference from the budget; when
   that does not fit, the pair is left unjudged (its answers are in the cache and counted in the
   budget's `spent`).
3. A re-ask (a reply without a label) reserves its own bound; every answer settles its hold with its
   real usage; a cached answer releases its hold and costs nothing.

Admitted pairs are unsent or skipped (`not sent: ...`), never errors or losses, and the run is
incomplete (docs/cost.md).
"""

from __future__ import annotations

from typing import Any

from ..endpoint.models import ChatResponse
from ..errors import ConfigError
from ..settings import RunSettings
from ..spend import PriceTable, SpendingLimit
from ..spend.limit import Bound, Reservation, completion_bound, request_bound
from ..spend.prices import ModelPrice
from .config import ArenaConfig, ArenaModel

# a judge-prompt provision's guess of an answer's size: English text is about 4 bytes a token
ANSWER_BYTES_PER_TOKEN = 4


def check_budget(config: ArenaConfig, settings: RunSettings, prices: PriceTable | None) -> None:
    """A budget needs every arena request bounded (`max_tokens`) and, for a cost budget, priced."""
    if settings.max_tokens_budget is None and settings.max_cost is None:
        return
    flag = "--llm-max-tokens-budget" if settings.max_tokens_budget is not None else "--llm-max-cost"
    asked: list[tuple[str, str, dict[str, Any]]] = [
        (f"arena model {m.name!r}", m.model, {**settings.endpoint.gen, **m.gen}) for m in config.models
    ]
    if config.judge is not None:
        asked.append((f"the arena judge {config.judge.name!r}", config.judge.model, judge_gen(config.judge)))
    elif settings.judge is not None:
        asked.append(("the judge --llm-judge-model", settings.judge.model, dict(settings.judge.gen)))
    for who, model, gen in asked:
        if completion_bound(gen) is None:
            fix = (
                "add max_tokens=N to its spec (--llm-arena-judge NAME=URL,max_tokens=N; the judge does not take "
                "--llm-gen)"
                if "judge" in who
                else "add --llm-gen max_tokens=N (or max_tokens=N in its NAME=URL,... spec)"
            )
            raise ConfigError(
                f"{flag} needs a bound on every answer to reserve before sending: {who} has no max_tokens; {fix}"
            )
        if settings.max_cost is not None and (prices is None or prices.price_of(model) is None):
            where = (
                f"{settings.prices} has no entry for {model!r} (nor '*')" if prices is not None else "no price table"
            )
            raise ConfigError(
                f"--llm-max-cost needs the price of {who} (model {model!r}): {where}; pass --llm-prices FILE "
                "(docs/cost.md)"
            )


def judge_gen(judge: ArenaModel) -> dict[str, Any]:
    """The arena judge's generation settings: its spec's, at temperature 0 unless it says otherwise
    (the contestants' --llm-gen does not apply to it)."""
    return {"temperature": 0, **judge.gen}


class PairBudget:
    """The process's `SpendingLimit` as the arena uses it (see the module docstring)."""

    def __init__(self, limit: SpendingLimit, prices: PriceTable | None) -> None:
        self.limit = limit
        self.prices = prices

    def price(self, model: str) -> ModelPrice | None:
        return self.prices.price_of(model) if self.prices is not None else None

    def admit(
        self, answers: list[tuple[dict[str, Any], str]], judge_provision: Bound, judge_model: str
    ) -> tuple[list[Reservation], Reservation]:
        """Hold the pair's answers (`(body, model id)` each) and its judge provision, or raise
        BudgetReached."""
        wants = [(request_bound(body), self.price(model), True) for body, model in answers]
        wants.append((judge_provision, self.price(judge_model), False))
        held = self.limit.reserve_all(wants, what="pair (answers and judge)")
        return held[:-1], held[-1]

    def exchange(self, provision: Reservation, bodies: list[dict[str, Any]], judge_model: str) -> list[Reservation]:
        """The provision released and the judge requests' exact bounds held, or BudgetReached."""
        price = self.price(judge_model)
        return self.limit.reserve_all(
            [(request_bound(body), price, True) for body in bodies],
            release=[provision],
            what="judge requests",
            admitted=True,
        )

    def reserve(self, body: dict[str, Any], model: str) -> Reservation:
        """A request of an admitted pair (a re-ask): held when it fits, also after the run stopped."""
        return self.limit.reserve_all([(request_bound(body), self.price(model), True)], admitted=True)[0]

    def settle(self, reservation: Reservation | None, response: ChatResponse | None) -> None:
        """A request ended: its real usage counts (a cached answer or a failure counts nothing)."""
        if reservation is None:
            return
        if response is not None and response.cached:
            self.limit.withdraw(reservation)  # never went on the wire
            return
        self.limit.settle(reservation, response.usage if response is not None else None)

    def release(self, reservation: Reservation | None) -> None:
        """A hold not used (a provision of a pair that failed before its judgement)."""
        if reservation is not None:
            self.limit.settle(reservation, None)


def judge_provision(judge_prompt_bytes: int, answer_tokens: list[int], judge_tokens: int) -> Bound:
    """The provision of a pair's two judge requests: each prompt with both answers at their bound."""
    answers = sum(answer_tokens) * ANSWER_BYTES_PER_TOKEN
    return Bound(prompt_tokens=2 * (judge_prompt_bytes + answers), completion_tokens=2 * judge_tokens)
