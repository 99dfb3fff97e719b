"""Per-process evaluation state: the dispatcher, the prefetch plan, and sample scoring."""

from __future__ import annotations

import bisect
import functools
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from ..benchmarks.base import Sample, is_vector_task
from ..endpoint.adaptive import ThrottleEvent, ThrottleSummary
from ..endpoint.cache import REPEAT_FIELD, ResponseCache, request_key
from ..endpoint.dispatcher import Dispatcher, PrefetchPlan, RequestSkipped
from ..endpoint.models import ChatResponse, Usage
from ..errors import BadRecordError, EndpointNotFoundError, EndpointUnreachableError, LLMEvalError, MissingChoicesError
from ..media import summarise_messages
from ..results import SampleRecord
from ..scoring.response import TRUNCATED, answers_of, score_generations
from ..settings import RunSettings
from ..spend.limit import BudgetReached, SpendingLimit
from . import loglik
from .cached_answers import CachedAnswers
from .nodes import RECORD_ERROR, SampleItem

if TYPE_CHECKING:  # numpy and the vector cache: imported when an embedding task runs (~13 MB)
    from ..retrieval.runtime import VectorRuntime

THROTTLE_NOTICES = 3  # decreases of the in-flight limit announced as they happen


class EvalRuntime:
    """Owns what one process needs to run sample items and the `llm` fixture."""

    def __init__(self, settings: RunSettings, notify: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.notify = notify  # one-line notices (a damaged cache moved aside); default stderr
        self._dispatcher: Dispatcher | None = None
        self._plan: PrefetchPlan | None = None
        # every answer of this process's share is in the cache (checked at `start`): the items read
        # them on pytest's thread (`engine/cached_answers.py`) and the dispatcher's stays idle
        self._cached_answers: CachedAnswers | None = None
        self._judge: Any = None
        self._answered = False  # a chat request has succeeded: a later 404 is that sample's own
        self.offline_note: str | None = None  # set when the cache answered all and the endpoint is gone
        self.endpoint_unstarted = False  # a server of ours left unstarted (every answer cached): no probe
        self._judge_lock = threading.Lock()  # the judge is first wanted on the dispatcher's thread
        self._thinking: Any = None
        # --llm-early-stop: asked before a sample's request is sent; True skips the sample
        self.skip_sample: Callable[[SampleItem], bool] | None = None
        self._wrapper: Any = None  # the chat template of log-likelihood contexts, loaded on first use
        # --llm-max-tokens-budget / --llm-max-cost: asked before each request of the model under test
        self.spending_limit: SpendingLimit | None = None
        self._vectors: VectorRuntime | None = None  # embedding / reranker tasks (retrieval/runtime.py)
        # False in the xdist controller: it only checks the endpoint, its workers send the requests
        # (so its dispatcher starts no HTTP child process, --llm-client-process)
        self.sends_requests = True

    @property
    def vectors(self) -> VectorRuntime:
        """The runtime of embedding and reranker tasks' items (`api = "vectors"`), made on first use."""
        if self._vectors is None:
            from ..retrieval.runtime import VectorRuntime

            self._vectors = VectorRuntime(self.settings, self.notify or _stderr)
        return self._vectors

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            endpoint = self.settings.endpoint
            self._dispatcher = Dispatcher(
                endpoint,
                self._cache(),
                on_throttle=self._throttled,
                client_process=self.sends_requests and endpoint.uses_client_process(),
            )
            self._dispatcher.spending = self.spending_limit
            self._dispatcher.on_notice = self.notify or _stderr
        return self._dispatcher

    def start_client_process_early(self) -> None:
        """Make the dispatcher now when its chat requests go through a child process
        (--llm-client-process): the child imports (~80 ms, on another core) while this process
        reads the datasets and builds the items, instead of holding up the first request.
        Called when collection begins; `stop_unused_client_process` undoes it."""
        wanted = self.sends_requests and self.settings.arena is None and self.settings.endpoint.uses_client_process()
        if wanted and self._dispatcher is None:
            self.dispatcher  # noqa: B018 - made for its side effect: the child starts

    def stop_unused_client_process(self) -> None:
        """Undo `start_client_process_early` when no sample item is left to run (-k/-m): the child
        is stopped; a later request (a hand-written test's `llm`) makes a new dispatcher."""
        if self._dispatcher is not None and not self._dispatcher.requests_sent:
            self._dispatcher.close()
            self._dispatcher = None

    def throttling(self) -> ThrottleSummary | None:
        """What adaptive concurrency did in this process (None when no chat request was sent: the
        xdist controller's dispatcher only asked for the model list)."""
        if self._dispatcher is None or not self._dispatcher.requests_sent:
            return None
        return self._dispatcher.throttling()

    def _throttled(self, event: ThrottleEvent) -> None:
        """A notice for the first decreases of the in-flight limit (the rest are in the summary)."""
        if self.notify is None or event.limit_before == event.limit_after:
            return
        shown = self._throttle_notices = getattr(self, "_throttle_notices", 0) + 1
        if shown > THROTTLE_NOTICES:
            return
        wait = f", Retry-After {event.retry_after_s:g} s" if event.retry_after_s else ""
        more = "; further changes in the summary" if shown == THROTTLE_NOTICES else ""
        self.notify(
            f"llmeval: the server answered {event.status}{wait} at {event.at_s:.1f} s: requests in flight "
            f"lowered {event.limit_before} -> {event.limit_after} (adaptive concurrency; "
            f"--llm-fixed-concurrency keeps {self.settings.endpoint.concurrency}){more}"
        )

    def judge(self) -> Any:
        """The LLM judge (`--llm-judge-model`), created on first use with its own dispatcher and
        the shared cache; its endpoint defaults to the one under test."""
        with self._judge_lock:
            return self._make_judge()

    def _make_judge(self) -> Any:
        if self._judge is None:
            from ..endpoint.judge import Judge

            settings = self.settings.judge
            assert settings is not None
            if settings.base_url is None:
                endpoint = self.settings.endpoint  # the same URL, its user info and query included
                settings = settings.model_copy(
                    update={
                        "base_url": endpoint.base_url,
                        "base_url_auth": endpoint.base_url_auth,
                        "base_url_query": endpoint.base_url_query,
                    }
                )
            self._judge = Judge(settings, Dispatcher(settings, self._cache()))
        return self._judge

    def _cache(self) -> ResponseCache | None:
        if not (self.settings.use_cache and self.settings.cache_dir):
            return None
        return ResponseCache(self.settings.cache_dir, notify=self.notify)

    def thinking_analyser(self) -> Any:
        """`--llm-think-eval`: the reasoning-efficiency analyser, built on first use."""
        if self._thinking is None:
            from ..efficiency import EfficiencyAnalyser

            self._thinking = EfficiencyAnalyser(self.settings.thought_markers, self.settings.tokenizer)
        return self._thinking

    def request_body(self, item: SampleItem, repeat: int = 0, sample: Sample | None = None) -> dict[str, Any]:
        """The chat request of one sample; `repeat` > 0 (`--llm-repeats`) marks the repeat in the
        cache key only (`endpoint.cache.REPEAT_FIELD`), so each repeat is its own cached answer.
        `sample`: the item's sample when the caller decoded it already (each `item.sample` outside
        the item's run decodes its stored row again)."""
        endpoint = self.settings.endpoint
        sample = sample if sample is not None else item.sample
        if sample.metadata.get(RECORD_ERROR):  # a collection record that cannot be sent: this sample's error
            raise BadRecordError(str(sample.metadata[RECORD_ERROR]))
        body: dict[str, Any] = {"model": endpoint.model, "messages": item.benchmark.messages(sample)}
        body.update(item.benchmark.generation_defaults())
        body.update(endpoint.gen)
        if endpoint.stream:
            body["stream"] = True
        if repeat:
            body[REPEAT_FIELD] = repeat
        return body

    def request_bodies(self, item: SampleItem, repeat: int = 0, sample: Sample | None = None) -> list[dict[str, Any]]:
        """Every request of one sample: its chat request, or for a log-likelihood sample
        (`output_type=multiple_choice`) one completion request per choice (repeats do not apply)."""
        sample = sample if sample is not None else item.sample
        if loglik.is_loglik(sample):
            return loglik.bodies(self.settings.endpoint.model, sample, self.context_wrapper(item))
        return [self.request_body(item, repeat, sample)]

    def request_count(self, item: SampleItem) -> int:
        """How many requests `item` makes: its log-likelihood choices, else --llm-repeats."""
        choices = item.store.loglik_requests(item.index)  # known without decoding the sample
        return choices if choices is not None else self.settings.repeats

    def context_wrapper(self, item: SampleItem) -> loglik.ContextWrapper | None:
        """The chat template applied to log-likelihood contexts when the benchmark asks for it
        (`chat_template=on`); None (plain text) otherwise."""
        if not getattr(item.benchmark, "chat_template", False):
            return None
        if self._wrapper is None:
            from ..endpoint.chat_template import context_wrapper

            self._wrapper = context_wrapper(self.settings)
        return self._wrapper

    # -- before the first item ---------------------------------------------------------------

    def start(self, items: Sequence[pytest.Item], preflight: bool = True) -> None:
        """Begin requesting the responses of `items` (this process's share, in run order)."""
        samples = [item for item in items if isinstance(item, SampleItem) and item.runtime is self]
        vector_items = [item for item in samples if is_vector_task(item.benchmark)]
        if vector_items:  # answered through /v1/embeddings and /v1/rerank, not chat
            self.vectors.start(vector_items)
            samples = [item for item in samples if not is_vector_task(item.benchmark)]
        if not samples:
            return
        if preflight:
            self.preflight_if_needed(samples)
        judged = self.settings.judge is not None and any(item.benchmark.needs_judge for item in samples)
        cache = self.dispatcher.cache
        if cache is not None and not judged and self.skip_sample is None and not self.answers_missing(samples):
            ask = functools.partial(self.dispatcher.submit, use_cache=True)
            self._cached_answers = CachedAnswers(cache, samples, self.slot_body, self.request_count, ask)
            return
        # one slot per request (repeat, or choice of a log-likelihood sample); an item's first slot
        # is its `plan_index`. The plan's builders are made on demand (`_Slots`): nothing per request
        # is held for the whole run.
        starts: list[int] = []
        total = 0
        for item in samples:
            item.plan_index = total
            starts.append(total)
            total += self.request_count(item)
        slots = _Slots(self, samples, starts, total)
        skip = self.skip_sample
        self._plan = self.dispatcher.prefetch(
            slots,
            on_response=(lambda index, response: self.prefetch_judge(slots.item(index), response)) if judged else None,
            skip=(lambda index: skip(slots.item(index))) if skip is not None else None,
            stops_early=bool(samples[0].config.getoption("maxfail", 0)),  # -x, --maxfail N
        )

    def slot_body(self, item: SampleItem, r: int) -> dict[str, Any]:
        """The body of `item`'s request `r` (a repeat, or a log-likelihood choice); raises what
        building it raises (`BadRecordError`, a custom benchmark's own error)."""
        sample = item.sample  # decoded once for the body (engine/store.py)
        if loglik.is_loglik(sample):
            return self.request_bodies(item, sample=sample)[r]
        return self.request_body(item, r, sample)

    def prefetch_judge(self, item: SampleItem, response: ChatResponse) -> None:
        """Issue the judge requests that will grade this answer, the moment it arrives (runs on the
        dispatcher's loop thread), so judge calls overlap like model calls do."""
        if not item.benchmark.needs_judge:
            return
        for answer, reasoning in answers_of(response, self.settings.keep_thinking):
            texts = [answer]
            if self.settings.think_eval:  # the judge also decides each reasoning step (--llm-think-eval)
                texts += self.thinking_analyser().step_texts(reasoning if reasoning and reasoning.strip() else answer)
            for text in texts:
                inputs = item.benchmark.judge_inputs(item.sample, text)
                if inputs is not None:
                    self.judge().prefetch(*inputs)

    def preflight_if_needed(self, samples: Sequence[SampleItem]) -> None:
        """One clear error up front when the endpoint is missing, instead of one per item; none
        when the cache holds every response (an offline re-score needs no server). The endpoint is
        asked first: when it answers, the cache is not searched (that builds every request's body
        and key: 60 ms at 5,000 samples)."""
        if self.endpoint_unstarted:
            return  # a server of ours left unstarted: every answer is cached (`serving.py` checked)
        try:
            self.dispatcher.list_models()
        except LLMEvalError as exc:
            if self.answers_missing(samples):
                # a usage error: pytest prints it alone ("ERROR: llmeval: ... did you mean ...?"), with
                # no score table before it and no `_pytest.outcomes.Exit` wrapping (pytest.exit's)
                raise pytest.UsageError(f"llmeval: {exc}") from None
            if isinstance(exc, EndpointUnreachableError):  # the summary says the answers only came from the cache
                self.offline_note = f"every answer came from the cache: the endpoint is unreachable ({exc})"

    def answers_missing(self, samples: Sequence[SampleItem]) -> bool:
        """True unless the cache holds the answer of every request of `samples` (a sample that
        cannot become a request is left out: it errors alone when its turn comes)."""
        samples = [item for item in samples if not is_vector_task(item.benchmark)]  # their cache is their own
        if not samples:
            return False
        cache = self.dispatcher.cache
        if cache is None:
            return True
        repeats = range(self.settings.repeats)
        keys = (key for i in samples for r in repeats for key in self._keys_or_none(i, r) if key is not None)
        # the first few first: a run whose answers are not cached yet learns it without building
        # every request's body (12 us a sample)
        return bool(cache.missing(itertools.islice(keys, 64)) or cache.missing(keys))

    def _keys_or_none(self, item: SampleItem, repeat: int = 0) -> list[str | None]:
        """The cache keys of an item's requests; [None] when the sample cannot become a request (it
        errors alone when its turn comes, e.g. an unreadable image, or a custom benchmark's
        `messages` that raises: any exception, as the dispatcher's producer treats it)."""
        sample = item.sample  # decoded once (engine/store.py)
        if loglik.is_loglik(sample) and repeat:
            return []
        try:
            return [request_key(body) for body in self.request_bodies(item, repeat, sample)]
        except Exception:
            return [None]

    # -- per item ----------------------------------------------------------------------------

    def response_for(self, item: SampleItem) -> Any:
        """The sample's response: with `--llm-repeats K`, the K responses merged into one with
        K x n generations. Raises `MissingChoicesError` when a response has fewer generations than
        the request's `n` (a server that ignores `n` must not be scored as if it had not), and
        pytest.skip when --llm-early-stop left its requests unsent."""
        if is_vector_task(item.benchmark):
            return self.vectors.response_for(item)
        index = item.plan_index if self._plan is not None else None
        if (self._plan is None or index is None) and self.skip_sample is not None and self.skip_sample(item):
            self._skip_early(item)
        responses: list[ChatResponse] = []
        failure: BaseException | None = None
        skipped = False
        unsent: BudgetReached | None = None
        for repeat in range(self.request_count(item)):
            try:
                if self._cached_answers is not None:
                    responses.append(self._cached_answers.answer(item, repeat))
                elif self._plan is None or index is None:  # not planned (e.g. rescheduled after an xdist crash)
                    body = self.slot_body(item, repeat)
                    responses.append(self.dispatcher.call(body, use_cache=self.settings.use_cache))
                else:
                    responses.append(self._plan.result(index + repeat))
            except RequestSkipped:
                skipped = True
            except BudgetReached as exc:
                unsent = unsent or exc
            except BaseException as exc:  # consume every repeat's future before raising the first error
                failure = failure or exc
        if isinstance(failure, EndpointNotFoundError) and not self._answered:
            # a wrong URL: every other request would fail the same way
            if not hasattr(item.config, "workerinput"):
                pytest.exit(f"llmeval: {failure}", returncode=pytest.ExitCode.USAGE_ERROR)
            # an xdist worker cannot pytest.exit mid-item: this sample errors, the worker stops
            item.session.shouldstop = f"llmeval: {failure}"
        if skipped:  # a sample is whole or skipped: answers of some of its repeats are dropped
            self._skip_early(item)
        if unsent is not None:  # the budget stopped the run: unrun (incomplete), not an error nor wrong
            item.skipped_budget = unsent.reason
            pytest.skip(f"not sent: {unsent.reason}")
        if failure is not None:
            raise failure
        self._answered = True
        if loglik.is_loglik(item.sample):
            # no prompt log-probabilities is the endpoint's failure: an error at setup, never a wrong answer
            loglik.evaluate(item.sample, responses, self._server_name(), self.context_wrapper(item))
            return merge_responses(responses)
        # `n` of the request: its generation settings (the body's other fields are never `n`)
        asked = _asked_n({**item.benchmark.generation_defaults(), **self.settings.endpoint.gen})
        for response in responses:
            if len(response.choices) < asked:
                raise MissingChoicesError(asked, len(response.choices))
        return responses[0] if len(responses) == 1 else merge_responses(responses)

    @staticmethod
    def _skip_early(item: SampleItem) -> None:
        item.skipped_early = True
        pytest.skip(f"skipped by --llm-early-stop: the thresholds on {item.benchmark.name} are already decided")

    def _server_name(self) -> str:
        endpoint = self.settings.endpoint
        return f"the server at {endpoint.require_base_url()}" if endpoint.base_url else "the server"

    def _score_loglik(self, item: SampleItem, response: ChatResponse) -> SampleRecord:
        # the merged response holds one choice per request, in choice order
        per_choice = [ChatResponse(choices=[choice], model=response.model) for choice in response.choices]
        result = loglik.evaluate(item.sample, per_choice, self._server_name(), self.context_wrapper(item))
        return self._record(
            item,
            **loglik.record_fields(item.sample, result),
            latency_s=response.latency_s,
            usage=response.usage,
            cached=response.cached,
            requests=response.requests,
            requests_cached=response.cached_count,
        )

    def score(self, item: SampleItem, response: Any) -> SampleRecord:
        if is_vector_task(item.benchmark):
            return self.vectors.score(item, response)
        if loglik.is_loglik(item.sample):
            return self._score_loglik(item, response)
        answers = answers_of(response, self.settings.keep_thinking)
        reasons = [choice.finish_reason for choice in response.choices]
        verdict = score_generations(item.benchmark, item.sample, [answer for answer, _ in answers], reasons)
        first_answer, first_reasoning = answers[0] if answers else ("", None)
        thinking = (
            self.thinking_analyser().analyse(item.benchmark, item.sample, response, answers)
            if self.settings.think_eval
            else None
        )
        return self._record(
            item,
            output=first_answer,
            outputs=[answer for answer, _ in answers] if len(answers) > 1 else None,
            reasoning=first_reasoning,
            extracted=verdict.extracted,
            passed=verdict.passed,
            metrics=verdict.metrics,
            explanation=verdict.explanation,
            latency_s=response.latency_s,
            ttft_s=response.ttft_s,
            queued_s=response.queued_s,
            usage=response.usage,
            cached=response.cached,
            requests=response.requests,
            requests_cached=response.cached_count,
            thinking=thinking,
            finish_reason=reasons[0] if reasons else None,
            finish_reasons=reasons if len(reasons) > 1 else None,
            truncated=sum(reason == TRUNCATED for reason in reasons),
        )

    def error_record(self, item: SampleItem, error: BaseException) -> SampleRecord:
        return self._record(item, error=str(error), error_kind=getattr(error, "kind", type(error).__name__))

    @staticmethod
    def _record(item: SampleItem, **fields: Any) -> SampleRecord:
        return SampleRecord(
            nodeid=item.nodeid,
            benchmark=item.benchmark.name,
            subset=item.sample.subset,
            id=item.sample.id,
            messages=_recorded_messages(item),
            target=item.sample.target,
            **fields,
        )

    def replica_stats(self) -> list[dict[str, Any]] | None:
        """Per-replica counters of this process's dispatcher (None: one endpoint, or none started)."""
        return self._dispatcher.replica_stats() if self._dispatcher is not None else None

    def close(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
        if self._judge is not None:
            self._judge.close()
        if self._dispatcher is not None:
            self._dispatcher.close()


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


class _Slots(Sequence[Callable[[], dict[str, Any]]]):
    """The prefetch plan's body builders, one per request slot, made when the dispatcher asks:
    slot `i` is repeat (or choice) `i - start` of the item whose first slot `start` is the last
    at or below `i`."""

    def __init__(self, runtime: EvalRuntime, items: list[SampleItem], starts: list[int], total: int) -> None:
        self.runtime = runtime
        self.items = items
        self.starts = starts
        self.total = total
        self.one_each = total == len(items)  # the usual case: slot i is item i's only request

    def __len__(self) -> int:
        return self.total

    def item(self, index: int) -> SampleItem:
        return self.items[index if self.one_each else bisect.bisect_right(self.starts, index) - 1]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.total))]
        if not 0 <= index < self.total:
            raise IndexError(index)
        item = self.item(index)
        return functools.partial(self.runtime.slot_body, item, index - (item.plan_index or 0))


