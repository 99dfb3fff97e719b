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


class SpendingLimit:
    """A process's token and money budget (either or both), with what was spent and refused."""

    def __init__(
        self,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        price: ModelPrice | None = None,
        share: str = "",
    ) -> None:
        if max_cost is not None and price is None:
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

    def reserve(self, body: dict[str, Any]) -> Reservation:
        """Hold the request's bound, or raise BudgetReached (and refuse every later request)."""
        bound = request_bound(body)
        with self._lock:
            if self.stop_reason is not None:
                self.refused += 1
                raise BudgetReached(self.stop_reason)
            if bound is None:
                self._stop("a request without max_tokens cannot be bounded (set --llm-gen max_tokens=N)")
            assert bound is not None
            cost = self._bound_cost(bound)
            if self.max_tokens is not None and self.spent_tokens + self._held_tokens + bound.tokens > self.max_tokens:
                self._stop(
                    f"--llm-max-tokens-budget {self.max_tokens:,}{self.share} reached: "
                    f"{self.spent_tokens:,} tokens spent{self._in_flight(f'{self._held_tokens:,} tokens')}, "
                    f"the next request may use up to {bound.tokens:,}"
                )
            if self.max_cost is not None and self.spent_cost + self._held_cost + cost > self.max_cost:
                self._stop(
                    f"--llm-max-cost {self.max_cost:g} USD{self.share} reached: {self.spent_cost:.6f} USD spent"
                    f"{self._in_flight(f'{self._held_cost:.6f} USD')}, "
                    f"the next request may cost up to {cost:.6f} USD"
                )
            self._held_tokens += bound.tokens
            self._held_cost += cost
            self._flying += 1
            self.sent += 1
            return Reservation(bound.tokens, cost)

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

    def _bound_cost(self, bound: Bound) -> float:
        if self.price is None:
            return 0.0
        return (
            bound.prompt_tokens * self.price.input + bound.completion_tokens * self.price.most_per_completion_token
        ) / 1_000_000

    def settle(self, reservation: Reservation, usage: Usage | None) -> None:
        """The request ended: release its hold and count what it used (`usage`, or None when it failed).
        An answer that reports no usage counts its whole reservation."""
        with self._lock:
            self._held_tokens -= reservation.tokens
            self._held_cost -= reservation.cost
            self._flying -= 1
            if usage is None:
                return
            tokens = usage.prompt_tokens + usage.completion_tokens
            if tokens <= 0:
                self.spent_tokens += reservation.tokens
                self.spent_cost += reservation.cost
                return
            self.spent_tokens += tokens
            if self.price is not None:
                self.spent_cost += self.price.cost(
                    usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens or 0
                )

    def snapshot(self) -> dict[str, Any]:
        """What this process spent and refused, as JSON (travels from xdist workers to the controller)."""
        return {
            "spent_tokens": self.spent_tokens,
            "spent_cost": self.spent_cost,
            "sent": self.sent,
            "refused": self.refused,
            "stop_reason": self.stop_reason,
        }
