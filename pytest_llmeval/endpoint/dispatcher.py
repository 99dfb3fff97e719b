"""Issues requests ahead of pytest so that items run one after another while calls overlap.

pytest runs items sequentially; a model call takes seconds. The dispatcher owns an asyncio loop in a
daemon thread. Given the ordered list of requests this process will need (a `PrefetchPlan`), it keeps
up to `concurrency` of them in flight, no more than `window` items ahead of the item pytest is
running (so memory stays flat for 100k samples), and each item only waits for its own response.
Identical requests share one call, and every answer goes to the durable cache the moment it arrives.
The in-flight bound is `endpoint/adaptive.py`'s gate: `concurrency` is its ceiling, lowered on 429/503
answers and raised again while the server keeps up (off with `--llm-fixed-concurrency`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import selectors
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..settings import EndpointSettings
from .adaptive import AimdController, ConcurrencyLimiter, Permit, ThrottleEvent, ThrottleSummary, wait_bound
from .cache import ResponseCache, request_key, wire_body
from .client import ChatClient, make_process_pool
from .models import ChatResponse, Usage
from .replicas import ReplicaSet

BodyBuilder = Callable[[], dict[str, Any]]
# Called on the dispatcher's loop thread as soon as item `index`'s response is there (fresh or
# cached), e.g. to issue the judge requests that grade it while the item still waits its turn.
ResponseHook = Callable[[int, ChatResponse], None]


class SpendingGate(Protocol):
    """A budget asked just before a request goes on the wire (`spend.SpendingLimit`): `reserve` holds
    the request's bound or raises (the request is not sent; the exception is its result), `settle`
    releases the hold with the usage the answer reported (None when the request failed)."""

    def reserve(self, body: dict[str, Any]) -> Any: ...

    def settle(self, reservation: Any, usage: Usage | None) -> None: ...


class RequestSkipped(Exception):
    """The plan's `skip` predicate said this request is no longer needed (`--llm-early-stop`); internal
    control flow (the item is skipped), so not in errors.py."""


class PrefetchPlan:
    """The requests of the items this process will run, in run order, built lazily."""

    def __init__(self, builders: Sequence[BodyBuilder], window: int, on_response: ResponseHook | None = None) -> None:
        self.builders = builders
        self.window = window
        self.on_response = on_response
        self._futures: dict[int, concurrent.futures.Future[ChatResponse]] = {}
        self._lock = threading.Lock()
        self._consumed = -1
        self.answered = 0  # futures resolved so far (on the loop thread)
        self._wake_at: int | None = None
        self._advanced: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # asked just before request `index` is issued; True leaves it unsent (RequestSkipped)
        self.skip: Callable[[int], bool] | None = None

    def _future(self, index: int) -> concurrent.futures.Future[ChatResponse]:
        with self._lock:
            future = self._futures.get(index)
            if future is None:
                future = self._futures[index] = concurrent.futures.Future()
            return future

    def ready_ahead(self) -> int:
        """About how many answers are there that pytest has not asked for yet (a racy read)."""
        return self.answered - self._consumed - 1

    def result(self, index: int, timeout: float | None = None) -> ChatResponse:
        """Block until item `index`'s response is there; raises its EndpointError if it failed."""
        future = self._future(index)
        try:
            return future.result(timeout)
        finally:
            with self._lock:
                self._futures.pop(index, None)
                self._consumed = max(self._consumed, index)
                wake = self._wake_at is not None and self._consumed >= self._wake_at
                if wake:
                    self._wake_at = None
            # Waking the loop thread costs a GIL hand-over: only when the producer waits for this.
            if wake and self._loop is not None and self._advanced is not None:
                self._loop.call_soon_threadsafe(self._advanced.set)

    async def _wait_for_room(self, index: int) -> None:
        """Called by the producer: wait until `index` is within the window, then refill half of it."""
        assert self._advanced is not None
        while True:
            with self._lock:
                if index <= self._consumed + self.window:
                    return
                self._wake_at = index - self.window // 2
                self._advanced.clear()
            await self._advanced.wait()


# While pytest has at least this many answers ready ahead of the item it runs, the dispatcher's loop
# turns at most every TURN_SPACING_S: the answers that arrived meanwhile are handled in one turn.
AHEAD_TO_HOLD = 64
TURN_SPACING_S = 0.01  # 5 ms: 3% slower at 5,000 samples (paired runs), 20 ms: no better than 10