def _recorded_messages(item: SampleItem) -> list[dict[str, Any]]:
    """The messages as the samples JSONL keeps them: media as hash/size/format, never bytes; a
    sample whose media could not be read keeps its text prompt."""
    try:
        try:
            messages = item.benchmark.messages(item.sample)
        except LLMEvalError:
            if "segments" in item.sample.metadata:
                raise
            # a refused medium inline in a collection record: the prompt as it stands, placeholders and all
            messages = (
                item.sample.input
                if isinstance(item.sample.input, list)
                else [{"role": "user", "content": item.sample.input}]
            )
        # media (spooled, or inline in a collection record): stored as hash/size/format
        return summarise_messages(messages) if any(isinstance(m.get("content"), list) for m in messages) else messages
    except Exception:
        return [
            {
                "role": "user",
                "content": item.sample.input if isinstance(item.sample.input, str) else "(unreadable prompt)",
            }
        ]


def _asked_n(body: dict[str, Any]) -> int:
    """The `n` a request asks for (1 when absent or not a whole number)."""
    value = body.get("n", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


def merge_responses(responses: Sequence[ChatResponse]) -> ChatResponse:
    """One response holding the generations of several (`--llm-repeats`): choices in repeat order,
    usage summed, latency and TTFT the mean over the repeats, cached only when every one was."""
    ttfts = [r.ttft_s for r in responses if r.ttft_s is not None]
    usage = Usage(
        prompt_tokens=sum(r.usage.prompt_tokens for r in responses),
        completion_tokens=sum(r.usage.completion_tokens for r in responses),
        total_tokens=sum(r.usage.total_tokens for r in responses),
        reasoning_tokens=None
        if all(r.usage.reasoning_tokens is None for r in responses)
        else sum(r.usage.reasoning_tokens or 0 for r in responses),
    )
    return ChatResponse(
        choices=[choice for r in responses for choice in r.choices],
        usage=usage,
        model=responses[0].model,
        latency_s=sum(r.latency_s for r in responses) / len(responses),
        ttft_s=sum(ttfts) / len(ttfts) if ttfts else None,
        cached=all(r.cached for r in responses),
        requests=sum(r.requests for r in responses),
        requests_cached=sum(r.cached_count for r in responses),
    )
