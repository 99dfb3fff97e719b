"""`--llm-max-tokens-budget N` and `--llm-max-cost USD`: no request is sent past the budget.

The rule (docs/cost.md), checked by the dispatcher just before each request goes on the wire
(`Dispatcher.spending`): a request is sent only when

    spent + held + bound(request) <= budget

where `spent` is what the answers so far used (their `usage`), `held` the bounds of the requests
still in flight, and `bound(request)` the most the request can use:

- completion: `max_tokens` (or `max_completion_tokens`) times `n` (a budget needs that bound:
  `--llm-gen max_tokens=N`);
- prompt: the UTF-8 bytes of the request's `messages` (or `prompt`) as JSON. A tokenizer makes at
  most one token per byte of text (byte-level BPE, SentencePiece with byte fallback), and the JSON's
  quotes, keys and braces (about 30 bytes a message) outnumber the few tokens a chat template adds.

For `--llm-max-cost` the tokens are priced by the model's entry of the price table, completion tokens
at the dearer of the output and reasoning prices. When an answer arrives its reservation is replaced
by its real usage (an answer without usage keeps its bound); a failed request releases its
reservation (servers bill answers, not refused requests). Once one request does not fit, every later
one is refused too (`BudgetReached`): the run stops sending, whatever smaller requests might still fit,
so what was sent is a prefix of the run order. Cached answers never reach the dispatcher's wire and
cost nothing.

One `SpendingLimit` serves one process; under xdist (`-n N`) each worker gets `budget / N` (the sum
never exceeds the budget; a worker that finishes early leaves its share unspent).

An arena run (arena/budget.py) prices each request by its own model (`price=` of `reserve`), holds a
pair's requests together (`reserve_all`: all fit or none is held) and swaps a provision for the
exact bound once it is known (`release=`: released and reserved under one lock).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from ..endpoint.models import Usage
from .prices import ModelPrice


class BudgetReached(Exception):
    """The request does not fit the budget: it is not sent, and its sample is left unrun (a skip, never
    an error or a wrong answer). Internal control flow between the dispatcher and the runtime."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Bound:
    """The most one request can use: prompt and completion tokens."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def completion_bound(body: dict[str, Any]) -> int | None:
    """`max_tokens` (or `max_completion_tokens`) times `n`; None when the request has no bound."""
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return None
    n = body.get("n", 1)
    n = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
    return limit * n


def request_bound(body: dict[str, Any]) -> Bound | None:
    """The most `body` can use (see the module docstring); None when it sets no `max_tokens`."""
    completion = completion_bound(body)
    if completion is None:
        return None
    prompt = body.get("messages", body.get("prompt", ""))
    prompt_bytes = len(json.dumps(prompt, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return Bound(prompt_bytes, completion)


@dataclass(frozen=True)
class Reservation:
    tokens: int
    cost: float
    price: ModelPrice | None = None  # the request's own price (an arena's models each have theirs)
    request: bool = True  # False: a provision for requests not built yet (not counted as sent)


class SpendingLimit:
    """A process's token and money budget (either or both), with what was spent and refused."""

    def __init__(
        self,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        price: ModelPrice | None = None,
        share: str = "",
        per_request_prices: bool = False,
    ) -> None:
        """`per_request_prices`: every `reserve` names its model's price (an arena run), so the
        limit itself needs none."""
        if max_cost is not None and price is None and not per_request_prices:
            raise ValueError("a cost budget needs the model's price")
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.price = price
        self.share = share  # "" or " (this worker's 1/4)": how the budget was split, for the reason text
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self.sent = 0  # requests let through
        self.refused = 0  # requests refused (their samples left unrun)
        self.stop_reason: str | None = None  # set by the first refusal
        self._held_tokens = 0
        self._held_cost = 0.0
        self._flying = 0  # requests sent and not yet answered
        self._lock = threading.Lock()

    def reserve(self, body: dict[str, Any], price: ModelPrice | None = None) -> Reservation:
        """Hold the request's bound, or raise BudgetReached (and refuse every later request).
        `price`: the request's model's price when it is not the limit's own (an arena's models)."""
        return self.reserve_all([(request_bound(body), price, True)])[0]

    def reserve_all(
        self,
        wants: list[tuple[Bound | None, ModelPrice | None, bool]],
        release: list[Reservation] | tuple[Reservation, ...] = (),
        what: str = "request",
        admitted: bool = False,
    ) -> list[Reservation]:
        """Hold every `(bound, price, is_request)` of `wants` or none of them (BudgetReached, and every
        later reservation is refused too); `release` is let go first under the same lock (a provision
        exchanged for the exact bounds). `what` names the wanted spend in the stop reason.
        `admitted`: the rest of a unit already let through (an arena pair's judgement): held when it
        fits, also after the budget stopped the run."""
        with self._lock:
            for held in release:
                self._release(held)
            if self.stop_reason is not None and not admitted:
                self.refused += sum(request for _, _, request in wants) or 1
                raise BudgetReached(self.stop_reason)
            if any(bound is None for bound, _, _ in wants):
                self._stop("a request without max_tokens cannot be bounded (set --llm-gen max_tokens=N)")
            bounds = [
                (bound, self._bound_cost(bound, price), price, request) for bound, price, request in wants if bound
            ]
            tokens = sum(bound.tokens for bound, _, _, _ in bounds)
            cost = sum(c for _, c, _, _ in bounds)
            if self.max_tokens is not None and self.spent_tokens + self._held_tokens + tokens > self.max_tokens:
                self._stop(
                    f"--llm-max-tokens-budget {self.max_tokens:,}{self.share} reached: "
                    f"{self.spent_tokens:,} tokens spent{self._in_flight(f'{self._held_tokens:,} tokens')}, "
                    f"the next {what} may use up to {tokens:,}"
                )
            if self.max_cost is not None and self.spent_cost + self._held_cost + cost > self.max_cost:
                self._stop(
                    f"--llm-max-cost {self.max_cost:g} USD{self.share} reached: {self.spent_cost:.6f} USD spent"
                    f"{self._in_flight(f'{self._held_cost:.6f} USD')}, "
                    f"the next {what} may cost up to {cost:.6f} USD"
                )
            out = []
            for bound, c, price, request in bounds:
                self._held_tokens += bound.tokens
                self._held_cost += c
                self._flying += int(request)
                self.sent += int(request)
                out.append(Reservation(bound.tokens, c, price, request))
            return out

    def _release(self, reservation: Reservation) -> None:
        self._held_tokens -= reservation.tokens
        self._held_cost -= reservation.cost
        self._flying -= int(reservation.request)

    def _in_flight(self, held: str) -> str:
        """What the stop message adds to the settled spend: the answers still awaited (their use is
        not known yet, so their bound is shown as an upper limit)."""
        if not self._flying:
            return " (settled; none in flight)"
        return f" (settled) plus up to {held} held by {self._flying} request(s) in flight"

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.refused += 1
        raise BudgetReached(reason)

    def _bound_cost(self, bound: Bound, price: ModelPrice | None = None) -> float:
        price = price or self.price
        if price is None:
            return 0.0
        return (
            bound.prompt_tokens * price.input + bound.completion_tokens * price.most_per_completion_token
        ) / 1_000_000

    def settle(self, reservation: Reservation, usage: Usage | None) -> None:
        """The request ended: release its hold and count what it used (`usage`, or None when it failed).
        An answer that reports no usage counts its whole reservation."""
        with self._lock:
            self._release(reservation)
            if usage is None:
                return
            tokens = usage.prompt_tokens + usage.completion_tokens
            if tokens <= 0:
                self.spent_tokens += reservation.tokens
                self.spent_cost += reservation.cost
                return
            self.spent_tokens += tokens
            price = reservation.price or self.price
            if price is not None:
                self.spent_cost += price.cost(usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens or 0)

    def withdraw(self, reservation: Reservation) -> None:
        """A request held but never sent (the cache answered it): released, and not counted as sent."""
        with self._lock:
            self._release(reservation)
            self.sent -= int(reservation.request)

    def snapshot(self) -> dict[str, Any]:
        """What this process spent and refused, as JSON (travels from xdist workers to the controller)."""
        return {
            "spent_tokens": self.spent_tokens,
            "spent_cost": self.spent_cost,
            "sent": self.sent,
            "refused": self.refused,
            "stop_reason": self.stop_reason,
        }