class CoalescingSelector(selectors.DefaultSelector):
    """The loop's selector, waiting before it looks for events while `hold()` says so.

    Why (bench/eval_throughput.py, 5,000 samples against a zero-latency server on 2 cores): every
    turn of the dispatcher's loop takes the GIL from pytest's main thread, and at zero latency the
    loop turned for nearly every answer. Spacing the turns 10 ms apart while pytest has plenty of
    answers ready (`Dispatcher._hold`) handles dozens of answers per turn; when pytest waits for an
    answer (a latency-bound run, or a test's own `llm.chat` while prefetched answers wait for their
    items) the loop turns at once, so no request is sent or read any later.
    """

    def __init__(self, hold: Callable[[], bool]) -> None:
        super().__init__()
        self.hold = hold
        self.last_turn = 0.0
        self.woken = threading.Event()  # `wake`: the pause ends at once

    def wake(self) -> None:
        """End a pause now (from any thread): a one-off call is about to be scheduled."""
        self.woken.set()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout > 0:
            pause = self.last_turn + TURN_SPACING_S - time.perf_counter()
            if pause > 0 and self.hold():
                if timeout is not None:
                    pause = min(pause, timeout)
                    timeout -= pause
                self.woken.wait(pause)
            self.woken.clear()
        events = super().select(timeout)
        self.last_turn = time.perf_counter()
        return events


class EventLoopThread:
    """An asyncio loop running in a daemon thread: a dispatcher's own, or one several share."""

    def __init__(self, name: str, hold: Callable[[], bool] | None = None) -> None:
        """`hold`: asked before each wait for events; True spaces the loop's turns `TURN_SPACING_S`
        apart (`CoalescingSelector`)."""
        self.selector = CoalescingSelector(hold) if hold is not None else None
        self.loop = asyncio.SelectorEventLoop(self.selector) if self.selector is not None else asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


