"""Adaptive concurrency: the eval dispatcher's in-flight limit follows what the server accepts.

A rate-limited API (a cloud provider's tier, a gateway, a server with a request queue bound) answers
``429 Too Many Requests`` (or ``503 Service Unavailable``) when it is sent more than it takes. At a
fixed ``--llm-concurrency`` the client keeps hitting that wall: every extra request is an answer
thrown away plus a retry. Here the limit moves instead, by AIMD (additive increase, multiplicative
decrease; Chiu & Jain 1989, the rule TCP congestion avoidance uses, RFC 5681 §3.1):

- start at the ceiling, ``--llm-concurrency``: a server that never says 429 sees exactly the fixed
  behaviour, so adaptation costs nothing where it is not needed (that is why it is on by default);
- an *overload answer* (429, or 503) multiplies the limit by ``DECREASE`` (0.5) and rounds down, never
  below ``FLOOR`` (1). Only once per *window*: the requests sent before that decrease carry the old
  window number and their overload answers do not decrease it again (a burst of 12 rejections at
  once is one signal, not twelve halvings);
- a success adds ``INCREASE / limit`` (1/limit), that is one more request in flight per full window
  of successes, up to the ceiling;
- ``Retry-After`` (or ``retry-after-ms``, which OpenAI sends) is honoured up to a bound: the rejected
  request waits that long before its retry (client.py), and the decrease also holds *new* requests
  back until then. Every such wait is at most ``MAX_WAIT_S`` (30 s) and never longer than
  ``--llm-timeout`` (`wait_bound`): one hostile or broken answer (``Retry-After: 100000``) delays the
  run by that much at most, it never stalls it.

The limit is ``floor(limit)`` requests in flight (at least 1). An overload answer is not a failure:
it is retried (client.py: while adapting, it does not use up ``--llm-retries``; one request gives up
on overload answers only after ``--llm-timeout`` seconds in total), and never scored. A request
waiting out its backoff does not count as in flight: it gives its slot back and queues again for
the retry (`Permit.pause`), so a lowered limit applies to retries too.

Pure logic (`AimdController`) is separate from the asyncio gate that applies it (`ConcurrencyLimiter`)
so the rule is unit-testable without a loop. With adaptation off (``--llm-adaptive-concurrency off``)
the controller never moves and the gate is a plain FIFO semaphore of ``--llm-concurrency``.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Callable

from pydantic import BaseModel

OVERLOAD_STATUSES = frozenset({429, 503})  # answers that mean "send less", not "this request is bad"
DECREASE = 0.5  # the limit is multiplied by this on an overload answer (TCP Reno's factor)
INCREASE = 1.0  # requests added to the limit per full window of successes
FLOOR = 1  # the limit never goes below this many requests in flight
MAX_EVENTS = 200  # throttle events kept for the report (the counts cover all of them)
# The longest wait a server can impose (Retry-After, retry-after-ms): the retry backoff's cap, so one
# number bounds every wait between attempts and the gate's pause. A rate limit that needs longer
# answers the retry with another 429 and is waited out again (until the request's --llm-timeout), so
# an honest limit is still respected, while a hostile or broken value delays the run by this at most.
MAX_WAIT_S = 30.0


def wait_bound(timeout_s: float | None = None) -> float:
    """The longest wait of a request between attempts, and of the gate's pause: `MAX_WAIT_S`, or the
    request timeout (``--llm-timeout``, `timeout_s`) when that is shorter. A longer wait would outlast
    the time one request may take: while adapting, a request gives up on overload answers after
    ``--llm-timeout`` seconds in all, so waiting longer than that helps no request."""
    if timeout_s is None or not timeout_s > 0:
        return MAX_WAIT_S
    return min(MAX_WAIT_S, timeout_s)


def bounded_wait(seconds: float | None, bound: float = MAX_WAIT_S) -> float | None:
    """A server-given delay as a wait the client may honour: `seconds` capped at `bound`.

    None (no wait asked for: the caller's own backoff applies) when `seconds` is None or is not a
    usable delay: NaN, infinite (either sign) or negative. A value a server cannot mean as a delay is
    ignored like an unreadable header, rather than taken as the cap: the jittered backoff is the
    better guess for a broken server, and the cap stays for values that are finite and merely large.
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(float(seconds), bound) + 0.0  # + 0.0: -0.0 becomes 0.0


class ThrottleEvent(BaseModel):
    """One decrease of the limit: when (seconds since the dispatcher started), why, from and to."""

    at_s: float
    status: int
    limit_before: int
    limit_after: int
    retry_after_s: float | None = None


class ThrottleSummary(BaseModel):
    """What the run reports (terminal line, results JSON ``extra.throttling``): the ceiling, the
    overload answers received, the decreases, the lowest and the final limit."""

    adaptive: bool
    ceiling: int
    overload_answers: int = 0
    decreases: int = 0
    lowest_limit: int
    final_limit: int
    events: list[ThrottleEvent] = []

    @property
    def throttled(self) -> bool:
        return self.decreases > 0 or self.overload_answers > 0

    def describe(self) -> str:
        """One line for the terminal."""
        if not self.adaptive:
            return (
                f"server answered 429/503 {self.overload_answers} times (adaptive concurrency off: kept {self.ceiling})"
            )
        return (
            f"server answered 429/503 {self.overload_answers} times: in-flight limit lowered {self.decreases} "
            f"times from {self.ceiling} (lowest {self.lowest_limit}, final {self.final_limit})"
        )


def merge_summaries(summaries: list[ThrottleSummary]) -> ThrottleSummary | None:
    """Several processes' summaries (xdist workers, each with its own dispatcher) as one: counts added,
    ceiling summed (each process has its own --llm-concurrency), lowest/final summed too (the total
    in flight), events in time order."""
    if not summaries:
        return None
    if len(summaries) == 1:
        return summaries[0]
    events = sorted((e for s in summaries for e in s.events), key=lambda e: e.at_s)[:MAX_EVENTS]
    return ThrottleSummary(
        adaptive=any(s.adaptive for s in summaries),
        ceiling=sum(s.ceiling for s in summaries),
        overload_answers=sum(s.overload_answers for s in summaries),
        decreases=sum(s.decreases for s in summaries),
        lowest_limit=sum(s.lowest_limit for s in summaries),
        final_limit=sum(s.final_limit for s in summaries),
        events=events,
    )


class AimdController:
    """The AIMD rule on a number; no clock of its own, no I/O (times are passed in, seconds).

    ``limit`` is a float (additive increase adds fractions); ``allowed`` is what the gate admits.
    ``window`` numbers the decreases: a request remembers the window it was sent in, and only an
    overload answer from the current window decreases the limit.
    """

    def __init__(
        self,
        ceiling: int,
        *,
        adaptive: bool = True,
        floor: int = FLOOR,
        decrease: float = DECREASE,
        increase: float = INCREASE,
    ) -> None:
        if ceiling < 1 or floor < 1 or not 0 < decrease < 1 or increase <= 0:
            raise ValueError("AIMD needs ceiling >= 1, floor >= 1, 0 < decrease < 1, increase > 0")
        self.ceiling = ceiling
        self.adaptive = adaptive
        self.floor = min(floor, ceiling)
        self.decrease = decrease
        self.increase = increase
        self.limit = float(ceiling)
        self.allowed = ceiling  # what the gate admits: max(floor, int(limit)), kept in step with `limit`
        self.window = 0
        self.overload_answers = 0
        self.decreases = 0
        self.lowest = ceiling
        self.events: collections.deque[ThrottleEvent] = collections.deque(maxlen=MAX_EVENTS)

    def on_success(self) -> bool:
        """A request was answered: the limit grows by increase/limit. True when `allowed` grew."""
        if not self.adaptive or self.limit >= self.ceiling:
            return False
        before = self.allowed
        self.limit = min(float(self.ceiling), self.limit + self.increase / max(self.limit, 1.0))
        self.allowed = max(self.floor, int(self.limit))
        return self.allowed > before

    def on_overload(
        self, window: int, status: int, at_s: float, retry_after_s: float | None = None
    ) -> ThrottleEvent | None:
        """An overload answer to a request sent in `window`: the event when the limit was lowered,
        None when this window was already answered by a decrease (or adaptation is off)."""
        self.overload_answers += 1
        if not self.adaptive or window != self.window:
            return None
        before = self.allowed
        self.limit = max(float(self.floor), math.floor(self.limit * self.decrease))
        self.allowed = max(self.floor, int(self.limit))
        self.window += 1
        self.decreases += 1
        self.lowest = min(self.lowest, self.allowed)
        event = ThrottleEvent(
            at_s=round(at_s, 3),
            status=status,
            limit_before=before,
            limit_after=self.allowed,
            retry_after_s=retry_after_s,
        )
        self.events.append(event)
        return event

    def summary(self) -> ThrottleSummary:
        return ThrottleSummary(
            adaptive=self.adaptive,
            ceiling=self.ceiling,
            overload_answers=self.overload_answers,
            decreases=self.decreases,
            lowest_limit=self.lowest,
            final_limit=self.allowed,
            events=list(self.events),
        )


class Permit:
    """One request's slot in the gate. `release` is idempotent: the dispatcher releases in its
    `finally` whatever the client did with the slot meanwhile (`pause`)."""

    __slots__ = ("_gate", "held", "window")

    def __init__(self, gate: ConcurrencyLimiter, window: int) -> None:
        self._gate = gate
        self.window = window
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._gate._release()

    def succeeded(self) -> None:
        self._gate._succeeded()

    def overloaded(self, status: int, retry_after_s: float | None) -> None:
        self._gate._overloaded(self, status, retry_after_s)

    @property
    def adaptive(self) -> bool:
        return self._gate.controller.adaptive

    async def pause(self, seconds: float) -> None:
        """Wait out a backoff without holding a slot (adaptive), then queue for one again (a
        retry is sent in the current window). With adaptation off the slot is kept, as a fixed
        semaphore would. `seconds` is bounded by the gate's `max_pause_s` (not a number: no wait)."""
        seconds = bounded_wait(seconds, self._gate.max_pause_s) or 0.0
        if not self.adaptive:
            await asyncio.sleep(seconds)
            return
        self.release()
        await asyncio.sleep(seconds)
        again = await self._gate.acquire()
        self.window, self.held = again.window, True
        again.held = False  # the slot now belongs to this permit


class ConcurrencyLimiter:
    """A FIFO gate admitting `controller.allowed` requests at once; create and use it on one loop.

    `notify` (optional) gets each decrease as it happens (a terminal notice). `max_pause_s`: the
    longest a decrease's Retry-After holds new requests back (`wait_bound` of ``--llm-timeout``);
    at any moment the pause left is at most this long, whatever the server sent."""

    def __init__(
        self,
        controller: AimdController,
        notify: Callable[[ThrottleEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_pause_s: float = MAX_WAIT_S,
    ) -> None:
        self.controller = controller
        self.max_pause_s = wait_bound(max_pause_s)
        self.notify = notify
        self.in_flight = 0
        self.max_in_flight = 0
        self._clock = clock
        self._started = clock()
        self._paused_until = 0.0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._wake_timer: asyncio.TimerHandle | None = None

    def _paused(self) -> float:
        """Seconds new requests must still wait (Retry-After of the last decrease); 0 when none."""
        if not self._paused_until:
            return 0.0
        left = self._paused_until - self._clock()
        if left <= 0:
            self._paused_until = 0.0
            return 0.0
        return left

    async def acquire(self) -> Permit:
        if not self._waiters and self.in_flight < self.controller.allowed and not self._paused():
            self._take()
            return Permit(self, self.controller.window)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()  # a pause with nothing in flight: nobody else would wake this waiter
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # the slot was handed over: give it back
                self._release()
            elif waiter in self._waiters:  # (a cancelled waiter may have been dropped by `_wake` already)
                self._waiters.remove(waiter)
            raise
        return Permit(self, self.controller.window)

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Hand free slots to the waiters in order; while paused, once the pause is over."""
        pause = self._paused()
        if pause > 0:
            if self._waiters and self._wake_timer is None:
                self._wake_timer = asyncio.get_running_loop().call_later(pause, self._timer_wake)
            return
        while self._waiters and self.in_flight < self.controller.allowed:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self._take()
            waiter.set_result(None)

    def _timer_wake(self) -> None:
        self._wake_timer = None
        self._wake()

    def _succeeded(self) -> None:
        if self.controller.on_success():
            self._wake()

    def _overloaded(self, permit: Permit, status: int, retry_after_s: float | None) -> None:
        """An overload answer; its Retry-After (bounded: `bounded_wait`, at most `max_pause_s`; the
        event records the pause honoured) holds new requests back when it lowered the limit."""
        pause = bounded_wait(retry_after_s, self.max_pause_s)
        event = self.controller.on_overload(permit.window, status, self._clock() - self._started, pause)
        if event is None:
            return
        if pause:
            self._paused_until = max(self._paused_until, self._clock() + pause)
        if self.notify is not None:
            self.notify(event)

    def summary(self) -> ThrottleSummary:
        return self.controller.summary()