class Dispatcher:
    """One per process: a background event loop, an HTTP client, the cache and the in-flight bound."""

    request_key = staticmethod(request_key)  # the cache key of a body, for callers outside endpoint/ (the judge)

    def __init__(
        self,
        settings: EndpointSettings,
        cache: ResponseCache | None,
        on_throttle: Callable[[ThrottleEvent], None] | None = None,
        loop: EventLoopThread | None = None,
        client_process: bool = False,
    ) -> None:
        """`loop`: run on this shared loop thread instead of one of its own (the arena's contestants
        and judge share one, so that an answer's completion and the judge request it triggers do
        not hop between threads); its owner stops it after `close`. `client_process`: the chat
        requests' HTTP in a child process, off this process's GIL (`endpoint/pool_process.py`;
        one endpoint only: replicas keep theirs here)."""
        self._client_process = client_process
        self.settings = settings
        self.on_throttle = on_throttle  # told on the loop thread each time the in-flight limit is lowered
        self.on_notice: Callable[[str], None] | None = None  # one-line notices, from the loop thread
        self.cache = cache
        self.requests_sent = 0
        self._own_thread = loop is None
        self._plans: weakref.WeakSet[PrefetchPlan] = weakref.WeakSet()
        self._one_off_calls = 0  # requests outside a prefetch plan in flight: the loop never holds for them
        self._loop_thread = loop if loop is not None else EventLoopThread("llmeval-dispatcher", hold=self._hold)
        self._loop = self._loop_thread.loop
        self._thread = self._loop_thread.thread
        self._tasks: set[asyncio.Future[Any]] = set()
        self._inflight: dict[str, asyncio.Future[ChatResponse]] = {}
        self._client: ChatClient | ReplicaSet | None = None
        self._semaphore: ConcurrencyLimiter | None = None
        self.spending: SpendingGate | None = None  # --llm-max-tokens-budget / --llm-max-cost
        self._closed = False
        self._run(self._setup())

    async def _setup(self) -> None:
        if self.settings.replicas:
            self._client = ReplicaSet(self.settings)
        else:
            pool = make_process_pool(self.settings, self._client_process_ended) if self._client_process else None
            if pool is not None:
                pool.start_soon()  # ready by the first request: a dispatcher is made before collection
            self._client = ChatClient(self.settings, chat_pool=pool)
        controller = AimdController(self.settings.concurrency, adaptive=self.settings.adaptive_concurrency)
        # a Retry-After holds new requests back at most min(30 s, --llm-timeout), whatever the server sent
        self._semaphore = ConcurrencyLimiter(
            controller, self.on_throttle, max_pause_s=wait_bound(self.settings.timeout_s)
        )

    def _client_process_ended(self, how: str) -> None:
        if self.on_notice is not None:
            self.on_notice(f"llmeval: {how}; its requests and the rest are sent from pytest's process")

    def _hold(self) -> bool:
        """True while pytest has plenty of answers ready and no one-off call (`call`, `acall`,
        `submit`, `fetch`: a test's `llm.chat`) is waiting: the loop may gather answers for a few ms."""
        if self._one_off_calls:
            return False
        return any(plan.ready_ahead() >= AHEAD_TO_HOLD for plan in list(self._plans))

    def throttling(self) -> ThrottleSummary:
        """What the in-flight gate did so far: overload answers, decreases, lowest and final limit."""
        assert self._semaphore is not None
        return self._semaphore.summary()

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def replica_stats(self) -> list[dict[str, Any]] | None:
        """Requests, errors and latency per replica (several --llm-base-url); None for one endpoint.
        Plain counters, read from any thread, also after `close`."""
        client = self._client
        return client.stats() if isinstance(client, ReplicaSet) else None

    # -- one-off calls (fixtures, preflight) -------------------------------------------------

    def list_models(self) -> list[str]:
        assert self._client is not None
        return self._run(self._client.list_models())

    def call(self, body: dict[str, Any], use_cache: bool = True) -> ChatResponse:
        """Synchronous chat call through the shared loop, bound and cache."""
        return self.submit(body, use_cache).result()

    def submit(self, body: dict[str, Any], use_cache: bool = True) -> concurrent.futures.Future[ChatResponse]:
        """Start a chat call on the shared loop, bound and cache without waiting for it; safe to call
        from any thread (another dispatcher's loop included)."""
        if self._loop_thread.selector is not None:
            self._loop_thread.selector.wake()  # a loop gathering prefetched answers turns now
        return asyncio.run_coroutine_threadsafe(self._fetch(body, use_cache), self._loop)

    async def fetch(self, body: dict[str, Any], use_cache: bool = True) -> ChatResponse:
        """A chat call awaited on the dispatcher's own loop (a caller that shares it: no thread hop)."""
        return await self._fetch(body, use_cache)

    async def acall(self, body: dict[str, Any], use_cache: bool = True) -> ChatResponse:
        """Awaitable from any event loop (pytest-asyncio's included): runs on the dispatcher's loop."""
        return await asyncio.wrap_future(self.submit(body, use_cache))

    # -- prefetching -------------------------------------------------------------------------

    def prefetch(
        self,
        builders: Sequence[BodyBuilder],
        window: int | None = None,
        on_response: ResponseHook | None = None,
        skip: Callable[[int], bool] | None = None,
        stops_early: bool = False,
    ) -> PrefetchPlan:
        """The plan of `builders`' requests, at most `window` ahead of the item pytest runs.
        `stops_early`: the run may end before its last item (-x, --maxfail): a smaller window, as
        with early stop (`skip`), sends fewer requests no item will read."""
        if window is None:
            # 4x AHEAD_TO_HOLD at least, else the loop seldom holds and the producer wakes every few
            # items (a window of 64, the default concurrency's before: 7% slower with every answer
            # cached, 3% over HTTP, 5,000 samples)
            few = stops_early or skip is not None
            window = max(4 * self.settings.concurrency, 64 if few else 4 * AHEAD_TO_HOLD)
        plan = PrefetchPlan(builders, window, on_response)
        plan.skip = skip
        plan._loop = self._loop
        self._plans.add(plan)
        self._loop.call_soon_threadsafe(self._start_producer, plan)
        return plan

    def _start_producer(self, plan: PrefetchPlan) -> None:
        plan._advanced = asyncio.Event()
        self._track(self._loop.create_task(self._produce(plan)))

    async def _produce(self, plan: PrefetchPlan) -> None:
        assert self._semaphore is not None and plan._advanced is not None
        for index, build in enumerate(plan.builders):
            if index > plan._consumed + plan.window:
                await plan._wait_for_room(index)
            future = plan._future(index)
            if future.done():
                continue
            if plan.skip is not None and plan.skip(index):
                future.set_exception(RequestSkipped(index))
                plan.answered += 1
                continue
            try:
                body = build()
                key = request_key(body)
                cached = self._cached(key)
            except Exception as exc:  # a sample that cannot become a request errors alone
                future.set_exception(exc)
                plan.answered += 1
                continue
            if cached is not None:
                _notify(plan, index, cached)
                future.set_result(cached)
                plan.answered += 1
                continue
            waited = time.perf_counter()
            permit = await self._semaphore.acquire()
            task = self._loop.create_task(
                self._shared_request(key, body, permit=permit, queued_s=time.perf_counter() - waited)
            )
            task.add_done_callback(functools.partial(_settle, future, plan=plan, index=index))
            self._track(task)

    # -- the request path --------------------------------------------------------------------

    def _cached(self, key: str) -> ChatResponse | None:
        if self.cache is None:
            return None
        return self.cache.get(key)

    async def _fetch(self, body: dict[str, Any], use_cache: bool) -> ChatResponse:
        self._one_off_calls += 1  # on the loop's thread, as `_hold` reads it
        try:
            return await self._fetch_one(body, use_cache)
        finally:
            self._one_off_calls -= 1

    async def _fetch_one(self, body: dict[str, Any], use_cache: bool) -> ChatResponse:
        key = request_key(body)
        if use_cache:
            cached = self._cached(key)
            if cached is not None:
                return cached
        assert self._semaphore is not None
        waited = time.perf_counter()
        permit = await self._semaphore.acquire()
        return await self._shared_request(
            key, body, permit=permit, store=use_cache, queued_s=time.perf_counter() - waited
        )

    async def _shared_request(
        self, key: str, body: dict[str, Any], *, permit: Permit, store: bool = True, queued_s: float | None = None
    ) -> ChatResponse:
        """Identical requests in flight at once share one call. `queued_s`: how long the request
        waited for a free slot (the --llm-concurrency bound) before it was sent."""
        try:
            existing = self._inflight.get(key)
            if existing is not None:
                return await asyncio.shield(existing)
            own: asyncio.Future[ChatResponse] = self._loop.create_future()
            self._inflight[key] = own
            try:
                assert self._client is not None
                reservation = self.spending.reserve(body) if self.spending is not None else None
                self.requests_sent += 1
                try:
                    response = await self._client.chat(wire_body(body), permit)
                except BaseException:
                    if self.spending is not None:
                        self.spending.settle(reservation, None)
                    raise
                if self.spending is not None:
                    self.spending.settle(reservation, response.usage)
                if store and self.cache is not None:
                    self.cache.put(key, self.settings.model, response)
                if queued_s is not None:  # after the cache: a cached answer never waited
                    response.queued_s = queued_s  # a new object of this request alone (no copy: ~7 us)
                own.set_result(response)
                return response
            except BaseException as exc:
                own.set_exception(exc)
                own.exception()  # mark retrieved: waiters re-raise it themselves
                raise
            finally:
                self._inflight.pop(key, None)
        finally:
            permit.release()

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- shutdown ----------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed or not self._thread.is_alive():
            return
        self._closed = True
        try:
            self._run(self._shutdown(), timeout=30)
        except Exception:
            pass
        if self._own_thread:
            self._loop_thread.stop()
        if self.cache is not None:
            self.cache.close()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()


def _notify(plan: PrefetchPlan, index: int, response: ChatResponse) -> None:
    if plan.on_response is None:
        return
    try:
        plan.on_response(index, response)
    except Exception:  # a follow-up that cannot start is retried synchronously when the item runs
        pass


def copy_outcome(future: concurrent.futures.Future[Any], task: asyncio.Future[Any]) -> None:
    """Hand a finished task's result, exception or cancellation to the thread-side `future` (once)."""
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


def _settle(
    future: concurrent.futures.Future[ChatResponse], task: asyncio.Task[ChatResponse], plan: PrefetchPlan, index: int
) -> None:
    if not future.done() and not task.cancelled() and task.exception() is None:
        _notify(plan, index, task.result())  # before the item waiting on `future` can read it
    copy_outcome(future, task)
    plan.answered += 1
